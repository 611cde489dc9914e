/**
 * Deno's permission model, as seen from raftsnap's Node entry (which Deno runs through its
 * Node compatibility). Some Node calls need a permission in Deno that they need nowhere else
 * (`access` and `getuid` need `--allow-sys=uid`, `statfs` `--allow-sys=statfs`); without it Deno
 * prompts on a terminal, or throws. Calls that only refine what raftsnap does ask first, and do
 * without what they would learn.
 */

/** A permission as Deno's `Deno.permissions.querySync` takes it. */
export interface DenoPermission {
  name: string;
  path?: string;
  variable?: string;
  kind?: string;
}

/**
 * Whether Deno would have to ask for `permission` (it is not granted): it prompts on a terminal
 * instead of throwing, and nothing optional may stop a command for a question. False outside
 * Deno. Never throws.
 */
export function denoWouldAsk(permission: DenoPermission): boolean {
  const permissions = (
    globalThis as {
      Deno?: { permissions?: { querySync?(d: DenoPermission): { state: string } } };
    }
  ).Deno?.permissions;
  if (!permissions?.querySync) return false;
  try {
    return permissions.querySync(permission).state !== 'granted';
  } catch {
    return true;
  }
}

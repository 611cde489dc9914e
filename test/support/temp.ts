/** Temporary directories for tests, and a view of raftsnap's temporary files. */
import assert from 'node:assert/strict';
import { chmodSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'raftsnap-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Names in `dir` (sorted). */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/**
 * Plants what fs.protected_symlinks guards against, in `dir`: `dir/shared`, a sticky
 * world-writable directory, holding `x.snap`, a symbolic link owned by uid 65534 to
 * `dir/victim.txt` (which holds "keep me"). Only root can give a link to another user: throws
 * an assertion error otherwise. Returns the link's and the victim's paths.
 */
export function plantForeignLink(dir: string): { link: string; victim: string } {
  assert.equal(process.getuid?.(), 0, 'this test needs root to own a link by another user');
  const shared = join(dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const victim = join(dir, 'victim.txt');
  writeFileSync(victim, 'keep me');
  const link = join(shared, 'x.snap');
  symlinkSync(victim, link);
  lchownSync(link, 65534, 65534);
  return { link, victim };
}

/**
 * Loading raftsnap's WebAssembly kernels in every runtime. The entries hand the kernels over
 * before anything is loaded: as base64 bytes embedded in the bundle (src/wasm/embedded.ts, from
 * src/wasm/generated/NAME.ts made by the build), so that no runtime needs a file system or a
 * fetch; or, where a runtime forbids compiling WebAssembly from bytes (Cloudflare workerd), as
 * compiled modules imported from the `.wasm` files (src/workerd.ts). An entry carries only one
 * of the two forms.
 */

import { messageOf, SnapshotError } from '../errors.js';

/** The kernels, by the name of their assembly/NAME.ts source. */
export type KernelName = 'sha256' | 'inflate' | 'crc32' | 'tar';

/** Inflates a kernel's embedded raw DEFLATE bytes; rejects when they cannot be inflated. */
export type KernelInflater = (deflated: Uint8Array) => Promise<Uint8Array>;

const precompiledModules = new Map<KernelName, WebAssembly.Module>();
const embeddedBytes = new Map<KernelName, { b64: string; inflater?: KernelInflater }>();
/** Compiled kernels, by name: each is compiled once however often it is instantiated. */
const compiled = new Map<KernelName, Promise<WebAssembly.Module>>();

/**
 * Supplies kernels as base64 bytes (compiled on first use): of the modules themselves, or with
 * `inflater`, of their raw DEFLATE, which it inflates first.
 */
export function provideEmbedded(
  kernels: Partial<Record<KernelName, string>>,
  inflater?: KernelInflater,
): void {
  for (const [name, b64] of Object.entries(kernels)) {
    if (b64) {
      embeddedBytes.set(name as KernelName, { b64, inflater });
      compiled.delete(name as KernelName);
    }
  }
}

/** Supplies already compiled kernels (used instead of compiling the embedded bytes). */
export function providePrecompiled(mods: Partial<Record<KernelName, WebAssembly.Module>>): void {
  for (const [name, mod] of Object.entries(mods)) {
    if (mod) precompiledModules.set(name as KernelName, mod);
  }
}

/** Decodes base64 with atob, which every runtime has (no Buffer, no node: imports). */
export function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The compiled kernel `name`; rejects as {@link instantiateKernel} does. */
function compileKernel(name: KernelName): Promise<WebAssembly.Module> {
  const module = precompiledModules.get(name);
  if (module) return Promise.resolve(module);
  let pending = compiled.get(name);
  if (!pending) {
    const embedded = embeddedBytes.get(name);
    if (embedded === undefined) {
      return Promise.reject(
        new Error(`raftsnap: WebAssembly kernel ${name} was not supplied by this entry`),
      );
    }
    const bytes = decodeBase64(embedded.b64);
    pending = embedded.inflater
      ? embedded.inflater(bytes).then((b) => WebAssembly.compile(b as Uint8Array<ArrayBuffer>))
      : WebAssembly.compile(bytes);
    // A failed compile is not kept: a later call tries again.
    pending.catch(() => compiled.delete(name));
    compiled.set(name, pending);
  }
  return pending;
}

/**
 * Instantiates the AssemblyScript kernel `name` (runtime "stub": its only import is
 * `env.abort`, which throws) and returns its exports; every call makes a new instance with
 * memory of its own. Rejects with SnapshotError('IO') when the runtime has no WebAssembly (node
 * --jitless, a locked-down browser), may not compile it (a page whose Content-Security-Policy
 * lacks 'wasm-unsafe-eval') or the entry supplied no such kernel.
 */
export async function instantiateKernel<T>(name: KernelName): Promise<T> {
  if (typeof WebAssembly === 'undefined') {
    throw new SnapshotError(
      'IO',
      `raftsnap needs WebAssembly (its ${name} kernel), which this runtime lacks`,
    );
  }
  const imports = {
    env: {
      abort(): never {
        throw new Error(`raftsnap: WebAssembly kernel ${name} aborted`);
      },
    },
  };
  let module: WebAssembly.Module;
  try {
    module = await compileKernel(name);
  } catch (err) {
    // A browser's own message says why (a Content-Security-Policy without 'wasm-unsafe-eval').
    throw new SnapshotError('IO', `raftsnap cannot compile its ${name} kernel: ${messageOf(err)}`, {
      cause: err,
    });
  }
  const instance = await WebAssembly.instantiate(module, imports);
  return instance.exports as unknown as T;
}

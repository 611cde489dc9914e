/**
 * Loading raftsnap's WebAssembly kernels in every runtime. Each kernel's bytes are embedded as
 * base64 (src/wasm/generated/NAME.ts, made by the build), so that no runtime needs a file system
 * or a fetch. Runtimes that forbid compiling WebAssembly from bytes (Cloudflare workerd) import
 * the `.wasm` files as modules instead: their entry hands the compiled modules over with
 * {@link providePrecompiled} before anything is loaded.
 */

/** The kernels, by the name of their assembly/NAME.ts source. */
export type KernelName = 'sha256' | 'inflate' | 'crc32' | 'tar';

const precompiledModules = new Map<KernelName, WebAssembly.Module>();

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

/**
 * Instantiates the AssemblyScript kernel `name` (runtime "stub": its only import is
 * `env.abort`, which throws) and returns its exports. Rejects when the runtime cannot compile
 * or instantiate it.
 */
export async function instantiateKernel<T>(name: KernelName, b64: string): Promise<T> {
  const imports = {
    env: {
      abort(): never {
        throw new Error(`raftsnap: WebAssembly kernel ${name} aborted`);
      },
    },
  };
  const module = precompiledModules.get(name) ?? (await WebAssembly.compile(decodeBase64(b64)));
  const instance = await WebAssembly.instantiate(module, imports);
  return instance.exports as unknown as T;
}

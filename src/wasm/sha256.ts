/**
 * SHA-256 by raftsnap's WebAssembly kernel (assembly/sha256.ts), for every JavaScript runtime:
 * no Node built-ins, no Buffer, no file-system access — the module's bytes are embedded as
 * base64 and instantiated once per process.
 *
 * Any number of hashes can be in progress at once; each owns a 128-byte context in the
 * module's linear memory. Lifetime contract:
 * - `digest()` returns the hash and frees the context; any later `update()` or `digest()`
 *   throws.
 * - A hash dropped without `digest()` gives its context back when it is garbage-collected
 *   (FinalizationRegistry, present in every current runtime). Where FinalizationRegistry is
 *   missing, such a context stays allocated until the process ends, so call `digest()` on
 *   every hash there.
 */
import type { HashEngine, Sha256 } from '../engines/sha256.js';
import { SnapshotError } from '../errors.js';
import { instantiateKernel } from './load.js';

/** The kernel's exports (see assembly/sha256.ts). Pointers and lengths are byte offsets. */
interface KernelExports {
  readonly memory: WebAssembly.Memory;
  inputPtr(): number;
  inputSize(): number;
  create(): number;
  release(ctx: number): void;
  update(ctx: number, len: number): void;
  finish(ctx: number): number;
}

/** One instantiated module, shared by all the hashes of the process. */
class Kernel {
  readonly exports: KernelExports;
  /** Address and size of the shared input region. */
  readonly input: number;
  readonly inputSize: number;
  /** Frees the contexts of hashes collected without digest(). */
  readonly registry: FinalizationRegistry<number> | undefined;
  #bytes: Uint8Array;

  constructor(exports: KernelExports) {
    this.exports = exports;
    this.input = exports.inputPtr();
    this.inputSize = exports.inputSize();
    this.#bytes = new Uint8Array(exports.memory.buffer);
    this.registry =
      typeof FinalizationRegistry === 'function'
        ? new FinalizationRegistry((ctx: number) => exports.release(ctx))
        : undefined;
  }

  /** A view of the whole linear memory, re-created when growth has replaced the buffer. */
  bytes(): Uint8Array {
    // Growing a WebAssembly.Memory detaches its previous ArrayBuffer (byteLength becomes 0).
    if (this.#bytes.byteLength === 0) this.#bytes = new Uint8Array(this.exports.memory.buffer);
    return this.#bytes;
  }
}

class WasmSha256 implements Sha256 {
  readonly #kernel: Kernel;
  /** The context's address; 0 once digest() has freed it. */
  #ctx: number;

  constructor(kernel: Kernel) {
    const ctx = kernel.exports.create();
    if (ctx === 0) throw new RangeError('SHA-256: WebAssembly memory exhausted');
    this.#kernel = kernel;
    this.#ctx = ctx;
    kernel.registry?.register(this, ctx, this);
  }

  update(data: Uint8Array): this {
    const ctx = this.#ctx;
    if (ctx === 0) throw usedUp();
    if (!ArrayBuffer.isView(data) || (data as Uint8Array).BYTES_PER_ELEMENT !== 1) {
      // TypedArray.set would take any array-like (a string hashes as that many zero bytes). A
      // byte view of another realm (a vm context, an iframe) is bytes all the same.
      throw new SnapshotError(
        'INVALID_ARGUMENT',
        `SHA-256 update takes a Uint8Array, got ${typeof data}`,
      );
    }
    const n = data.length;
    if (n === 0) return this;
    const k = this.#kernel;
    const { input, inputSize } = k;
    const update = k.exports.update;
    if (n <= inputSize) {
      k.bytes().set(data, input);
      update(ctx, n);
      return this;
    }
    const mem = k.bytes();
    for (let off = 0; off < n; off += inputSize) {
      const end = Math.min(off + inputSize, n);
      mem.set(data.subarray(off, end), input);
      update(ctx, end - off);
    }
    return this;
  }

  digest(): Uint8Array {
    const ctx = this.#ctx;
    if (ctx === 0) throw usedUp();
    this.#ctx = 0;
    const k = this.#kernel;
    k.registry?.unregister(this);
    const at = k.exports.finish(ctx);
    return k.bytes().slice(at, at + 32);
  }
}

function usedUp(): SnapshotError {
  return new SnapshotError('INVALID_ARGUMENT', 'SHA-256 hash used after digest()');
}

let kernel: Promise<Kernel> | undefined;

/** The module, instantiated on first use; a failed attempt is retried by the next call. */
function loadKernel(): Promise<Kernel> {
  kernel ??= (async () => {
    return new Kernel(await instantiateKernel<KernelExports>('sha256'));
  })().catch((err: unknown) => {
    kernel = undefined;
    throw err;
  });
  return kernel;
}

/** The WebAssembly engine: its hashes are synchronous {@link Sha256}s. */
export interface WasmSha256Engine extends HashEngine {
  readonly name: 'wasm';
  create(): Sha256;
}

/** Loads the kernel (once per process) and returns an engine whose create() is synchronous. */
export async function loadWasmSha256(): Promise<WasmSha256Engine> {
  const k = await loadKernel();
  return { name: 'wasm', create: (): Sha256 => new WasmSha256(k) };
}

/** A new streaming SHA-256 hash computed by the WebAssembly kernel. */
export async function createSha256(): Promise<Sha256> {
  return new WasmSha256(await loadKernel());
}

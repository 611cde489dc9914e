/**
 * The portable raw-DEFLATE engine: raftsnap's AssemblyScript decoder (assembly/inflate.ts)
 * compiled to WebAssembly and embedded as base64, so it runs in every runtime (browsers,
 * Workers, Deno, Bun, Node) without file-system access or native code.
 *
 * It accepts and rejects exactly the streams Go 1.19's compress/flate does, with Go's messages
 * ("flate: corrupt input before offset N", N counted from the start of the DEFLATE stream as Go
 * counts it), and reports where the stream ends to the byte.
 *
 * Memory is bounded: each open inflater owns one fixed-size slot of the module's memory (about
 * 384 KiB: a 32 KiB window, 256 KiB of output buffer, 64 KiB of input buffer, tables). Slots
 * are reused after close(); memory grows only when more inflaters are open at once than ever
 * before.
 */
import type {
  InflateEngine,
  InflateOptions,
  InflateStep,
  RawInflater,
} from '../engines/inflate.js';
import { SnapshotError } from '../errors.js';
import { instantiateKernel } from './load.js';

/** The end of one `decode()` call: `done` and `unused` as in {@link InflateStep}. */
export interface InflateEnd {
  done: boolean;
  unused: number;
}

/**
 * A {@link RawInflater} with a pull-style alternative to `write()`, for back-pressure.
 *
 * `decode(chunk)` returns a generator that yields the decompressed bytes of `chunk` as it
 * decodes them, in arrays of at most about 288 KiB that the caller owns, and returns
 * `{ done, unused }`. Nothing is decoded until the generator is resumed, so a consumer that
 * awaits between `next()` calls holds at most one output array at a time, however well the
 * data compresses. The generator must be run to completion (or the inflater closed) before
 * the next `decode()`/`write()`; abandoning it loses the rest of `chunk`.
 *
 * Errors: corrupt data makes the generator throw SnapshotError('GZIP') after yielding all the
 * output decoded before the corruption, as Go's reader returns that output before the error
 * (write() throws at once instead). After an error, every call throws the same error.
 */
export interface WasmRawInflater extends RawInflater {
  decode(chunk: Uint8Array): Generator<Uint8Array, InflateEnd, void>;
  /** Synchronous: returns the step itself, never a promise. */
  write(chunk: Uint8Array): InflateStep;
  /** Bytes of DEFLATE stream consumed so far (the whole stream's length once done). */
  readonly consumed: number;
}

/** The 'wasm' engine; its inflaters have the pull-style `decode()` too. */
export interface WasmInflateEngine extends InflateEngine {
  readonly name: 'wasm';
  create(opts?: InflateOptions): WasmRawInflater;
}

interface InflateExports {
  memory: WebAssembly.Memory;
  newSlot(): number;
  freeSlot(s: number): void;
  reset(s: number): void;
  inputPrepare(s: number): number;
  inputCap(s: number): number;
  inputCommit(s: number, n: number): void;
  inputLeft(s: number): number;
  run(s: number): number;
  outStart(s: number): number;
  outEnd(s: number): number;
  consumed(s: number): number;
  errorOffset(s: number): number;
}

const R_NEED_INPUT = 0;
const R_OUTPUT_FULL = 1;
const R_DONE = 2;

/** One instance serves every inflater: they live in separate slots of its memory. */
class Module {
  readonly ex: InflateExports;
  private view: Uint8Array;
  /** Frees the slots of inflaters that were dropped without close(). */
  readonly registry: FinalizationRegistry<number> | undefined;

  constructor(ex: InflateExports) {
    this.ex = ex;
    this.view = new Uint8Array(ex.memory.buffer);
    this.registry =
      typeof FinalizationRegistry === 'function'
        ? new FinalizationRegistry<number>((slot) => ex.freeSlot(slot))
        : undefined;
  }

  /** The memory as bytes; a fresh view after the memory grew (which detaches the old one). */
  bytes(): Uint8Array {
    if (this.view.buffer !== this.ex.memory.buffer)
      this.view = new Uint8Array(this.ex.memory.buffer);
    return this.view;
  }
}

type State = 'open' | 'done' | 'failed' | 'closed';

/** Size of the reused output buffers: one output array is at most the window plus OUT_CAP. */
const POOL_BUFFER = 320 * 1024;

class WasmInflater implements WasmRawInflater {
  private readonly m: Module;
  private readonly slot: number;
  private readonly token = {};
  private state: State = 'open';
  /** The corruption error, once found (state 'failed'); every later call throws it again. */
  private error: SnapshotError | undefined;
  /** `consumed` as of close(). */
  private finalConsumed = 0;
  /**
   * With reuseOutput: buffers free for output, and the outputs of the last two writes (the
   * caller may still hold those); undefined otherwise.
   */
  private readonly pool:
    | { free: ArrayBuffer[]; last: Uint8Array[]; before: Uint8Array[] }
    | undefined;

  constructor(m: Module, opts?: InflateOptions) {
    this.m = m;
    this.pool = opts?.reuseOutput ? { free: [], last: [], before: [] } : undefined;
    this.slot = m.ex.newSlot() >>> 0; // addresses are u32; exports return them as i32
    if (this.slot === 0) {
      throw new RangeError('raftsnap: out of WebAssembly memory for another inflater');
    }
    m.registry?.register(this, this.slot, this.token);
  }

  get consumed(): number {
    return this.state === 'closed' ? this.finalConsumed : this.m.ex.consumed(this.slot);
  }

  *decode(chunk: Uint8Array): Generator<Uint8Array, InflateEnd, void> {
    if (this.error !== undefined) throw this.error;
    if (this.state === 'done') return { done: true, unused: chunk.length };
    if (this.state === 'closed') throw new SnapshotError('INVALID_ARGUMENT', 'inflater is closed');
    const ex = this.m.ex;
    const s = this.slot;
    let pos = 0;
    // Input may be left over from a decode() that stopped at a full output buffer.
    let needInput = ex.inputLeft(s) >>> 0 === 0;
    for (;;) {
      if (needInput) {
        if (pos >= chunk.length) return { done: false, unused: 0 };
        const at = ex.inputPrepare(s) >>> 0;
        const n = Math.min(ex.inputCap(s) >>> 0, chunk.length - pos);
        this.m.bytes().set(chunk.subarray(pos, pos + n), at);
        ex.inputCommit(s, n);
        pos += n;
      }
      const r = ex.run(s);
      const a = ex.outStart(s) >>> 0;
      const b = ex.outEnd(s) >>> 0;
      if (b > a) yield this.copyOut(a, b);
      if (r === R_NEED_INPUT) {
        needInput = true;
      } else if (r === R_OUTPUT_FULL) {
        needInput = false;
      } else if (r === R_DONE) {
        this.state = 'done';
        return { done: true, unused: chunk.length - pos + (ex.inputLeft(s) >>> 0) };
      } else {
        this.state = 'failed';
        this.error = new SnapshotError(
          'GZIP',
          `flate: corrupt input before offset ${ex.errorOffset(s)}`,
        );
        throw this.error;
      }
    }
  }

  /** memory[a, b) as an array the caller owns, or one from the pool (see `write`). */
  private copyOut(a: number, b: number): Uint8Array {
    const bytes = this.m.bytes();
    const pool = this.pool;
    if (!pool || b - a > POOL_BUFFER) return bytes.slice(a, b);
    const buf = pool.free.pop() ?? new ArrayBuffer(POOL_BUFFER);
    const out = new Uint8Array(buf, 0, b - a);
    out.set(bytes.subarray(a, b));
    return out;
  }

  /**
   * Decodes `chunk` and returns all its output (arrays of at most about 288 KiB each; use
   * decode() to receive them one at a time). Throws SnapshotError('GZIP') on corrupt data,
   * dropping the output this call decoded before the corruption (decode() yields it first).
   */
  write(chunk: Uint8Array): InflateStep {
    const pool = this.pool;
    if (pool) {
      // The outputs of the write before last are the caller's no more.
      for (const o of pool.before) pool.free.push(o.buffer as ArrayBuffer);
      pool.before = pool.last;
      pool.last = [];
    }
    const output: Uint8Array[] = [];
    const it = this.decode(chunk);
    for (;;) {
      const r = it.next();
      if (r.done) return { output, done: r.value.done, unused: r.value.unused };
      output.push(r.value);
      pool?.last.push(r.value);
    }
  }

  /**
   * Releases the slot. Throws SnapshotError('TRUNCATED', 'unexpected EOF') if the stream did
   * not end and no error was thrown before (Go's io.ErrUnexpectedEOF). Later calls do nothing.
   */
  close(): void {
    if (this.state === 'closed') return;
    const state = this.state;
    this.finalConsumed = this.m.ex.consumed(this.slot);
    this.state = 'closed';
    this.m.registry?.unregister(this.token);
    this.m.ex.freeSlot(this.slot);
    if (state === 'open') throw new SnapshotError('TRUNCATED', 'unexpected EOF');
  }
}

let loading: Promise<WasmInflateEngine> | undefined;

/**
 * Loads the WebAssembly inflate engine (`name` 'wasm'). The module is compiled and
 * instantiated once; later calls return the same engine. `create()` is synchronous.
 */
export function loadWasmInflate(): Promise<WasmInflateEngine> {
  loading ??= instantiateKernel<InflateExports>('inflate').then(
    (ex) => {
      const m = new Module(ex);
      return { name: 'wasm', create: (opts) => new WasmInflater(m, opts) };
    },
    (err: unknown) => {
      loading = undefined; // let a later call try again
      throw err;
    },
  );
  return loading;
}

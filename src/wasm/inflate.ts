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
 * before. A lender's inflaters (`lender()`) decode in an instance of their own, holding one
 * slot, so they can hand out views of their output instead of copies: that memory never grows.
 */
import type {
  InflateEnd,
  InflateEngine,
  InflateLender,
  InflateStep,
  RawInflater,
} from '../engines/inflate.js';
import { SnapshotError } from '../errors.js';
import { instantiateKernel } from './load.js';

/**
 * A {@link RawInflater} with a pull-style alternative to `write()`, for back-pressure.
 *
 * `decode(chunk)` returns a generator that yields the decompressed bytes of `chunk` as it
 * decodes them, in arrays of at most about 288 KiB that the caller owns (from a lender's
 * inflater: views of its instance's memory, valid until the generator is resumed), and returns
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
  syncOutput(): number;
}

/** The 'wasm' engine; its inflaters have the pull-style `decode()` too. */
export interface WasmInflateEngine extends InflateEngine {
  readonly name: 'wasm';
  create(): WasmRawInflater;
  /**
   * A lender whose inflaters decode in an instance of the module of their own (one slot, so its
   * memory never grows and the views it lends are never detached); instances are pooled.
   */
  lender(): Promise<InflateLender>;
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
  syncOutput(s: number): number;
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

class WasmInflater implements WasmRawInflater {
  private readonly m: Module;
  private readonly slot: number;
  private readonly token = {};
  private state: State = 'open';
  /** The corruption error, once found (state 'failed'); every later call throws it again. */
  private error: SnapshotError | undefined;
  /** `consumed` as of close(). */
  private finalConsumed = 0;
  /** `syncOutput()` as of close(). */
  private finalSync = 0;
  /** Yield views of the module's memory instead of copies (a lender's private instance). */
  private readonly lend: boolean;
  /** Called once when the inflater is closed. */
  private readonly onClose: (() => void) | undefined;

  constructor(m: Module, lend?: { onClose: () => void }) {
    this.m = m;
    this.lend = lend !== undefined;
    this.onClose = lend?.onClose;
    this.slot = m.ex.newSlot() >>> 0; // addresses are u32; exports return them as i32
    if (this.slot === 0) {
      throw new RangeError('raftsnap: out of WebAssembly memory for another inflater');
    }
    m.registry?.register(this, this.slot, this.token);
  }

  get consumed(): number {
    return this.state === 'closed' ? this.finalConsumed : this.m.ex.consumed(this.slot);
  }

  syncOutput(): number {
    return this.state === 'closed' ? this.finalSync : this.m.ex.syncOutput(this.slot);
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

  /** memory[a, b) as an array the caller owns, or for a lender's inflater the memory itself. */
  private copyOut(a: number, b: number): Uint8Array {
    const bytes = this.m.bytes();
    return this.lend ? bytes.subarray(a, b) : bytes.slice(a, b);
  }

  /**
   * Decodes `chunk` and returns all its output (arrays of at most about 288 KiB each; use
   * decode() to receive them one at a time). Throws SnapshotError('GZIP') on corrupt data,
   * dropping the output this call decoded before the corruption (decode() yields it first).
   */
  write(chunk: Uint8Array): InflateStep {
    if (this.lend) throw new Error('inflate lender: its inflaters lend their output; use decode()');
    const output: Uint8Array[] = [];
    const it = this.decode(chunk);
    for (;;) {
      const r = it.next();
      if (r.done) return { output, done: r.value.done, unused: r.value.unused };
      output.push(r.value);
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
    this.finalSync = this.m.ex.syncOutput(this.slot);
    this.state = 'closed';
    this.m.registry?.unregister(this.token);
    this.m.ex.freeSlot(this.slot);
    this.onClose?.();
    if (state === 'open') throw new SnapshotError('TRUNCATED', 'unexpected EOF');
  }
}

/** Private instances of lenders that were released, for the next lender. */
const idleLenderModules: Module[] = [];
/** Idle private instances kept at most (each holds about half a MiB of memory). */
const MAX_IDLE_LENDERS = 4;

/** A lender on `m`, a private instance: one inflater at a time, so one slot, never grown. */
function lenderOn(m: Module): InflateLender {
  let open = false;
  let released = false;
  return {
    create() {
      if (released) throw new Error('inflate lender: used after release()');
      if (open) throw new Error('inflate lender: the previous inflater is still open');
      open = true;
      return new WasmInflater(m, {
        onClose: () => {
          open = false;
        },
      });
    },
    release() {
      if (released) return;
      released = true;
      // An inflater left open keeps its slot: the instance is dropped, not pooled.
      if (!open && idleLenderModules.length < MAX_IDLE_LENDERS) idleLenderModules.push(m);
    },
  };
}

let loading: Promise<WasmInflateEngine> | undefined;

/**
 * Loads the WebAssembly inflate engine (`name` 'wasm'). The module is compiled once; the
 * engine's inflaters share one instance of it, and each lender has one of its own (pooled).
 * Later calls return the same engine. `create()` is synchronous.
 */
export function loadWasmInflate(): Promise<WasmInflateEngine> {
  loading ??= instantiateKernel<InflateExports>('inflate').then(
    (ex) => {
      const m = new Module(ex);
      return {
        name: 'wasm',
        create: () => new WasmInflater(m),
        lender: async () => {
          const own =
            idleLenderModules.pop() ??
            new Module(await instantiateKernel<InflateExports>('inflate'));
          return lenderOn(own);
        },
      };
    },
    (err: unknown) => {
      loading = undefined; // let a later call try again
      throw err;
    },
  );
  return loading;
}

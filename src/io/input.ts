/**
 * Inputs and outputs accepted by the portable API, normalized to async byte iteration (inputs)
 * and an awaited write (outputs), so that backpressure holds end to end: nothing is read from an
 * input before the previous bytes have been written out.
 */
import { SnapshotError } from '../errors.js';

/** Anything raftsnap can read a snapshot (or a state) from. */
export type ByteInput =
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | Uint8Array
  | ArrayBuffer
  | Blob;

/** Bytes per chunk when slicing an in-memory input. */
const SLICE = 1 << 20;

/**
 * Iterates the bytes of `input` as Uint8Array chunks. Throws SnapshotError('INVALID_ARGUMENT')
 * for an input of another kind, and SnapshotError('IO') when a source yields a non-byte chunk
 * (e.g. a Node stream with an encoding set). Stopping the iteration early cancels the source.
 */
export function bytesOf(input: ByteInput): AsyncGenerator<Uint8Array> {
  return paced(sourceChunks(input));
}

/**
 * `chunks` with a turn of the event loop after every {@link YIELD_EVERY} bytes, `afterTurn`
 * called then (it may throw to stop, an abort say). For chunks that may never make their
 * consumer wait: an input held in memory, or what a small input inflates to (a few MiB of gzip
 * can hold GiBs of zeros).
 */
export async function* paced(
  chunks: AsyncIterable<Uint8Array>,
  afterTurn?: () => void,
): AsyncGenerator<Uint8Array> {
  let since = 0;
  for await (const chunk of chunks) {
    yield chunk;
    since += chunk.length;
    if (since >= YIELD_EVERY) {
      since = 0;
      await macrotask();
      afterTurn?.();
    }
  }
}

/**
 * Input bytes between two turns of the event loop. An input already in memory (bytes, a Blob,
 * a generator) never makes the pipeline wait, which then only awaits promises that are already
 * settled: timers, and with them a timed abort, would not run until the end.
 */
const YIELD_EVERY = 16 << 20;

/**
 * Resolves on a later turn of the event loop: by setImmediate where there is one (Node, Bun),
 * which has no timer's minimum delay; else by setTimeout, which every runtime has.
 */
function macrotask(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

/** The chunks of `input` as it gives them (in-memory bytes in 1 MiB slices); see bytesOf. */
async function* sourceChunks(input: ByteInput): AsyncGenerator<Uint8Array> {
  checkInput(input);
  const bytes = byteView(input);
  if (bytes) {
    for (let i = 0; i < bytes.length; i += SLICE) yield bytes.subarray(i, i + SLICE);
    return;
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    yield* sourceChunks(input.stream() as ReadableStream<Uint8Array>);
    return;
  }
  if (isReadableStream(input)) {
    yield* readerChunks(input.getReader());
    return;
  }
  if (input && typeof (input as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
    for await (const chunk of input as AsyncIterable<Uint8Array>) yield checkChunk(chunk);
    return;
  }
  if (input && typeof (input as Iterable<Uint8Array>)[Symbol.iterator] === 'function') {
    for (const chunk of input as Iterable<Uint8Array>) yield checkChunk(chunk);
    return;
  }
  throw notAnInput();
}

function notAnInput(what = ''): SnapshotError {
  return new SnapshotError(
    'INVALID_ARGUMENT',
    `input must be a ReadableStream, an (async) iterable of Uint8Array, a Uint8Array, an ArrayBuffer or a Blob${what}`,
  );
}

/**
 * `x` as a Uint8Array when it is one or an ArrayBuffer, of this realm or of another (a vm
 * context, an iframe, a test runner's sandbox, where `instanceof` answers false); else undefined.
 */
export function byteView(x: unknown): Uint8Array | undefined {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (typeof x !== 'object' || x === null) return undefined;
  const tag = Object.prototype.toString.call(x);
  if (tag === '[object Uint8Array]' && ArrayBuffer.isView(x)) {
    return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  }
  if (tag === '[object ArrayBuffer]') return new Uint8Array(x as ArrayBuffer);
  return undefined;
}

/** Throws SnapshotError('INVALID_ARGUMENT') for what is plainly no byte input. */
function checkInput(input: unknown): void {
  if (input === null || input === undefined) throw notAnInput(`, got ${input}`);
  if (typeof input === 'string') {
    throw notAnInput(", got a string (a file path is taken by the Node entry, 'raftsnap')");
  }
}

/** The chunks of a ReadableStream's reader; stopping early cancels the stream. */
async function* readerChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield checkChunk(next.value);
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * {@link bytesOf} with a `stop` that ends the source at once, even while a read is waiting (an
 * iterator's `return` would wait for it): a ReadableStream is cancelled, a Node stream destroyed,
 * an async iterable's own iterator asked to return (where a read waits, at once); other sources
 * are asked to return.
 */
export function stoppableBytes(input: ByteInput): {
  chunks: AsyncIterator<Uint8Array>;
  stop(): void;
} {
  checkInput(input);
  if (isReadableStream(input)) {
    const reader = input.getReader();
    return {
      chunks: readerChunks(reader),
      stop: () => {
        reader.cancel().catch(() => {});
      },
    };
  }
  const node = input as { destroy?: () => void };
  if (typeof node.destroy === 'function') {
    return { chunks: bytesOf(input)[Symbol.asyncIterator](), stop: () => node.destroy!() };
  }
  const iterable = input as AsyncIterable<unknown>;
  if (!byteView(input) && typeof iterable[Symbol.asyncIterator] === 'function') {
    // The caller's own iterator is asked to return, not a generator around it: that one's
    // return() would wait for the read it is waiting on.
    const source = iterable[Symbol.asyncIterator]();
    let stopped = false;
    // As `for await` over `source`, and never asking it for more once it was asked to return.
    const checked = async function* () {
      let ended = false;
      try {
        while (!stopped) {
          let next: IteratorResult<unknown>;
          try {
            next = await source.next();
          } catch (err) {
            ended = true;
            throw err;
          }
          if (next.done) {
            ended = true;
            return;
          }
          yield checkChunk(next.value);
        }
      } finally {
        if (!ended && !stopped) await source.return?.();
      }
    };
    return {
      chunks: paced(checked())[Symbol.asyncIterator](),
      stop: () => {
        stopped = true;
        try {
          Promise.resolve(source.return?.()).catch(() => {});
        } catch {
          // A source whose return() throws is stopped as far as it can be.
        }
      },
    };
  }
  const chunks = bytesOf(input)[Symbol.asyncIterator]();
  return {
    chunks,
    stop: () => {
      chunks.return?.(undefined)?.catch(() => {});
    },
  };
}

function isReadableStream(x: unknown): x is ReadableStream<Uint8Array> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as ReadableStream).getReader === 'function' &&
    typeof (x as ReadableStream).pipeTo === 'function'
  );
}

function checkChunk(chunk: unknown): Uint8Array {
  const bytes = byteView(chunk);
  if (bytes) return bytes;
  throw new SnapshotError('IO', `input yielded a ${typeof chunk} chunk; expected Uint8Array`);
}

/** Where decoded bytes go: a Web WritableStream or any object with an awaited `write`. */
export type ByteOutput =
  | WritableStream<Uint8Array>
  | {
      write(chunk: Uint8Array): unknown;
      close?(): unknown;
      abort?(reason?: unknown): unknown;
      /** See {@link ByteSink.releasesChunks}. */
      readonly releasesChunks?: boolean;
    };

/** An output opened for writing: each `write` resolves when the destination can take more. */
export interface ByteSink {
  /**
   * True when the sink keeps no reference to a chunk once `write` has resolved (it copied or
   * wrote it), so the producer may reuse the chunk's memory.
   */
  readonly releasesChunks?: boolean;
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

/**
 * Throws SnapshotError('INVALID_ARGUMENT') unless `output` is a WritableStream (not locked by
 * another writer) or an object with `write()`. Opens nothing, but from now on an output of the
 * runtime's own kind has its failures kept for its sink (see {@link registerOutputAdapter}):
 * callers check an output before their first await.
 */
export function checkOutput(output: ByteOutput): void {
  const o = output as { getWriter?: unknown; write?: unknown; locked?: boolean } | null;
  let why = '';
  if (o === null || typeof o !== 'object') why = `, got ${o === null ? 'null' : typeof o}`;
  else if (typeof o.getWriter === 'function') {
    if (!o.locked) return;
    why = ' (this one is locked)';
  } else if (typeof o.write === 'function') {
    outputGuard?.(o);
    return;
  }
  throw new SnapshotError(
    'INVALID_ARGUMENT',
    `output must be a WritableStream or have write()${why}`,
  );
}

/** Opens `output` for writing. A WritableStream is locked until close/abort. */
export function sinkOf(output: ByteOutput): ByteSink {
  checkOutput(output);
  if (typeof (output as WritableStream).getWriter === 'function') {
    const writer = (output as WritableStream<Uint8Array>).getWriter();
    return {
      async write(chunk) {
        await writer.ready;
        await writer.write(chunk);
      },
      async close() {
        await writer.close();
      },
      async abort(reason) {
        // Not awaited: the stream waits for the write under way, which a stalled sink never ends.
        writer.abort(reason).catch(() => {});
      },
    };
  }
  const o = output as Exclude<ByteOutput, WritableStream<Uint8Array>>;
  const adapted = outputAdapter?.(o);
  if (adapted) return adapted;
  return {
    releasesChunks: o.releasesChunks === true,
    async write(chunk) {
      await o.write(chunk);
    },
    async close() {
      await o.close?.();
    },
    async abort(reason) {
      await o.abort?.(reason);
    },
  };
}

/**
 * Sinks for the outputs of a runtime's own kind, tried before an object's plain `write`: the
 * Node entry registers one for Node.js Writables (src/node/writable-sink.ts), which have
 * `write` but want their 'drain' awaited and `end` called.
 */
let outputAdapter: ((output: object) => ByteSink | undefined) | undefined;
let outputGuard: ((output: object) => void) | undefined;

/**
 * Sets the adapter {@link sinkOf} tries for outputs that are not WritableStreams, and `guard`,
 * which {@link checkOutput} calls on them so that a failure they report before their sink is
 * opened (a Node Writable's 'error' event while Raft takes a snapshot) is kept for that sink
 * rather than ending the process.
 */
export function registerOutputAdapter(
  adapt: (output: object) => ByteSink | undefined,
  guard?: (output: object) => void,
): void {
  outputAdapter = adapt;
  outputGuard = guard;
}

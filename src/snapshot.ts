/**
 * The snapshot (gzip) level, as the reference's snapshot.go, for every runtime: verify, parse
 * and write gzip'd snapshot archives from any byte input, streaming with bounded memory.
 */
import { type EngineChoice, type Engines, getEngines } from './engines/registry.js';
import type { HashState } from './engines/sha256.js';
import { isSnapshotError, messageOf, SnapshotError, wrapError } from './errors.js';
import { type ArchiveInfo, readArchive, writeArchive } from './format/archive.js';
import { CrcLedger } from './format/crc-ledger.js';
import { openGunzip } from './format/gzip.js';
import type { SnapshotMeta } from './format/meta.js';
import { TarReader } from './format/tar-reader.js';
import { ByteReader } from './io/byte-reader.js';
import {
  type ByteInput,
  type ByteOutput,
  byteView,
  checkOutput,
  paced,
  sinkOf,
  stoppableBytes,
} from './io/input.js';
import type { Raft } from './raft.js';
import type { Sealer } from './sealer.js';

/**
 * Progress of a long operation: `bytes` read so far (of the archive when reading, of the state
 * when writing), of `total` when known.
 */
export interface Progress {
  bytes: number;
  total?: number;
}

export interface CommonOptions {
  /** Which hot-path engines to use (default: RAFTSNAP_ENGINE, else the fastest). */
  engine?: EngineChoice;
  /** Aborts the operation; it then rejects with SnapshotError('ABORTED'). */
  signal?: AbortSignal;
  /** Called as the input streams through, once for each chunk as it is taken. */
  onProgress?: (p: Progress) => void;
}

export interface ReadOptions extends CommonOptions {
  /** Also open SHA256SUMS.sealed with this sealer and check its list. */
  sealer?: Sealer;
}

/** What the input threw after the archive, as the reference's Verify returns it: unprefixed. */
function inputFailure(err: unknown): SnapshotError {
  return new SnapshotError('IO', messageOf(err), { cause: err });
}

/** The size of `input` when it is known without reading it. */
function knownSize(input: ByteInput): number | undefined {
  const bytes = byteView(input);
  if (bytes) return bytes.length;
  if (typeof Blob !== 'undefined' && input instanceof Blob) return input.size;
  return undefined;
}

/**
 * Iterates `input`, reporting progress and honouring `signal`: between chunks, and while waiting
 * for one (an input that has stalled, a quiet pipe, does not hold an abort up; the source is
 * then asked to stop).
 */
export async function* tracked(
  input: ByteInput,
  opts: CommonOptions,
  total = knownSize(input),
): AsyncGenerator<Uint8Array> {
  const { signal, onProgress } = opts;
  let bytes = 0;
  throwIfAborted(signal);
  const { chunks: source, stop } = stoppableBytes(input);
  let done = false;
  try {
    for (;;) {
      // Not one more read once aborted (between chunks, by a progress callback say).
      throwIfAborted(signal);
      const next = await unlessAborted(source.next(), signal);
      if (next.done) {
        done = true;
        return;
      }
      throwIfAborted(signal);
      // Before the chunk is handed on: a consumer that stops after its last byte (a writer takes
      // exactly the state's size) does not come back for the next one.
      bytes += next.value.length;
      onProgress?.({ bytes, total });
      yield next.value;
    }
  } finally {
    // Aborted while a read waits: the source is stopped now. Stopped early otherwise (the
    // consumer is done): it closes as soon as it can.
    if (signal?.aborted) stop();
    else if (!done) source.return?.(undefined)?.catch(() => {});
  }
}

/** The error of an aborted operation: SnapshotError('ABORTED') with the signal's reason. */
function abortError(signal: AbortSignal): SnapshotError {
  const reason = signal.reason;
  return new SnapshotError('ABORTED', `operation aborted: ${messageOf(reason ?? 'aborted')}`, {
    cause: reason,
  });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * `sealer` with its seal and open given up (SnapshotError('ABORTED')) when `signal` aborts: a
 * key service that never answers does not hold the operation, its temporary files or its Raft
 * snapshot. Undefined stays undefined.
 */
function abortable(
  sealer: Sealer | undefined,
  signal: AbortSignal | undefined,
): Sealer | undefined {
  if (!sealer || !signal) return sealer;
  return {
    seal: (data) => unlessAborted((async () => sealer.seal(data))(), signal),
    open: (data) => unlessAborted((async () => sealer.open(data))(), signal),
  };
}

/**
 * `work`, unless `signal` aborts first: then it rejects at once with SnapshotError('ABORTED')
 * (`work` goes on and is ignored).
 */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * What a read does with the gzip stream after the end of the tar:
 * - 'verify': as the reference's Verify (its concludeGzipRead), the rest must be valid gzip and
 *   hold no decompressed byte, else the read fails;
 * - 'ignore': as its Parse, WriteToTempFile and Restore, which stop at the end of the tar (a
 *   damaged trailer or bytes after the archive go unread); the input is cancelled there;
 * - 'report': as 'verify', but what is wrong there is returned as `afterArchive` instead of
 *   thrown, and the input is still read to its end (its size and checksum are the whole input's).
 */
export type AfterArchive = 'verify' | 'ignore' | 'report';

/** What {@link readSnapshot} found; `afterArchive` only in its 'report' mode. */
export interface ReadResult extends SnapshotInfo {
  /**
   * Why the reference's Verify would reject a file that its Restore reads (see AfterArchive): the
   * error Verify reports.
   */
  afterArchive?: SnapshotError;
}

/**
 * Reads a whole gzip'd snapshot with the rules of the reference's Verify: the archive rules of
 * {@link readArchive}, every gzip member valid, and no decompressed byte after the end of the
 * tar (or, with `afterArchive`, as the reference's Parse and Restore read it). `onState`
 * receives state.bin's bytes as they are read (before the verdict). Returns the metadata;
 * throws SnapshotError with the reason.
 */
export async function readSnapshot(
  input: ByteInput,
  opts: InspectOptions & {
    onState?: (chunk: Uint8Array) => Promise<void> | void;
    /** `onState` keeps no chunk once its promise resolves (so decoded memory can be reused). */
    onStateReleases?: boolean;
    afterArchive?: AfterArchive;
  },
  engines?: Engines,
): Promise<ReadResult> {
  const e = engines ?? (await getEngines(opts.engine));
  const archiveHash = opts.checksum === false ? undefined : e.hash.create();
  let archiveSize = 0;
  async function* hashed(): AsyncGenerator<Uint8Array> {
    for await (const chunk of tracked(input, opts)) {
      await archiveHash?.update(chunk);
      archiveSize += chunk.length;
      yield chunk;
    }
  }
  const src = new ByteReader(hashed());
  let decompressed: ByteReader | undefined;
  try {
    // Decoded memory is reused when nothing keeps state chunks: the tar reader and the hashes
    // are done with a chunk when they ask for the next.
    const reuseOutput = !opts.onState || opts.onStateReleases === true;
    // state.bin's CRC-32 may come from its hash (a hashing thread CRCs what it hashes).
    const ledger = new CrcLedger(e.crc32);
    decompressed = new ByteReader(
      // What a small input inflates to gives the event loop turns too (a timed abort runs).
      paced(
        await openGunzip(src, { inflate: e.inflate, crc32: e.crc32, reuseOutput, ledger }),
        () => throwIfAborted(opts.signal),
      ),
    );
    let info: ArchiveInfo;
    try {
      info = await readArchive(new TarReader(decompressed), {
        hash: e.hash,
        sealer: abortable(opts.sealer, opts.signal),
        onState: opts.onState,
        crcLedger: ledger,
      });
    } catch (err) {
      throw wrapError(err, 'failed to read snapshot file');
    }
    const mode = opts.afterArchive ?? 'verify';
    let afterArchive: SnapshotError | undefined;
    if (mode === 'ignore') {
      await decompressed.cancel();
      await src.cancel();
    } else {
      try {
        await concludeGzipRead(decompressed);
      } catch (err) {
        // What the gzip stream holds after the archive, or else a failure of the input itself
        // (a stream that errors, a chunk that is no bytes), which the reference's Verify returns
        // as it is, unprefixed, after the archive: a SnapshotError of its own stays as it is,
        // anything else becomes an IO one with its message.
        if (!isSnapshotError(err)) throw inputFailure(err);
        if (!AFTER_ARCHIVE_CODES.includes(err.code)) throw err;
        afterArchiveErrors.add(err);
        if (mode === 'verify') throw err;
        afterArchive = err;
        try {
          while ((await src.read(1 << 20)) !== null) {}
        } catch (readErr) {
          throw isSnapshotError(readErr) ? readErr : inputFailure(readErr);
        }
      }
    }
    return {
      ...info,
      archiveSize,
      checksum: archiveHash ? `sha-256=${toBase64(await archiveHash.digest())}` : '',
      engines: { hash: e.hash.name, inflate: e.inflate.name },
      ...(afterArchive && { afterArchive }),
    };
  } catch (err) {
    // Both, so that the gzip reader's engine is closed and a decode it started ahead of the
    // failure settles handled.
    await decompressed?.cancel().catch(() => {});
    await src.cancel().catch(() => {});
    throw err;
  }
}

/** The codes of the errors that the gzip stream after the end of the tar can give. */
const AFTER_ARCHIVE_CODES: readonly string[] = ['GZIP', 'TRUNCATED', 'TRAILING_DATA'];
const afterArchiveErrors = new WeakSet<object>();

/**
 * Whether `err` is what a verifying read found in the gzip stream after the end of a whole
 * archive (a damaged trailer, bytes after the archive): the reference's Restore never reads that
 * far, so a restore of the same bytes succeeds.
 */
export function isAfterArchiveError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && afterArchiveErrors.has(err);
}

/**
 * The reference's concludeGzipRead: the rest of the gzip stream must be valid and hold no data.
 * @throws SnapshotError 'TRAILING_DATA' when it holds some; the gzip layer's errors.
 */
async function concludeGzipRead(decompressed: ByteReader): Promise<void> {
  let extra = 0;
  for (;;) {
    const rest = await decompressed.read(1 << 20);
    if (rest === null) break;
    extra += rest.length;
  }
  if (extra > 0) {
    throw new SnapshotError('TRAILING_DATA', `${extra} unread uncompressed bytes remain`);
  }
}

/**
 * Verifies a gzip'd snapshot archive (≈ the reference's Verify, plus the sealed sums when a
 * sealer is given) and returns its metadata. Reads the input to its end; holds only bounded
 * buffers. Rejects with SnapshotError saying what is wrong.
 */
export async function verify(input: ByteInput, opts: ReadOptions = {}): Promise<SnapshotMeta> {
  return (await readSnapshot(input, { ...opts, checksum: false })).meta;
}

export interface InspectOptions extends ReadOptions {
  /** Compute the archive checksum (default true; one more SHA-256 pass over the archive). */
  checksum?: boolean;
}

/** Everything a full read of a valid snapshot tells. */
export interface SnapshotInfo extends ArchiveInfo {
  /** Size of the gzip'd archive in bytes. */
  archiveSize: number;
  /**
   * `sha-256=` + base64 SHA-256 of the archive bytes, as the reference's Snapshot.Checksum();
   * empty when the caller asked for no checksum.
   */
  checksum: string;
  /** The engines that did the work. */
  engines: { hash: string; inflate: string };
}

/**
 * Verifies a snapshot like {@link verify} and also reports what `raftsnap inspect` shows: the
 * state size, whether it is sealed, the archive's size and checksum, and the engines used.
 */
export function inspect(input: ByteInput, opts: InspectOptions = {}): Promise<SnapshotInfo> {
  return readSnapshot(input, opts);
}

export interface ParseOptions extends ReadOptions {
  /**
   * Also read the gzip stream after the end of the tar and hold it to {@link verify}'s rules (the
   * reference's Parse does not): a damaged trailer or bytes after the archive then fail parse too.
   */
  strict?: boolean;
}

/**
 * Reads a snapshot and streams state.bin to `output` (≈ the reference's Parse), with
 * backpressure. The output receives bytes before the archive has been fully checked: on a
 * verdict of invalid, `output` is aborted and the promise rejects. On success `output` is closed.
 * Like Parse, it reads up to the end of the tar and no further (unless `strict`): what follows in
 * the input (a damaged gzip trailer, bytes after the archive), which {@link verify} rejects, is
 * not read.
 */
export async function parse(
  input: ByteInput,
  output: ByteOutput,
  opts: ParseOptions = {},
): Promise<SnapshotMeta> {
  const sink = sinkOf(output);
  try {
    const { meta } = await readSnapshot(input, {
      ...opts,
      checksum: false,
      afterArchive: opts.strict ? 'verify' : 'ignore',
      // An output that has stopped taking bytes does not hold an abort up.
      onState: (c) => unlessAborted(sink.write(c), opts.signal),
      onStateReleases: sink.releasesChunks === true,
    });
    throwIfAborted(opts.signal);
    await unlessAborted(sink.close(), opts.signal);
    return meta;
  } catch (err) {
    await sink.abort(err).catch(() => {});
    // The output's own failure (its close) is an IO error naming it; the rest are the reading's.
    throw isSnapshotError(err) ? err : wrapError(err, 'failed to write the state to the output');
  }
}

export interface WriteOptions extends CommonOptions {
  /** Adds SHA256SUMS.sealed sealed with this sealer. */
  sealer?: Sealer;
  /**
   * gzip level 0-9, applied to every block. The default (also -1, zlib's name for it) is level
   * 6 (as Go's gzip.DefaultCompression), except that a block whose bytes look random
   * (ciphertext, compressed media) is stored as it is (every engine compresses in blocks; the
   * portable one leaves the level of its CompressionStream members to the runtime, which is 6
   * in zlib-based ones).
   */
  level?: number;
  /** Modification time of the tar entries (default: now). */
  mtime?: Date;
}

export interface WriteResult {
  meta: SnapshotMeta;
  /** `sha-256=` + base64 SHA-256 of the archive bytes, as the reference's Snapshot.Checksum(). */
  checksum: string;
  /** Size of the archive in bytes. */
  bytes: number;
}

/**
 * Checks a gzip level argument and returns it, -1 for the default (see WriteOptions.level);
 * throws SnapshotError('INVALID_ARGUMENT').
 */
export function checkLevel(level: number | undefined): number {
  if (level === undefined) return -1;
  if (!Number.isInteger(level) || level < -1 || level > 9) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `compression level must be 0-9 (or -1 for the default), got ${level}`,
    );
  }
  return level;
}

/**
 * Checks what {@link writeSnapshot} would find wrong in `opts` only once it runs: the level and
 * the engine choice. Rejects with SnapshotError('INVALID_ARGUMENT'), or as the engines fail to
 * load. For callers with costly work to do first (a Raft snapshot).
 */
export async function checkWriteOptions(opts: WriteOptions): Promise<void> {
  checkLevel(opts.level);
  await getEngines(opts.engine);
}

/**
 * Yields the gzip'd snapshot archive of `meta` and `state` (exactly `meta.size` bytes of it),
 * and calls `done` with the result once the last byte has been yielded. Every chunk yielded is
 * the caller's to keep.
 */
export function archiveBytes(
  meta: SnapshotMeta,
  state: ByteInput,
  opts: WriteOptions,
  done?: (r: WriteResult) => void,
): AsyncGenerator<Uint8Array> {
  return archiveChunks(meta, state, opts, false, done);
}

/** {@link archiveBytes}; with `reuse`, a chunk may be overwritten once the next is asked for. */
async function* archiveChunks(
  meta: SnapshotMeta,
  state: ByteInput,
  opts: WriteOptions,
  reuse: boolean,
  done?: (r: WriteResult) => void,
): AsyncGenerator<Uint8Array> {
  const level = checkLevel(opts.level);
  const e = await getEngines(opts.engine);
  const tar = writeArchive(meta, tracked(state, opts, Number(meta.size)), {
    hash: e.hash,
    sealer: abortable(opts.sealer, opts.signal),
    mtime: opts.mtime,
  });
  const archiveHash: HashState = e.hash.create();
  let bytes = 0;
  for await (const chunk of e.gzip(tar, level, reuse)) {
    await archiveHash.update(chunk);
    bytes += chunk.length;
    yield chunk;
  }
  done?.({ meta, checksum: `sha-256=${toBase64(await archiveHash.digest())}`, bytes });
}

/**
 * Writes the gzip'd snapshot archive of `meta` and `state` to `output` (≈ the reference's write
 * + gzip). `meta.size` bytes are taken from `state`. On failure `output` is aborted and the
 * promise rejects with SnapshotError.
 */
export async function writeSnapshot(
  meta: SnapshotMeta,
  state: ByteInput,
  output: ByteOutput,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  const sink = sinkOf(output);
  let result: WriteResult | undefined;
  try {
    // A sink that copies or writes each chunk before its write resolves lets the compressor
    // reuse output memory.
    for await (const chunk of archiveChunks(
      meta,
      state,
      opts,
      sink.releasesChunks === true,
      (r) => {
        result = r;
      },
    )) {
      // Also here, not only between state chunks: an empty state has none, and the sums and
      // the sealing come after the last.
      throwIfAborted(opts.signal);
      // An output that has stopped taking bytes does not hold an abort up either.
      await unlessAborted(sink.write(chunk), opts.signal);
    }
    throwIfAborted(opts.signal);
    await unlessAborted(sink.close(), opts.signal);
    return result!;
  } catch (err) {
    await sink.abort(err).catch(() => {});
    throw wrapError(err, 'failed to write snapshot file');
  }
}

/**
 * Takes a snapshot of `raft` and streams its archive to `output` without a temporary file
 * (≈ the reference's Write). The Raft snapshot is closed exactly once, on every path.
 */
export async function write(
  raft: Raft,
  output: ByteOutput,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  let writing = false;
  try {
    // Checked before Raft is asked for a snapshot, which on a large cluster is costly.
    checkOutput(output);
    await checkWriteOptions(opts);
    return await usingRaftSnapshot(
      raft,
      (snap) => {
        writing = true;
        return writeSnapshot(snap.meta, snap.data, output, opts);
      },
      undefined,
      opts.signal,
    );
  } catch (err) {
    // writeSnapshot aborts the output itself; before it began (no snapshot, an abort), here.
    if (!writing) await abortOutput(output, err);
    throw err;
  }
}

/** Aborts `output` as a failed operation leaves it, when the operation never opened it. */
export async function abortOutput(output: ByteOutput, reason: unknown): Promise<void> {
  try {
    await sinkOf(output).abort(reason);
  } catch {
    // An output that cannot be opened (or aborted) has nothing to undo.
  }
}

/**
 * Takes a snapshot of `raft`, passes it to `use` and closes it exactly once on every path.
 * Rejects with SnapshotError('RAFT') when taking the snapshot fails; with `use`'s error when it
 * fails (a failed close then goes unreported, so it never hides that error); and, when `use`
 * succeeded but the close fails, with SnapshotError('RAFT') after `undo(result)` has run.
 * With `signal` aborted no snapshot is asked for; aborted while Raft takes one, it rejects with
 * SnapshotError('ABORTED') at once and closes that snapshot when Raft hands it over.
 */
export async function usingRaftSnapshot<T>(
  raft: Raft,
  use: (snap: Awaited<ReturnType<Raft['snapshot']>>) => Promise<T>,
  undo?: (result: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<T> {
  throwIfAborted(signal);
  let snap: Awaited<ReturnType<Raft['snapshot']>>;
  const taking = (async () => {
    const taken = await raft.snapshot();
    const t = taken as Partial<typeof taken> | null | undefined;
    if (!t || typeof t.close !== 'function' || !t.meta || !t.data) {
      // Not `meta`, `data` and `close`: a Raft adapter's mistake, said as such.
      if (t && typeof t.close === 'function') await (async () => t.close!())().catch(() => {});
      throw new Error('snapshot() gave no { meta, data, close }');
    }
    return taken;
  })().catch((err) => {
    throw new SnapshotError('RAFT', `raft error when taking snapshot: ${messageOf(err)}`, {
      cause: err,
    });
  });
  try {
    snap = await unlessAborted(taking, signal);
  } catch (err) {
    // A snapshot that arrives after the abort is closed all the same.
    // Its close may throw at once or reject: neither is this call's to report.
    taking.then((late) => late.close()).catch(() => {});
    throw err;
  }
  // Called once on either path; a close that never ends (a stuck Raft) is given up on abort.
  const close = () =>
    unlessAborted(
      (async () => snap.close())().catch((err) => {
        throw new SnapshotError('RAFT', `raft error when closing snapshot: ${messageOf(err)}`, {
          cause: err,
        });
      }),
      signal,
    );
  let result: T;
  try {
    result = await use(snap);
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  try {
    await close();
  } catch (err) {
    await undo?.(result);
    throw err;
  }
  return result;
}

/**
 * Why Raft will not restore an archive whose state.bin is not meta.json's `Size` long (such an
 * archive verifies, with the reference too, but hashicorp/raft's Restore counts the bytes), or
 * undefined when the two agree.
 */
export function stateSizeMismatch(
  meta: SnapshotMeta,
  stateSize: number | bigint,
): string | undefined {
  if (BigInt(stateSize) === meta.size) return undefined;
  return `state.bin holds ${stateSize} bytes but meta.json's Size is ${meta.size}: Raft refuses to restore such a snapshot (hashicorp/raft: "size didn't match")`;
}

/** Standard base64 with padding (no Node built-ins). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/**
 * The parts of the reference's snapshot.go that need a file system: Snapshot (a snapshot taken
 * into a temporary file), WriteToTempFile, Restore, and file outputs (extract, create) that are
 * atomic. Memory stays bounded: everything streams through temporary files.
 */

import { join } from 'node:path';
import { isSnapshotError, messageOf, SnapshotError, wrapError } from '../errors.js';
import type { ArchiveInfo } from '../format/archive.js';
import { encodeMeta, type SnapshotMeta } from '../format/meta.js';
import { type ByteInput, type ByteOutput, checkOutput } from '../io/input.js';
import type { Raft, RaftRestoreOptions } from '../raft.js';
import {
  abortOutput,
  checkWriteOptions,
  type InspectOptions,
  type ParseOptions,
  parse as portableParse,
  type ReadOptions,
  type ReadResult,
  readSnapshot,
  type SnapshotInfo,
  stateSizeMismatch,
  throwIfAborted,
  unlessAborted,
  usingRaftSnapshot,
  type WriteOptions,
  type WriteResult,
  writeSnapshot,
} from '../snapshot.js';
import {
  cleanStaleTemps,
  createAtomicFile,
  createTempCopy,
  type FileWriter,
  fileSize,
  fileStream,
  type HeldTempFile,
  holdsMoreThan,
  holdTempFile,
  ioError,
  makeDirs,
  namedWriter,
  pathChunks,
  replacesFile,
  statFile,
} from './files.js';
import { PREWARM_MIN, prewarmHashThread } from './hash-thread.js';

/** A path string is read as a file; anything else as the portable API reads it. */
export type NodeInput = ByteInput | string;

/**
 * Resolves a Node input: a path becomes a file stream, with its size for progress when it is a
 * regular file (a pipe's or a device's is not known before it is read).
 */
export async function resolveInput(
  input: NodeInput,
): Promise<{ input: ByteInput; total?: number }> {
  if (typeof input !== 'string') return { input };
  try {
    const info = await statFile(input);
    const total = info.isFile() ? info.size : undefined;
    if (total !== undefined && total >= PREWARM_MIN) prewarmHashThread();
    // The reader is done with each chunk when it asks for the next.
    return { input: pathChunks(input, info), total };
  } catch (err) {
    throw ioError(err, 'cannot read', input);
  }
}

function withTotal<T extends ReadOptions>(opts: T, total: number | undefined): T {
  if (total === undefined || !opts.onProgress) return opts;
  const user = opts.onProgress;
  return { ...opts, onProgress: (p) => user({ bytes: p.bytes, total: p.total ?? total }) };
}

async function openReused(path: string): Promise<ByteInput> {
  try {
    return pathChunks(path, await statFile(path));
  } catch (err) {
    throw ioError(err, 'cannot read', path);
  }
}

/** Verifies a snapshot from a path or any byte input; see the portable `verify`. */
export async function verify(input: NodeInput, opts: ReadOptions = {}): Promise<SnapshotMeta> {
  return (await inspect(input, { ...opts, checksum: false })).meta;
}

/** Inspects a snapshot from a path or any byte input; see the portable `inspect`. */
export async function inspect(input: NodeInput, opts: InspectOptions = {}): Promise<SnapshotInfo> {
  const r = await resolveInput(input);
  return readSnapshot(r.input, withTotal(opts, r.total));
}

/**
 * Reads a snapshot as a product's restore will (the reference's Restore: up to the end of the
 * tar), and, to its end, as `inspect` does: what only Verify would reject comes back as
 * `afterArchive` (see AfterArchive 'report'), so that a caller can say whether the file restores.
 */
export async function inspectForRestore(
  input: NodeInput,
  opts: InspectOptions = {},
): Promise<ReadResult> {
  const r = await resolveInput(input);
  return readSnapshot(r.input, { ...withTotal(opts, r.total), afterArchive: 'report' });
}

/** Parses a snapshot from a path or any byte input into `output`; see the portable `parse`. */
export async function parse(
  input: NodeInput,
  output: ByteOutput,
  opts: ParseOptions = {},
): Promise<SnapshotMeta> {
  // Before the first await: a Node Writable's 'error' meanwhile is then kept for its sink.
  checkOutput(output);
  let r: Awaited<ReturnType<typeof resolveInput>>;
  try {
    r = await resolveInput(input);
  } catch (err) {
    // Left as a failed parse leaves it.
    await abortOutput(output, err);
    throw err;
  }
  return portableParse(r.input, output, withTotal(opts, r.total));
}

/** A verified snapshot's state held in a temporary file (≈ WriteToTempFile's result). */
export interface TempState {
  meta: SnapshotMeta;
  /** The temporary file holding state.bin (mode 0600). */
  path: string;
  /**
   * A fresh stream of the state; may be called more than once, until `cleanup()` (after it,
   * throws SnapshotError 'INVALID_ARGUMENT').
   */
  stream(): ReadableStream<Uint8Array>;
  /** Removes the temporary file; safe to call more than once. */
  cleanup(): Promise<void>;
}

/**
 * Reads and verifies a snapshot as the reference's WriteToTempFile[WithSealer] does, storing
 * state.bin in a temporary file: the whole archive, up to the end of the tar (what follows it,
 * which `verify` also checks, is not read, as the reference does not). On any failure the
 * temporary file is removed and the promise rejects with SnapshotError; on success the caller
 * owns the file and must call `cleanup()`.
 */
export async function writeToTempFile(
  input: NodeInput,
  opts: ReadOptions & { dir?: string } = {},
): Promise<TempState> {
  return (await verifiedCopy(input, opts)).temp;
}

/** {@link writeToTempFile}, with the bytes of state.bin it copied. */
async function verifiedCopy(
  input: NodeInput,
  opts: ReadOptions & { dir?: string },
): Promise<{ temp: TempState; stateSize: number }> {
  const r = await resolveInput(input);
  const file = await createTempCopy(opts.dir);
  let meta: SnapshotMeta;
  try {
    ({ meta } = await readSnapshot(r.input, {
      ...withTotal(opts, r.total),
      checksum: false,
      afterArchive: 'ignore',
      // A write to a stalled disk does not hold up an abort.
      onState: (c) => unlessAborted(file.write(c), opts.signal),
      onStateReleases: true,
    }));
    await file.close();
  } catch (err) {
    await file.abort(err);
    throw err;
  }
  const path = file.path;
  let cleaned = false;
  const held = holdTempFile(path);
  const temp: TempState = {
    meta,
    path,
    stream: () => {
      if (cleaned) {
        throw new SnapshotError(
          'INVALID_ARGUMENT',
          `the temporary state ${path} was removed by cleanup(); stream it before`,
        );
      }
      return held.stream();
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await held.remove();
    },
  };
  return { temp, stateSize: file.bytes };
}

export interface RestoreOptions extends ReadOptions {
  /**
   * Fail when Raft has not finished restoring within this many milliseconds (0 or absent: no
   * limit; at most 2^31 - 1, about 24.8 days). Raft is then asked to stop (its `signal` aborts);
   * a Raft that had already begun installing the state may still complete the restore, and the
   * error says so.
   */
  timeoutMs?: number;
  /** Directory for the temporary state file (default: the OS temporary directory). */
  dir?: string;
}

/** The longest delay timers take (2^31 - 1 ms); a longer one would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Verifies the snapshot into a temporary file as {@link writeToTempFile} does and only then
 * feeds it to `raft.restore` (≈ Restore[WithSealer]); a corrupt archive never reaches Raft, nor
 * one whose state.bin is not meta.json's `Size` bytes long, which hashicorp/raft refuses ("size
 * didn't match") although the archive verifies. The temporary file is removed on every path.
 * Rejects with SnapshotError: the verification's reason; 'INVALID_ARGUMENT' for a `timeoutMs`
 * that is negative or not a number; 'RAFT' when the sizes differ or Raft fails (whatever Raft
 * threw is the cause); 'ABORTED' on timeout or abort.
 */
export async function restore(
  input: NodeInput,
  raft: Raft,
  opts: RestoreOptions = {},
): Promise<SnapshotMeta> {
  const timeoutMs = opts.timeoutMs ?? 0;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `timeoutMs must be 0 (no limit) or more, got ${timeoutMs}`,
    );
  }
  const { temp, stateSize } = await verifiedCopy(input, opts);
  // Closes the state file however Raft ends: done, failed, stopped early or abandoned.
  const closeState = new AbortController();
  try {
    const mismatch = stateSizeMismatch(temp.meta, stateSize);
    if (mismatch) throw new SnapshotError('RAFT', mismatch);
    // Raft is not asked to restore once the caller has given up.
    throwIfAborted(opts.signal);
    await restoreWithDeadline(raft, temp.meta, fileStream(temp.path, closeState.signal), {
      ...opts,
      timeoutMs,
    });
    return temp.meta;
  } finally {
    closeState.abort();
    // A temporary file that cannot be removed does not replace what Raft answered.
    await temp.cleanup().catch(() => {});
  }
}

async function restoreWithDeadline(
  raft: Raft,
  meta: SnapshotMeta,
  data: ReadableStream<Uint8Array>,
  opts: RestoreOptions & { timeoutMs: number },
): Promise<void> {
  const ctl = new AbortController();
  const onAbort = () => ctl.abort(opts.signal?.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = new Promise<never>((_, reject) => {
    ctl.signal.addEventListener('abort', () => {
      reject(
        ctl.signal.reason instanceof SnapshotError
          ? ctl.signal.reason
          : new SnapshotError('ABORTED', 'restore aborted', { cause: ctl.signal.reason }),
      );
    });
  });
  // Settled only by the race below, or never (then collected with it).
  stopped.catch(() => {});
  let run: Promise<void> | undefined;
  try {
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    if (opts.timeoutMs > 0 && Number.isFinite(opts.timeoutMs)) {
      timer = setTimeout(
        () => {
          ctl.abort(
            new SnapshotError(
              'ABORTED',
              `raft error when restoring snapshot: timed out after ${opts.timeoutMs} ms (Raft was asked to stop; a restore it had already begun installing may still complete)`,
            ),
          );
        },
        Math.min(opts.timeoutMs, MAX_TIMEOUT_MS),
      );
    }
    const raftOpts: RaftRestoreOptions = { timeoutMs: opts.timeoutMs, signal: ctl.signal };
    // Whatever Raft throws, or rejects with, is Raft's failure (a SnapshotError of its own
    // included): the state it reads was verified already.
    run = (async () => raft.restore(meta, data, raftOpts))().catch((err) => {
      throw new SnapshotError('RAFT', `raft error when restoring snapshot: ${messageOf(err)}`, {
        cause: err,
      });
    });
    await Promise.race([run, stopped]);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    run?.catch(() => {});
  }
}

/**
 * Verifies the snapshot and writes DIR/meta.json (Go's encoding of the metadata) and
 * DIR/state.bin, creating DIR if needed. Nothing appears in DIR unless the whole archive
 * verified: both files are written to temporary files, both fsync'd, and only then renamed
 * (state.bin first; a failure of the second rename alone, a directory-level fault, would leave
 * the new state.bin without its meta.json); on failure the directories this call created are
 * removed again. Returns what was read: the metadata, the state's size and whether the archive
 * has sealed sums (checked only when `opts.sealer` is given).
 */
export async function extract(
  input: NodeInput,
  dir: string,
  opts: ReadOptions = {},
): Promise<ArchiveInfo> {
  const r = await resolveInput(input);
  let undoDirs: () => Promise<void> = async () => {};
  let state: FileWriter | undefined;
  let metaFile: FileWriter;
  // Both files are opened before the read, so that a DIR/meta.json that cannot be replaced (a
  // directory there) fails at once rather than after the whole archive.
  try {
    undoDirs = await makeDirs(dir);
    state = namedWriter(await createAtomicFile(join(dir, 'state.bin')), 'cannot write to', dir);
    metaFile = namedWriter(await createAtomicFile(join(dir, 'meta.json')), 'cannot write to', dir);
  } catch (err) {
    await state?.abort(err);
    await undoDirs();
    throw ioError(err, 'cannot write to', dir);
  }
  await cleanStaleTemps(dir);
  let info: ArchiveInfo;
  try {
    info = await readSnapshot(r.input, {
      ...withTotal(opts, r.total),
      checksum: false,
      // A stalled DIR/state.bin (a FIFO nobody reads, a hung mount) does not hold up an abort.
      onState: (c) => unlessAborted(state.write(c), opts.signal),
      onStateReleases: true,
    });
  } catch (err) {
    await metaFile.abort(err);
    await state.abort(err);
    await undoDirs();
    throw err;
  }
  try {
    await metaFile.write(encodeMeta(info.meta));
    // Both on disk before either is renamed into DIR: a failed last write or fsync of one
    // leaves neither behind.
    await state.settle();
    await metaFile.settle();
    // The last moment an abort can keep DIR as it was.
    throwIfAborted(opts.signal);
    // A meta.json that cannot be replaced after state.bin was (immutable, or another user's in a
    // sticky directory) puts the old state.bin back: DIR never pairs one archive's state with
    // another's metadata.
    const replaced = await state.closeReplacing();
    try {
      await metaFile.close();
    } catch (err) {
      await replaced.undo().catch(() => {});
      throw err;
    }
    await replaced.keep().catch(() => {});
  } catch (err) {
    await metaFile.abort(err);
    await state.abort(err);
    await undoDirs();
    throw isSnapshotError(err) ? err : ioError(err, 'cannot write to', dir);
  }
  return { meta: info.meta, stateSize: info.stateSize, sealed: info.sealed };
}

/**
 * Writes the archive of `meta` + `state` to the file `out` atomically (temporary file in the
 * same directory, fsync, rename): `out` is never half-written. A state given as a path must hold
 * exactly `meta.size` bytes when it has been read: one that ended early (TRUNCATED) or holds
 * more (IO) is refused, with the path in the message, and `out` is left as it was.
 */
export async function createFile(
  meta: SnapshotMeta,
  state: NodeInput,
  out: string,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  // The writer copies state into its gzip blocks before it asks for more: a file is read
  // through reused buffers, so that memory stays flat however large the state.
  if (typeof state === 'string' && (await replacesFile(out, state))) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${out} is the state file itself, which the archive would replace; write it elsewhere`,
    );
  }
  const r =
    typeof state === 'string' ? { input: await openReused(state) } : await resolveInput(state);
  let file: FileWriter;
  try {
    file = await createAtomicFile(out);
  } catch (err) {
    throw ioError(err, 'cannot write', out);
  }
  // A failure of the file (a full disk) names it and says what to do.
  const named = namedWriter(file, 'cannot write', out);
  // The writer's close only settles the file (all of it written and fsync'd); the rename is done
  // here, after the last look at the signal, and is not cut short by an abort: once it has begun,
  // `out` is replaced and the call says so, rather than rejecting over a file already in place.
  let result: WriteResult;
  try {
    result = await writeSnapshot(
      meta,
      r.input,
      {
        releasesChunks: named.releasesChunks,
        write: (chunk) => named.write(chunk),
        close: () => named.settle(),
        abort: (reason: unknown) => named.abort(reason),
      },
      opts,
    );
  } catch (err) {
    // A state file that ended before meta's Size: named.
    const short = typeof state === 'string' && isSnapshotError(err) && err.code === 'TRUNCATED';
    throw short ? err.wrap(state) : err;
  }
  try {
    throwIfAborted(opts.signal);
    // A state file that holds more than meta's Size (it grew while it was read, or was longer
    // from the start): the archive would keep only the first Size bytes of it, as the reference
    // writes a state stream, which of a file is never what was meant. A byte past Size is looked
    // for, not only the file's size: a /proc or /sys file says 0 or 4096 whatever it holds.
    if (typeof state === 'string' && (await holdsMoreThan(state, meta.size))) {
      const now = await fileSize(state).catch(() => undefined);
      const held = now !== undefined && BigInt(now) > meta.size ? `${now} bytes, ` : '';
      throw new SnapshotError(
        'IO',
        `${state} holds ${held}more than meta's Size (${meta.size}): it changed while it was read, meta is not its own, or its file system does not give its size (a /proc or /sys file); nothing was written`,
      );
    }
    await named.close();
  } catch (err) {
    await named.abort(err);
    throw wrapError(err, 'failed to write snapshot file');
  }
  return result;
}

/**
 * A snapshot taken from a Raft into a temporary file (≈ the reference's Snapshot, New and
 * NewWithSealer). Call `close()` when done; it removes the file and is safe to call twice.
 */
export class Snapshot {
  private closed = false;
  /** The file, kept fresh and handed out as streams until close(). */
  private readonly held: HeldTempFile;

  private constructor(
    /** Path of the temporary archive file. */
    readonly path: string,
    /** The Raft index of the snapshot. */
    readonly index: bigint,
    /** `sha-256=` + base64 SHA-256 of the archive, as the reference computes it. */
    readonly checksum: string,
    readonly meta: SnapshotMeta,
  ) {
    this.held = holdTempFile(path);
  }

  /**
   * Takes a snapshot of `raft` into a temporary archive file. The Raft snapshot is closed exactly
   * once on every path; on failure no file remains and the promise rejects with SnapshotError
   * (the write's error, else 'RAFT' when closing the Raft snapshot failed).
   */
  static async create(raft: Raft, opts: WriteOptions & { dir?: string } = {}): Promise<Snapshot> {
    // What can be checked is checked before Raft is asked for a snapshot, which on a large
    // cluster is costly: the options, and that the directory takes a temporary file.
    await checkWriteOptions(opts);
    throwIfAborted(opts.signal);
    const file = await createTempCopy(opts.dir);
    try {
      return await usingRaftSnapshot(
        raft,
        async (snap) => {
          const result = await writeSnapshot(snap.meta, snap.data, file, opts);
          return new Snapshot(file.path, snap.meta.index, result.checksum, snap.meta);
        },
        (written) => written.close(),
        opts.signal,
      );
    } catch (err) {
      // No snapshot came (the file was never written), or the write failed (it aborted the file
      // already): no file remains.
      await file.abort(err).catch(() => {});
      throw err;
    }
  }

  /** Size of the archive in bytes. */
  async size(): Promise<number> {
    if (this.closed) throw new SnapshotError('INVALID_ARGUMENT', 'snapshot is closed');
    try {
      return await fileSize(this.path);
    } catch (err) {
      throw ioError(err, 'cannot read', this.path);
    }
  }

  /** A fresh stream of the archive bytes; one taken before close() still reads them all. */
  stream(): ReadableStream<Uint8Array> {
    if (this.closed) throw new SnapshotError('INVALID_ARGUMENT', 'snapshot is closed');
    return this.held.stream();
  }

  /** Removes the temporary file. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.held.remove();
  }
}

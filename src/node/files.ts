/**
 * File-system helpers for Node, Deno and Bun: streaming file input, temporary files that never
 * outlive their owner, and atomic outputs (a temporary file in the destination's directory,
 * fsync'd, then renamed over the destination only on success).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { SnapshotError } from '../errors.js';
import type { ByteSink } from '../io/input.js';

/** Chunk size for file reads. */
const READ_CHUNK = 256 * 1024;

/** Streams the file at `path` (1 MiB chunks); with a known `total` size for progress. */
export function fileInput(path: string): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: READ_CHUNK });
}

/**
 * Streams the file at `path` through two alternating buffers, so that reading allocates nothing
 * per chunk. Each chunk is valid only until the next one is requested: for consumers that are
 * done with a chunk when they ask for the next (the archive writer, which copies state into its
 * gzip blocks), never for ones that keep chunks.
 */
export async function* fileChunksReused(path: string): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const bufs = [new Uint8Array(READ_CHUNK), new Uint8Array(READ_CHUNK)];
    for (let i = 0; ; i ^= 1) {
      const { bytesRead } = await fh.read(bufs[i], 0, READ_CHUNK, null);
      if (bytesRead === 0) return;
      yield bufs[i].subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** A Web ReadableStream of the file at `path`. */
export function fileStream(path: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(
    createReadStream(path, { highWaterMark: READ_CHUNK }),
  ) as ReadableStream<Uint8Array>;
}

/** Size of the file at `path` in bytes. */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** Marker in the names of raftsnap's temporary files, so stale ones are recognisable. */
export const TEMP_MARK = '.raftsnap-';

function tempName(prefix: string): string {
  return `${prefix}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
}

/** An open file being written; see {@link createTempFile} and {@link createAtomicFile}. */
export interface FileWriter extends ByteSink {
  readonly path: string;
  /** Bytes written so far. */
  readonly bytes: number;
}

class HandleWriter implements FileWriter {
  bytes = 0;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly onClose: () => Promise<void>,
    private readonly onAbort: () => Promise<void>,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off);
      off += bytesWritten;
    }
    this.bytes += chunk.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.fh.sync();
      await this.fh.close();
    } catch (err) {
      await this.onAbort();
      throw err;
    }
    await this.onClose();
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
    await this.onAbort();
  }
}

/**
 * Creates a new temporary file (mode 0600) in `dir` (default: the OS temporary directory).
 * `close()` keeps it (the caller must remove it, e.g. with {@link removeFile}); `abort()`
 * removes it.
 */
export async function createTempFile(dir = tmpdir()): Promise<FileWriter> {
  const path = join(dir, tempName('snapshot'));
  const fh = await open(path, 'wx', 0o600);
  return new HandleWriter(
    path,
    fh,
    async () => {},
    () => removeFile(path),
  );
}

/**
 * Opens an atomic writer for `dest`: bytes go to a temporary file next to it (mode 0600 unless
 * `mode` says otherwise); `close()` fsyncs and renames it over `dest`; `abort()` removes it, so
 * `dest` is never seen half-written. Creates the directory when `mkdirs` is set.
 */
export async function createAtomicFile(
  dest: string,
  opts: { mode?: number; mkdirs?: boolean } = {},
): Promise<FileWriter> {
  const dir = dirname(dest);
  if (opts.mkdirs) await mkdir(dir, { recursive: true });
  const path = join(dir, tempName(`.${basename(dest)}`));
  const fh = await open(path, 'wx', opts.mode ?? 0o600);
  return new HandleWriter(
    path,
    fh,
    async () => {
      try {
        await rename(path, dest);
        await syncDir(dir);
      } catch (err) {
        await removeFile(path);
        throw err;
      }
    },
    () => removeFile(path),
  );
}

/** fsyncs a directory so that a rename in it is durable (best effort where unsupported). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms cannot open or fsync directories; the rename itself has happened.
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Removes `path`; a file that is already gone is fine. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Removes temporary files that raftsnap left in `dir` for `dest` from processes that no longer
 * run (e.g. after kill -9). Returns the paths removed.
 */
export async function cleanStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /\.raftsnap-(\d+)-[0-9a-f]{12}\.tmp$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    await removeFile(join(dir, name));
    removed.push(join(dir, name));
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Turns a Node file-system error into SnapshotError('IO') with what to do next. */
export function ioError(err: unknown, what: string): SnapshotError {
  const e = err as NodeJS.ErrnoException;
  const hint: Record<string, string> = {
    ENOSPC: 'the disk is full; free space or choose another directory',
    EACCES: 'permission denied; check the directory permissions',
    EROFS: 'the file system is read-only; choose a writable directory',
    ENOENT: 'no such file or directory',
    EEXIST: 'the file already exists',
  };
  const reason = (e?.code && hint[e.code]) || (e?.message ?? String(err));
  return new SnapshotError('IO', `${what}: ${reason}`, { cause: err });
}

/**
 * File-system helpers for Node, Deno and Bun: streaming file input, temporary files that never
 * outlive their owner, and atomic outputs (a temporary file in the destination's directory,
 * fsync'd, then renamed over the destination only on success).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  createReadStream,
  open as openFd,
  openSync,
  type ReadStream,
  readlinkSync,
  readSync,
  type Stats,
} from 'node:fs';
import {
  access,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  statfs,
  unlink,
  utimes,
} from 'node:fs/promises';
import { Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { SnapshotError } from '../errors.js';
import type { ByteSink } from '../io/input.js';
import { denoWouldAsk } from './deno-permissions.js';

/** Chunk size for file reads. */
const READ_CHUNK = 256 * 1024;

/**
 * Streams the file at `path` in 256 KiB chunks. Nothing is opened until the first chunk is asked
 * for, so an input made now and read later cannot fail unheard in between (a missing file is the
 * first read's rejection); stopping early closes the file.
 */
export async function* fileInput(path: string): AsyncGenerator<Uint8Array> {
  yield* createReadStream(path, { highWaterMark: READ_CHUNK });
}

/**
 * The bytes of the FIFO at `path` (a named pipe, or a shell's `<(…)`), read through the event
 * loop as a socket is: a read waiting for the writer holds none of libuv's four file threads,
 * and `destroy()` ends it at once. Only the open waits on one of them, until a writer opens the
 * FIFO (a FIFO destroyed meanwhile is closed as soon as that open returns). Nothing is opened
 * until the first chunk is asked for; iterate once. In Deno and Bun ({@link socketsTakePipes}) the
 * FIFO is read as a file, on their own threads.
 */
export function fifoInput(path: string): AsyncIterable<Uint8Array> & { destroy(): void } {
  let socket: Socket | undefined;
  let stream: ReadStream | undefined;
  let destroyed = false;
  return {
    async *[Symbol.asyncIterator]() {
      if (!socketsTakePipes()) {
        if (destroyed) return;
        stream = createReadStream(path, { highWaterMark: READ_CHUNK });
        try {
          yield* stream as AsyncIterable<Uint8Array>;
        } finally {
          stream.destroy();
        }
        return;
      }
      const fd = await new Promise<number>((resolve, reject) =>
        openFd(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))),
      );
      if (destroyed) {
        closeSync(fd);
        return;
      }
      socket = new Socket({ fd, readable: true, writable: false });
      try {
        yield* socket as AsyncIterable<Uint8Array>;
      } finally {
        socket.destroy();
      }
    },
    destroy() {
      destroyed = true;
      socket?.destroy();
      stream?.destroy();
    },
  };
}

/**
 * Whether a pipe's file descriptor can be read as a node:net Socket: in Node. Deno's Socket
 * fails to open one (EEXIST), and Bun's does not keep the event loop alive while it waits (the
 * process would end with the read pending); there a FIFO is read as a file.
 */
function socketsTakePipes(): boolean {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return g.Deno === undefined && g.Bun === undefined;
}

/**
 * The bytes of the file at `path`, `info` being its stat, as the pipelines read a path: a FIFO
 * through {@link fifoInput}, anything else through {@link fileChunksReused} (so a chunk is valid
 * only until the next one is asked for), or with `reused` false through {@link fileInput}, for a
 * consumer that keeps chunks.
 */
export function pathChunks(path: string, info: Stats, reused = true): AsyncIterable<Uint8Array> {
  if (info.isFIFO()) return fifoInput(path);
  return reused ? fileChunksReused(path) : fileInput(path);
}

/** Reads of a regular file kept in flight ahead of the consumer (see {@link fileChunksReused}). */
const READ_AHEAD = 3;

/** Readers of regular files that get read buffers aligned to 64 bytes at once. */
const ALIGNED_READERS = 8;
/** One reader's read buffers: one per read in flight, plus the one its consumer holds. */
const READER_BYTES = (READ_AHEAD + 1) * READ_CHUNK;

/** The aligned buffers' memory (null where WebAssembly is not available), made at first use. */
let alignedMemory: ArrayBuffer | null | undefined;
/** Slots of {@link alignedMemory} that no reader holds. */
const freeSlots: number[] = [];

/**
 * A reader's {@link READ_AHEAD} + 1 buffers of {@link READ_CHUNK} bytes, which `release()` hands
 * back (once the reader is done with them; releasing twice is a no-op). Up to
 * {@link ALIGNED_READERS} readers at once get buffers that start on a 64-byte boundary: slots of
 * one WebAssembly.Memory, which starts on a page. The kernel copies a read into such a buffer much
 * faster than into a Uint8Array of its own, whose memory (from malloc) starts 16 bytes past a
 * boundary: 256 MiB from the page cache took 35-45 ms against 120-170 ms here (AMD EPYC, Linux's
 * `rep movsb`). One memory serves the whole process: V8 reserves some 10 GiB of address space
 * for each, so one per read would pile reservations up until collected. Further readers at once,
 * and runtimes without WebAssembly, get plain Uint8Arrays, which read all the same.
 */
export function readBuffers(): { buffers: Uint8Array<ArrayBuffer>[]; release(): void } {
  if (alignedMemory === undefined) {
    try {
      alignedMemory = new WebAssembly.Memory({
        initial: (ALIGNED_READERS * READER_BYTES) / 65536,
      }).buffer;
      for (let i = ALIGNED_READERS - 1; i >= 0; i--) freeSlots.push(i);
    } catch {
      alignedMemory = null;
    }
  }
  const slot = freeSlots.pop();
  const memory = alignedMemory;
  if (slot === undefined || !memory) {
    return {
      buffers: Array.from({ length: READ_AHEAD + 1 }, () => new Uint8Array(READ_CHUNK)),
      release() {},
    };
  }
  let held = true;
  return {
    buffers: Array.from(
      { length: READ_AHEAD + 1 },
      (_, i) => new Uint8Array(memory, slot * READER_BYTES + i * READ_CHUNK, READ_CHUNK),
    ),
    release() {
      if (held) freeSlots.push(slot);
      held = false;
    },
  };
}

/**
 * Milliseconds that synchronous reads of a regular file may take per chunk on average (see
 * {@link fileChunksReused}): 256 MiB/s. A read from the page cache takes some 50 µs; a disk that
 * is slower than this shows it within a few reads.
 */
const SYNC_READ_MS = 1;
/** Milliseconds the synchronous reads may take beyond their average: a thread preempted at times. */
const SYNC_READ_SLACK_MS = 10;

/**
 * Linux file systems on local storage or in memory, by statfs's `f_type`: ext2-4, XFS, Btrfs,
 * tmpfs, overlayfs, ZFS, F2FS, ramfs and bcachefs. A read there returns within the device's
 * latency. On a network or FUSE file system a read can block without end (a hung NFS server),
 * and a synchronous one would then stop the event loop: no Ctrl-C, no timeout, no abort.
 */
const LOCAL_FILE_SYSTEMS = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010, 0x858458f6,
  0xca451a4e,
]);

/**
 * Whether the file at `path` is on a file system that {@link fileChunksReused} may read
 * synchronously: one of {@link LOCAL_FILE_SYSTEMS}, on Linux. False elsewhere and when the
 * runtime cannot say; never throws. Asked through the thread pool, since asking a hung network
 * file system blocks too.
 */
export async function onLocalFileSystem(path: string): Promise<boolean> {
  if (process.platform !== 'linux' || denoWouldAsk({ name: 'sys', kind: 'statfs' })) return false;
  try {
    return LOCAL_FILE_SYSTEMS.has((await statfs(path)).type);
  } catch {
    return false;
  }
}

/**
 * Streams the file at `path` through a ring of reused buffers, so that reading allocates nothing
 * per chunk. Each chunk is valid only until the next one is requested: for consumers that are
 * done with a chunk when they ask for the next (the archive writer, which copies state into its
 * gzip blocks), never for ones that keep chunks.
 *
 * A regular file on a local file system ({@link onLocalFileSystem}) is read synchronously while
 * the reads take at most `syncReadMs` per chunk on average (as from the page cache): such a read
 * blocks the event loop for less time than handing it to the thread pool costs the calling thread
 * in wake-ups. Once they take longer (a cold disk), and on every other file system from the
 * start, the file is read through the thread pool, {@link READ_AHEAD} positioned reads waiting
 * there while the consumer works, so that a pool busy with compression does not stall the input.
 * Other files (FIFOs, devices) are read one chunk at a time from their current position, through
 * the pool. The buffers come from {@link readBuffers} and go back when the iteration ends.
 */
export async function* fileChunksReused(
  path: string,
  syncReadMs = SYNC_READ_MS,
): AsyncGenerator<Uint8Array> {
  // The file system is asked for alongside the open, not after it (each is a trip to the pool).
  const onLocal = onLocalFileSystem(path);
  const fh = await open(path, 'r');
  const ahead: { buf: Uint8Array<ArrayBuffer>; at: number; read: Promise<number> }[] = [];
  let reading: ReturnType<typeof readBuffers> | undefined;
  try {
    if (!(await fh.stat()).isFile()) {
      const buf = new Uint8Array(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
        if (bytesRead === 0) return;
        yield buf.subarray(0, bytesRead);
      }
    }
    reading = readBuffers();
    // One buffer per read in flight, plus the one the consumer holds.
    const spare = [...reading.buffers];
    let next = 0;
    let held: Uint8Array<ArrayBuffer> | undefined;
    const hand = (buf: Uint8Array<ArrayBuffer>) => {
      if (held) spare.push(held);
      held = buf;
    };
    const local = await onLocal;
    for (
      let done = 0, spent = 0;
      local && spent <= done * syncReadMs + SYNC_READ_SLACK_MS;
      done++
    ) {
      const buf = spare.pop()!;
      const started = Date.now();
      const n = readSync(fh.fd, buf, 0, READ_CHUNK, next);
      spent += Date.now() - started;
      if (n === 0) return;
      next += n;
      hand(buf);
      yield buf.subarray(0, n);
    }
    const fill = () => {
      while (ahead.length < READ_AHEAD) {
        const buf = spare.pop()!;
        const read = fh.read(buf, 0, READ_CHUNK, next).then((r) => r.bytesRead);
        read.catch(() => {});
        ahead.push({ buf, at: next, read });
        next += READ_CHUNK;
      }
    };
    for (;;) {
      fill();
      const { buf, at, read } = ahead.shift()!;
      const n = await read;
      if (n === 0) return;
      if (n < READ_CHUNK) {
        // End of file or a short read: the reads ahead assumed a full one; redo them from here.
        for (const r of ahead.splice(0)) {
          await r.read;
          spare.push(r.buf);
        }
        next = at + n;
      }
      hand(buf);
      yield buf.subarray(0, n);
    }
  } finally {
    await Promise.allSettled(ahead.map((r) => r.read));
    reading?.release();
    await fh.close();
  }
}

/**
 * A Web ReadableStream of the file at `path`. Aborting `signal` closes the file even while a
 * reader holds the stream (which then errors).
 */
export function fileStream(path: string, signal?: AbortSignal): ReadableStream<Uint8Array> {
  return openedFileStream(path, signal).stream;
}

/**
 * {@link fileStream}, and a promise that settles (never rejects) once the file has been opened
 * or has failed to open: from then on the stream reads the file even if its name is removed, so
 * an owner that removes the file waits for it first ({@link holdTempFile}).
 */
function openedFileStream(
  path: string,
  signal?: AbortSignal,
): { stream: ReadableStream<Uint8Array>; opened: Promise<void> } {
  const node = createReadStream(path, { highWaterMark: READ_CHUNK, signal });
  const opened = new Promise<void>((resolve) => {
    node.once('ready', () => resolve());
    node.once('error', () => resolve());
    node.once('close', () => resolve());
  });
  return { stream: Readable.toWeb(node) as ReadableStream<Uint8Array>, opened };
}

/**
 * Size of the file at `path` in bytes; rejects (code EISDIR) for a directory. With `regular`,
 * also rejects anything else that is not a regular file (a pipe, a device, a socket): for
 * writers that must state the size before the bytes, as a tar header does, where such a file's
 * size (0 for a pipe) would be wrong.
 */
export async function fileSize(path: string, opts: { regular?: boolean } = {}): Promise<number> {
  const info = await statFile(path);
  if (opts.regular && !info.isFile()) {
    throw new Error(
      'not a regular file: the size of a pipe or device is not known before it is read; save it to a file first',
    );
  }
  return info.size;
}

/**
 * What `stat` says of the file at `path`; rejects (code EISDIR) for a directory, and (EACCES)
 * for a file this process may not read, so that the reason comes before any reading starts.
 */
export async function statFile(path: string): Promise<Stats> {
  const info = await stat(path);
  if (info.isDirectory()) throw isDirectory(path);
  // Deno's access() needs --allow-sys=uid (and throws where no one can catch it without); the
  // open that follows says as well whether the file can be read, only later.
  if (!denoWouldAsk({ name: 'sys', kind: 'uid' })) await access(path, constants.R_OK);
  return info;
}

/** The error (code EISDIR, as Node's own) for a directory given where a file is wanted. */
function isDirectory(path: string): Error {
  return Object.assign(new Error(`EISDIR: ${path} is a directory`), { code: 'EISDIR', path });
}

/**
 * Reads the file at `path` (any kind: a regular file, a pipe, a device) whole when it holds at
 * most `limit` bytes; otherwise stops after `limit + 1` and resolves with `tooLong` set, so that
 * /dev/zero or a huge file given by mistake costs no memory. Rejects as Node's file calls do.
 */
export async function readSmallFile(
  path: string,
  limit: number,
): Promise<{ bytes: Uint8Array; tooLong: boolean }> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(limit + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return { bytes: buf.subarray(0, Math.min(n, limit)), tooLong: n > limit };
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * {@link readSmallFile} for callers that must answer synchronously (a client's settings are read
 * as it is made): the same contract, with the main thread waiting on the reads.
 */
export function readSmallFileSync(
  path: string,
  limit: number,
): { bytes: Uint8Array; tooLong: boolean } {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(limit + 1);
    let n = 0;
    while (n < buf.length) {
      const read = readSync(fd, buf, n, buf.length - n, null);
      if (read === 0) break;
      n += read;
    }
    return { bytes: buf.subarray(0, Math.min(n, limit)), tooLong: n > limit };
  } finally {
    closeSync(fd);
  }
}

/** Whether the file at `path` has a byte at offset `size` (false when it cannot be read). */
export async function holdsMoreThan(path: string, size: bigint): Promise<boolean> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const { bytesRead } = await fh.read(new Uint8Array(1), 0, 1, Number(size));
    return bytesRead > 0;
  } catch {
    return false;
  } finally {
    await fh?.close().catch(() => {});
  }
}

/** Marker in the names of raftsnap's temporary files, so stale ones are recognisable. */
export const TEMP_MARK = '.raftsnap-';

/**
 * This host in temporary file names: 8 hex digits of the SHA-256 of its hostname and, on Linux,
 * its PID namespace. A PID means something only in the PID namespace that issued it: containers
 * sharing a backup volume have their own (and usually their own hostname too; with host
 * networking they share the host's). Read when first needed; what cannot be read, or what Deno
 * would ask permission for, is taken as empty (a tag of its own: such a run's stale files are
 * left alone by runs that can read both, as another host's are).
 */
let hostTagValue: string | undefined;
function hostTag(): string {
  if (hostTagValue === undefined) {
    const read = (f: () => string) => {
      try {
        return f();
      } catch {
        return '';
      }
    };
    const ns = '/proc/self/ns/pid';
    const host = denoWouldAsk({ name: 'sys', kind: 'hostname' }) ? '' : read(hostname);
    const pidNs = denoWouldAsk({ name: 'read', path: ns }) ? '' : read(() => readlinkSync(ns));
    const id = `${host}\n${pidNs}`;
    hostTagValue = createHash('sha256').update(id).digest('hex').slice(0, 8);
  }
  return hostTagValue;
}

/**
 * Bytes of the destination's name kept in a temporary file's name: with the 44 or so that follow,
 * the name stays within the 255 bytes file systems allow, however long the destination's.
 */
const TEMP_PREFIX_BYTES = 200;

function tempName(prefix: string): string {
  let head = prefix;
  // Cut at a character boundary until the UTF-8 form fits.
  while (Buffer.byteLength(head) > TEMP_PREFIX_BYTES) head = [...head].slice(0, -1).join('');
  return `${head}${TEMP_MARK}${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
}

/** An open file being written; see {@link createTempFile} and {@link createAtomicFile}. */
export interface FileWriter extends ByteSink {
  readonly path: string;
  /** Bytes taken so far (copied for writing or written). */
  readonly bytes: number;
  /**
   * Writes the rest, fsyncs and closes the file, without what `close` does last (an atomic
   * file's rename), so that several files can all be on disk before any of them appears. A
   * failure aborts the file (it is removed) and rejects. `close` or `abort` must follow.
   */
  settle(): Promise<void>;
  /**
   * `close`, keeping a way back: an atomic file's old destination (a regular file) is kept under
   * a temporary name while the caller replaces the files that go with it. The caller must then
   * call `keep` (the old file is dropped) or `undo` (it is put back; where there was none, the
   * new file is removed). Where the old file cannot be kept (a file system without hard links),
   * or the destination is a pipe or a device, `undo` does nothing.
   */
  closeReplacing(): Promise<Replacement>;
}

/** What {@link FileWriter.closeReplacing} replaced: see there. */
export interface Replacement {
  keep(): Promise<void>;
  undo(): Promise<void>;
}

const NOTHING_REPLACED: Replacement = { keep: async () => {}, undo: async () => {} };

/** Size of each of the writer's buffers; a full one is written with one positioned write. */
const WRITE_BUFFER = 1024 * 1024;
/** Buffers being written while the next one fills. */
const WRITES_IN_FLIGHT = 2;
/**
 * Bytes between the writer's background datasyncs. Putting the data on disk as the file grows
 * keeps the closing fsync short and the kernel's dirty pages few (the README has the measured
 * effect on a 1 GiB extract).
 */
const SYNC_EVERY = 64 * 1024 * 1024;

/**
 * Writes behind the caller: `write` copies the chunk into a buffer of its own and resolves at
 * once unless {@link WRITES_IN_FLIGHT} full buffers are still being written (backpressure), so
 * the caller may reuse the chunk as soon as the promise resolves and a thread pool busy with
 * compression does not stall the producer. Every {@link SYNC_EVERY} bytes a datasync starts in
 * the background (one at a time). A failed write or sync fails the next `write`, `settle` or
 * `close`. `settle` writes the rest, fsyncs and closes the handle; `close` settles and then
 * completes the file (an atomic file's rename); `abort` waits for the writes and the sync under
 * way, closes and removes.
 */
class HandleWriter implements FileWriter {
  bytes = 0;
  readonly releasesChunks = true;
  private closed = false;
  /** Set once {@link settle} succeeded: the handle is closed, the file is whole on disk. */
  private settled = false;
  private buf: Uint8Array = new Uint8Array(WRITE_BUFFER);
  private fill = 0;
  private position = 0;
  private readonly spare: Uint8Array[] = [];
  private readonly writing: Promise<void>[] = [];
  /** The background datasync under way, if any. */
  private syncing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    /** Completes the file; with `keepOld`, keeps the old destination (see closeReplacing). */
    private readonly onClose: (keepOld: boolean) => Promise<Replacement | undefined>,
    private readonly onAbort: () => Promise<void>,
    /**
     * A pipe or a device: written in order one buffer at a time (it has no positions), never
     * synced (it cannot be).
     */
    private readonly sequential = false,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure.error;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, this.buf.length - this.fill);
      this.buf.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.buf.length) await this.flush();
    }
    this.bytes += chunk.length;
  }

  /** Starts writing the current buffer and waits while too many writes are under way. */
  private async flush(): Promise<void> {
    const owner = this.buf;
    const write = this.writeAt(owner.subarray(0, this.fill), this.position).then(() => {
      this.spare.push(owner);
    });
    write.catch((error) => {
      this.failure ??= { error };
    });
    this.writing.push(write);
    const crossed =
      Math.floor((this.position + this.fill) / SYNC_EVERY) > Math.floor(this.position / SYNC_EVERY);
    this.position += this.fill;
    this.fill = 0;
    if (crossed && !this.syncing && !this.sequential) {
      const sync = this.fh.datasync().catch((error) => {
        this.failure ??= { error };
      });
      this.syncing = sync.finally(() => {
        this.syncing = undefined;
      });
    }
    const inFlight = this.sequential ? 1 : WRITES_IN_FLIGHT;
    while (this.writing.length >= inFlight) await this.writing.shift();
    this.buf = this.spare.pop() ?? new Uint8Array(WRITE_BUFFER);
  }

  private async writeAt(data: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const at = this.sequential ? null : position + off;
      const { bytesWritten } = await this.fh.write(data, off, data.length - off, at);
      off += bytesWritten;
    }
  }

  async settle(): Promise<void> {
    if (this.closed) throw new Error('settle after close or abort');
    if (this.settled) return;
    try {
      if (this.fill) await this.flush();
      while (this.writing.length) await this.writing.shift();
      await this.syncing;
      if (this.failure) throw this.failure.error;
      if (!this.sequential) await this.fh.sync();
      await this.fh.close();
    } catch (err) {
      await this.abort();
      throw err;
    }
    this.settled = true;
  }

  async close(): Promise<void> {
    await this.finish(false);
  }

  closeReplacing(): Promise<Replacement> {
    return this.finish(true);
  }

  private async finish(keepOld: boolean): Promise<Replacement> {
    if (this.closed) return NOTHING_REPLACED;
    await this.settle();
    this.closed = true;
    return (await this.onClose(keepOld)) || NOTHING_REPLACED;
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.settled) {
      const closing = Promise.allSettled([...this.writing.splice(0), this.syncing]).then(() =>
        this.fh.close().catch(() => {}),
      );
      // A pipe whose reader has stopped can hold a write forever, and there is nothing to remove:
      // the handle closes once the write ends. A file's writes end; they are waited for, so that
      // the removal below finds the file whole.
      if (!this.sequential) await closing;
    }
    await this.onAbort();
  }
}

/**
 * Creates a new temporary file (mode 0600) in `dir` (default: the OS temporary directory).
 * `close()` keeps it (the caller must remove it, e.g. with {@link removeFile}); `abort()`
 * removes it.
 */
export async function createTempFile(dir = tempDirectory()): Promise<FileWriter> {
  const path = join(dir, tempName('snapshot'));
  const fh = await open(path, 'wx', 0o600);
  return new HandleWriter(
    path,
    fh,
    async () => undefined,
    () => removeFile(path).catch(() => {}),
  );
}

/**
 * The OS temporary directory, as `os.tmpdir()` names it (TMPDIR, TMP or TEMP, else /tmp). Deno
 * asks permission to read those variables: where it would, /tmp (the default of each Unix;
 * `os.tmpdir()` elsewhere).
 */
function tempDirectory(): string {
  const asks = ['TMPDIR', 'TMP', 'TEMP'].some((variable) =>
    denoWouldAsk({ name: 'env', variable }),
  );
  return asks && process.platform !== 'win32' ? '/tmp' : tmpdir();
}

/**
 * {@link createTempFile} for a temporary copy: its failures, creating or writing (a full disk),
 * are SnapshotError('IO') naming the directory, and TMPDIR when that chose it.
 */
export async function createTempCopy(dir?: string): Promise<FileWriter> {
  const where = dir ?? tempDirectory();
  const named = dir === undefined ? `${where} (TMPDIR)` : where;
  let file: FileWriter;
  try {
    file = await createTempFile(where);
  } catch (err) {
    throw ioError(err, 'cannot create a temporary file in', named);
  }
  return namedWriter(file, 'cannot write a temporary file in', named);
}

/**
 * `file` with the errors of its writes, settle and close turned into SnapshotError('IO'): `what`
 * `subject`, then the reason and what to do ({@link ioError}).
 */
export function namedWriter(file: FileWriter, what: string, subject: string): FileWriter {
  const named = (err: unknown): never => {
    throw ioError(err, what, subject);
  };
  return {
    path: file.path,
    get bytes() {
      return file.bytes;
    },
    releasesChunks: file.releasesChunks,
    write: (chunk) => file.write(chunk).catch(named),
    settle: () => file.settle().catch(named),
    close: () => file.close().catch(named),
    closeReplacing: () => file.closeReplacing().catch(named),
    abort: (reason) => file.abort(reason),
  };
}

/**
 * Creates `dir` and its missing parents. Returns an undo that removes the directories this call
 * created, deepest first, stopping at one that is not empty (someone else wrote there).
 * Throws the error of the first directory that cannot be made (EACCES, EROFS, ENOTDIR, EEXIST
 * for a file in the way, …), having removed what it made before it.
 */
export async function makeDirs(dir: string): Promise<() => Promise<void>> {
  // As given (relative or not), so that an error's path is the one the caller named.
  const top = await makeMissing(dir);
  return () => removeMade(dir, top);
}

/**
 * Makes `dir` and its missing parents one level at a time, as mkdir -p does, and
 * returns the topmost directory made (undefined when `dir` was there). Each level is tried at
 * most twice: Node's own recursive mkdir retries for ever where the kernel answers ENOENT under
 * a directory that exists (/proc/x), and reports ENOENT for what was EROFS or EACCES one level
 * down.
 */
async function makeMissing(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir);
    return dir;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await isDirectoryPath(dir))) return undefined;
    if (code === 'EEXIST' && (await lstat(dir).catch(() => undefined))?.isSymbolicLink()) {
      throw Object.assign(
        new Error('it is a symbolic link to something missing or not a directory (a loop?)'),
        { code: 'EBADLINK', path: dir },
      );
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    const top = await makeMissing(parent);
    try {
      await mkdir(dir);
      return top ?? dir;
    } catch (again) {
      // Made meanwhile by someone else: as good as made here.
      if ((again as NodeJS.ErrnoException).code === 'EEXIST' && (await isDirectoryPath(dir))) {
        return top;
      }
      await removeMade(parent, top);
      throw again;
    }
  }
}

/** Whether `path` is a directory (or a symbolic link to one). */
async function isDirectoryPath(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * Removes `dir` and its parents up to `top` (the topmost one made, undefined for none), deepest
 * first, stopping at one that cannot be removed (not empty: someone else wrote there).
 */
async function removeMade(dir: string, top: string | undefined): Promise<void> {
  if (top === undefined) return;
  for (let d = dir; ; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
    if (d === top || dirname(d) === d) return;
  }
}

/**
 * Whether writing `out` atomically would replace `input`: both are the same regular file once
 * symbolic links are resolved (a hard link of it under another name is not replaced by a rename,
 * nor is a device or pipe that two names share). False when either does not exist.
 */
export async function replacesFile(out: string, input: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    realpath(out).catch(() => undefined),
    realpath(input).catch(() => undefined),
  ]);
  if (a === undefined || a !== b) return false;
  return (await stat(a).catch(() => undefined))?.isFile() === true;
}

/**
 * Where an output named `dest` really goes: symbolic links are followed (a dangling one to the
 * path it names), so that the file a link points to is replaced and the link kept; a link to a
 * pipe or device (`/dev/stdout`, `/dev/fd/63` from `>(gpg -e …)`) is kept as it is, to be opened.
 * `stats` is what is there (undefined: nothing yet).
 */
async function outputTarget(dest: string): Promise<{ path: string; stats?: Stats }> {
  let path = dest;
  for (let hops = 0; hops < 40; hops++) {
    const link = await lstat(path).catch(() => undefined);
    if (!link?.isSymbolicLink()) {
      return { path: link?.isFile() ? await realpath(path) : path, stats: link };
    }
    // Every link of a chain, as the kernel checks them.
    await checkProtectedLink(path, link);
    const target = await stat(path).catch(() => undefined);
    // A pipe or device: opened through the link (/proc/self/fd/N names no path to go on to).
    if (target && !target.isFile()) return { path, stats: target };
    // The next link of the chain, or the file: named relative to the directory the link is in.
    path = resolve(await realpath(dirname(path)), await readlink(path));
  }
  throw Object.assign(new Error(`ELOOP: too many symbolic links at ${dest}`), {
    code: 'ELOOP',
    path: dest,
  });
}

/**
 * The directory where {@link createAtomicFile} puts `dest`'s temporary file: `dest`'s own, or,
 * when `dest` is a symbolic link, that of the file it points to. For cleaning stale temporary
 * files ({@link cleanStaleTemps}) where a killed run left them.
 */
export async function outputDirectory(dest: string): Promise<string> {
  try {
    return dirname(resolve((await outputTarget(dest)).path));
  } catch {
    return dirname(resolve(dest));
  }
}

/**
 * Refuses, as the kernel's fs.protected_symlinks does for a shell redirection, to follow a link
 * that another user owns in a sticky world-writable directory (/tmp): someone could have planted
 * it there to have this process overwrite a file of its own choosing.
 */
async function checkProtectedLink(path: string, link: Stats): Promise<void> {
  // Deno without --allow-sys=uid cannot say whose process this is: every link there counts as
  // another user's.
  const unknown = denoWouldAsk({ name: 'sys', kind: 'uid' });
  const uid = unknown ? undefined : process.getuid?.();
  if (!unknown && (uid === undefined || link.uid === uid)) return;
  const dir = await stat(dirname(path));
  const shared = (dir.mode & 0o1000) !== 0 && (dir.mode & 0o002) !== 0;
  if (shared && link.uid !== dir.uid) {
    const owner = unknown
      ? `a symbolic link (uid ${link.uid}) in a shared directory, and this process's uid is unknown (Deno without --allow-sys=uid)`
      : `a symbolic link owned by another user (uid ${link.uid}) in a shared directory`;
    throw new Error(`it is ${owner}; not followed (as fs.protected_symlinks does)`);
  }
}

/**
 * Opens an atomic writer for `dest`: bytes go to a temporary file next to it (mode 0600 unless
 * `mode` says otherwise); `close()` fsyncs and renames it over `dest`; `abort()` removes it, so
 * `dest` is never seen half-written. A symbolic link is followed: the file it points to is
 * replaced, the link stays. A pipe or a device (or a link to one) is not replaced but written
 * through, in order, as a shell redirection writes it: `abort()` then cannot take back what was
 * written. Rejects (code EISDIR) when `dest` is a directory.
 */
export async function createAtomicFile(
  dest: string,
  opts: { mode?: number } = {},
): Promise<FileWriter> {
  // Found now rather than by the rename, after the whole file was written.
  const target = await outputTarget(dest);
  if (target.stats?.isDirectory()) throw isDirectory(dest);
  if (target.stats && !target.stats.isFile()) {
    const fh = await open(target.path, 'w');
    return new HandleWriter(
      dest,
      fh,
      async () => undefined,
      async () => {},
      true,
    );
  }
  const real = target.path;
  const dir = dirname(real);
  const path = join(dir, tempName(`.${basename(real)}`));
  const fh = await open(path, 'wx', opts.mode ?? 0o600);
  // A save that waits a long time on its server writes nothing meanwhile: other hosts' cleanups
  // must not take the file for abandoned.
  const stopFreshening = keepFresh(path);
  return new HandleWriter(
    path,
    fh,
    async (keepOld) => {
      stopFreshening();
      const old = keepOld ? await keepAside(real) : undefined;
      try {
        await rename(path, real);
      } catch (err) {
        // The rename's error is the one to report, whatever the cleanup meets (an append-only
        // directory keeps its files).
        await removeFile(path).catch(() => {});
        if (old) await removeFile(old).catch(() => {});
        throw err;
      }
      await syncDir(dir);
      if (old === undefined) return undefined;
      return {
        keep: async () => {
          if (old) await removeFile(old);
        },
        undo: async () => {
          if (old) await rename(old, real);
          else await removeFile(real);
          await syncDir(dir);
        },
      };
    },
    // An abort follows a failure, which is what the caller reports: a file that cannot be
    // removed (an append-only directory) is left rather than reported instead.
    () => {
      stopFreshening();
      return removeFile(path).catch(() => {});
    },
  );
}

/**
 * Keeps the regular file at `path` under a temporary name beside it (a hard link) and returns
 * that name; '' when there is no file at `path`; undefined when it cannot be kept (no hard links
 * there, or not a regular file). A file that cannot be linked because it may not be changed
 * (immutable) will not be replaced either: the replacing rename fails first.
 */
async function keepAside(path: string): Promise<string | undefined> {
  const kept = join(dirname(path), tempName(`.${basename(path)}.old`));
  try {
    if (!(await lstat(path)).isFile()) return undefined;
    await link(path, kept);
    return kept;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined;
  }
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
  // unlink, not rm: rm takes a refused unlink (EPERM) for a directory and reports ENOTDIR.
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** How long a temporary file from another host must have been untouched to count as stale. */
const FOREIGN_STALE_MS = 60 * 60 * 1000;

/**
 * Removes the temporary files that raftsnap runs killed before they finished (kill -9, a lost
 * pod) left in `dir`, and returns their paths. A file is stale when its writer cannot be running:
 * it was written on this host by a process that no longer runs, or, from another host (or
 * container), it has not changed for an hour (a running writer changes its file continually).
 * Best effort: a file that cannot be removed (another user's, say) is left where it is.
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
    // Names from before the host tag (`.raftsnap-PID-RANDOM.tmp`) count as another host's.
    const m = /\.raftsnap-(?:([0-9a-f]{8})-)?(\d+)-[0-9a-f]{12}\.tmp$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    try {
      if (m[1] === hostTag()) {
        const pid = Number(m[2]);
        if (pid === process.pid || processAlive(pid)) continue;
      } else if (Date.now() - (await stat(path)).mtimeMs < FOREIGN_STALE_MS) {
        continue;
      }
      await rm(path);
      removed.push(path);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

/**
 * Keeps the temporary file at `path` looking alive to {@link cleanStaleTemps} in other hosts and
 * containers that share its directory, which judge a file by its age: its modification time is
 * set to now every `everyMs` (default: a sixth of the hour they wait), for as long as its owner
 * holds it (a Snapshot being uploaded for hours, say). Returns the function that stops it; the
 * timer does not keep the process alive, and a failure to touch the file is ignored.
 */
export function keepFresh(path: string, everyMs = FOREIGN_STALE_MS / 6): () => void {
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** A temporary file held by its owner: see {@link holdTempFile}. */
export interface HeldTempFile {
  /** A fresh stream of the file; one taken before `remove()` still reads all of it. */
  stream(): ReadableStream<Uint8Array>;
  /** Stops keeping the file fresh and removes it, once every stream handed out has opened it. */
  remove(): Promise<void>;
}

/**
 * Holds the temporary file at `path` for its owner (a Snapshot, a TempState, a restore's spool
 * file) until `remove()`: kept fresh for other hosts' cleanups ({@link keepFresh}), handed out
 * as streams, removed without cutting a stream short.
 */
export function holdTempFile(path: string): HeldTempFile {
  const stopFreshening = keepFresh(path);
  const opening: Promise<void>[] = [];
  return {
    stream() {
      const { stream, opened } = openedFileStream(path);
      opening.push(opened);
      return stream;
    },
    async remove() {
      stopFreshening();
      await Promise.all(opening);
      await removeFile(path);
    },
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Turns a Node file-system error into SnapshotError('IO') with what to do next. The message is
 * `what` (an action: "cannot read"), then `path` when given (the file the action is on), then
 * the reason. A directory found where a file is wanted is named when it is not `path` itself
 * (extract's `DIR/state.bin`).
 */
export function ioError(err: unknown, what: string, path?: string): SnapshotError {
  const e = err as NodeJS.ErrnoException;
  const hint: Record<string, string> = {
    ENOSPC: 'the disk is full (no space or no inodes left); free space or choose another directory',
    ENOTDIR: 'a part of the path is a file, not a directory',
    EACCES: /read/.test(what)
      ? 'permission denied'
      : 'permission denied; check the directory permissions',
    EROFS: 'the file system is read-only; choose a writable directory',
    ENOENT: 'no such file or directory',
    EPIPE: 'the reader of the pipe went away (broken pipe)',
    ENAMETOOLONG: 'a name in the path is too long',
    ELOOP: 'too many symbolic links in the path (a loop?)',
    EPERM: 'operation not permitted (an immutable or append-only file or directory?)',
    EEXIST:
      e?.syscall !== 'mkdir'
        ? 'the file already exists'
        : e.path === undefined || e.path === path
          ? 'it exists and is not a directory'
          : `${e.path} exists and is not a directory`,
    EISDIR:
      e?.path === undefined || e.path === path
        ? 'it is a directory; give the path of a file'
        : `${e.path} is a directory`,
  };
  const reason = (e?.code && hint[e.code]) || (e?.message ?? String(err));
  const subject = path === undefined ? what : `${what} ${path}`;
  return new SnapshotError('IO', `${subject}: ${reason}`, { cause: err });
}

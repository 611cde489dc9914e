/**
 * SHA-256 by node:crypto on worker threads, so that hashing runs on another core while the main
 * thread reads, inflates and parses: on a verify of a large archive, hashing state.bin costs about
 * as much as the inflate, and overlapping the two takes that time off the wall clock. (The
 * archive's own hash, of unknown length, stays on the calling thread.)
 *
 * A hash whose caller expects at least {@link OFFLOAD_MIN} bytes takes a hashing thread from a
 * small pool; `update` then copies into that thread's shared ring (src/node/hash-ring.ts) and
 * returns a promise only when the ring is full. Shorter hashes (meta.json, SHA256SUMS), those of
 * unknown length, and any made while every thread is busy stay on the calling thread.
 *
 * Such a hash is also a {@link CrcSource} (where zlib has `crc32`): the thread can CRC the bytes
 * it hashes, in runs its caller cuts, so that a gzip reader need not CRC them on its own thread
 * (src/format/crc-ledger.ts). A thread that fails before it has hashed anything gives its bytes
 * and its pending runs back to the calling thread; one that fails later makes `digest` (and the
 * pending runs) reject with SnapshotError('IO').
 *
 * Threads are unreferenced: an idle one never keeps the process alive. A hash dropped without
 * `digest` (an operation that failed half-way) has its thread terminated when it is collected.
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CrcSource, CrcTicket } from '../engines/crc32.js';
import type { HashEngine, HashState } from '../engines/sha256.js';
import { SnapshotError } from '../errors.js';
import { HASH_RING as R } from './hash-ring.js';
import { type HashThreadData, hashThreadMain } from './hash-thread-worker.js';
import { libdeflateAddonFile } from './libdeflate-addon.js';
import { nodeHash } from './node-hash.js';
import { zlibCrc32 } from './zlib-crc32.js';

/**
 * Hashes expected to be at least this long go to a hashing thread; shorter ones (and those of
 * unknown length) stay on the calling thread, where they finish before a thread would start.
 */
export const OFFLOAD_MIN = 32 * 1024 * 1024;
/**
 * Archives from this size on start a hashing thread as soon as they are opened: such an archive
 * likely holds a state.bin of OFFLOAD_MIN or more (record-like state compresses to about a
 * tenth), and the thread then is up by the time state.bin begins.
 */
export const PREWARM_MIN = OFFLOAD_MIN / 16;

/** Most hashing threads alive at once. */
const MAX_THREADS = 4;

/**
 * The thread's program: hashThreadMain's own text, called with node:crypto's createHash, a CRC-32
 * (libdeflate's from the addon when the thread is given its path and it loads there, else
 * node:zlib's) and its data.
 */
const THREAD_SOURCE = `const wt = require('node:worker_threads');
const createHash = require('node:crypto').createHash;
let crc32;
try {
  const addon = wt.workerData.addon && require(wt.workerData.addon);
  if (typeof addon?.crc32 === 'function') crc32 = (data, value) => addon.crc32(value ?? 0, data);
} catch {}
crc32 ??= require('node:zlib').crc32;
wt.parentPort.postMessage('started');
(${hashThreadMain.toString()})(createHash, crc32, wt.workerData);`;

let firstStarted!: () => void;
/**
 * Resolves when the first hashing thread of this process has loaded its program (node:crypto
 * and node:zlib included); never, in a process that starts none.
 */
export const firstHashThreadStarted = new Promise<void>((resolve) => {
  firstStarted = resolve;
});

/** `Atomics.waitAsync` (ES2024; Node 16 and later), typed here for older TypeScript libs. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs?: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/**
 * Longest wait for a hashing thread's notification before its feeder looks at the shared state
 * again (and wakes the thread once more). A notification is never expected to go missing, yet
 * one 256 MiB verify in some hundreds here once waited forever; with this bound such a loss
 * costs this long at most.
 */
export const RECHECK_MS = 100;

/**
 * Resolves once `control[index]` is no longer `value` and its change was notified, or after
 * {@link RECHECK_MS} ('timed-out'), whichever comes first; at once ('not-equal') when it already
 * differs. The process stays alive meanwhile (a pending `Atomics.waitAsync` alone does not keep
 * Node's event loop running).
 */
export async function changed(
  control: Int32Array,
  index: number,
  value: number,
): Promise<'ok' | 'not-equal' | 'timed-out'> {
  const w = waitAsync!(control, index, value, RECHECK_MS);
  if (!w.async) return w.value as 'not-equal' | 'timed-out';
  const keepAlive = setTimeout(() => {}, 1 << 30);
  try {
    return (await w.value) as 'ok' | 'timed-out';
  } finally {
    clearTimeout(keepAlive);
  }
}

class HashThread {
  readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly ring: Uint8Array;
  private readonly digestArea: Uint8Array;
  private readonly cutAt: Int32Array;
  private readonly cutKeep: Int32Array;
  private readonly cutCrc: Int32Array;
  private written = 0;
  private requested = 0;
  private failure: string | undefined;
  /** Where the current hash's bytes start in the ring's byte count. */
  private jobStart = 0;
  /** The current hash, continued on the calling thread after the thread failed to start. */
  private local: Hash | undefined;
  /** With `local`: the CRC-32 of the current run. */
  private localCrc = 0;
  /** Updates whose bytes are not all in the ring yet. */
  private feeding = 0;
  /** Bytes fed since the last cut (or since the hash began). */
  runBytes = 0;
  /** Whether the run being fed is CRC'd (as the last cut asked). */
  keeping = false;
  /** Whether the run after the last cut the thread made is CRC'd. */
  private keptAtDrained = false;
  private cutsRequested = 0;
  private cutsDrained = 0;
  /** Cuts requested and not yet read back, oldest first. */
  private readonly outstanding: RunCrc[] = [];

  constructor() {
    const shared = new SharedArrayBuffer(R.SHARED_BYTES);
    this.control = new Int32Array(shared, 0, R.CONTROL_SLOTS);
    this.digestArea = new Uint8Array(shared, R.DIGEST_OFFSET, 32);
    this.cutAt = new Int32Array(shared, R.CUT_AT_OFFSET, R.CUT_SLOTS);
    this.cutKeep = new Int32Array(shared, R.CUT_KEEP_OFFSET, R.CUT_SLOTS);
    this.cutCrc = new Int32Array(shared, R.CUT_CRC_OFFSET, R.CUT_SLOTS);
    this.ring = new Uint8Array(shared, R.RING_OFFSET, R.RING_BYTES);
    const workerData: HashThreadData = { shared, slots: R, addon: libdeflateAddonFile() };
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData,
      // The process's own flags (--input-type, --cpu-prof, …) are not the thread's business.
      execArgv: [],
    });
    this.worker.once('message', () => firstStarted());
    this.worker.unref();
    const fail = (why: string) => {
      this.failure ??= why;
      // Wake whatever waits on this thread, so that it sees the failure.
      Atomics.store(this.control, R.FAILED, 1);
      Atomics.notify(this.control, R.READ);
      Atomics.notify(this.control, R.FINISHED);
      Atomics.notify(this.control, R.CUTS_DONE);
    };
    this.worker.on('error', (err) => fail(err instanceof Error ? err.message : String(err)));
    this.worker.on('exit', (code) => fail(`it exited with status ${code}`));
  }

  /** True once the thread has failed or exited: it must not be used again. */
  get failed(): boolean {
    return Atomics.load(this.control, R.FAILED) !== 0;
  }

  /** Starts a new hash on this thread. */
  begin(): void {
    this.jobStart = this.written;
    this.local = undefined;
    this.localCrc = 0;
    this.runBytes = 0;
    this.keeping = false;
    this.keptAtDrained = false;
  }

  /**
   * After the thread failed: the current hash continues on the calling thread when the thread
   * had hashed none of its bytes (it failed starting up, so they are all still in the ring);
   * otherwise the hash is lost and this throws SnapshotError('IO').
   */
  private fallBack(): Hash {
    if (this.local) return this.local;
    if (Atomics.load(this.control, R.READ) !== this.jobStart) {
      throw new SnapshotError(
        'IO',
        `the SHA-256 thread failed: ${this.failure ?? 'its hash threw'}`,
      );
    }
    // Everything the thread was given for this hash is still in the ring: hash it here, and CRC
    // it up to each cut the thread did not get to.
    this.drain();
    const pieces: Uint8Array[] = [];
    for (let at = this.jobStart; at !== this.written; ) {
      const i = (at >>> 0) % R.RING_BYTES;
      const n = Math.min((this.written - at) | 0, R.RING_BYTES - i);
      pieces.push(this.ring.subarray(i, i + n));
      at = (at + n) | 0;
    }
    const local = createHash('sha256');
    let crc = 0;
    let keep = this.keptAtDrained;
    let next = 0;
    let pos = this.jobStart;
    const settle = () => {
      while (next < this.outstanding.length && this.outstanding[next].at === pos) {
        const ticket = this.outstanding[next++];
        ticket.value = crc;
        crc = 0;
        keep = ticket.keep;
      }
    };
    for (const piece of pieces) {
      for (let off = 0; off < piece.length; ) {
        settle();
        const toCut =
          next < this.outstanding.length ? (this.outstanding[next].at - pos) | 0 : piece.length;
        if (toCut <= 0) throw new Error('hash thread: a cut behind the bytes already hashed');
        const bytes = piece.subarray(off, off + Math.min(piece.length - off, toCut));
        local.update(bytes);
        if (keep && zlibCrc32) crc = zlibCrc32(bytes, crc);
        off += bytes.length;
        pos = (pos + bytes.length) | 0;
      }
    }
    settle();
    this.outstanding.length = 0;
    this.cutsDrained = this.cutsRequested;
    this.local = local;
    this.localCrc = crc;
    return local;
  }

  /** Hashes `data` on the calling thread (after a failure), keeping the run's CRC-32 too. */
  private updateLocally(data: Uint8Array): void {
    this.fallBack().update(data);
    if (this.keeping && zlibCrc32) this.localCrc = zlibCrc32(data, this.localCrc);
  }

  /** Reads back the CRC-32s of the cuts the thread has made. */
  drain(): void {
    const done = Atomics.load(this.control, R.CUTS_DONE);
    while (this.cutsDrained !== done) {
      const ticket = this.outstanding.shift()!;
      ticket.value = Atomics.load(this.cutCrc, (this.cutsDrained >>> 0) % R.CUT_SLOTS) >>> 0;
      this.keptAtDrained = ticket.keep;
      this.cutsDrained = (this.cutsDrained + 1) | 0;
    }
  }

  /** Cuts that can be asked for now. */
  freeCuts(): number {
    if (this.local) return R.CUT_SLOTS;
    this.drain();
    return R.CUT_SLOTS - ((this.cutsRequested - this.cutsDrained) | 0);
  }

  /** Bytes fed that the thread has not hashed yet. */
  backlog(): number {
    if (this.local) return 0;
    return (this.written - Atomics.load(this.control, R.READ)) | 0;
  }

  /** Ends the current CRC-32 run at the bytes fed so far (see CrcSource.cut). */
  cut(keep: boolean): RunCrc {
    if (this.feeding > 0) throw new Error('hash thread: cut while an update is in progress');
    if (this.freeCuts() <= 0) throw new Error('hash thread: no cut slot free');
    this.runBytes = 0;
    this.keeping = keep;
    const at = this.written;
    const ticket = new RunCrc(this, at, keep);
    if (this.local) {
      ticket.value = this.localCrc;
      this.localCrc = 0;
      return ticket;
    }
    const slot = (this.cutsRequested >>> 0) % R.CUT_SLOTS;
    Atomics.store(this.cutAt, slot, at);
    Atomics.store(this.cutKeep, slot, keep ? 1 : 0);
    this.cutsRequested = (this.cutsRequested + 1) | 0;
    this.outstanding.push(ticket);
    Atomics.store(this.control, R.CUTS_REQUESTED, this.cutsRequested);
    return ticket;
  }

  /** Waits for the CRC-32 of a cut's run. */
  async crcOf(ticket: RunCrc): Promise<number> {
    for (;;) {
      if (ticket.value !== undefined) return ticket.value;
      if (this.failed) {
        this.fallBack();
        continue;
      }
      const done = Atomics.load(this.control, R.CUTS_DONE);
      this.drain();
      if (ticket.value !== undefined) return ticket.value;
      this.wake();
      await this.change(R.CUTS_DONE, done);
    }
  }

  /** Copies as much of `data` from `offset` as the ring has room for; returns the new offset. */
  private copy(data: Uint8Array, offset: number): number {
    const free = R.RING_BYTES - ((this.written - Atomics.load(this.control, R.READ)) | 0);
    let n = Math.min(free, data.length - offset);
    if (n <= 0) return offset;
    while (n > 0) {
      const at = (this.written >>> 0) % R.RING_BYTES;
      const k = Math.min(n, R.RING_BYTES - at);
      this.ring.set(data.subarray(offset, offset + k), at);
      offset += k;
      n -= k;
      this.written = (this.written + k) | 0;
    }
    Atomics.store(this.control, R.WRITTEN, this.written);
    if (((this.written - Atomics.load(this.control, R.READ)) | 0) >= R.WAKE_AT) this.wake();
    return offset;
  }

  /** Wakes the hashing thread if it sleeps. */
  private wake(): void {
    Atomics.add(this.control, R.SIGNAL, 1);
    if (Atomics.compareExchange(this.control, R.SLEEPING, 1, 0) === 1)
      Atomics.notify(this.control, R.SIGNAL);
  }

  /**
   * Waits until slot `index` is no longer `value`, the thread failed, or {@link RECHECK_MS}
   * passed; the caller looks again either way. On the timeout the thread is woken once more.
   */
  private async change(index: number, value: number): Promise<void> {
    if ((await changed(this.control, index, value)) === 'timed-out') this.wake();
  }

  /** Hands `data` to the thread; resolves (when not at once) once all of it is in the ring. */
  feed(data: Uint8Array): Promise<void> | undefined {
    this.runBytes += data.length;
    if (this.failed) {
      this.updateLocally(data);
      return undefined;
    }
    let offset = this.copy(data, 0);
    if (offset === data.length) return undefined;
    this.feeding++;
    return (async () => {
      try {
        while (offset < data.length) {
          if (this.failed) {
            this.updateLocally(data.subarray(offset));
            return;
          }
          const read = Atomics.load(this.control, R.READ);
          if (((this.written - read) | 0) >= R.RING_BYTES) await this.change(R.READ, read);
          else offset = this.copy(data, offset);
        }
      } finally {
        this.feeding--;
      }
    })();
  }

  /**
   * Finishes the current hash and returns its digest and the CRC-32 of its last run (from the
   * last cut to the end); the thread then starts a new hash.
   */
  async digest(): Promise<{ digest: Uint8Array; crc: number }> {
    if (!this.local) {
      this.requested = (this.requested + 1) | 0;
      Atomics.store(this.control, R.REQUESTED, this.requested);
      this.wake();
      for (;;) {
        const finished = Atomics.load(this.control, R.FINISHED);
        if (finished === this.requested) {
          this.drain();
          const crc = Atomics.load(this.control, R.DIGEST_CRC) >>> 0;
          return { digest: this.digestArea.slice(), crc };
        }
        if (this.failed) break;
        await this.change(R.FINISHED, finished);
      }
    }
    const local = this.fallBack();
    return { digest: new Uint8Array(local.digest()), crc: this.localCrc };
  }
}

/** The CRC-32 of one run of a hashing thread's bytes. */
class RunCrc implements CrcTicket {
  /** Known once the thread has made the cut (or the run was CRC'd on the calling thread). */
  value: number | undefined;

  constructor(
    private readonly thread: HashThread,
    /** Where the run ends, in the ring's byte count. */
    readonly at: number,
    /** Whether the run after this cut is CRC'd. */
    readonly keep: boolean,
  ) {}

  peek(): number | undefined {
    if (this.value === undefined) this.thread.drain();
    return this.value;
  }

  wait(): Promise<number> {
    return this.thread.crcOf(this);
  }
}

const idle: HashThread[] = [];
let alive = 0;

/** Terminates the thread of a hash that was dropped before its digest. */
const abandoned = new FinalizationRegistry<HashThread>((thread) => {
  alive--;
  void thread.worker.terminate();
});

function acquire(): HashThread | undefined {
  for (let t = idle.pop(); t; t = idle.pop()) {
    if (!t.failed) return t;
    alive--;
  }
  if (alive >= MAX_THREADS) return undefined;
  try {
    const created = new HashThread();
    alive++;
    return created;
  } catch {
    return undefined;
  }
}

/** A ticket for a CRC-32 that `crc` will give. */
function ticketOf(crc: Promise<number>): CrcTicket {
  let value: number | undefined;
  crc.then(
    (v) => {
      value = v;
    },
    () => {},
  );
  return { peek: () => value, wait: () => crc };
}

/** A hash running on a hashing thread (until its digest), and the CrcSource of its bytes. */
class ThreadedHash implements HashState, CrcSource {
  private thread: HashThread | undefined;
  /** From the digest on: the run the digest ended (its CRC-32 comes with the digest). */
  private lastRun = { crc: Promise.resolve(0), bytes: 0, keeping: false };
  /** This hash itself, when its thread keeps CRC-32s. */
  readonly crc?: CrcSource;

  constructor(thread: HashThread) {
    thread.begin();
    offloaded++;
    this.thread = thread;
    abandoned.register(this, thread, this);
    if (zlibCrc32) this.crc = this;
  }

  update(data: Uint8Array): Promise<void> | undefined {
    if (!this.thread) throw new Error('hash thread: update after digest');
    return this.thread.feed(data);
  }

  get runBytes(): number {
    return this.thread ? this.thread.runBytes : this.lastRun.bytes;
  }

  get keeping(): boolean {
    return this.thread ? this.thread.keeping : this.lastRun.keeping;
  }

  backlog(): number {
    return this.thread ? this.thread.backlog() : 0;
  }

  freeCuts(): number {
    return this.thread ? this.thread.freeCuts() : R.CUT_SLOTS;
  }

  cut(keep: boolean): CrcTicket {
    if (this.thread) return this.thread.cut(keep);
    // From the digest on nothing more is fed: only the run the digest ended can be cut.
    const ticket = ticketOf(this.lastRun.crc);
    this.lastRun = { crc: Promise.resolve(0), bytes: 0, keeping: keep };
    return ticket;
  }

  async digest(): Promise<Uint8Array> {
    const thread = this.thread;
    if (!thread) throw new Error('hash thread: digest called twice');
    const finishing = thread.digest();
    const crc = finishing.then((out) => out.crc);
    // A failure is the digest's to report; a cut made after it only sees it if it waits.
    crc.catch(() => {});
    this.lastRun = { crc, bytes: thread.runBytes, keeping: thread.keeping };
    this.thread = undefined;
    abandoned.unregister(this);
    try {
      const out = await finishing;
      if (thread.failed) {
        alive--;
        void thread.worker.terminate();
      } else {
        idle.push(thread);
      }
      return out.digest;
    } catch (err) {
      alive--;
      void thread.worker.terminate();
      throw err;
    }
  }
}

/** Hashing threads alive now (idle or hashing): for diagnostics and tests. */
export function hashThreadCount(): number {
  return alive;
}

let offloaded = 0;

/** Hashes begun on a hashing thread so far in this process: for diagnostics and tests. */
export function offloadedHashCount(): number {
  return offloaded;
}

/**
 * Starts a hashing thread ahead of a large hash (its start-up takes some tens of milliseconds,
 * which then overlap the caller's own start). Does nothing where threads do not pay or when one
 * is already idle.
 */
export function prewarmHashThread(): void {
  if (idle.length > 0 || !hashThreadsAvailable()) return;
  const t = acquire();
  if (t) idle.push(t);
}

/** True where hashing threads pay: Node with more than one core and `Atomics.waitAsync`. */
export function hashThreadsAvailable(): boolean {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  return (
    g.Deno === undefined &&
    g.Bun === undefined &&
    typeof waitAsync === 'function' &&
    availableParallelism() > 1
  );
}

/** SHA-256 by node:crypto: large hashes on hashing threads, the rest as {@link nodeHash}. */
export const threadedHash: HashEngine = {
  name: 'native',
  create(expectedBytes) {
    const thread =
      expectedBytes !== undefined && expectedBytes >= OFFLOAD_MIN ? acquire() : undefined;
    return thread ? new ThreadedHash(thread) : nodeHash.create();
  },
};

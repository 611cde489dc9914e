/**
 * SHA-256 by node:crypto on worker threads, so that hashing runs on another core while the main
 * thread reads, inflates and parses: on a verify of a large archive the two hashes (state.bin and
 * the archive itself) cost about as much as the inflate, and overlapping them takes that time off
 * the wall clock.
 *
 * A hash whose caller expects at least {@link OFFLOAD_MIN} bytes takes a hashing thread from a
 * small pool; `update` then copies into that thread's shared ring (src/node/hash-ring.ts) and
 * returns a promise only when the ring is full. Shorter hashes (meta.json, SHA256SUMS), those of
 * unknown length, and any made while every thread is busy stay on the calling thread.
 *
 * Threads are unreferenced: an idle one never keeps the process alive. A hash dropped without
 * `digest` (an operation that failed half-way) has its thread terminated when it is collected.
 */
import { createHash, type Hash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashEngine, HashState } from '../engines/sha256.js';
import { SnapshotError } from '../errors.js';
import { HASH_RING as R } from './hash-ring.js';
import { type HashThreadData, hashThreadMain } from './hash-thread-worker.js';

/**
 * Hashes expected to be at least this long go to a hashing thread; shorter ones (and those of
 * unknown length) stay on the calling thread, where they finish before a thread would start.
 */
export const OFFLOAD_MIN = 32 * 1024 * 1024;
/** Most hashing threads alive at once. */
const MAX_THREADS = 4;

/** The thread's program: hashThreadMain's own text, called with node:crypto and its data. */
const THREAD_SOURCE = `(${hashThreadMain.toString()})(require('node:crypto').createHash, require('node:worker_threads').workerData);`;

/** `Atomics.waitAsync` (ES2024; Node 16 and later), typed here for older TypeScript libs. */
type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

class HashThread {
  readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly ring: Uint8Array;
  private readonly digestArea: Uint8Array;
  private written = 0;
  private requested = 0;
  private failure: string | undefined;
  /** Where the current hash's bytes start in the ring's byte count. */
  private jobStart = 0;
  /** The current hash, continued on the calling thread after the thread failed to start. */
  private local: Hash | undefined;

  constructor() {
    const shared = new SharedArrayBuffer(R.SHARED_BYTES);
    this.control = new Int32Array(shared, 0, R.CONTROL_SLOTS);
    this.digestArea = new Uint8Array(shared, R.DIGEST_OFFSET, 32);
    this.ring = new Uint8Array(shared, R.RING_OFFSET, R.RING_BYTES);
    const workerData: HashThreadData = { shared, slots: R };
    this.worker = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData,
      // The process's own flags (--input-type, --cpu-prof, …) are not the thread's business.
      execArgv: [],
    });
    this.worker.unref();
    const fail = (why: string) => {
      this.failure ??= why;
      // Wake whatever waits on this thread, so that it sees the failure.
      Atomics.store(this.control, R.FAILED, 1);
      Atomics.notify(this.control, R.READ);
      Atomics.notify(this.control, R.FINISHED);
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
    const local = createHash('sha256');
    for (let at = this.jobStart; at !== this.written; ) {
      const i = (at >>> 0) % R.RING_BYTES;
      const n = Math.min((this.written - at) | 0, R.RING_BYTES - i);
      local.update(this.ring.subarray(i, i + n));
      at = (at + n) | 0;
    }
    this.local = local;
    return local;
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

  /** Waits until slot `index` is no longer `value` (or the thread failed). */
  private async change(index: number, value: number): Promise<void> {
    const w = waitAsync!(this.control, index, value);
    if (!w.async) return;
    // A pending waitAsync does not keep Node's event loop alive; this timer does.
    const keepAlive = setTimeout(() => {}, 1 << 30);
    try {
      await w.value;
    } finally {
      clearTimeout(keepAlive);
    }
  }

  /** Hands `data` to the thread; resolves (when not at once) once all of it is in the ring. */
  feed(data: Uint8Array): Promise<void> | undefined {
    if (this.failed) {
      this.fallBack().update(data);
      return undefined;
    }
    let offset = this.copy(data, 0);
    if (offset === data.length) return undefined;
    return (async () => {
      while (offset < data.length) {
        if (this.failed) {
          this.fallBack().update(data.subarray(offset));
          return;
        }
        const read = Atomics.load(this.control, R.READ);
        if (((this.written - read) | 0) >= R.RING_BYTES) await this.change(R.READ, read);
        else offset = this.copy(data, offset);
      }
    })();
  }

  /** Finishes the current hash and returns its digest; the thread then starts a new one. */
  async digest(): Promise<Uint8Array> {
    if (this.local) return new Uint8Array(this.local.digest());
    this.requested = (this.requested + 1) | 0;
    Atomics.store(this.control, R.REQUESTED, this.requested);
    this.wake();
    for (;;) {
      const finished = Atomics.load(this.control, R.FINISHED);
      if (finished === this.requested) return this.digestArea.slice();
      if (this.failed) return new Uint8Array(this.fallBack().digest());
      await this.change(R.FINISHED, finished);
    }
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

class ThreadedHash implements HashState {
  private local: Hash | undefined;
  private thread: HashThread | undefined;

  constructor(expectedBytes: number | undefined) {
    const thread =
      expectedBytes !== undefined && expectedBytes >= OFFLOAD_MIN ? acquire() : undefined;
    if (thread) {
      thread.begin();
      this.thread = thread;
      abandoned.register(this, thread, this);
    } else {
      this.local = createHash('sha256');
    }
  }

  update(data: Uint8Array): Promise<void> | undefined {
    if (this.thread) return this.thread.feed(data);
    this.local!.update(data);
    return undefined;
  }

  async digest(): Promise<Uint8Array> {
    const thread = this.thread;
    if (!thread) return new Uint8Array(this.local!.digest());
    this.thread = undefined;
    abandoned.unregister(this);
    try {
      const out = await thread.digest();
      if (thread.failed) {
        alive--;
        void thread.worker.terminate();
      } else {
        idle.push(thread);
      }
      return out;
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

/** SHA-256 by node:crypto, large hashes on hashing threads. */
export const threadedHash: HashEngine = {
  name: 'native',
  create: (expectedBytes) => new ThreadedHash(expectedBytes),
};

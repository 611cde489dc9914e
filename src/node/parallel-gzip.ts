/**
 * gzip compression across worker threads, pigz-style: the input is cut into blocks, each block is
 * deflated by a worker with the previous 32 KiB as its dictionary and ended with a sync flush
 * (the last one with the final block), and the blocks are joined into ONE gzip member with the
 * CRC-32 and length of the whole input. Every gzip reader sees a plain single-member stream.
 *
 * Memory is bounded: at most `2 × workers` blocks are in flight. The output arrives in order,
 * with backpressure from the consumer of the returned iterable.
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { crc32 as jsCrc32 } from '../engines/crc32.js';
import type { DeflateJob } from './deflate-worker.js';

const BLOCK = 1 << 20;
const WINDOW = 32 * 1024;

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const crc32 = nativeCrc32 ? (c: number, d: Uint8Array) => nativeCrc32(d, c) : jsCrc32;

interface Pending {
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** A small pool of deflate workers shared by the process (created on first use). */
class DeflatePool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private rr = 0;
  private users = 0;

  constructor(private readonly size: number) {}

  acquire(): void {
    if (this.users++ === 0 && this.workers.length === 0) {
      for (let i = 0; i < this.size; i++) {
        const w = new Worker(new URL('./deflate-worker.js', import.meta.url));
        w.on('message', (m: { id: number; data: Uint8Array }) => {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          p?.resolve(m.data);
        });
        w.on('error', (err) => {
          for (const p of this.pending.values()) p.reject(err);
          this.pending.clear();
        });
        this.workers.push(w);
      }
    }
  }

  release(): void {
    if (--this.users === 0) {
      for (const w of this.workers.splice(0)) void w.terminate();
    }
  }

  run(job: Omit<DeflateJob, 'id'>): Promise<Uint8Array> {
    const id = this.next++;
    const w = this.workers[this.rr++ % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, ...job });
    });
  }
}

let pool: DeflatePool | undefined;

/** Number of deflate workers used: the cores available (at least 1). */
export function deflateWorkers(): number {
  return Math.max(1, availableParallelism());
}

const HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

/** Compresses `input` into one gzip member at `level` using worker threads. */
export async function* parallelGzip(
  input: AsyncIterable<Uint8Array>,
  level: number,
): AsyncGenerator<Uint8Array> {
  const workers = deflateWorkers();
  pool ??= new DeflatePool(workers);
  pool.acquire();
  const inFlight: Promise<Uint8Array>[] = [];
  const limit = workers * 2;
  let crc = 0;
  let size = 0;
  let window: Uint8Array = new Uint8Array(0);
  let block = new Uint8Array(BLOCK);
  let fill = 0;

  const p = pool;
  const submit = (data: Uint8Array, last: boolean) => {
    crc = crc32(crc, data);
    size = (size + data.length) >>> 0;
    const job = p.run({ data, dictionary: window, level, last });
    job.catch(() => {});
    inFlight.push(job);
    window = data.length >= WINDOW ? data.slice(data.length - WINDOW) : concatTail(window, data);
  };

  try {
    yield HEADER;
    for await (const chunk of input) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, BLOCK - fill);
        block.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === BLOCK) {
          submit(block, false);
          block = new Uint8Array(BLOCK);
          fill = 0;
          while (inFlight.length >= limit) yield await inFlight.shift()!;
        }
      }
    }
    submit(block.subarray(0, fill), true);
    while (inFlight.length) yield await inFlight.shift()!;
    const trailer = new Uint8Array(8);
    new DataView(trailer.buffer).setUint32(0, crc >>> 0, true);
    new DataView(trailer.buffer).setUint32(4, size, true);
    yield trailer;
  } finally {
    p.release();
  }
}

function concatTail(a: Uint8Array, b: Uint8Array): Uint8Array {
  const all = new Uint8Array(a.length + b.length);
  all.set(a, 0);
  all.set(b, a.length);
  return all.length > WINDOW ? all.slice(all.length - WINDOW) : all;
}

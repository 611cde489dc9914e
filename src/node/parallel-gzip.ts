/**
 * gzip compression on several cores, pigz-style: the input is cut into blocks, each block is
 * deflated on the libuv thread pool with the 32 KiB that precede it as its dictionary and ended
 * with a sync flush (the last one with the final block), and the blocks are joined into ONE gzip
 * member with the CRC-32 and length of the whole input. Every gzip reader sees a plain
 * single-member stream, about as small as a sequential one.
 *
 * At the default level (-1) a block is deflated at level 6 (zlib's and Go's default) unless it
 * looks incompressible ({@link looksIncompressible}: ciphertext, media), in which case it is
 * written as stored blocks without a trip to zlib; on Vault-like state that keeps the archive
 * within about 2 % of a level-6 one at a small part of the cost. An explicit level 0-9 is
 * passed to zlib for every block.
 *
 * Memory is bounded: blocks of {@link deflateBlockSize} (2 MiB on 2 cores, 512 KiB from 5 cores
 * on) are queued up to 10 MiB of input, or one per core and one more (plus their output). The
 * output arrives in order, with backpressure from the consumer of the returned iterable.
 */
import { availableParallelism } from 'node:os';
import * as zlib from 'node:zlib';
import { looksIncompressible } from '../engines/compressibility.js';
import { crc32 as jsCrc32 } from '../engines/crc32.js';
import { encodeStored, storedSize } from '../format/deflate-stored.js';
import { gzipHeader, gzipTrailer } from '../format/gzip.js';
import { fixedBlocks } from '../io/blocks.js';
import { nativeCrc32 } from './zlib-crc32.js';

/**
 * Input bytes per block, for `lanes` blocks deflating at once. zlib's set-up and the 32 KiB
 * dictionary that primes each block cost the same whatever the block's size, so large blocks cost
 * less per byte (on 2 cores, 2 MiB blocks make a consul-like create some 8 % faster than 512 KiB
 * ones, and the archive a little smaller); with more cores, smaller blocks keep every core busy
 * within the same memory.
 */
export function deflateBlockSize(lanes: number): number {
  return lanes <= 2 ? 2 * 1024 * 1024 : lanes <= 4 ? 1024 * 1024 : 512 * 1024;
}
/** Input bytes of the blocks queued at most (deflating, or done and waiting to be taken). */
const QUEUE_BYTES = 10 * 1024 * 1024;
/**
 * Bounds of zlib's output buffer per block. zlib allocates output in buffers of this size and
 * joins them when one is not enough; the size follows the last block's output (+25 % and a
 * margin), so a block usually takes one buffer of about its output size: no join, and little
 * memory for the garbage collector to catch up with.
 */
const MIN_OUT = 16 * 1024;
/**
 * Blocks handed to the thread pool beyond one per core: zlib's completions wait for the main
 * thread, which is also reading, hashing and writing, so a deeper queue keeps every core busy.
 */
const DEFLATE_AHEAD = 6;
/**
 * zlib's memLevel: 9 (the most) doubles the match-finder's hash table over the default 8, which on
 * record-like state is both a little faster (fewer collisions to walk) and a little smaller, for
 * some 128 KiB more per block being deflated.
 */
const MEM_LEVEL = 9;
/** DEFLATE's window: how much of the previous block primes the next. */
const WINDOW = 32 * 1024;

const crc32 = nativeCrc32 ?? jsCrc32;

function deflateBlock(
  data: Uint8Array,
  dictionary: Uint8Array | undefined,
  level: number,
  last: boolean,
  chunkSize: number,
) {
  const flush = last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH;
  return new Promise<Uint8Array>((resolve, reject) => {
    zlib.deflateRaw(
      data,
      // The block's one write flushes, so its output comes out in one piece (the closing flush
      // finds nothing left to write).
      { level, memLevel: MEM_LEVEL, dictionary, flush, finishFlush: flush, chunkSize },
      (err, out) =>
        err ? reject(err) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.length)),
    );
  });
}

/** How many blocks are compressed at once: the cores available (at least 2, to overlap I/O). */
export function deflateLanes(): number {
  return Math.max(2, availableParallelism());
}

/** The block compressors' plan on this machine: lanes, block size and blocks queued at most. */
export function blockPlan(): { lanes: number; blockSize: number; maxQueued: number } {
  const lanes = deflateLanes();
  const blockSize = deflateBlockSize(lanes);
  return { lanes, blockSize, maxQueued: Math.max(lanes + 1, Math.floor(QUEUE_BYTES / blockSize)) };
}

/** Compresses `input` into one gzip member at `level` (0-9, or -1 for the default). */
export async function* parallelGzip(
  input: AsyncIterable<Uint8Array>,
  level: number,
  reuse = false,
): AsyncGenerator<Uint8Array> {
  const { lanes, blockSize, maxQueued } = blockPlan();
  const maxOut = blockSize + 4096;
  const inFlight: Promise<Uint8Array>[] = [];
  // zlib jobs not finished yet: stored blocks are done at once and must not hold a lane.
  let deflating = 0;
  let outGuess = maxOut;
  let crc = 0;
  let size = 0;
  let prev: Uint8Array | undefined;

  // Blocks are reused: block k is free once job k and job k+1 (which reads it as its dictionary)
  // have finished, i.e. when job k+1's output is taken.
  const blocks: Uint8Array[] = [];
  const free: Uint8Array[] = [];
  let lastDone: Uint8Array | undefined;
  const take = async (): Promise<Uint8Array> => {
    const out = await inFlight.shift()!;
    const done = blocks.shift()!;
    if (lastDone && lastDone.length === blockSize) free.push(lastDone);
    lastDone = done;
    return out;
  };

  // With `reuse`, the stored encodings of whole blocks go back to a pool once passed on.
  const storedFree: Uint8Array[] = [];
  const pooled = new WeakSet<ArrayBufferLike>();
  const encodeWhole = (data: Uint8Array, last: boolean) => {
    if (!reuse || data.length !== blockSize) return encodeStored(data, last);
    let out = storedFree.pop();
    if (!out) {
      out = new Uint8Array(storedSize(blockSize));
      pooled.add(out.buffer);
    }
    return encodeStored(data, last, out);
  };
  const release = (out: Uint8Array) => {
    if (pooled.has(out.buffer)) storedFree.push(new Uint8Array(out.buffer));
  };

  const countDeflating = (job: Promise<Uint8Array>) => {
    deflating++;
    const settle = () => {
      deflating--;
    };
    job.then(settle, settle);
    return job;
  };

  const submit = (data: Uint8Array, last: boolean) => {
    crc = crc32(crc, data);
    size = (size + data.length) >>> 0;
    const dict = prev && prev.length > WINDOW ? prev.subarray(prev.length - WINDOW) : prev;
    const job =
      level === -1 && looksIncompressible(data)
        ? Promise.resolve(encodeWhole(data, last))
        : countDeflating(
            deflateBlock(
              data,
              dict?.length ? dict : undefined,
              level === -1 ? 6 : level,
              last,
              outGuess,
            ).then((out) => {
              outGuess = Math.min(maxOut, Math.max(MIN_OUT, (out.length * 1.25 + 8192) & ~4095));
              return out;
            }),
          );
    job.catch(() => {});
    inFlight.push(job);
    blocks.push(data);
    prev = data;
  };

  yield gzipHeader();
  const nextBuffer = () => free.pop() ?? new Uint8Array(blockSize);
  for await (const { data, last } of fixedBlocks(input, blockSize, nextBuffer)) {
    submit(data, last);
    while (
      last
        ? inFlight.length > 0
        : deflating >= lanes + DEFLATE_AHEAD || inFlight.length >= maxQueued
    ) {
      const out = await take();
      yield out;
      release(out);
    }
  }
  yield gzipTrailer(crc, size);
}

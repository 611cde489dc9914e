/**
 * gzip compression on several cores, pigz-style: the input is cut into blocks, each block is
 * deflated on the libuv thread pool with the 32 KiB that precede it as its dictionary and ended
 * with a sync flush (the last one with the final block), and the blocks are joined into ONE gzip
 * member with the CRC-32 and length of the whole input. Every gzip reader sees a plain
 * single-member stream, about as small as a sequential one. Blocks that look incompressible are
 * deflated at level 1 (see {@link looksIncompressible}).
 *
 * Memory is bounded: at most `lanes` blocks are in flight (the cores available). The output
 * arrives in order, with backpressure from the consumer of the returned iterable.
 */
import { availableParallelism } from 'node:os';
import * as zlib from 'node:zlib';
import { crc32 as jsCrc32 } from '../engines/crc32.js';

/** Input bytes per block. */
const BLOCK = 512 * 1024;
/** Output buffer per zlib call (zlib grows the result in such chunks). */
const OUT_CHUNK = 128 * 1024;
/** DEFLATE's window: how much of the previous block primes the next. */
const WINDOW = 32 * 1024;
/** gzip header: no flags, no mtime, OS unknown (as Go writes it). */
const HEADER = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const crc32 = nativeCrc32 ? (c: number, d: Uint8Array) => nativeCrc32(d, c) : jsCrc32;

function deflateBlock(
  data: Uint8Array,
  dictionary: Uint8Array | undefined,
  level: number,
  last: boolean,
) {
  return new Promise<Uint8Array>((resolve, reject) => {
    zlib.deflateRaw(
      data,
      {
        level,
        dictionary,
        finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
        // One output buffer per block: fewer hops between the pool and the main thread.
        chunkSize: OUT_CHUNK,
      },
      (err, out) =>
        err ? reject(err) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.length)),
    );
  });
}

/** Bytes sampled at three places of a block to judge whether it compresses. */
const SAMPLE = 4096;
/** Bits of entropy per byte above which a sample counts as incompressible (ciphertext, media). */
const INCOMPRESSIBLE_BITS = 7.9;

/**
 * True when `block` looks incompressible (e.g. Vault's AES-GCM ciphertext): every sample has
 * byte entropy above 7.9 bits. Such blocks are deflated with zlib's fastest matcher (level 1):
 * no level finds more in them, and level 6's lazy match search costs several times as long.
 */
export function looksIncompressible(block: Uint8Array): boolean {
  if (block.length < 3 * SAMPLE) return false;
  const counts = new Uint32Array(256);
  for (const start of [0, (block.length - SAMPLE) >> 1, block.length - SAMPLE]) {
    counts.fill(0);
    for (let i = start; i < start + SAMPLE; i++) counts[block[i]]++;
    let bits = 0;
    for (const c of counts) {
      if (c) {
        const p = c / SAMPLE;
        bits -= p * Math.log2(p);
      }
    }
    if (bits < INCOMPRESSIBLE_BITS) return false;
  }
  return true;
}

/** How many blocks are compressed at once: the cores available (at least 2, to overlap I/O). */
export function deflateLanes(): number {
  return Math.max(2, availableParallelism());
}

/** Compresses `input` into one gzip member at `level` (-1 for zlib's default, 6). */
export async function* parallelGzip(
  input: AsyncIterable<Uint8Array>,
  level: number,
): AsyncGenerator<Uint8Array> {
  const lanes = deflateLanes();
  const inFlight: Promise<Uint8Array>[] = [];
  let crc = 0;
  let size = 0;
  let prev: Uint8Array | undefined;
  let block: Uint8Array = new Uint8Array(BLOCK);
  let fill = 0;

  // Blocks are reused: block k is free once job k and job k+1 (which reads it as its dictionary)
  // have finished, i.e. when job k+1's output is taken.
  const blocks: Uint8Array[] = [];
  const free: Uint8Array[] = [];
  let lastDone: Uint8Array | undefined;
  const take = async (): Promise<Uint8Array> => {
    const out = await inFlight.shift()!;
    const done = blocks.shift()!;
    if (lastDone && lastDone.length === BLOCK) free.push(lastDone);
    lastDone = done;
    return out;
  };

  const submit = (data: Uint8Array, last: boolean) => {
    crc = crc32(crc, data);
    size = (size + data.length) >>> 0;
    const dict = prev && prev.length > WINDOW ? prev.subarray(prev.length - WINDOW) : prev;
    const lv = level !== 0 && level !== 1 && looksIncompressible(data) ? 1 : level;
    const job = deflateBlock(data, dict?.length ? dict : undefined, lv, last);
    job.catch(() => {});
    inFlight.push(job);
    blocks.push(data);
    prev = data;
  };

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
        fill = 0;
        while (inFlight.length >= lanes + 2) yield await take();
        block = free.pop() ?? new Uint8Array(BLOCK);
      }
    }
  }
  submit(block.subarray(0, fill), true);
  while (inFlight.length) yield await take();
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  view.setUint32(4, size, true);
  yield trailer;
}

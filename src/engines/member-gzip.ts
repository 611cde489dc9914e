/**
 * gzip in independent members, for runtimes without zlib bindings (browsers, Workers, the
 * portable entry anywhere). The input is cut into 2 MiB blocks and each block becomes one whole
 * gzip member: compressed by the runtime's `CompressionStream('gzip')`, several blocks at once
 * (Node runs them on its thread pool; browsers may use other threads), or, when the block looks
 * random (see {@link looksIncompressible}), written as DEFLATE stored blocks with its CRC-32.
 *
 * Go's compress/gzip reads concatenated members as one stream (its Reader is multistream by
 * default), as do gzip(1) and every other conforming reader. Members cost 18 bytes each and
 * start without the previous block's 32 KiB as context, which leaves the archive about 1 %
 * larger than one sequential stream on record-like data.
 *
 * Memory is bounded: at most `lanes + 2` blocks are held (`lanes + 1` being compressed or
 * waiting for their turn, one filling), each with its output. Members go out as soon as they and
 * those before them are ready: stored blocks (ciphertext) wait only behind a block still being
 * compressed, never behind one another.
 */
import { encodeStored } from '../format/deflate-stored.js';
import { gzipHeader, gzipTrailer } from '../format/gzip.js';
import { fixedBlocks } from '../io/blocks.js';
import { concatBytes } from '../io/bytes.js';
import { looksIncompressible } from './compressibility.js';
import type { Crc32 } from './crc32.js';

/** Input bytes per member. */
const BLOCK = 2 * 1024 * 1024;

/**
 * Blocks compressed at once, less one: twice the cores the runtime reports, 4 to 8. Node runs a
 * CompressionStream on its thread pool, but hands every 16 KiB of output back to the main thread,
 * which hashes between turns: with only one block per core in flight the pool waits on it, and a
 * 256 MiB consul-like create on 2 cores took 2.47 s with 3 blocks at once against 2.27 s with 5.
 */
function lanes(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency;
  return Math.min(8, Math.max(4, 2 * (n ?? 2)));
}

/**
 * One gzip member of `block` by CompressionStream, as one array: the stream's own chunks are
 * small (16 KiB in Node), and every chunk costs the consumer a hash update and a write.
 */
async function compressMember(block: Uint8Array): Promise<Uint8Array[]> {
  const cs = new CompressionStream('gzip');
  const writer = cs.writable.getWriter();
  // Failures surface on the readable side; the writer's promises only mirror them.
  writer.write(block as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = cs.readable.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    parts.push(next.value);
  }
  return parts.length <= 1 ? parts : [concatBytes(parts)];
}

/** One gzip member of `block` with DEFLATE stored blocks. */
function storedMember(block: Uint8Array, crc32: Crc32): Uint8Array[] {
  return [gzipHeader(), encodeStored(block, true), gzipTrailer(crc32(0, block), block.length)];
}

/**
 * Compresses `input` into a stream of gzip members (see the module comment), using `crc32` for
 * stored members. Requires `CompressionStream`; its errors reject the iteration.
 */
export async function* memberGzip(
  input: AsyncIterable<Uint8Array>,
  crc32: Crc32,
): AsyncGenerator<Uint8Array> {
  const max = lanes();
  const queue: { block: Uint8Array; job: Promise<Uint8Array[]>; done: boolean }[] = [];
  // A block is free again once its member has been taken: nothing refers to it any more.
  const free: Uint8Array[] = [];
  const submit = (block: Uint8Array) => {
    if (looksIncompressible(block)) {
      queue.push({ block, job: Promise.resolve(storedMember(block, crc32)), done: true });
      return;
    }
    const entry = { block, job: compressMember(block), done: false };
    // Settled either way: a failure is taken (and thrown) as soon as it is at the head.
    const settled = () => {
      entry.done = true;
    };
    entry.job.then(settled, settled);
    queue.push(entry);
  };
  const take = async () => {
    const { block, job } = queue.shift()!;
    const member = await job;
    if (block.length === BLOCK) free.push(block);
    return member;
  };
  let members = 0;
  try {
    const nextBuffer = () => free.pop() ?? new Uint8Array(BLOCK);
    for await (const { data, last } of fixedBlocks(input, BLOCK, nextBuffer)) {
      // An empty input still makes one (empty) member.
      if (data.length > 0 || members === 0) {
        submit(data);
        members++;
      }
      if (last) break;
      // Members that are ready go out at once (a stored one is ready when submitted): only
      // blocks still being compressed wait, so that stored data does not pile up in memory.
      while (queue.length > max || queue[0]?.done) yield* await take();
    }
    while (queue.length) yield* await take();
  } finally {
    queue.length = 0;
  }
}

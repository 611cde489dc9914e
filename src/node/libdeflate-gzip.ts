/**
 * gzip in independent members by libdeflate on the libuv thread pool, through raftsnap's
 * Node-API addon (native/libdeflate-gzip.c, built by `npm run build` where a C compiler and
 * libdeflate's headers are present; see {@link loadLibdeflate}).
 *
 * The input is cut into blocks (2 MiB on 2 cores, as {@link blockPlan} says) and each block
 * becomes one whole gzip member, compressed with its CRC-32 on a pool thread, several at once.
 * Go's compress/gzip reads concatenated members as one stream (its Reader is multistream by
 * default), as do gzip(1) and every conforming reader. On record-like state libdeflate's level 6
 * takes about three quarters of zlib's CPU time for an archive within 1.5 % of Go's size (the
 * members start without the previous block's 32 KiB, which costs some 1 %).
 *
 * At the default level (-1) a block is compressed at level 6 unless it looks incompressible
 * ({@link looksIncompressible}: ciphertext, media), in which case it is stored (level 0, still
 * on the pool). An explicit level 0-9 is used for every block.
 *
 * Memory is bounded: the blocks queued are those of {@link blockPlan} (10 MiB of input, or one
 * per core and one more), each with one output buffer of the member bound. The output arrives
 * in order, with backpressure from the consumer of the returned iterable. A consumer that stops
 * early stops the input; jobs already on the pool finish there and release their buffers.
 */
import { looksIncompressible } from '../engines/compressibility.js';
import type { GzipCompressor } from '../engines/registry.js';
import { fixedBlocks } from '../io/blocks.js';
import { type LibdeflateAddon, loadLibdeflateAddon } from './libdeflate-addon.js';
import { blockPlan } from './parallel-gzip.js';

export type { LibdeflateAddon } from './libdeflate-addon.js';

/** Level for blocks that do not look random at the default level: zlib's and Go's default. */
const DEFAULT_LEVEL = 6;

let checked: LibdeflateAddon | null | undefined;

/**
 * The addon for compression, or undefined where {@link loadLibdeflateAddon} has none or the
 * libdeflate loaded with it is too old for every level 0-9. Never throws.
 */
export function loadLibdeflate(): LibdeflateAddon | undefined {
  if (checked !== undefined) return checked ?? undefined;
  checked = null;
  try {
    const addon = loadLibdeflateAddon();
    if (addon?.checkLevels()) checked = addon;
  } catch {
    checked = null;
  }
  return checked ?? undefined;
}

/** A {@link GzipCompressor} over `addon` (see the module comment). */
export function libdeflateGzip(addon: LibdeflateAddon): GzipCompressor {
  return async function* membersGzip(
    input: AsyncIterable<Uint8Array>,
    level: number,
    reuse = false,
  ): AsyncGenerator<Uint8Array> {
    const { blockSize, maxQueued } = blockPlan();
    const outSize = addon.gzipBound(blockSize);

    interface Job {
      block: Uint8Array;
      out: Uint8Array;
      length: Promise<number>;
    }
    const jobs: Job[] = [];
    const freeBlocks: Uint8Array[] = [];
    const freeOuts: Uint8Array[] = [];
    let members = 0;

    const submit = (block: Uint8Array) => {
      const out = freeOuts.pop() ?? new Uint8Array(outSize);
      const l = level !== -1 ? level : looksIncompressible(block) ? 0 : DEFAULT_LEVEL;
      const length = addon.gzipMember(block, l, out);
      length.catch(() => {});
      jobs.push({ block, out, length });
      members++;
    };
    // Takes the oldest job's member. Its input block goes back to the pool at once (a member
    // needs nothing of the blocks around it); its output buffer once the consumer asks for more.
    let lent: Uint8Array | undefined;
    const take = async (): Promise<Uint8Array> => {
      const job = jobs.shift()!;
      const n = await job.length;
      if (n === 0) throw new Error('libdeflate: a member did not fit its bound');
      if (job.block.length === blockSize) freeBlocks.push(job.block);
      if (reuse) {
        lent = job.out;
        return job.out.subarray(0, n);
      }
      const member = job.out.slice(0, n);
      freeOuts.push(job.out);
      return member;
    };
    const giveBack = () => {
      if (lent) freeOuts.push(lent);
      lent = undefined;
    };

    try {
      const nextBuffer = () => freeBlocks.pop() ?? new Uint8Array(blockSize);
      for await (const { data, last } of fixedBlocks(input, blockSize, nextBuffer)) {
        // An empty last block makes a member only when it would be the only one: the output is
        // then still a gzip stream (of nothing).
        if (data.length > 0 || members === 0) submit(data);
        while (last ? jobs.length > 0 : jobs.length >= maxQueued) {
          const member = await take();
          yield member;
          giveBack();
        }
      }
    } finally {
      // Jobs still on the pool hold their buffers until they finish; nothing waits for them.
      jobs.length = 0;
    }
  };
}

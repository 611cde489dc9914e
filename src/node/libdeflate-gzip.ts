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
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { looksIncompressible } from '../engines/compressibility.js';
import type { GzipCompressor } from '../engines/registry.js';
import { fixedBlocks } from '../io/blocks.js';
import { blockPlan } from './parallel-gzip.js';

/**
 * The addon's exports (see native/libdeflate-gzip.c for the whole contract). `gzipMember` reads
 * and writes the views' memory on another thread until its promise settles: the caller must not
 * touch, detach or resize either buffer before then.
 */
export interface LibdeflateAddon {
  gzipMember(input: Uint8Array, level: number, output: Uint8Array): Promise<number>;
  gzipBound(length: number): number;
  checkLevels(): boolean;
  version: string;
}

/** The addon's file name, in dist/native/ of the package. */
const ADDON_FILE = 'libdeflate-gzip.node';

/** Level for blocks that do not look random at the default level: zlib's and Go's default. */
const DEFAULT_LEVEL = 6;

let loaded: LibdeflateAddon | null | undefined;

/**
 * Whether Deno would have to ask for the permission `descriptor` names: it prompts on a terminal
 * instead of throwing, and an optional accelerator must never stop a command for a question.
 * False outside Deno.
 */
function denoWouldAsk(descriptor: { name: string; path?: string; variable?: string }): boolean {
  const permissions = (
    globalThis as {
      Deno?: { permissions?: { querySync?(d: typeof descriptor): { state: string } } };
    }
  ).Deno?.permissions;
  if (!permissions?.querySync) return false;
  return permissions.querySync(descriptor).state !== 'granted';
}

/**
 * The addon, or undefined when it was not built or does not serve here: another platform, a
 * runtime without Node-API, libdeflate's shared library missing or too old for every level 0-9,
 * or Deno without `--allow-ffi`, `--allow-read` and `--allow-env` (which would otherwise prompt).
 * Looked up in the `native` folder of the nearest enclosing `dist`, so it is found from the
 * library's modules and from the bundled command line alike. RAFTSNAP_LIBDEFLATE=0 hides it.
 */
export function loadLibdeflate(): LibdeflateAddon | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  try {
    const variable = 'RAFTSNAP_LIBDEFLATE';
    if (denoWouldAsk({ name: 'env', variable }) || process.env[variable] === '0') return undefined;
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let up = 0; up < 4; up++, dir = dirname(dir)) {
      const file = join(dir, 'native', ADDON_FILE);
      if (denoWouldAsk({ name: 'read', path: file })) break;
      if (existsSync(file)) {
        if (denoWouldAsk({ name: 'ffi', path: file })) break;
        const addon = createRequire(import.meta.url)(file) as LibdeflateAddon;
        if (addon.checkLevels()) loaded = addon;
        break;
      }
    }
  } catch {
    // Present but not loadable here: the zlib path serves.
    loaded = null;
  }
  return loaded ?? undefined;
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

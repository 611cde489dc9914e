/**
 * Engines for runtimes with Node's built-ins (Node, Deno and Bun).
 *
 * | choice   | SHA-256       | inflate       | CRC-32        | gzip                                  |
 * |----------|---------------|---------------|---------------|---------------------------------------|
 * | `auto`   | node:crypto   | raftsnap WASM | libdeflate¹   | libdeflate addon, else node:zlib      |
 * | `native` | node:crypto   | node:zlib     | node:zlib     | node:zlib on the pool (one member)    |
 * | `wasm`   | raftsnap WASM | raftsnap WASM | raftsnap WASM | node:zlib on the pool (one member)    |
 *
 * ¹ node:zlib for the first 16 MiB (engines are made once per process), then the libdeflate addon
 * where it loads, else node:zlib still (src/node/libdeflate-crc32.ts). Apart from the table, the
 * hashing threads of `auto` and `native` (src/node/hash-thread.ts), which CRC what they hash for
 * the gzip reader, use the addon from their start where it loads.
 *
 * Tar header framing always runs in raftsnap's WebAssembly kernel (src/wasm/tar.ts).
 *
 * `auto` takes the fastest of each measured by `npm run bench` on this project's machine:
 * OpenSSL's SHA-256 (with SHA extensions) beats any WebAssembly; libdeflate's CRC-32 (carry-less
 * multiply) takes some 40 % of node:zlib's time; raftsnap's WebAssembly inflate
 * beats node:zlib's streaming inflate, whose per-chunk hops to the thread pool cost more than
 * the decoding. Compression stays native (no WebAssembly deflate), spread across cores: with
 * the libdeflate addon (src/node/libdeflate-gzip.ts, one gzip member per block) where the build
 * made it, which takes about three quarters of zlib's CPU time at level 6 for an archive within
 * 1.5 % of Go's size; else node:zlib's pigz-style single member (src/node/parallel-gzip.ts).
 */
import { crc32 as jsCrc32 } from '../engines/crc32.js';
import type { EngineChoice, Engines, GzipCompressor } from '../engines/registry.js';
import '../wasm/embedded.js';
import { loadWasmCrc32 } from '../wasm/crc32.js';
import { loadWasmInflate } from '../wasm/inflate.js';
import { loadWasmSha256 } from '../wasm/sha256.js';
import { installWasmTar } from '../wasm/tar.js';
import { hashThreadsAvailable, threadedHash } from './hash-thread.js';
import { libdeflateCrc32 } from './libdeflate-crc32.js';
import { libdeflateGzip, loadLibdeflate } from './libdeflate-gzip.js';
import { nodeHash } from './node-hash.js';
import { parallelGzip } from './parallel-gzip.js';
import { nativeCrc32 } from './zlib-crc32.js';
import { zlibInflate } from './zlib-inflate.js';

export async function nodeEngines(choice: EngineChoice): Promise<Engines> {
  // Tar header framing runs in WebAssembly for every choice (the TypeScript codec is the fallback).
  await installWasmTar();
  if (choice === 'wasm') {
    const [hash, inflate, crc32] = await Promise.all([
      loadWasmSha256(),
      loadWasmInflate(),
      loadWasmCrc32(),
    ]);
    return { hash, inflate, crc32, gzip: parallelGzip };
  }
  const builtin = nativeCrc32 ?? (await loadWasmCrc32().catch(() => jsCrc32));
  const crc32 = choice === 'auto' ? libdeflateCrc32(builtin) : builtin;
  const inflate = choice === 'native' ? zlibInflate : await loadWasmInflate();
  const hash = hashThreadsAvailable() ? threadedHash : nodeHash;
  return { hash, inflate, crc32, gzip: choice === 'auto' ? autoGzip : parallelGzip };
}

/**
 * `auto`'s compressor: libdeflate where the addon loads, else node:zlib. The addon is loaded (and
 * its levels checked) at the first compression, not with the engines, so that reading a small
 * archive never pays for it.
 */
const autoGzip: GzipCompressor = (input, level, reuse) => {
  const libdeflate = loadLibdeflate();
  return (libdeflate ? libdeflateGzip(libdeflate) : parallelGzip)(input, level, reuse);
};

/**
 * What a create costs beyond its deflate: STATE read and compressed at level 6 exactly as
 * `raftsnap create --level 6` does it with one of its two compressors, output discarded: no tar,
 * no SHA-256, no writing, no fsync.
 *
 * - `zlib`: node:zlib (src/node/parallel-gzip.ts: blocks on every core, each primed with the
 *   32 KiB before it, memLevel 9, the CRC-32 of the gzip trailer), what `--engine native` and
 *   `--engine wasm` use;
 * - `libdeflate`: the libdeflate addon (src/node/libdeflate-gzip.ts: one gzip member per block
 *   on every core), what the default engine uses where the addon is built.
 *
 * Both read the state with create's read-ahead (src/node/files.ts). Each is the floor of
 * `--level 6` on any state with that compressor, and of the default level on state that does not
 * look random (the default stores random-looking blocks instead, which costs far less). Set
 * against Go's create, it shows how fast any level-6 create with that compressor can be here.
 *
 * `node dist/bench/deflate-floor.js zlib|libdeflate STATE`; exit status 0 when it ran, 1 when it
 * failed (or the addon is not built), 2 on a usage error.
 */
import { pathToFileURL } from 'node:url';
import type { GzipCompressor } from '../src/engines/registry.js';
import { fileChunksReused } from '../src/node/files.js';
import { libdeflateGzip, loadLibdeflate } from '../src/node/libdeflate-gzip.js';
import { parallelGzip } from '../src/node/parallel-gzip.js';

export type FloorCompressor = 'zlib' | 'libdeflate';

/** The compressor named, or undefined when it is the addon and that is not built. */
export function floorCompressor(name: FloorCompressor): GzipCompressor | undefined {
  if (name === 'zlib') return parallelGzip;
  const addon = loadLibdeflate();
  return addon && libdeflateGzip(addon);
}

/** Compresses the file at `path` as described above; resolves with the compressed byte count. */
export async function deflateOnly(path: string, gzip: GzipCompressor): Promise<number> {
  let total = 0;
  for await (const chunk of gzip(fileChunksReused(path), 6, true)) total += chunk.length;
  return total;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [name, path] = process.argv.slice(2);
  if ((name !== 'zlib' && name !== 'libdeflate') || !path) {
    console.error('usage: deflate-floor zlib|libdeflate STATE');
    process.exit(2);
  }
  const gzip = floorCompressor(name);
  if (!gzip) {
    console.error('the libdeflate addon is not built (npm run build needs cc and libdeflate-dev)');
    process.exit(1);
  }
  deflateOnly(path, gzip).then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}

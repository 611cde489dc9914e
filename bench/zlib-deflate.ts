/**
 * What a level-6 create costs beyond its deflate: STATE read and deflated at level 6 exactly as
 * `raftsnap create --level 6` reads and deflates it (src/node/files.ts's read-ahead,
 * src/node/parallel-gzip.ts: blocks on every core, each primed with the 32 KiB before it,
 * memLevel 9, the CRC-32 of the gzip trailer), output discarded: no tar, no SHA-256, no writing,
 * no fsync. It is the floor of `--level 6` on any state and of the default level on state that
 * does not look random (the default stores random-looking blocks instead, which costs far less).
 * Set against Go's create, it shows how fast any level-6 create with this zlib can be here.
 *
 * `node dist/bench/zlib-deflate.js STATE`; exit status 0 when it ran, 1 otherwise.
 */
import { pathToFileURL } from 'node:url';
import { fileChunksReused } from '../src/node/files.js';
import { parallelGzip } from '../src/node/parallel-gzip.js';

/** Deflates the file at `path` as described above; resolves with the compressed byte count. */
export async function deflateOnly(path: string): Promise<number> {
  let total = 0;
  for await (const chunk of parallelGzip(fileChunksReused(path), 6, true)) total += chunk.length;
  return total;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const path = process.argv[2];
  if (!path) {
    console.error('usage: zlib-deflate STATE');
    process.exit(2);
  }
  deflateOnly(path).then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}

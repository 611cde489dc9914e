/**
 * A bare gzip inflate by node:zlib (Chromium's zlib, streaming, 1 MiB buffers), output
 * discarded: the floor that verify is compared with in the throughput benchmark, next to Go's.
 *
 * `node dist/bench/zlib-gunzip.js FILE`; exit status 0 when the stream decoded, 1 otherwise.
 */
import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: zlib-gunzip FILE');
    process.exit(2);
  }
  pipeline(
    createReadStream(file, { highWaterMark: 1 << 20 }),
    createGunzip({ chunkSize: 1 << 20 }),
    new Writable({ write: (_chunk, _enc, done) => done() }),
  ).then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}

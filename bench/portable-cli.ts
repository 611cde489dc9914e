/**
 * raftsnap's portable path as a process, for the throughput benchmark: the default entry
 * (src/index.ts — WebAssembly SHA-256, inflate, CRC-32 and tar framing, gzip by the runtime's
 * CompressionStream; nothing from Node inside the library), with Node used here only to open
 * the files: a ReadableStream of the input (256 KiB reads) and a WritableStream over the output
 * file (fsynced, as the CLI does; the reference does not). With 1 MiB reads the main thread hashes longer
 * between turns of the event loop, and CompressionStream's work on the thread pool, which hops
 * back to the main thread every 16 KiB of output, waits: create takes about 5 % longer.
 *
 * `node dist/bench/portable-cli.js create META STATE OUT` / `... verify FILE`.
 * Exit status 0 on success, 1 on failure, 2 on usage errors.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { decodeMeta, verify, writeSnapshot } from '../src/index.js';

/** A WritableStream onto a new file at `path`, fsynced and closed when the stream closes. */
async function fileSink(path: string): Promise<WritableStream<Uint8Array>> {
  const fh = await open(path, 'w', 0o600);
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off)).bytesWritten;
    },
    async close() {
      await fh.sync();
      await fh.close();
    },
    async abort() {
      await fh.close();
    },
  });
}

/** A ReadableStream of the file at `path`, read in 256 KiB chunks. */
function fileStream(path: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(
    createReadStream(path, { highWaterMark: 256 * 1024 }),
  ) as ReadableStream<Uint8Array>;
}

async function main(argv: string[]): Promise<number> {
  const [op, ...args] = argv;
  if (op === 'create' && args.length === 3) {
    const [metaPath, statePath, out] = args;
    const meta = decodeMeta(new Uint8Array(await readFile(metaPath)));
    meta.size = BigInt((await stat(statePath)).size);
    await writeSnapshot(meta, fileStream(statePath), await fileSink(out));
    return 0;
  }
  if (op === 'verify' && args.length === 1) {
    await verify(fileStream(args[0]));
    return 0;
  }
  console.error('usage: portable-cli create META STATE OUT | verify FILE');
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}

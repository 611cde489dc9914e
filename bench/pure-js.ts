/**
 * The "pure JS" peer pipeline for the throughput benchmark: what a JavaScript developer would
 * assemble from popular packages to write and verify a Raft snapshot archive.
 *
 * - create: tar-stream `pack` → fflate streaming `Gzip` (level 6) → file (fsynced, as the
 *   raftsnap CLI does; the reference does not), hashing every entry and the compressed archive with
 *   @noble/hashes' SHA-256.
 * - verify: file → fflate streaming `Gunzip` → tar-stream `extract` → @noble/hashes' SHA-256 of
 *   meta.json and state.bin, checked against SHA256SUMS.
 *
 * CLI (one process per operation, as the benchmark times it):
 * `node dist/bench/pure-js.js create META STATE OUT` / `node dist/bench/pure-js.js verify FILE`.
 * Exit status 0 on success, 1 on failure, 2 on usage errors.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Gunzip, Gzip } from 'fflate';
import tar from 'tar-stream';

/** meta.json and SHA256SUMS must be shorter than this, as in the reference. */
const MAX_SMALL_FILE = 8192;

/** A Node Transform around one of fflate's synchronous streaming codecs. */
class FflateTransform extends Transform {
  private readonly codec: Gzip | Gunzip;

  constructor(codec: Gzip | Gunzip, onOutput?: (chunk: Uint8Array) => void) {
    super();
    this.codec = codec;
    codec.ondata = (chunk) => {
      onOutput?.(chunk);
      this.push(chunk);
    };
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.codec.push(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.codec.push(new Uint8Array(0), true);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** Writes one tar entry from an async iterable of chunks, honouring backpressure. */
async function writeEntry(
  pack: tar.Pack,
  name: string,
  size: number,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  hash?: ReturnType<typeof sha256.create>,
): Promise<void> {
  let done!: (err?: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => {
    done = (err) => (err ? reject(err) : resolve());
  });
  const entry = pack.entry({ name, size, mode: 0o600, mtime: new Date() }, done);
  for await (const chunk of chunks) {
    hash?.update(chunk);
    if (!entry.write(chunk)) await new Promise<void>((r) => entry.once('drain', () => r()));
  }
  entry.end(undefined);
  await finished;
}

/** Result of {@link create}. */
export interface CreateResult {
  /** SHA-256 of the compressed archive, hex. */
  checksum: string;
  /** Size of the compressed archive. */
  bytes: number;
}

/** Writes a snapshot archive of `metaPath` and `statePath` to `outPath`. */
export async function create(
  metaPath: string,
  statePath: string,
  outPath: string,
): Promise<CreateResult> {
  const meta = await readFile(metaPath);
  const stateSize = (await stat(statePath)).size;
  const archiveHash = sha256.create();
  let bytes = 0;
  const pack = tar.pack();
  const gzip = new FflateTransform(new Gzip({ level: 6 }), (chunk) => {
    archiveHash.update(chunk);
    bytes += chunk.length;
  });
  const written = pipeline(pack, gzip, createWriteStream(outPath, { mode: 0o600 }));

  const entries = (async () => {
    const metaHash = sha256.create();
    await writeEntry(pack, 'meta.json', meta.length, [meta], metaHash);
    const stateHash = sha256.create();
    await writeEntry(
      pack,
      'state.bin',
      stateSize,
      createReadStream(statePath, { highWaterMark: 1 << 20 }),
      stateHash,
    );
    const sums = Buffer.from(
      `${bytesToHex(metaHash.digest())}  meta.json\n${bytesToHex(stateHash.digest())}  state.bin\n`,
    );
    await writeEntry(pack, 'SHA256SUMS', sums.length, [sums]);
    pack.finalize();
  })();
  entries.catch((err) => pack.destroy(err));
  await Promise.all([entries, written]);

  const fh = await open(outPath, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { checksum: bytesToHex(archiveHash.digest()), bytes };
}

/** Result of {@link verify}: the hashes of meta.json and state.bin, hex. */
export interface VerifyResult {
  meta: string;
  state: string;
}

/** Reads an entry of at most MAX_SMALL_FILE bytes. */
async function readSmall(entry: AsyncIterable<Uint8Array>, name: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of entry) {
    n += chunk.length;
    if (n >= MAX_SMALL_FILE) throw new Error(`${name} is too large`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Checks `<hex>  <name>` lines against the hashes computed. */
function checkSums(text: string, have: Record<string, string>): void {
  const listed = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = /^([0-9a-fA-F]+) {2}(\S+)$/.exec(line);
    if (!m) throw new Error(`bad SHA256SUMS line ${JSON.stringify(line)}`);
    listed.set(m[2], m[1].toLowerCase());
  }
  for (const [name, sum] of Object.entries(have)) {
    const want = listed.get(name);
    if (want === undefined) throw new Error(`file "${name}" is missing from SHA256SUMS`);
    if (want !== sum) throw new Error(`file "${name}" has an invalid hash`);
  }
}

/** Verifies the archive at `path`; rejects when it is invalid. */
export async function verify(path: string): Promise<VerifyResult> {
  const extract = tar.extract();
  const fed = pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    new FflateTransform(new Gunzip()),
    extract,
  );
  let metaSum: string | undefined;
  let stateSum: string | undefined;
  let sums: string | undefined;
  const read = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name;
      const chunks = entry as AsyncIterable<Uint8Array>;
      if (name === 'meta.json') {
        const bytes = await readSmall(chunks, name);
        JSON.parse(Buffer.from(bytes).toString('utf8'));
        metaSum = bytesToHex(sha256(bytes));
      } else if (name === 'state.bin') {
        const hash = sha256.create();
        for await (const chunk of chunks) hash.update(chunk);
        stateSum = bytesToHex(hash.digest());
      } else if (name === 'SHA256SUMS') {
        sums = Buffer.from(await readSmall(chunks, name)).toString('utf8');
      } else {
        throw new Error(`unexpected file "${name}" in snapshot`);
      }
    }
  })();
  read.catch((err) => extract.destroy(err));
  await Promise.all([fed, read]);
  if (metaSum === undefined || sums === undefined) {
    throw new Error('snapshot is missing meta.json or SHA256SUMS');
  }
  // Like the reference, a missing state.bin hashes as empty input.
  const state = stateSum ?? bytesToHex(sha256(new Uint8Array(0)));
  checkSums(sums, { 'meta.json': metaSum, 'state.bin': state });
  return { meta: metaSum, state };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === 'create' && args.length === 3) {
    const r = await create(args[0], args[1], args[2]);
    console.log(`sha256 ${r.checksum}\nbytes ${r.bytes}`);
    return 0;
  }
  if (command === 'verify' && args.length === 1) {
    const r = await verify(args[0]);
    console.log(`meta.json ${r.meta}\nstate.bin ${r.state}`);
    return 0;
  }
  console.error('usage: node dist/bench/pure-js.js create META STATE OUT | verify FILE');
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      console.error(`error: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}

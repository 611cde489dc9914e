/**
 * The portable path's (de)compression choices, measured side by side in one process on the same
 * data (64 MiB of each state shape, 1 MiB chunks): gzip by raftsnap's portable writer (parallel
 * CompressionStream members, random-looking blocks stored) vs one sequential CompressionStream
 * vs fflate at level 6 (raftsnap's portable writer for explicit levels), and inflate by raftsnap's WebAssembly kernel vs the runtime's DecompressionStream
 * (which raftsnap cannot use for snapshots: it neither reports where a gzip member ends nor
 * reads multi-member streams in every runtime — measured here for the record).
 */
import '../src/wasm/embedded.js';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { Gzip } from 'fflate';
import { memberGzip } from '../src/engines/member-gzip.js';
import { loadWasmCrc32 } from '../src/wasm/crc32.js';
import { loadWasmInflate } from '../src/wasm/inflate.js';
import { GENERATOR_VERSION, generateState, type Shape } from './gen.js';

const SIZE = 64 << 20;
const CHUNK = 1 << 20;
const dataDir = fileURLToPath(new URL('../../bench/data/', import.meta.url));

async function stateOf(shape: Shape): Promise<Uint8Array> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, `state-${shape}-64MiB-seed1-v${GENERATOR_VERSION}.bin`);
  if (!existsSync(path)) await generateState(shape, SIZE, path, 1);
  return new Uint8Array(await readFile(path));
}

async function* chunks(data: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += CHUNK) yield data.subarray(i, i + CHUNK);
}

async function time(fn: () => Promise<number>): Promise<{ s: number; out: number }> {
  let best = Number.POSITIVE_INFINITY;
  let out = 0;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    out = await fn();
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return { s: best, out };
}

async function members(data: Uint8Array): Promise<number> {
  let n = 0;
  for await (const c of memberGzip(chunks(data), await loadWasmCrc32())) n += c.length;
  return n;
}

/** Bytes out of a web transform fed `data` in 1 MiB chunks, with backpressure both ways. */
async function through(pair: TransformStream<Uint8Array, Uint8Array>, data: Uint8Array) {
  const writer = pair.writable.getWriter();
  const pump = (async () => {
    for (let i = 0; i < data.length; i += CHUNK) {
      await writer.ready;
      await writer.write(data.slice(i, i + CHUNK));
    }
    await writer.close();
  })();
  let n = 0;
  const reader = pair.readable.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    n += r.value.length;
  }
  await pump;
  return n;
}

const compressionStream = (data: Uint8Array) =>
  through(new CompressionStream('gzip') as TransformStream<Uint8Array, Uint8Array>, data);

async function fflate6(data: Uint8Array): Promise<number> {
  let n = 0;
  const gz = new Gzip({ level: 6 }, (c) => {
    n += c.length;
  });
  for (let i = 0; i < data.length; i += CHUNK)
    gz.push(data.subarray(i, i + CHUNK), i + CHUNK >= data.length);
  return n;
}

async function wasmInflate(raw: Uint8Array): Promise<number> {
  const inflater = (await loadWasmInflate()).create();
  let n = 0;
  for (let i = 0; i < raw.length; i += CHUNK) {
    const step = await inflater.write(raw.subarray(i, i + CHUNK));
    for (const o of step.output) n += o.length;
    if (step.done) break;
  }
  inflater.close();
  return n;
}

const decompressionStream = (raw: Uint8Array) =>
  through(new DecompressionStream('deflate-raw') as TransformStream<Uint8Array, Uint8Array>, raw);

/** Prints the table; runnable directly (`node dist/bench/portable-gzip.js`). */
export async function benchPortableGzip(): Promise<void> {
  console.log(
    '\nPortable (de)compression, 64 MiB per shape, 1 MiB chunks, best of 3 (MB/s of state)',
  );
  console.log(
    'shape    gzip: raftsnap members  CompressionStream  fflate(6)   inflate: raftsnap WASM  DecompressionStream',
  );
  for (const shape of ['consul', 'vault'] as Shape[]) {
    const data = await stateOf(shape);
    const raw = new Uint8Array(deflateRawSync(data, { level: 6 }));
    const mb = (s: number) => (data.length / 1e6 / s).toFixed(0).padStart(6);
    const pm = await time(() => members(data));
    const cs = await time(() => compressionStream(data));
    const ff = await time(() => fflate6(data));
    const wi = await time(() => wasmInflate(raw));
    const di = await time(() => decompressionStream(raw));
    console.log(
      `${shape.padEnd(8)} ${mb(pm.s)} (${(pm.out / data.length).toFixed(3)})        ${mb(cs.s)} (${(cs.out / data.length).toFixed(3)})   ${mb(ff.s)} (${(ff.out / data.length).toFixed(3)})   ${mb(wi.s)}                 ${mb(di.s)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchPortableGzip();
}

/**
 * Throughput of the portable WebAssembly inflate and CRC-32 against fflate and node:zlib.
 *
 * Inflate: ~64 MiB of (a) JSON-ish/msgpack-ish key-value records that compress about 10:1 and
 * (b) mostly incompressible bytes, each compressed with zlib level 6 (as Go's default gzip
 * level), decoded in 1 MiB compressed chunks by every engine. MB/s are of decompressed bytes
 * (1 MB = 2^20 bytes), best of several runs, by wall clock and by CPU time (which is steadier
 * on a busy machine; node:zlib's CPU time includes its thread-pool thread).
 *
 * Run: `node dist/bench/inflate.js` (after the build), or through bench/main.ts.
 */
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';
import { Inflate as FflateInflate } from 'fflate';
import '../src/wasm/embedded.js';
import { loadWasmCrc32 } from '../src/wasm/crc32.js';
import { loadWasmInflate } from '../src/wasm/inflate.js';

const MiB = 1 << 20;
const CHUNK = MiB;
const RUNS = 4;

/** Deterministic xorshift32 generator, so every run benchmarks the same bytes. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * Raft-state-like records: JSON objects (Consul KV/catalog style) and msgpack-ish binary frames
 * with repeated keys, service names, counters and values drawn from a pool of random tokens.
 * Compresses roughly 10:1 at level 6.
 */
export function recordData(size: number, seed = 1): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(size);
  const services = ['web', 'api', 'db', 'cache', 'queue', 'auth', 'billing', 'search'];
  const dcs = ['dc1', 'dc2', 'eu-west', 'us-east'];
  const hex = '0123456789abcdef';
  const pool = Array.from({ length: 256 }, () =>
    Array.from({ length: 12 }, () => hex[next() & 15]).join(''),
  );
  let pos = 0;
  let index = 1_000_000;
  /** Writes a string of code units 0..255 as bytes (msgpack markers are binary). */
  const put = (s: string): void => {
    for (let i = 0; i < s.length && pos < size; i++) out[pos++] = s.charCodeAt(i) & 255;
  };
  while (pos < size) {
    index += 1 + (next() % 3);
    const svc = services[next() % services.length];
    const token = pool[next() % pool.length];
    if (next() % 4 !== 0) {
      put(
        `{"Key":"service/${svc}/${svc}-${next() % 64}/config","Flags":0,"Value":"${token}",` +
          `"CreateIndex":${index - (next() % 1000)},"ModifyIndex":${index},"Datacenter":"${dcs[next() % dcs.length]}",` +
          `"Tags":["v${next() % 4}","primary"],"Port":${8000 + (next() % 100)},"Healthy":${next() % 8 !== 0},` +
          `"Namespace":"default","Partition":"default","Session":"","LockIndex":0}\n`,
      );
    } else {
      put(`\x83\xa3Key\xd9\x13kv/${svc}/${token}\xa5Value\xc4\x0c${token}\xa5Index\xce`);
      put(
        String.fromCharCode(index >>> 24, (index >>> 16) & 255, (index >>> 8) & 255, index & 255),
      );
    }
  }
  return out;
}

/** Mostly incompressible: random bytes with an occasional short run of text. */
export function randomData(size: number, seed = 2): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const v = next();
    out[i] = v;
    out[i + 1] = v >>> 8;
    out[i + 2] = v >>> 16;
    out[i + 3] = v >>> 24;
  }
  for (let i = 0; i + 64 < size; i += 4096 + (next() % 4096)) out.fill(0x20, i, i + 64);
  return out;
}

function chunks(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Best wall-clock and CPU (all threads of the process) milliseconds over `runs` runs. */
async function best(
  runs: number,
  fn: () => Promise<number> | number,
): Promise<{ wall: number; cpu: number }> {
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall = Math.min(wall, performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

function mbps(bytes: number, t: { wall: number; cpu: number }): string {
  const rate = (ms: number) => ((bytes / MiB) * (1000 / ms)).toFixed(0).padStart(6);
  return `${rate(t.wall)} MB/s  (${rate(t.cpu)} MB/s of CPU time)`;
}

async function inflateCase(label: string, data: Uint8Array): Promise<void> {
  const comp = new Uint8Array(zlib.deflateRawSync(data, { level: 6 }));
  const parts = chunks(comp, CHUNK);
  console.log(
    `${label}: ${(data.length / MiB).toFixed(0)} MiB -> ${(comp.length / MiB).toFixed(1)} MiB ` +
      `(ratio ${(data.length / comp.length).toFixed(1)}:1), ${CHUNK / MiB} MiB chunks`,
  );
  const engine = await loadWasmInflate();

  const wasmMs = await best(RUNS, () => {
    const inf = engine.create();
    let total = 0;
    for (const part of parts) {
      const step = inf.write(part);
      for (const o of step.output) total += o.length;
      if (step.done) break;
    }
    inf.close();
    if (total !== data.length) throw new Error(`wasm: ${total} != ${data.length}`);
    return total;
  });

  const fflateMs = await best(RUNS, () => {
    let total = 0;
    const inf = new FflateInflate((chunk) => {
      total += chunk.length;
    });
    for (let i = 0; i < parts.length; i++) inf.push(parts[i], i === parts.length - 1);
    if (total !== data.length) throw new Error(`fflate: ${total} != ${data.length}`);
    return total;
  });

  const zlibMs = await best(RUNS, async () => {
    const inf = zlib.createInflateRaw({ chunkSize: 256 * 1024 });
    let total = 0;
    inf.on('data', (c: Uint8Array) => {
      total += c.length;
    });
    const ended = new Promise<void>((resolve, reject) => {
      inf.on('end', resolve);
      inf.on('error', reject);
    });
    for (const part of parts) {
      if (!inf.write(part)) await new Promise<void>((r) => inf.once('drain', () => r()));
    }
    inf.end();
    await ended;
    if (total !== data.length) throw new Error(`zlib: ${total} != ${data.length}`);
    return total;
  });

  console.log(`  wasm inflate (raftsnap)    ${mbps(data.length, wasmMs)}`);
  console.log(`  fflate Inflate (streaming) ${mbps(data.length, fflateMs)}`);
  console.log(`  node:zlib inflateRaw       ${mbps(data.length, zlibMs)}`);
}

async function crcCase(data: Uint8Array): Promise<void> {
  const crc32 = await loadWasmCrc32();
  const parts = chunks(data, CHUNK);
  let a = 0;
  let b = 0;
  const wasmMs = await best(RUNS + 2, () => {
    a = 0;
    for (const p of parts) a = crc32(a, p);
    return 0;
  });
  const zlibCrc = (zlib as unknown as { crc32?: (d: Uint8Array, c?: number) => number }).crc32;
  console.log(`CRC-32: ${(data.length / MiB).toFixed(0)} MiB in ${CHUNK / MiB} MiB chunks`);
  console.log(`  wasm crc32 (raftsnap)      ${mbps(data.length, wasmMs)}`);
  if (zlibCrc) {
    const zlibMs = await best(RUNS + 2, () => {
      b = 0;
      for (const p of parts) b = zlibCrc(p, b);
      return 0;
    });
    if (a !== b) throw new Error(`crc mismatch ${a} != ${b}`);
    console.log(`  node:zlib crc32            ${mbps(data.length, zlibMs)}`);
  }
}

/** Prints inflate and CRC-32 throughput for the WASM kernels, fflate and node:zlib. */
export async function benchInflate(): Promise<void> {
  const size = 64 * MiB;
  await inflateCase('(a) JSON/msgpack-ish records', recordData(size));
  await inflateCase('(b) mostly incompressible', randomData(size));
  await crcCase(randomData(size, 3));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchInflate();
}

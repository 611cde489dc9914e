/**
 * SHA-256 throughput: raftsnap's WebAssembly kernel against hash-wasm, @noble/hashes and
 * node:crypto, on 64 MiB of deterministic pseudo-random data fed in 1 MiB chunks. Every
 * engine is warmed up with one full pass, then timed over several passes (round-robin, so
 * that machine noise hits all of them alike); the best pass counts.
 *
 * Run directly with `node dist/bench/sha256.js`, or call benchSha256().
 */
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { createSHA256 } from 'hash-wasm';
import '../src/wasm/embedded.js';
import { loadWasmSha256 } from '../src/wasm/sha256.js';

const TOTAL = 64 << 20;
const CHUNK = 1 << 20;
const RUNS = 7;

interface Contender {
  name: string;
  /** Hashes all chunks and returns the digest in hex. */
  run(chunks: Uint8Array[]): string;
  best: number;
}

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function pseudoRandom(n: number): Uint8Array {
  const words = new Uint32Array(n / 4);
  let s = 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  return new Uint8Array(words.buffer);
}

export async function benchSha256(): Promise<void> {
  const data = pseudoRandom(TOTAL);
  const chunks: Uint8Array[] = [];
  for (let off = 0; off < TOTAL; off += CHUNK) chunks.push(data.subarray(off, off + CHUNK));

  const wasm = await loadWasmSha256();
  const hashWasm = await createSHA256();
  const contenders: Contender[] = [
    {
      name: 'raftsnap wasm',
      run(cs) {
        const h = wasm.create();
        for (const c of cs) h.update(c);
        return toHex(h.digest());
      },
      best: Infinity,
    },
    {
      name: 'hash-wasm',
      run(cs) {
        hashWasm.init();
        for (const c of cs) hashWasm.update(c);
        return toHex(hashWasm.digest('binary'));
      },
      best: Infinity,
    },
    {
      name: '@noble/hashes',
      run(cs) {
        const h = nobleSha256.create();
        for (const c of cs) h.update(c);
        return toHex(h.digest());
      },
      best: Infinity,
    },
    {
      name: 'node:crypto',
      run(cs) {
        const h = createHash('sha256');
        for (const c of cs) h.update(c);
        return h.digest('hex');
      },
      best: Infinity,
    },
  ];

  const want = createHash('sha256').update(data).digest('hex');
  for (const c of contenders) {
    const got = c.run(chunks); // warm-up
    if (got !== want) throw new Error(`${c.name} computed ${got}, expected ${want}`);
  }
  for (let r = 0; r < RUNS; r++) {
    for (const c of contenders) {
      const t0 = performance.now();
      c.run(chunks);
      c.best = Math.min(c.best, performance.now() - t0);
    }
  }

  const mbps = (c: Contender): number => TOTAL / 1e6 / (c.best / 1000);
  const ours = mbps(contenders[0]);
  const cpu = cpus();
  console.log(
    `SHA-256: ${TOTAL >> 20} MiB in ${CHUNK >> 20} MiB chunks, best of ${RUNS} runs after a warm-up`,
  );
  console.log(
    `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}`,
  );
  console.log(`${'engine'.padEnd(16)}${'MB/s'.padStart(10)}${'raftsnap wasm ×'.padStart(18)}`);
  for (const c of contenders) {
    const v = mbps(c);
    console.log(
      `${c.name.padEnd(16)}${v.toFixed(1).padStart(10)}${(ours / v).toFixed(2).padStart(18)}`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchSha256();
}

/**
 * `npm run bench`: every benchmark of the project, in order — SHA-256 kernels (./sha256.js),
 * inflate kernels (./inflate.js), tar framing (./tar.js), portable (de)compression
 * (./portable-gzip.js), then end-to-end throughput against the Go reference and a pure-JS
 * pipeline (./throughput.js), verify by runtime (./runtimes.js) and the CLI's peak memory on
 * 1 GiB states (./memory.js; RAFTSNAP_BENCH_MEMORY_SIZE for another size). A benchmark that
 * fails is reported and the others still run; the exit code is then 1. Arguments are passed to
 * the throughput benchmark (`npm run bench -- --size 64MiB --runs 1`).
 */
import { loadavg } from 'node:os';
import { benchInflate } from './inflate.js';
import { benchMemory } from './memory.js';
import { benchPortableGzip } from './portable-gzip.js';
import { benchRuntimes } from './runtimes.js';
import { benchSha256 } from './sha256.js';
import { benchTar } from './tar.js';
import { benchThroughput, parseThroughputArgs } from './throughput.js';

async function main(): Promise<number> {
  const started = performance.now();
  // Before this run's own work raises it.
  const loadBefore = loadavg()[0];
  const options = { ...parseThroughputArgs(process.argv.slice(2)), loadBefore };
  // Each resolves to whether all it measured succeeded; the kernel benchmarks throw when a
  // result is wrong.
  const benches: [string, () => Promise<boolean>][] = [
    ['benchSha256', () => benchSha256().then(() => true)],
    ['benchInflate', () => benchInflate().then(() => true)],
    ['benchTar', () => benchTar().then(() => true)],
    ['benchPortableGzip', () => benchPortableGzip().then(() => true)],
    ['benchThroughput', async () => (await benchThroughput(options)).failures.length === 0],
    ['benchRuntimes', async () => !(await benchRuntimes()).rows.some((r) => r.error)],
    [
      'benchMemory',
      async () => {
        const size = process.env.RAFTSNAP_BENCH_MEMORY_SIZE ?? '1GiB';
        return !(await benchMemory({ size })).some((r) => r.error);
      },
    ],
  ];
  let failed = false;
  for (const [name, run] of benches) {
    try {
      if (!(await run())) failed = true;
    } catch (err) {
      failed = true;
      console.error(`\n${name} failed:`, err);
    }
  }
  const minutes = (performance.now() - started) / 60_000;
  console.log(`\nbench finished in ${minutes.toFixed(1)} min${failed ? ' (with failures)' : ''}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);

/**
 * `npm run bench`: every benchmark of the project, in order — SHA-256 kernels (./sha256.js),
 * inflate kernels (./inflate.js), then end-to-end throughput against the Go reference and a
 * pure-JS pipeline (./throughput.js), verify by runtime (./runtimes.js) and the CLI's peak
 * memory on 1 GiB states (./memory.js; RAFTSNAP_BENCH_MEMORY_SIZE for another size). A benchmark module that is not there (yet) is skipped with
 * a note. Arguments are passed to the throughput benchmark
 * (`npm run bench -- --size 64MiB --runs 1`).
 */
import { existsSync } from 'node:fs';
import { benchThroughput, parseThroughputArgs } from './throughput.js';

/** Benchmarks written alongside this one, loaded only when present. */
const OPTIONAL: readonly { module: string; fn: string }[] = [
  { module: './sha256.js', fn: 'benchSha256' },
  { module: './inflate.js', fn: 'benchInflate' },
  { module: './tar.js', fn: 'benchTar' },
  { module: './portable-gzip.js', fn: 'benchPortableGzip' },
];

async function main(): Promise<number> {
  const started = performance.now();
  const options = parseThroughputArgs(process.argv.slice(2));
  let failed = false;
  for (const { module, fn } of OPTIONAL) {
    const url = new URL(module, import.meta.url);
    if (!existsSync(url)) {
      console.log(`\n(skipping ${fn}: bench/${module.slice(2, -3)}.ts does not exist)`);
      continue;
    }
    try {
      // A computed specifier: these modules may not exist when this file is compiled.
      const mod: Record<string, unknown> = await import(url.href);
      const bench = mod[fn];
      if (typeof bench !== 'function') {
        console.log(`\n(skipping ${fn}: ${module} does not export it)`);
        continue;
      }
      await bench();
    } catch (err) {
      failed = true;
      console.error(`\n${fn} failed:`, err);
    }
  }
  const result = await benchThroughput(options);
  if (result.failures.length) failed = true;
  try {
    const { benchRuntimes } = await import('./runtimes.js');
    await benchRuntimes();
  } catch (err) {
    failed = true;
    console.error('\nbenchRuntimes failed:', err);
  }
  try {
    const { benchMemory } = await import('./memory.js');
    const rows = await benchMemory({ size: process.env.RAFTSNAP_BENCH_MEMORY_SIZE ?? '1GiB' });
    if (rows.some((r) => r.error)) failed = true;
  } catch (err) {
    failed = true;
    console.error('\nbenchMemory failed:', err);
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

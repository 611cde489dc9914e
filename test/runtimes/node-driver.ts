/**
 * Runs the conformance cases, or a timed streaming verify, in a Node process from dist:
 *
 *     node dist/test/runtimes/node-driver.js run URL          cases, portable entry
 *     node dist/test/runtimes/node-driver.js run-node URL     cases, the entry `raftsnap` resolves
 *                                                             to (Node's; Deno and Bun run it too)
 *     node dist/test/runtimes/node-driver.js bench URL [KEY]  verify a fetched archive, portable entry
 *     node dist/test/runtimes/node-driver.js bench-node URL   the same with the Node entry
 *     node dist/test/runtimes/node-driver.js bench-node-file PATH   the Node entry reading a file
 *
 * The entry is imported dynamically: both entries share the engine registry, so a process uses
 * one of them only. Prints one line of JSON.
 */
import type { BenchReport } from './runner.js';
import { main, rssMiB, runtimeName } from './runner.js';

const [mode, ...rest] = process.argv.slice(2);
if (mode === undefined) {
  // Loaded as a test file by `node --test dist/test/` (Node 20 runs every file of a test
  // directory): nothing to do. Run by hand without arguments: say how to use it.
  if (!process.env.NODE_TEST_CONTEXT) {
    console.error('usage: node-driver.js run|bench|bench-node URL, or bench-node-file PATH');
    process.exitCode = 2;
  }
} else if (mode === 'run-node') {
  await main(await import('raftsnap'), ['run', ...rest]);
} else if (mode === 'bench-node') {
  await main(await import('raftsnap'), ['bench', ...rest]);
} else if (mode === 'bench-node-file') {
  const { inspect } = await import('raftsnap');
  const started = performance.now();
  const info = await inspect(rest[0]);
  const report: BenchReport = {
    runtime: runtimeName(),
    ms: performance.now() - started,
    archiveSize: info.archiveSize,
    stateSize: Number(info.stateSize),
    index: info.meta.index.toString(),
    rssMiB: rssMiB(),
  };
  console.log(JSON.stringify(report));
} else {
  await main(await import('raftsnap/portable'), [mode, ...rest]);
}

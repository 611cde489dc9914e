/**
 * The entry of the runtime bundles (./bundle.ts): raftsnap imported by its package name, as an
 * application would, so that the bundler picks the entry by the browser/worker export
 * conditions; plus the conformance runner. Used as an ES module by Deno, Bun and Chromium, and as
 * a module worker by workerd (its default export).
 */
import * as raftsnap from 'raftsnap';
import * as runner from './runner.js';

/** Runs the cases fetched from `url`. */
export const runFromUrl = (url: string): Promise<runner.RunReport> =>
  runner.runFromUrl(raftsnap, url);

/** Verifies the archive fetched from `url`, streaming, and times it. */
export const benchFromUrl = (url: string, key?: string): Promise<runner.BenchReport> =>
  runner.benchFromUrl(raftsnap, url, key);

/** Command-line driver (Deno, Bun): `run URL` or `bench URL [KEY]`. */
export const main = (args: readonly string[]): Promise<void> => runner.main(raftsnap, args);

/** The module worker (workerd): POST /run, POST /bench. */
export default {
  fetch: (request: Request): Promise<Response> => runner.handleWorkerRequest(raftsnap, request),
};

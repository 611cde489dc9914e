/** Locating the shared fixtures (../shared/fixtures beside the repository, or RAFTSNAP_FIXTURES). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/test/support → ../../..). */
export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

export const fixturesDir =
  process.env.RAFTSNAP_FIXTURES ?? resolve(repoRoot, '..', 'shared', 'fixtures');

if (!existsSync(fixturesDir)) {
  throw new Error(`fixtures not found at ${fixturesDir}; set RAFTSNAP_FIXTURES`);
}

export function fixture(...parts: string[]): string {
  return join(fixturesDir, ...parts);
}

export async function readFixture(...parts: string[]): Promise<Uint8Array> {
  return new Uint8Array(await readFile(fixture(...parts)));
}

/** The engine choices every conformance test runs with. */
export const ENGINES = ['native', 'wasm'] as const;

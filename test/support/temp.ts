/** Temporary directories for tests, and a view of raftsnap's temporary files. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'raftsnap-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Names in `dir` (sorted). */
export async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

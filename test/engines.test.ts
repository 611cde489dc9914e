/**
 * Engine selection (src/engines/registry.ts): one creation per choice, reused, and a failed
 * creation not kept. This file installs its own provider; node:test runs each test file in a
 * process of its own, so no other file sees it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { type Engines, getEngines, registerEngines } from '../src/engines/registry.js';
import { repoRoot } from './support/fixtures.js';

test('engines are created once per choice; a failed creation is tried afresh by the next call', async () => {
  let created = 0;
  const engines = {} as Engines;
  registerEngines(async (choice) => {
    created++;
    if (created === 1) throw new Error(`${choice}: WebAssembly.instantiate failed`);
    return engines;
  });
  await assert.rejects(getEngines('wasm'), /wasm: WebAssembly.instantiate failed/);
  assert.equal(await getEngines('wasm'), engines);
  assert.equal(await getEngines('wasm'), engines);
  assert.equal(created, 2);
});

test('a provider of lower rank (the portable entry loading after the Node entry) does not replace a higher one', async () => {
  const node = { name: 'node' } as unknown as Engines;
  const portable = { name: 'portable' } as unknown as Engines;
  registerEngines(async () => node, 1);
  registerEngines(async () => portable, 0);
  assert.equal(await getEngines('auto'), node);
  registerEngines(async () => portable, 1);
  assert.equal(await getEngines('auto'), portable, 'equal rank replaces');
});

test('in one Node process, importing raftsnap/portable after raftsnap keeps the Node engines', () => {
  const script = `
    const node = await import('raftsnap');
    await import('raftsnap/portable');
    const { getEngines } = node;
    const e = await getEngines('auto');
    console.log(e.gzip.name ?? typeof e.gzip, e.hash.name);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /native$/);
});

test('without WebAssembly (node --jitless) the portable entry fails with an IO error saying it needs WebAssembly, not a ReferenceError', () => {
  const script = `
    const { verify, createSha256 } = await import('raftsnap/portable');
    for (const run of [() => verify(new Uint8Array(100)), () => createSha256()]) {
      try { await run(); console.log('resolved'); }
      catch (e) { console.log(e.name, e.code, e.message); }
    }
  `;
  const r = spawnSync(process.execPath, ['--jitless', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  for (const line of lines) {
    assert.match(
      line,
      /^SnapshotError IO raftsnap needs WebAssembly \(its \w+ kernel\), which this runtime lacks$/,
    );
  }
});

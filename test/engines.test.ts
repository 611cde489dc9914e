/**
 * Engine selection (src/engines/registry.ts): one creation per choice, reused, and a failed
 * creation not kept. This file installs its own provider; node:test runs each test file in a
 * process of its own, so no other file sees it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Engines, getEngines, registerEngines } from '../src/engines/registry.js';

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

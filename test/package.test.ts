/**
 * The package as published: `npm pack` (lifecycle scripts skipped, so the suite's own build is
 * what gets packed) checked by publint and by Are The Types Wrong (attw, profile esm-only: the
 * package is ESM-only, so node10 and require() resolution are not goals), and the export map
 * resolved for every runtime's conditions — node, deno, bun, workerd/worker, browser and the
 * default — to a JavaScript file and a declaration file that are both in the tarball, with the
 * declarations listed first.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { repoRoot } from './runtimes/bundle.js';

const run = promisify(execFile);

let tmp: string;
let tarball: string;
let packedFiles: Set<string>;
const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>;
};

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'raftsnap-pack-'));
  const { stdout } = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp],
    { cwd: repoRoot, maxBuffer: 1 << 24 },
  );
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp, info.filename);
  packedFiles = new Set(info.files.map((f) => f.path));
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('publint: no errors or warnings', async (t) => {
  const tar = await readFile(tarball);
  const { messages, pkg: packed } = await publint({
    pack: { tarball: tar.buffer.slice(tar.byteOffset, tar.byteOffset + tar.length) },
  });
  const lines = messages.map((m) => `${m.type}: ${formatMessage(m, packed) ?? m.code}`);
  for (const l of lines) t.diagnostic(l);
  assert.deepEqual(
    lines.filter((l) => !l.startsWith('suggestion')),
    [],
  );
});

test('attw (Are The Types Wrong), profile esm-only: no problems', async (t) => {
  const attw = join(repoRoot, 'node_modules', '.bin', 'attw');
  const args = [tarball, '--format', 'json', '--profile', 'esm-only'];
  const result = await run(attw, args, { maxBuffer: 1 << 26 }).then(
    (r) => ({ ...r, code: 0 }),
    (e: { stdout: string; stderr: string; code: number }) => e,
  );
  const report = JSON.parse(result.stdout) as {
    problems: Record<string, { kind: string; entrypoint: string; resolutionKind?: string }[]>;
  };
  // esm-only ignores node10 and node16 require(): the package has no CommonJS form.
  const ignored = new Set(['node10', 'node16-cjs']);
  const problems = Object.values(report.problems)
    .flat()
    .filter((p) => !p.resolutionKind || !ignored.has(p.resolutionKind))
    .map((p) => `${p.kind} for ${p.entrypoint} (${p.resolutionKind ?? 'all'})`);
  const outside = Object.values(report.problems)
    .flat()
    .filter((p) => p.resolutionKind && ignored.has(p.resolutionKind));
  for (const p of outside)
    t.diagnostic(`outside esm-only: ${p.kind} for ${p.entrypoint} (${p.resolutionKind})`);
  assert.deepEqual(problems, []);
  assert.equal(result.code, 0, result.stderr);
});

/** Resolves `subpath` in the export map as Node does for `conditions` (plus `default`). */
function resolveExport(subpath: string, conditions: string[]): string | undefined {
  const walk = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (target === null || typeof target !== 'object') return undefined;
    for (const [key, value] of Object.entries(target)) {
      if (key === 'default' || conditions.includes(key)) {
        const r = walk(value);
        if (r !== undefined) return r;
      }
    }
    return undefined;
  };
  return walk(pkg.exports[subpath]);
}

/** [runtime, conditions it resolves with, the entry it must get for "."]. */
const RUNTIMES: [string, string[], 'node' | 'portable'][] = [
  ['Node', ['node', 'import'], 'node'],
  ['Deno', ['deno', 'node', 'import'], 'node'],
  ['Bun', ['bun', 'node', 'import'], 'node'],
  ['workerd (wrangler, esbuild)', ['workerd', 'worker', 'browser', 'import'], 'portable'],
  ['browsers (bundlers)', ['browser', 'import'], 'portable'],
  ['anything else', ['import'], 'portable'],
];

test('the export map gives every runtime an entry and its declarations, both packed', () => {
  const problems: string[] = [];
  for (const [runtime, conditions, kind] of RUNTIMES) {
    for (const subpath of ['.', './portable']) {
      const js = resolveExport(subpath, conditions);
      const types = resolveExport(subpath, ['types', ...conditions]);
      const label = `${runtime} ${subpath}`;
      if (!js || !types) {
        problems.push(`${label}: resolves to ${js} / ${types}`);
        continue;
      }
      for (const file of [js, types]) {
        if (!packedFiles.has(file.replace(/^\.\//, '')))
          problems.push(`${label}: ${file} is not packed`);
      }
      if (!types.endsWith('.d.ts')) problems.push(`${label}: types ${types}`);
      if (types.replace(/\.d\.ts$/, '.js') !== js) {
        problems.push(`${label}: declarations ${types} do not belong to ${js}`);
      }
      const want =
        kind === 'node' && subpath === '.' ? /\/node\/index\.js$/ : /^\.\/dist\/src\/[^/]+\.js$/;
      if (!want.test(js)) problems.push(`${label}: resolves to ${js}, expected the ${kind} entry`);
      if (subpath !== '.' || kind === 'portable') {
        if (/\/node\//.test(js)) problems.push(`${label}: resolves to the Node entry ${js}`);
      }
    }
  }
  // "types" must come first in every conditions object (TypeScript takes the first match).
  const checkOrder = (target: unknown, path: string) => {
    if (target === null || typeof target !== 'object') return;
    const keys = Object.keys(target);
    if (keys.includes('types') && keys[0] !== 'types')
      problems.push(`${path}: "types" is not first`);
    for (const [k, v] of Object.entries(target)) checkOrder(v, `${path}.${k}`);
  };
  checkOrder(pkg.exports, 'exports');
  // "raftsnap/node": the Node entry by name, whatever conditions a resolver uses (TypeScript's
  // "bundler" resolution has no "node" condition, so "." gives it the portable declarations).
  for (const conditions of [['import'], ['types', 'import'], ['node', 'import']]) {
    const js = resolveExport('./node', conditions);
    if (js !== './dist/src/node/index.js' && js !== './dist/src/node/index.d.ts') {
      problems.push(`./node with ${conditions.join(',')}: resolves to ${js}`);
    }
  }
  assert.equal(resolveExport('./node', ['types']), './dist/src/node/index.d.ts');
  assert.deepEqual(problems, []);
});

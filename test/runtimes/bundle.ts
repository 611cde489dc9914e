/**
 * esbuild bundles of raftsnap for browsers and workers, as an application would build them:
 * `import … from 'raftsnap'` resolved through the package's exports with the browser conditions
 * (`browser`) or the worker conditions (`workerd`, `worker`, `browser`). A bundle that would pull
 * in a Node built-in (`node:*`, `fs`, …) fails to build. WebAssembly imported as a module
 * (`import m from './x.wasm'`, as workerd needs it) is kept external and copied beside the bundle
 * for workers, and refused for browsers.
 *
 * - {@link buildRunnerBundle}: the conformance runner (./entry.ts) for Deno, Bun, workerd and
 *   Chromium.
 * - {@link coreSize}: minified + gzip'd size of the whole portable entry (`export * from
 *   'raftsnap'`), WebAssembly included; the budget is {@link SIZE_BUDGET}.
 * - {@link buildWebPage}: the static page of web/ (index.html + app.js).
 *
 * CLI: `node dist/test/runtimes/bundle.js size`, `… web [DIR]`, `… runner browser|worker DIR`.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/** The repository root (dist/test/runtimes → ../../..). */
export const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Where a bundle runs. */
export type Target = 'browser' | 'worker';

/** The export conditions of each target (esbuild adds `default` and `import`). */
export const CONDITIONS: Record<Target, string[]> = {
  browser: ['browser'],
  worker: ['workerd', 'worker', 'browser'],
};

/** The most the portable entry may weigh, minified and gzip'd, WebAssembly included. */
export const SIZE_BUDGET = 40 * 1024;

/** A built bundle. */
export interface Bundle {
  /** The ES module. */
  code: string;
  /** WebAssembly modules the bundle imports (workers only), by the file name it imports. */
  wasm: Map<string, Uint8Array>;
  /** The files that went into the bundle, relative to the repository. */
  inputs: string[];
}

const builtins = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/** Fails on Node built-ins; keeps `.wasm` imports external (workers) or fails (browsers). */
function portablePlugin(target: Target, wasm: Map<string, Uint8Array>): esbuild.Plugin {
  return {
    name: 'raftsnap-portable',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
        if (!args.path.startsWith('node:') && !builtins.has(name.split('/')[0])) return undefined;
        return {
          errors: [
            {
              text: `"${args.path}" is a Node built-in, imported by ${args.importer}: a ${target} bundle must not use Node built-ins`,
            },
          ],
        };
      });
      build.onResolve({ filter: /\.wasm$/ }, async (args) => {
        if (target === 'browser') {
          return {
            errors: [
              { text: `${args.importer} imports ${args.path}: browsers cannot import .wasm` },
            ],
          };
        }
        const file = resolve(args.resolveDir, args.path);
        const name = basename(file);
        wasm.set(name, new Uint8Array(await readFile(file)));
        return { path: `./${name}`, external: true };
      });
    },
  };
}

/** Bundles `entry` (a file, or module source resolved from the repository root). */
export async function buildBundle(opts: {
  entry: string | { contents: string };
  target: Target;
  minify?: boolean;
}): Promise<Bundle> {
  const wasm = new Map<string, Uint8Array>();
  const result = await esbuild.build({
    ...(typeof opts.entry === 'string'
      ? { entryPoints: [opts.entry] }
      : { stdin: { contents: opts.entry.contents, resolveDir: repoRoot, loader: 'ts' } }),
    absWorkingDir: repoRoot,
    bundle: true,
    write: false,
    format: 'esm',
    platform: opts.target === 'browser' ? 'browser' : 'neutral',
    conditions: CONDITIONS[opts.target],
    mainFields: ['browser', 'module', 'main'],
    target: 'es2022',
    minify: opts.minify ?? false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
    plugins: [portablePlugin(opts.target, wasm)],
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((i) => i.includes('/src/node/'));
  if (nodeOnly.length) throw new Error(`the ${opts.target} bundle includes ${nodeOnly.join(', ')}`);
  return { code: result.outputFiles[0].text, wasm, inputs };
}

/**
 * Builds the conformance runner (./entry.ts, compiled to dist) for `target` into `outDir` as
 * `bundle.mjs`, with any WebAssembly modules it imports beside it. Returns the bundle's path.
 */
export async function buildRunnerBundle(target: Target, outDir: string): Promise<string> {
  const entry = join(repoRoot, 'dist', 'test', 'runtimes', 'entry.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  const bundle = await buildBundle({ entry, target });
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, 'bundle.mjs');
  await writeFile(out, bundle.code);
  for (const [name, bytes] of bundle.wasm) await writeFile(join(outDir, name), bytes);
  return out;
}

/** The size of the portable entry as a browser or worker would ship it. */
export interface SizeReport {
  target: Target;
  /** Minified bundle, bytes. */
  minified: number;
  /** The bundle gzip'd (level 9). */
  gzip: number;
  /** WebAssembly files imported by the bundle (none when embedded), gzip'd. */
  wasmGzip: number;
  /** gzip + wasmGzip: what counts against {@link SIZE_BUDGET}. */
  total: number;
}

/** Minified + gzip'd size of `export * from 'raftsnap'` for `target`. */
export async function coreSize(target: Target = 'browser'): Promise<SizeReport> {
  const bundle = await buildBundle({
    entry: { contents: "export * from 'raftsnap';" },
    target,
    minify: true,
  });
  const gzip = gzipSync(bundle.code, { level: 9 }).length;
  let wasmGzip = 0;
  for (const bytes of bundle.wasm.values()) wasmGzip += gzipSync(bytes, { level: 9 }).length;
  return { target, minified: bundle.code.length, gzip, wasmGzip, total: gzip + wasmGzip };
}

/**
 * Builds the web page (web/index.html, web/app.ts bundled for browsers) into `outDir`
 * (default dist/web). Returns `outDir`.
 */
export async function buildWebPage(outDir = join(repoRoot, 'dist', 'web')): Promise<string> {
  const bundle = await buildBundle({
    entry: join(repoRoot, 'web', 'app.ts'),
    target: 'browser',
    minify: true,
  });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'app.js'), bundle.code);
  await copyFile(join(repoRoot, 'web', 'index.html'), join(outDir, 'index.html'));
  return outDir;
}

const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

/** A one-line description of a size report. */
export function describeSize(r: SizeReport): string {
  return `${r.target} bundle of the portable entry: ${kib(r.minified)} minified, ${kib(r.gzip)} gzip'd + ${kib(r.wasmGzip)} separate WebAssembly gzip'd = ${kib(r.total)} of ${kib(SIZE_BUDGET)}`;
}

async function main(args: string[]): Promise<number> {
  const [cmd, a, b] = args;
  if (cmd === 'size') {
    for (const target of ['browser', 'worker'] as const) {
      const r = await coreSize(target);
      console.log(describeSize(r));
      if (r.total > SIZE_BUDGET) return 1;
    }
    return 0;
  }
  if (cmd === 'web') {
    console.log(`web page built in ${await buildWebPage(a ? resolve(a) : undefined)}`);
    return 0;
  }
  if (cmd === 'runner' && (a === 'browser' || a === 'worker') && b) {
    console.log(await buildRunnerBundle(a, resolve(b)));
    return 0;
  }
  console.error('usage: bundle.js size | web [DIR] | runner browser|worker DIR');
  return 2;
}

// Run as a command, but not when `node --test dist/test/` loads every file of a test directory.
const isMain = process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain && !process.env.NODE_TEST_CONTEXT) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

/**
 * Verify throughput of one consul-like snapshot (256 MiB of state by default) in every runtime
 * raftsnap runs in, side by side in one run: Node 20 with the portable entry (WebAssembly) and
 * with the Node entry (native zlib and crypto, over HTTP and from a file path), Node 22 and 24
 * (portable entry), Deno and Bun (browser bundle), workerd through miniflare (worker bundle) and
 * headless Chromium (browser bundle).
 *
 * The state is bench/gen.ts's deterministic consul-like state (cached in bench/data/ under the
 * same name the throughput benchmark uses), written into an archive with raftsnap's writer
 * (Node entry, default gzip level). Every runtime gets the archive as a stream — fetched from a
 * local HTTP server (workerd: the request body) — and never holds it whole.
 *
 * Times are measured inside each runtime from the first read to the verdict, except workerd,
 * whose clock stands still while JavaScript runs: there the host's round trip is the time.
 *
 * `node dist/bench/runtimes.js [--size 256MiB] [--runs N] [--only node20,deno,...]`
 */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createFile, decodeMeta } from 'raftsnap';
import { buildRunnerBundle, repoRoot } from '../test/runtimes/bundle.js';
import {
  BLANK_PAGE,
  BUNDLE_DRIVER,
  binary,
  inBun,
  inChromium,
  inDeno,
  inNode,
  launchChromium,
  nodeOfMajor,
  serve,
  withWorkerd,
} from '../test/runtimes/hosts.js';
import type { BenchReport } from '../test/runtimes/runner.js';
import { formatSize, GENERATOR_VERSION, generateState, parseSize, writeMeta } from './gen.js';

/** Options of {@link benchRuntimes}. */
export interface RuntimeBenchOptions {
  /** State size in bytes (default 256 MiB). */
  size?: number;
  /** Runs per runtime; the fastest counts (default 1). */
  runs?: number;
  /** Only these runtimes (ids of {@link RUNTIMES}). */
  only?: string[];
  /** Progress lines (default console.log). */
  log?: (line: string) => void;
}

/** One runtime's measurement. */
export interface RuntimeRow {
  id: string;
  label: string;
  /** The runtime's own name and version. */
  runtime?: string;
  /** Best time in ms (inside the runtime; workerd: host round trip). */
  ms?: number;
  /** State MiB per second at that time. */
  stateMiBps?: number;
  /** Archive MiB per second at that time. */
  archiveMiBps?: number;
  /** Resident memory after the verify, where the runtime tells. */
  rssMiB?: number;
  /** How the measurement differs from the runtime as published (a workaround was needed). */
  note?: string;
  error?: string;
}

/** The result of {@link benchRuntimes}. */
export interface RuntimeBenchResult {
  archive: { path: string; bytes: number; stateBytes: number; index: string };
  machine: string;
  rows: RuntimeRow[];
}

/** The runtimes, in table order. */
export const RUNTIMES = [
  { id: 'node20', label: 'Node 20, portable entry (WebAssembly)' },
  { id: 'node20-native', label: 'Node 20, Node entry (zlib, crypto), HTTP stream' },
  { id: 'node20-file', label: 'Node 20, Node entry, file path' },
  { id: 'node22', label: 'Node 22, portable entry' },
  { id: 'node24', label: 'Node 24, portable entry' },
  { id: 'deno', label: 'Deno, browser bundle' },
  { id: 'bun', label: 'Bun, browser bundle' },
  { id: 'workerd', label: 'workerd (miniflare), worker bundle' },
  { id: 'chromium', label: 'Chromium (headless), browser bundle' },
] as const;

const dataDir = join(repoRoot, 'bench', 'data');
const MiB = 1024 * 1024;

/** The archive for `size` bytes of consul-like state (seed 1), from the cache or made now. */
async function ensureArchive(
  size: number,
  log: (line: string) => void,
): Promise<RuntimeBenchResult['archive']> {
  await mkdir(dataDir, { recursive: true });
  const base = join(dataDir, `state-consul-${formatSize(size)}-seed1-v${GENERATOR_VERSION}`);
  const state = `${base}.bin`;
  const meta = `${base}.meta.json`;
  const archive = join(
    dataDir,
    `runtimes-consul-${formatSize(size)}-seed1-v${GENERATOR_VERSION}.snap`,
  );
  if (!existsSync(state) || (await stat(state)).size !== size || !existsSync(meta)) {
    const started = performance.now();
    const sha = await generateState('consul', size, `${state}.tmp`, 1);
    await writeMeta(meta, { size, seed: 1, shape: 'consul' });
    await rename(`${state}.tmp`, state);
    await writeFile(`${base}.sha256`, `${sha}\n`);
    log(
      `generated ${formatSize(size)} of consul-like state in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const m = decodeMeta(await readFile(meta));
  // Written by this build on every run: every runtime reads what raftsnap writes now.
  const started = performance.now();
  await createFile(m, state, archive, { mtime: new Date(1_700_000_000_000) });
  log(`wrote the archive with raftsnap in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return {
    path: archive,
    bytes: (await stat(archive)).size,
    stateBytes: size,
    index: m.index.toString(),
  };
}

/** Runs the benchmark; never throws for one runtime's failure (its row has `error`). */
export async function benchRuntimes(
  options: RuntimeBenchOptions = {},
): Promise<RuntimeBenchResult> {
  const size = options.size ?? 256 * MiB;
  const runs = Math.max(1, options.runs ?? 1);
  const log = options.log ?? ((line: string) => console.log(line));
  const selected = RUNTIMES.filter((r) => !options.only || options.only.includes(r.id));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${process.platform}`;

  log(`\nverify throughput by runtime: ${formatSize(size)} consul-like state (${machine})`);
  const archive = await ensureArchive(size, log);
  log(`archive: ${archive.path} (${(archive.bytes / MiB).toFixed(1)} MiB)`);

  const tmp = await mkdtemp(join(tmpdir(), 'raftsnap-bench-runtimes-'));
  const browserDir = join(tmp, 'browser');
  const workerDir = join(tmp, 'worker');
  await Promise.all([
    buildRunnerBundle('browser', browserDir),
    buildRunnerBundle('worker', workerDir),
  ]);
  await writeFile(join(browserDir, 'driver.mjs'), BUNDLE_DRIVER);
  const server = await serve({
    '/archive.snap': { type: 'application/octet-stream', file: archive.path },
    '/blank.html': { type: 'text/html; charset=utf-8', body: BLANK_PAGE },
    '/bundle.mjs': { type: 'text/javascript', file: join(browserDir, 'bundle.mjs') },
  });
  const url = `${server.url}/archive.snap`;

  /** The worker `script` verifying the archive streamed to it as its request body. */
  const inWorkerd = (script: string) =>
    withWorkerd(script, async (post) => {
      const started = performance.now();
      const body = createReadStream(archive.path, { highWaterMark: 1 << 20 });
      const res = await post('/bench', body);
      const text = await res.text();
      const ms = performance.now() - started;
      if (res.status !== 200) throw new Error(text);
      return { report: JSON.parse(text) as BenchReport, ms };
    });

  const once: Record<string, () => Promise<{ report: BenchReport; ms: number }>> = {
    node20: () => inRuntime(() => inNode(nodeOfMajor(20), 'bench', url)),
    'node20-native': () => inRuntime(() => inNode(nodeOfMajor(20), 'bench-node', url)),
    'node20-file': () => inRuntime(() => inNode(nodeOfMajor(20), 'bench-node-file', archive.path)),
    node22: () => inRuntime(() => inNode(binary('node22'), 'bench', url)),
    node24: () => inRuntime(() => inNode(binary('node24'), 'bench', url)),
    deno: () => inRuntime(() => inDeno(browserDir, 'bench', url)),
    'deno-env': () =>
      inRuntime(() => inDeno(browserDir, 'bench', url, ['--allow-env=RAFTSNAP_ENGINE'])),
    bun: () => inRuntime(() => inBun(browserDir, 'bench', url)),
    workerd: () => inWorkerd(join(workerDir, 'bundle.mjs')),
    chromium: async () => {
      const browser = await launchChromium();
      try {
        return await inRuntime(() => inChromium<BenchReport>(browser, server.url, 'bench', url));
      } finally {
        await browser.close();
      }
    },
  };

  /**
   * Where a runtime fails for a known reason, a second attempt that works around it, so that the
   * table still has its throughput (marked with the note).
   */
  const fallback: Record<string, { id: string; when: RegExp; note: string }> = {
    deno: {
      id: 'deno-env',
      when: /NotCapable|--allow-env/,
      note: 'with --allow-env=RAFTSNAP_ENGINE: without it raftsnap throws reading process.env',
    },
  };

  const measure = async (id: string, row: RuntimeRow): Promise<void> => {
    for (let i = 0; i < runs; i++) {
      const { report, ms: hostMs } = await once[id]();
      if (report.index !== archive.index || report.stateSize !== size) {
        throw new Error(`verified Index ${report.index}, ${report.stateSize} state bytes`);
      }
      const ms = id.startsWith('workerd') ? hostMs : report.ms;
      if (row.ms === undefined || ms < row.ms) {
        row.ms = ms;
        row.runtime = report.runtime;
        row.rssMiB = report.rssMiB;
      }
    }
  };

  const rows: RuntimeRow[] = [];
  try {
    for (const { id, label } of selected) {
      const row: RuntimeRow = { id, label };
      try {
        try {
          await measure(id, row);
        } catch (err) {
          const f = fallback[id];
          if (!f?.when.test(String(err))) throw err;
          log(`  ${label}: ${String(err).split('\n')[0].slice(0, 140)}`);
          log(`  … retrying ${f.note}`);
          row.note = f.note;
          await measure(f.id, row);
        }
        row.stateMiBps = size / MiB / (row.ms! / 1000);
        row.archiveMiBps = archive.bytes / MiB / (row.ms! / 1000);
        log(
          `  ${label.padEnd(48)} ${(row.ms! / 1000).toFixed(2).padStart(6)} s  ${row.stateMiBps.toFixed(0).padStart(5)} MiB/s state${row.rssMiB ? `  rss ${row.rssMiB} MiB` : ''}`,
        );
      } catch (err) {
        row.error = (err instanceof Error ? err.message : String(err))
          .split('\n')
          .slice(0, 3)
          .join(' ');
        log(`  ${label.padEnd(48)} failed: ${row.error}`);
      }
      rows.push(row);
    }
  } finally {
    await server.close();
    await rm(tmp, { recursive: true, force: true });
  }
  const result: RuntimeBenchResult = { archive, machine, rows };
  await writeFile(join(dataDir, 'runtimes.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(dataDir, 'runtimes.md'), toMarkdown(result));
  return result;
}

async function inRuntime(
  fn: () => Promise<BenchReport>,
): Promise<{ report: BenchReport; ms: number }> {
  const started = performance.now();
  const report = await fn();
  return { report, ms: performance.now() - started };
}

/** The result as a Markdown table. */
export function toMarkdown(r: RuntimeBenchResult): string {
  const lines = [
    `Verify of a ${formatSize(r.archive.stateBytes)} consul-like snapshot (${(r.archive.bytes / MiB).toFixed(1)} MiB archive), ${r.machine}:`,
    '',
    '| runtime | version | time | state MiB/s | archive MiB/s | RSS after |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const row of r.rows) {
    if (row.error) {
      lines.push(`| ${row.label} | — | failed: ${row.error.replace(/\|/g, '/')} | | | |`);
      continue;
    }
    const version = (row.runtime ?? '').replace(
      /^Mozilla.*HeadlessChrome\/(\S+).*$/,
      'Chromium $1',
    );
    const label = row.note ? `${row.label} (${row.note})` : row.label;
    lines.push(
      `| ${label} | ${version} | ${(row.ms! / 1000).toFixed(2)} s | ${row.stateMiBps!.toFixed(0)} | ${row.archiveMiBps!.toFixed(1)} | ${row.rssMiB ? `${row.rssMiB} MiB` : '—'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Parses `--size 256MiB --runs 2 --only node20,deno`. */
export function parseRuntimeBenchArgs(argv: string[]): RuntimeBenchOptions {
  const o: RuntimeBenchOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--size') o.size = parseSize(argv[++i]);
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--only') o.only = argv[++i].split(',');
    else throw new Error(`unknown argument ${a} (--size SIZE, --runs N, --only id,id)`);
  }
  return o;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchRuntimes(parseRuntimeBenchArgs(process.argv.slice(2))).then(
    (r) => {
      console.log(`\n${toMarkdown(r)}`);
      process.exitCode = r.rows.some((row) => row.error) ? 1 : 0;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

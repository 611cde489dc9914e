/**
 * End-to-end throughput: creating and verifying whole snapshot archives, each tool timed as a
 * whole process, side by side in one run.
 *
 * For each state shape (consul-like, vault-like; see gen.ts) at one size (default 256 MiB), the
 * state and its meta.json are generated once and cached in bench/data/, then these run N times
 * each (N = 5 by default: where wall times vary by 10-15 % from run to run, medians of 3 still
 * moved the ratios by as much), round-robin so that machine noise hits every tool alike:
 *
 * | tool | create | verify | inflate |
 * |---|---|---|---|
 * | Go (reference): bench/go-baseline, built with the system's Go into bench/data/ | ✓ | ✓ | ✓ (bare gzip, verify's floor) |
 * | node:zlib: a bare streaming gunzip (bench/zlib-gunzip.ts); create's level-6 block deflate alone (bench/deflate-floor.ts) | deflate (a level-6 create's floor with zlib) | | ✓ (the other floor) |
 * | libdeflate (the addon): create's level-6 members alone (bench/deflate-floor.ts) | deflate (the floor of the default engine's level-6 create) | | |
 * | raftsnap CLI (`node dist/src/cli/raftsnap.js … --quiet`) | ✓ | ✓ | |
 * | raftsnap CLI with `--engine wasm` | ✓ | ✓ | |
 * | raftsnap CLI with `--engine native` (node:zlib's deflate) | ✓ | | |
 * | raftsnap portable: the default entry, no Node built-ins inside (bench/portable-cli.ts) | ✓ | ✓ | |
 * | pure JS: tar-stream + fflate + @noble/hashes (bench/pure-js.ts) | ✓ | ✓ | |
 *
 * Every verifier reads the same archive: the Go baseline's (the reference's output). The rows
 * named "raftsnap's archive" / "its own archive" read the default raftsnap create's instead
 * (gzip members where libdeflate wrote it): raftsnap's verify, Go's, and a bare node:zlib inflate. Each
 * measurement records the median wall time, the CPU time (user + system) and the peak RSS of the
 * child process (`/usr/bin/time -f %M` when present, else VmHWM polled from /proc every 20 ms),
 * and the output size. Correctness is checked in the same run: every tool's archive must pass
 * the Go baseline's verify and hold the generated state.bin byte for byte.
 *
 * The table goes to stdout and, as Markdown for the README, to bench/data/throughput.md (with
 * the raw numbers in bench/data/throughput.json).
 *
 * Run directly: `node dist/bench/throughput.js [--size 256MiB] [--runs 5] [--seed 1]
 * [--shapes consul,vault] [--keep]`; the environment variables RAFTSNAP_BENCH_SIZE and
 * RAFTSNAP_BENCH_RUNS set the defaults, and RAFTSNAP_BENCH_RSS=poll forces the /proc fallback.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { floorCompressor } from './deflate-floor.js';
import {
  formatSize,
  GENERATOR_VERSION,
  generateState,
  parseSize,
  SHAPES,
  type Shape,
  writeMeta,
} from './gen.js';

/** Options of {@link benchThroughput}. Every field is optional. */
export interface ThroughputOptions {
  /** State size: bytes or a string like `256MiB` (default RAFTSNAP_BENCH_SIZE, else 256 MiB). */
  size?: number | string;
  /** Timed runs of each command; the median counts (default RAFTSNAP_BENCH_RUNS, else 5). */
  runs?: number;
  /** Generator seed (default 1). */
  seed?: number;
  /** Shapes to measure (default both). */
  shapes?: readonly Shape[];
  /** Cache and output directory (default bench/data/ of the checkout). */
  dataDir?: string;
  /** Keep the archives written (default: removed at the end; the generated states stay cached). */
  keep?: boolean;
  /** Progress and table output (default console.log). */
  log?: (line: string) => void;
  /**
   * The 1-minute load average before any benchmark of this run (npm run bench reads it before
   * the kernel benchmarks, whose own work would otherwise count as the machine's); default: read
   * when this benchmark starts.
   */
  loadBefore?: number;
}

/** One tool's one operation on one shape, over all runs. */
export interface Measurement {
  shape: Shape;
  tool: ToolName;
  op: Operation;
  /** Wall seconds of each successful run. */
  wall: number[];
  /** CPU seconds (user + system) of each successful run, when known. */
  cpu: number[];
  /** Peak resident set size over the runs, bytes, when known. */
  peakRss?: number;
  /** Size of the archive written (create) — the last run's. */
  outputBytes?: number;
  /** Why runs failed, if any did. */
  errors: string[];
}

/** The machine a run was measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  ramBytes: number;
  node: string;
  go: string;
  date: string;
  /** 1-minute load average when the run started: other work on the machine skews wall times. */
  loadAtStart: number;
  /** 1-minute load average when the run ended. */
  loadAtEnd?: number;
}

/** What {@link benchThroughput} measured. */
export interface ThroughputResult {
  machine: Machine;
  size: number;
  runs: number;
  seed: number;
  measurements: Measurement[];
  /** Correctness and availability problems (empty when every tool produced valid archives). */
  failures: string[];
  /** Things skipped or worth knowing. */
  notes: string[];
  /** The Markdown written to throughput.md. */
  markdown: string;
}

/** The tools compared. */
export type ToolName =
  | 'go'
  | 'go-own'
  | 'zlib'
  | 'zlib-own'
  | 'libdeflate'
  | 'raftsnap'
  | 'raftsnap-own'
  | 'raftsnap-wasm'
  | 'raftsnap-native'
  | 'raftsnap-l6'
  | 'raftsnap-portable'
  | 'pure-js';
/** The operations timed. */
export type Operation = 'create' | 'deflate' | 'verify' | 'inflate';

const TOOL_LABEL: Record<ToolName, string> = {
  go: 'Go reference',
  'go-own': "Go reference, raftsnap's archive",
  zlib: 'node:zlib',
  'zlib-own': "node:zlib, raftsnap's archive",
  libdeflate: 'libdeflate',
  raftsnap: 'raftsnap',
  'raftsnap-own': 'raftsnap, its own archive',
  'raftsnap-wasm': 'raftsnap --engine wasm',
  'raftsnap-native': 'raftsnap --engine native',
  'raftsnap-l6': 'raftsnap --level 6',
  'raftsnap-portable': 'raftsnap portable',
  'pure-js': 'pure JS',
};
const TOOLS: readonly ToolName[] = [
  'go',
  'go-own',
  'zlib',
  'zlib-own',
  'libdeflate',
  'raftsnap',
  'raftsnap-own',
  'raftsnap-wasm',
  'raftsnap-native',
  'raftsnap-l6',
  'raftsnap-portable',
  'pure-js',
];
const SHAPE_LABEL: Record<Shape, string> = { consul: 'consul-like', vault: 'vault-like' };

const here = fileURLToPath(new URL('.', import.meta.url));
/** The checkout: this file runs from dist/bench/. */
const root = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// processes
// ---------------------------------------------------------------------------------------------

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  wallSeconds: number;
  cpuSeconds?: number;
  peakRss?: number;
  stdout: string;
  stderr: string;
}

const TIME = '/usr/bin/time';
/** GNU time, unless RAFTSNAP_BENCH_RSS=poll asks for the /proc polling fallback. */
const haveGnuTime = (() => {
  if (process.env.RAFTSNAP_BENCH_RSS === 'poll' || !existsSync(TIME)) return false;
  try {
    execFileSync(TIME, ['-f', '%M', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Reads VmHWM (peak RSS) of a live process from /proc, in bytes. */
function readVmHwm(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

let timeFileSerial = 0;

/**
 * Runs `argv` to completion, measuring its wall time, and its peak RSS and CPU time through
 * GNU time (or its peak RSS by polling /proc every 20 ms when GNU time is missing).
 */
export async function measure(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunResult> {
  const timeFile = join(tmpdir(), `raftsnap-bench-${process.pid}-${timeFileSerial++}.time`);
  const command = haveGnuTime ? [TIME, '-f', '%M %U %S', '-o', timeFile, ...argv] : argv;
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const started = process.hrtime.bigint();
  const child = spawn(command[0], command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b: Buffer) => stdout.push(b));
  child.stderr.on('data', (b: Buffer) => stderr.push(b));
  let polled: number | undefined;
  const poll =
    haveGnuTime || child.pid === undefined
      ? undefined
      : setInterval(() => {
          const v = readVmHwm(child.pid as number);
          if (v !== undefined) polled = Math.max(polled ?? 0, v);
        }, 20);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
    (resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c, s) => resolve([c, s]));
    },
  );
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (poll) clearInterval(poll);
  const result: RunResult = {
    code,
    signal,
    wallSeconds,
    peakRss: polled,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
  };
  if (haveGnuTime) {
    try {
      // GNU time prefixes "Command exited with non-zero status N" on failure: take the last line.
      const lines = (await readFile(timeFile, 'utf8')).trim().split('\n');
      const [rss, user, sys] = (lines.at(-1) ?? '').trim().split(/\s+/).map(Number);
      if (Number.isFinite(rss)) result.peakRss = rss * 1024;
      if (Number.isFinite(user) && Number.isFinite(sys)) result.cpuSeconds = user + sys;
    } catch {
      // no numbers: leave them unknown
    }
    await rm(timeFile, { force: true });
  }
  return result;
}

export function describeFailure(r: RunResult): string {
  const why = r.signal ? `signal ${r.signal}` : `exit ${r.code}`;
  const text = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(0, 3).join(' | ');
  return `${why}${text ? `: ${text.slice(0, 300)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// setup: Go baseline, generated state
// ---------------------------------------------------------------------------------------------

/** `go version`, or undefined when Go is not installed. */
export function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Builds bench/go-baseline/main.go into the data directory, keyed by the source's hash and the
 * Go version, and returns the binary's path.
 */
export async function buildGoBaseline(dataDir: string, version: string): Promise<string> {
  const source = join(root, 'bench', 'go-baseline', 'main.go');
  const key = createHash('sha256')
    .update(await readFile(source))
    .update(version)
    .digest('hex')
    .slice(0, 12);
  const binary = join(dataDir, `go-baseline-${key}`);
  if (existsSync(binary)) return binary;
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0' };
  delete env.GOFLAGS;
  if (!env.HOME && !env.GOCACHE && !env.XDG_CACHE_HOME) env.GOCACHE = join(dataDir, 'go-cache');
  const tmp = `${binary}.tmp`;
  execFileSync('go', ['build', '-trimpath', '-o', tmp, 'main.go'], {
    cwd: join(root, 'bench', 'go-baseline'),
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await rename(tmp, binary);
  return binary;
}

export interface StateFiles {
  state: string;
  meta: string;
  /** SHA-256 of state.bin and meta.json, hex. */
  stateSha: string;
  metaSha: string;
}

/** The generated state and meta.json for (shape, size, seed), from the cache or made now. */
/** Generates the state and meta.json of `shape` at `size` into `dataDir`, or reuses them. */
export async function ensureState(
  dataDir: string,
  shape: Shape,
  size: number,
  seed: number,
  log: (line: string) => void,
): Promise<StateFiles> {
  const base = join(
    dataDir,
    `state-${shape}-${formatSize(size)}-seed${seed}-v${GENERATOR_VERSION}`,
  );
  const state = `${base}.bin`;
  const meta = `${base}.meta.json`;
  const shaFile = `${base}.sha256`;
  let stateSha: string | undefined;
  try {
    if ((await stat(state)).size === size && existsSync(meta)) {
      stateSha = (await readFile(shaFile, 'utf8')).trim();
    }
  } catch {
    stateSha = undefined;
  }
  if (!stateSha) {
    const started = performance.now();
    stateSha = await generateState(shape, size, `${state}.tmp`, seed);
    await writeMeta(meta, { size, seed, shape });
    await rename(`${state}.tmp`, state);
    await writeFile(shaFile, `${stateSha}\n`);
    const s = (performance.now() - started) / 1000;
    log(`  generated ${SHAPE_LABEL[shape]} state ${formatSize(size)} in ${s.toFixed(1)} s`);
  } else {
    log(`  ${SHAPE_LABEL[shape]} state ${formatSize(size)} from cache (${state})`);
  }
  const metaSha = createHash('sha256')
    .update(await readFile(meta))
    .digest('hex');
  return { state, meta, stateSha, metaSha };
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

/** A command line for one tool's one operation. */
interface Job {
  tool: ToolName;
  op: Operation;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** The archive this job writes (create). */
  output?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Parses `--size 256MiB --runs 3 --seed 1 --shapes consul,vault --keep` into options. */
export function parseThroughputArgs(argv: string[]): ThroughputOptions {
  const opts: ThroughputOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].startsWith('--') ? argv[i].split(/=(.*)/s) : [argv[i]];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new RangeError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--size') opts.size = value();
    else if (flag === '--runs') opts.runs = Number(value());
    else if (flag === '--seed') opts.seed = Number(value());
    else if (flag === '--shapes') {
      opts.shapes = value()
        .split(',')
        .map((s) => s.trim().replace(/-like$/, '') as Shape);
    } else if (flag === '--keep') opts.keep = true;
    else throw new RangeError(`unknown argument ${argv[i]}`);
  }
  return opts;
}

/**
 * Generates (or reuses) the states, runs every tool's create and verify side by side, checks
 * every archive with the Go baseline's verify, prints the table and writes throughput.md.
 */
export async function benchThroughput(options: ThroughputOptions = {}): Promise<ThroughputResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const sizeOpt = options.size ?? process.env.RAFTSNAP_BENCH_SIZE ?? '256MiB';
  const size = typeof sizeOpt === 'number' ? sizeOpt : parseSize(sizeOpt);
  const runs = options.runs ?? Number(process.env.RAFTSNAP_BENCH_RUNS ?? 5);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`invalid run count ${runs}`);
  const seed = options.seed ?? 1;
  const shapes = options.shapes ?? SHAPES;
  for (const s of shapes) {
    if (!SHAPES.includes(s)) throw new RangeError(`unknown shape "${s}" (consul or vault)`);
  }
  const dataDir = options.dataDir ?? join(root, 'bench', 'data');
  await mkdir(dataDir, { recursive: true });

  const failures: string[] = [];
  const notes: string[] = [];
  const go = goVersion();
  const machine: Machine = {
    cpu: cpuModel(),
    cores: cpus().length,
    ramBytes: totalmem(),
    node: process.version,
    go: go ?? 'not installed',
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    loadAtStart: options.loadBefore ?? loadavg()[0],
  };
  log(
    `\n== throughput: ${formatSize(size)} state, ${runs} run(s) each, seed ${seed} (${machineLine(machine)})`,
  );
  if (machine.loadAtStart > machine.cores * 0.5) {
    notes.push(
      `the machine was busy when the run started (load average ${machine.loadAtStart.toFixed(1)} on ${machine.cores} cores): wall times are inflated; CPU times are steadier`,
    );
    log(`  note: ${notes.at(-1)}`);
  }
  if (!haveGnuTime) notes.push('peak RSS polled from /proc/<pid>/status VmHWM (no /usr/bin/time)');
  const caCost = extraCaCertsCost();
  if (caCost !== undefined) {
    notes.push(
      `NODE_EXTRA_CA_CERTS is set, and Node ${process.version} reads those certificates as it starts: \`node -e 0\` took ${caCost.with} ms with it and ${caCost.without} ms without (medians of 5), so every Node row pays some ${caCost.with - caCost.without} ms that the Go rows do not (Node 22 and later read them only when a TLS connection needs them)`,
    );
    log(`  note: ${notes.at(-1)}`);
  }

  let goBinary: string | undefined;
  if (go) {
    try {
      goBinary = await buildGoBaseline(dataDir, go);
    } catch (err) {
      failures.push(`Go baseline did not build: ${(err as Error).message}`);
    }
  } else {
    notes.push('Go is not installed: no reference rows and no cross-check of the archives');
  }
  const cli = join(root, 'dist', 'src', 'cli', 'raftsnap.js');
  const haveCli = existsSync(cli);
  if (!haveCli) notes.push(`raftsnap CLI not built (${cli} missing): no raftsnap rows`);
  const pureJs = join(here, 'pure-js.js');
  const portable = join(here, 'portable-cli.js');
  const zlibGunzip = join(here, 'zlib-gunzip.js');
  const deflateFloor = join(here, 'deflate-floor.js');
  const haveLibdeflate = floorCompressor('libdeflate') !== undefined;
  if (!haveLibdeflate) {
    notes.push(
      'the libdeflate addon is not built: raftsnap creates with node:zlib, no libdeflate row',
    );
  }
  const node = process.execPath;
  // The default raftsnap rows measure the automatic engine choice.
  const autoEnv = { ...process.env };
  delete autoEnv.RAFTSNAP_ENGINE;

  const measurements: Measurement[] = [];
  for (const shape of shapes) {
    log(`\n-- ${SHAPE_LABEL[shape]}`);
    const files = await ensureState(dataDir, shape, size, seed, log);
    const out = (tool: ToolName) => join(dataDir, `out-${shape}-${tool}.snap`);

    const creates: Job[] = [];
    if (goBinary) {
      creates.push({
        tool: 'go',
        op: 'create',
        argv: [goBinary, 'create', files.meta, files.state, out('go')],
        output: out('go'),
      });
    }
    if (haveCli) {
      // --level 6 deflates every block as Go does, random-looking ones included: the
      // like-for-like row where the default stores ciphertext.
      const extra = {
        raftsnap: [],
        'raftsnap-wasm': ['--engine', 'wasm'],
        'raftsnap-native': ['--engine', 'native'],
        'raftsnap-l6': ['--level', '6'],
      } as const;
      for (const tool of Object.keys(extra) as (keyof typeof extra)[]) {
        const engine = extra[tool];
        creates.push({
          tool,
          op: 'create',
          argv: [
            node,
            cli,
            'create',
            '--meta',
            files.meta,
            '--state',
            files.state,
            '-o',
            out(tool),
            '--quiet',
            ...engine,
          ],
          env: autoEnv,
          output: out(tool),
        });
      }
    }
    creates.push({
      tool: 'raftsnap-portable',
      op: 'create',
      argv: [node, portable, 'create', files.meta, files.state, out('raftsnap-portable')],
      output: out('raftsnap-portable'),
    });
    creates.push({
      tool: 'pure-js',
      op: 'create',
      argv: [node, pureJs, 'create', files.meta, files.state, out('pure-js')],
      output: out('pure-js'),
    });
    // The floors under level-6 creates in Node: create's level-6 compression alone, by each
    // compressor.
    creates.push({ tool: 'zlib', op: 'deflate', argv: [node, deflateFloor, 'zlib', files.state] });
    if (haveLibdeflate) {
      creates.push({
        tool: 'libdeflate',
        op: 'deflate',
        argv: [node, deflateFloor, 'libdeflate', files.state],
      });
    }

    const byJob = new Map<Job, Measurement>();
    const record = (job: Job): Measurement => {
      let m = byJob.get(job);
      if (!m) {
        m = { shape, tool: job.tool, op: job.op, wall: [], cpu: [], errors: [] };
        byJob.set(job, m);
        measurements.push(m);
      }
      return m;
    };
    const runJob = async (job: Job, run: number) => {
      if (job.output) await rm(job.output, { force: true });
      const r = await measure(job.argv, job.env);
      const m = record(job);
      const label = `${TOOL_LABEL[job.tool]} ${job.op}`.padEnd(40);
      if (r.code !== 0) {
        m.errors.push(describeFailure(r));
        log(`  ${label} run ${run}/${runs}: FAILED (${describeFailure(r)})`);
        return;
      }
      m.wall.push(r.wallSeconds);
      if (r.cpuSeconds !== undefined) m.cpu.push(r.cpuSeconds);
      if (r.peakRss !== undefined) m.peakRss = Math.max(m.peakRss ?? 0, r.peakRss);
      if (job.output) m.outputBytes = (await stat(job.output)).size;
      const cpu = r.cpuSeconds === undefined ? '' : `, cpu ${r.cpuSeconds.toFixed(2)} s`;
      const rss = r.peakRss === undefined ? '' : `, rss ${mib(r.peakRss)}`;
      log(`  ${label} run ${run}/${runs}: ${r.wallSeconds.toFixed(2)} s${cpu}${rss}`);
    };

    // Each round starts with another tool, so that none is always first (after other work, or on
    // a cache still settling).
    const rotated = (jobs: Job[], run: number) =>
      jobs.map((_, i) => jobs[(i + run - 1) % jobs.length]);
    for (let run = 1; run <= runs; run++) {
      for (const job of rotated(creates, run)) await runJob(job, run);
    }

    // Every verifier reads the same archive: the reference's when there is one.
    const reference = creates.find((j) => j.output && existsSync(j.output));
    if (!reference?.output) {
      failures.push(`${SHAPE_LABEL[shape]}: no archive was created; nothing to verify`);
      continue;
    }
    const archive = reference.output;
    if (reference.tool !== 'go') {
      notes.push(`${SHAPE_LABEL[shape]}: verifiers read ${TOOL_LABEL[reference.tool]}'s archive`);
    }
    const verifies: Job[] = [];
    if (goBinary) {
      verifies.push({ tool: 'go', op: 'verify', argv: [goBinary, 'verify', archive] });
      verifies.push({ tool: 'go', op: 'inflate', argv: [goBinary, 'inflate', archive] });
    }
    if (haveCli) {
      verifies.push({
        tool: 'raftsnap',
        op: 'verify',
        argv: [node, cli, 'verify', archive, '--quiet'],
        env: autoEnv,
      });
      verifies.push({
        tool: 'raftsnap-wasm',
        op: 'verify',
        argv: [node, cli, 'verify', archive, '--quiet', '--engine', 'wasm'],
        env: autoEnv,
      });
    }
    verifies.push({
      tool: 'raftsnap-portable',
      op: 'verify',
      argv: [node, portable, 'verify', archive],
    });
    verifies.push({ tool: 'pure-js', op: 'verify', argv: [node, pureJs, 'verify', archive] });
    verifies.push({ tool: 'zlib', op: 'inflate', argv: [node, zlibGunzip, archive] });
    // raftsnap's own archive too (gzip members where libdeflate wrote it), read by raftsnap, by
    // Go and by a bare inflate.
    const own = out('raftsnap');
    if (haveCli && own !== archive && existsSync(own)) {
      const cmd = [node, cli, 'verify', own, '--quiet'];
      verifies.push({ tool: 'raftsnap-own', op: 'verify', argv: cmd, env: autoEnv });
      verifies.push({ tool: 'zlib-own', op: 'inflate', argv: [node, zlibGunzip, own] });
      if (goBinary)
        verifies.push({ tool: 'go-own', op: 'verify', argv: [goBinary, 'verify', own] });
    }
    for (let run = 1; run <= runs; run++) {
      for (const job of rotated(verifies, run)) await runJob(job, run);
    }

    // Correctness: every archive passes the reference's verify and holds the generated state.
    for (const job of creates) {
      // The deflate floor writes no archive.
      if (job.op !== 'create') continue;
      const what = `${SHAPE_LABEL[shape]}: ${TOOL_LABEL[job.tool]}'s archive`;
      if (!job.output || !existsSync(job.output)) {
        failures.push(`${what} was not written`);
        continue;
      }
      if (!goBinary) continue;
      const r = await measure([goBinary, 'verify', job.output]);
      if (r.code !== 0) {
        failures.push(`${what} fails the Go baseline's verify (${describeFailure(r)})`);
        continue;
      }
      const stateSum = /^state\.bin ([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
      const metaSum = /^meta\.json ([0-9a-f]{64})$/m.exec(r.stdout)?.[1];
      // The metadata as the reference decodes and re-encodes it: the input's, whatever bytes
      // the tool wrote for it.
      const decoded = /^meta (.*)$/m.exec(r.stdout)?.[1];
      if (stateSum !== files.stateSha) {
        failures.push(`${what}: state.bin differs from the generated state`);
        continue;
      }
      if (decoded !== (await readFile(files.meta, 'utf8')).trimEnd()) {
        failures.push(`${what}: its metadata decodes as ${decoded}, not as the input's`);
        continue;
      }
      if (metaSum !== files.metaSha) {
        notes.push(`${what}: meta.json is not byte-identical to the input meta.json`);
      }
      log(`  check: ${what} passes the Go baseline's verify with the input's metadata`);
    }
    for (const m of measurements) {
      if (m.shape === shape && m.errors.length) {
        failures.push(
          `${SHAPE_LABEL[shape]}: ${TOOL_LABEL[m.tool]} ${m.op} failed ${m.errors.length}/${runs} run(s): ${m.errors[0]}`,
        );
      }
    }
    if (!options.keep)
      for (const job of creates) if (job.output) await rm(job.output, { force: true });
  }

  machine.loadAtEnd = loadavg()[0];
  const result: ThroughputResult = {
    machine,
    size,
    runs,
    seed,
    measurements,
    failures,
    notes,
    markdown: '',
  };
  result.markdown = renderMarkdown(result);
  log(`\n${renderText(result)}`);
  await writeFile(join(dataDir, 'throughput.md'), result.markdown);
  await writeFile(join(dataDir, 'throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(`\nwrote ${join(dataDir, 'throughput.md')} and throughput.json`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// reporting
// ---------------------------------------------------------------------------------------------

/**
 * The start-up time of a bare Node process with NODE_EXTRA_CA_CERTS as set and without it (ms,
 * medians of 5, interleaved), or undefined when it is not set. Node 20 parses that file (and its
 * own root certificates) before any JavaScript runs; later versions wait for the first TLS use.
 */
function extraCaCertsCost(): { with: number; without: number } | undefined {
  if (!process.env.NODE_EXTRA_CA_CERTS) return undefined;
  const without = { ...process.env };
  delete without.NODE_EXTRA_CA_CERTS;
  const times: { with: number[]; without: number[] } = { with: [], without: [] };
  for (let i = 0; i < 5; i++) {
    for (const [key, env] of [
      ['with', process.env],
      ['without', without],
    ] as const) {
      const t = performance.now();
      execFileSync(process.execPath, ['-e', '0'], { env });
      times[key].push(performance.now() - t);
    }
  }
  return { with: Math.round(median(times.with)), without: Math.round(median(times.without)) };
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

function machineLine(m: Machine): string {
  const ram = `${Math.round(m.ramBytes / 1024 ** 3)} GiB RAM`;
  const go = m.go.replace(/^go version /, '');
  const end = m.loadAtEnd === undefined ? '' : `→${m.loadAtEnd.toFixed(1)}`;
  return `${m.cpu}, ${m.cores} cores, ${ram}, Node ${m.node}, ${go}, ${m.date}, load ${m.loadAtStart.toFixed(1)}${end}`;
}

function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '';
  return `${(a / b).toFixed(2)}×`;
}

/** The table's rows: one per measurement, with ratios to the matching Go and pure JS rows. */
function rows(r: ThroughputResult): string[][] {
  const out: string[][] = [];
  const find = (shape: Shape, tool: ToolName, op: Operation) =>
    r.measurements.find((m) => m.shape === shape && m.tool === tool && m.op === op);
  const med = (m: Measurement | undefined) => (m?.wall.length ? median(m.wall) : undefined);
  const order: Operation[] = ['create', 'deflate', 'verify', 'inflate'];
  for (const shape of SHAPES) {
    for (const op of order) {
      for (const tool of TOOLS) {
        const m = find(shape, tool, op);
        if (!m) continue;
        const t = med(m);
        // The deflate floor is set against Go's create, the work it is the floor of; raftsnap's
        // verify of its own archive against Go's verify and node:zlib's inflate of that archive.
        const own = tool === 'raftsnap-own' || tool === 'go-own';
        const goT = med(find(shape, own ? 'go-own' : 'go', op === 'deflate' ? 'create' : op));
        const jsT = med(find(shape, 'pure-js', op));
        const goInflateT = own ? undefined : med(find(shape, 'go', 'inflate'));
        const zlibInflateT = med(find(shape, own ? 'zlib-own' : 'zlib', 'inflate'));
        // A create's floor is that of the compressor it used: libdeflate for the default engine
        // where the addon is built, node:zlib otherwise.
        const floorTool =
          (tool === 'raftsnap' || tool === 'raftsnap-l6') && find(shape, 'libdeflate', 'deflate')
            ? 'libdeflate'
            : 'zlib';
        const floorT = med(find(shape, floorTool, 'deflate'));
        const goOut = find(shape, 'go', 'create')?.outputBytes;
        const isRaftsnap = tool.startsWith('raftsnap');
        out.push([
          SHAPE_LABEL[shape],
          op,
          TOOL_LABEL[tool],
          t === undefined ? 'failed' : t.toFixed(2),
          t === undefined ? '' : `${(r.size / MiB / t).toFixed(0)}`,
          m.cpu.length ? median(m.cpu).toFixed(2) : '',
          m.peakRss === undefined ? '' : mib(m.peakRss),
          op === 'create' && m.outputBytes !== undefined ? mib(m.outputBytes) : '',
          !tool.startsWith('go') && op !== 'inflate' ? ratio(t, goT) : '',
          isRaftsnap && !own ? ratio(t, jsT) : '',
          op === 'verify' ? ratio(t, goInflateT) : '',
          op === 'verify' ? ratio(t, zlibInflateT) : '',
          op === 'create' && isRaftsnap && tool !== 'raftsnap-portable' ? ratio(t, floorT) : '',
          op === 'create' && tool !== 'go' ? ratio(m.outputBytes, goOut) : '',
        ]);
      }
    }
  }
  return out;
}

/** One of issue #4's targets, as this run measured it. */
interface Target {
  what: string;
  measured: string;
  met: boolean | undefined;
}

/**
 * The throughput targets, each checked against this run's medians: create ≥ 2× (vault-like) and
 * ≥ 3× (consul-like) the Go reference with an archive within 3 % of its size; verify ≥ 2× Go and
 * ≥ 90 % of the speed of node:zlib's bare inflate of the same file (Go's archive and raftsnap's
 * own); the portable path ≥ 3× the pure-JS create and ≥ 1.8× its verify. `met` is undefined
 * when a side of the comparison was not measured.
 */
function targets(r: ThroughputResult): Target[] {
  const med = (shape: Shape, tool: ToolName, op: Operation) => {
    const m = r.measurements.find((x) => x.shape === shape && x.tool === tool && x.op === op);
    return m?.wall.length && !m.errors.length ? median(m.wall) : undefined;
  };
  const out: Target[] = [];
  const faster = (
    what: string,
    slow: number | undefined,
    fast: number | undefined,
    min: number,
  ) => {
    const x = slow !== undefined && fast ? slow / fast : undefined;
    out.push({
      what: `${what} ≥ ${min}×`,
      measured: x === undefined ? 'not measured' : `${x.toFixed(2)}×`,
      met: x === undefined ? undefined : x >= min,
    });
  };
  const createMin: Record<Shape, number> = { consul: 3, vault: 2 };
  for (const shape of SHAPES) {
    if (!r.measurements.some((m) => m.shape === shape)) continue;
    const label = SHAPE_LABEL[shape];
    faster(
      `${label}: create vs Go`,
      med(shape, 'go', 'create'),
      med(shape, 'raftsnap', 'create'),
      createMin[shape],
    );
    const bytes = (tool: ToolName) =>
      r.measurements.find((m) => m.shape === shape && m.tool === tool && m.op === 'create')
        ?.outputBytes;
    const goBytes = bytes('go');
    const ownBytes = bytes('raftsnap');
    const size = goBytes && ownBytes ? ownBytes / goBytes : undefined;
    out.push({
      what: `${label}: archive size ≤ 1.03 × Go's`,
      measured: size === undefined ? 'not measured' : `${size.toFixed(3)}`,
      met: size === undefined ? undefined : size <= 1.03,
    });
    faster(
      `${label}: verify vs Go`,
      med(shape, 'go', 'verify'),
      med(shape, 'raftsnap', 'verify'),
      2,
    );
    for (const [verifier, inflater, file] of [
      ['raftsnap', 'zlib', "Go's archive"],
      ['raftsnap-own', 'zlib-own', "raftsnap's archive"],
    ] as const) {
      const v = med(shape, verifier, 'verify');
      const z = med(shape, inflater, 'inflate');
      const speed = v && z !== undefined ? z / v : undefined;
      out.push({
        what: `${label}: verify ≥ 90 % of node:zlib's bare inflate speed, ${file}`,
        measured: speed === undefined ? 'not measured' : `${(speed * 100).toFixed(0)} %`,
        met: speed === undefined ? undefined : speed >= 0.9,
      });
    }
    faster(
      `${label}: portable create vs pure JS`,
      med(shape, 'pure-js', 'create'),
      med(shape, 'raftsnap-portable', 'create'),
      3,
    );
    faster(
      `${label}: portable verify vs pure JS`,
      med(shape, 'pure-js', 'verify'),
      med(shape, 'raftsnap-portable', 'verify'),
      1.8,
    );
  }
  return out;
}

function targetsHeading(r: ThroughputResult): string {
  const at =
    r.size === 256 * MiB
      ? ''
      : ` (they are set for 256 MiB states; this run is at ${formatSize(r.size)})`;
  return `Targets (issue #4), from the medians above${at}:`;
}

function targetLine(t: Target): string {
  const verdict = t.met === undefined ? 'n/a ' : t.met ? 'met ' : 'MISS';
  return `${verdict}  ${t.what}: ${t.measured}`;
}

const HEADER = [
  'state',
  'op',
  'tool',
  'wall s',
  'MiB/s',
  'CPU s',
  'peak RSS',
  'output',
  'vs Go',
  'vs pure JS',
  'vs Go inflate',
  'vs zlib inflate',
  'vs deflate floor',
  'size vs Go',
];

function legend(r: ThroughputResult): string[] {
  return [
    `${formatSize(r.size)} of state per shape; wall s = median of ${r.runs} whole-process run(s), MiB/s = state MiB / wall s; CPU s = user + system (median); peak RSS = max over runs.`,
    `vs Go / vs pure JS = wall time over the same operation of the Go reference / the pure-JS pipeline (lower is faster); vs Go / zlib inflate = verify over a bare gzip inflate of the same file by Go's compress/gzip / by node:zlib; vs deflate floor = create over its compressor (libdeflate for the default engine where the addon is built, node:zlib for --engine native and wasm) compressing the same state at level 6 in create's blocks on every core and nothing else (the floor of a level-6 create: --level 6 on any state, the default on state that does not look random; a floor's own "vs Go" is against Go's create); size vs Go = archive size over the Go reference archive.`,
    "Every verifier reads the Go reference's archive, except the rows marked raftsnap's (own) archive, which read the default raftsnap create's. raftsnap's create (every engine, the portable path included) and the pure-JS create fsync their output; the Go reference does not, and neither does bench/go-baseline.",
    'pure JS = tar-stream + fflate (level 6) + @noble/hashes; Go reference = bench/go-baseline (archive/tar, compress/gzip default level, crypto/sha256); raftsnap portable = the default entry (WebAssembly kernels, CompressionStream), Node only opening the files.',
  ];
}

function renderText(r: ThroughputResult): string {
  const body = rows(r);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const numeric = new Set([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const fmt = (row: string[]) =>
    row
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const lines = [
    `Throughput (${machineLine(r.machine)})`,
    '',
    fmt(HEADER),
    widths.map((w) => '-'.repeat(w)).join('  '),
  ];
  let last = '';
  for (const row of body) {
    if (last && row[0] !== last) lines.push('');
    last = row[0];
    lines.push(fmt(row));
  }
  lines.push('', ...legend(r));
  lines.push('', targetsHeading(r), ...targets(r).map(targetLine));
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.failures.length) {
    lines.push('', 'FAILURES:');
    for (const f of r.failures) lines.push(`  - ${f}`);
  } else {
    lines.push(
      '',
      "correctness: every archive passes the Go baseline's verify and holds the state",
    );
  }
  return lines.join('\n');
}

function renderMarkdown(r: ThroughputResult): string {
  const body = rows(r);
  const cell = (c: string) => c.replaceAll('|', '\\|');
  const lines = [
    `Throughput, ${formatSize(r.size)} state — ${machineLine(r.machine)}`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`,
    ...body.map((row) => `| ${row.map(cell).join(' | ')} |`),
    '',
    ...legend(r).map((l) => `${l}  `),
    '',
    targetsHeading(r),
    '',
    ...targets(r).map((t) => `- ${targetLine(t)}`),
    '',
    ...r.notes.map((n) => `Note: ${n}.  `),
    '',
    r.failures.length
      ? `**Failures:**\n\n${r.failures.map((f) => `- ${f}`).join('\n')}`
      : "Correctness: every archive passed the Go baseline's verify and held the generated state.",
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let opts: ThroughputOptions;
  try {
    opts = parseThroughputArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    console.error(
      'usage: node dist/bench/throughput.js [--size 256MiB] [--runs 5] [--seed 1] [--shapes consul,vault] [--keep]',
    );
    process.exit(2);
  }
  benchThroughput(opts).then(
    (r) => {
      process.exitCode = r.failures.length ? 1 : 0;
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

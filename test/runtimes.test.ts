/**
 * "Runs everywhere": the portable core (verify, inspect, parse, writeSnapshot, decodeMeta,
 * encodeMeta, aesGcmSealer, createSha256) gives exactly the expected verdict and facts for every
 * conformance case (test/runtimes/cases.ts) in Node 20, 22 and 24 (the portable entry, from dist),
 * Deno and Bun (the browser bundle), workerd through miniflare (the worker bundle, as a module
 * worker) and headless Chromium (the browser bundle, on a local page). Archives written in each
 * runtime are read back independently of raftsnap. A runtime that is missing fails its test with
 * how to install it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  buildBundle,
  buildRunnerBundle,
  coreSize,
  describeSize,
  repoRoot,
  SIZE_BUDGET,
} from './runtimes/bundle.js';
import { buildCases, checkReport, describeProblems } from './runtimes/cases.js';
import {
  BLANK_PAGE,
  BUNDLE_DRIVER,
  binary,
  inBun,
  inChromium,
  inDeno,
  inNode,
  type LocalServer,
  nodeEntryIn,
  nodeOfMajor,
  serve,
  withChromium,
  withWorkerd,
} from './runtimes/hosts.js';
import { type RunReport, runCases } from './runtimes/runner.js';

/**
 * Runs `command` in a shell on a pseudo-terminal (script(1)), where Deno prompts (and waits) for
 * a permission it lacks; with no input a prompt reads end of file and the permission is denied.
 */
function onTerminal(command: string, timeout = 120_000) {
  return spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: repoRoot,
    encoding: 'utf8',
    input: '',
    timeout,
  });
}

const cases = await buildCases();
const casesJson = JSON.stringify(cases);

let tmp: string;
let browserDir: string;
let workerDir: string;
let server: LocalServer;
let casesUrl: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'raftsnap-runtimes-'));
  browserDir = join(tmp, 'browser');
  workerDir = join(tmp, 'worker');
  await Promise.all([
    buildRunnerBundle('browser', browserDir),
    buildRunnerBundle('worker', workerDir),
  ]);
  await writeFile(join(browserDir, 'driver.mjs'), BUNDLE_DRIVER);
  server = await serve({
    '/cases.json': { type: 'application/json', body: casesJson },
    '/blank.html': { type: 'text/html; charset=utf-8', body: BLANK_PAGE },
    '/bundle.mjs': { type: 'text/javascript', file: join(browserDir, 'bundle.mjs') },
  });
  casesUrl = `${server.url}/cases.json`;
});

after(async () => {
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Asserts that `report` conforms, listing every difference. */
function assertConforms(report: RunReport, diagnostic: (m: string) => void): void {
  const problems = checkReport(cases, report);
  diagnostic(`${report.runtime}: ${cases.length} cases in ${Math.round(report.ms)} ms`);
  assert.deepEqual(problems, [], describeProblems(problems, report.runtime));
}

test('Node 20: portable entry (raftsnap/portable)', async (t) => {
  if (process.versions.node.startsWith('20.')) {
    // This process is Node 20: import the portable entry here.
    const api = await import('raftsnap/portable');
    assertConforms(await runCases(api, cases), (m) => t.diagnostic(m));
  } else {
    // `npm test` puts node_modules/.bin first on PATH, where `node` is the node22 package.
    t.diagnostic(`this process is Node ${process.versions.node}: running Node 20 as a child`);
    assertConforms(await inNode<RunReport>(nodeOfMajor(20), 'run', casesUrl), (m) =>
      t.diagnostic(m),
    );
  }
});

test('Node 22: portable entry', async (t) => {
  assertConforms(await inNode<RunReport>(binary('node22'), 'run', casesUrl), (m) =>
    t.diagnostic(m),
  );
});

test('Node 24: portable entry', async (t) => {
  assertConforms(await inNode<RunReport>(binary('node24'), 'run', casesUrl), (m) =>
    t.diagnostic(m),
  );
});

test('Deno: browser bundle', async (t) => {
  const report = await inDeno<RunReport>(browserDir, 'run', casesUrl);
  assertConforms(report, (m) => t.diagnostic(m));
  assert.deepEqual(report.engines, { hash: 'wasm', inflate: 'wasm' });
});

test('Bun: browser bundle', async (t) => {
  assertConforms(await inBun<RunReport>(browserDir, 'run', casesUrl), (m) => t.diagnostic(m));
});

test('Deno: the Node entry its export condition gives (node:zlib, node:crypto)', async (t) => {
  const report = await nodeEntryIn<RunReport>('deno', casesUrl);
  assertConforms(report, (m) => t.diagnostic(m));
  assert.deepEqual(report.engines, { hash: 'native', inflate: 'wasm' });
});

test('Bun: the Node entry its export condition gives (node:zlib, node:crypto)', async (t) => {
  const report = await nodeEntryIn<RunReport>('bun', casesUrl);
  assertConforms(report, (m) => t.diagnostic(m));
  assert.deepEqual(report.engines, { hash: 'native', inflate: 'wasm' });
});

test('workerd (miniflare): worker bundle as a module worker', async (t) => {
  const report = await withWorkerd(join(workerDir, 'bundle.mjs'), async (post) => {
    const res = await post('/run', casesJson);
    const text = await res.text();
    assert.equal(res.status, 200, `the worker answered ${res.status}: ${text}`);
    return JSON.parse(text) as RunReport;
  });
  assertConforms(report, (m) => t.diagnostic(m));
  // Workers have a native streaming digest (crypto.DigestStream): SHA-256 goes there.
  assert.deepEqual(report.engines, { hash: 'native', inflate: 'wasm' });
});

test('Chromium (headless): browser bundle on a page', async (t) => {
  const report = await withChromium((browser) =>
    inChromium<RunReport>(browser, server.url, 'run', casesUrl),
  );
  assertConforms(report, (m) => t.diagnostic(m));
});

test('bundles refuse Node built-ins: the node entry does not bundle for browsers', async () => {
  for (const target of ['browser', 'worker'] as const) {
    await assert.rejects(
      buildBundle({ entry: join(repoRoot, 'dist', 'src', 'node', 'index.js'), target }),
      /is a Node built-in/,
    );
  }
});

test(`the portable entry is at most ${SIZE_BUDGET / 1024} KiB minified and gzip'd, WebAssembly included`, async (t) => {
  for (const target of ['browser', 'worker'] as const) {
    const size = await coreSize(target);
    t.diagnostic(describeSize(size));
    assert.ok(size.total <= SIZE_BUDGET, describeSize(size));
  }
});

test('Deno on a terminal without --allow-env: raftsnap does not stop to ask for RAFTSNAP_ENGINE', async () => {
  const { repoRoot, fixture } = await import('./support/fixtures.js');
  const deno = join(repoRoot, 'node_modules', '.bin', 'deno');
  const driver = join(repoRoot, 'dist', 'test', 'runtimes', 'deno-prompt.js');
  const archive = fixture('reference-written', 'real-raft-1000-entries.snap');
  const r = onTerminal(
    `"${deno}" run --quiet --allow-read="${repoRoot},${archive}" "${driver}" "${archive}"`,
    60_000,
  );
  assert.doesNotMatch(r.stdout, /requests env access/);
  assert.match(r.stdout, /index 1002\b/);
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('Deno on a terminal, the CLI with only --allow-read (and --allow-write for its output): verify, inspect, extract and create run without asking for anything', async () => {
  const { readFile } = await import('node:fs/promises');
  const { repoRoot, fixture } = await import('./support/fixtures.js');
  const deno = join(repoRoot, 'node_modules', '.bin', 'deno');
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'raftsnap.js');
  const archive = fixture('reference-written', 'real-raft-1000-entries.snap');
  const out = join(tmp, 'deno-cli');
  const inDeno = (write: string, args: string) =>
    onTerminal(`NO_COLOR=1 "${deno}" run --quiet --allow-read ${write} "${cli}" ${args} --quiet`);
  const runs = [
    inDeno('', `verify "${archive}"`),
    inDeno('', `inspect "${archive}" --json`),
    inDeno(`--allow-write="${out}"`, `extract "${archive}" "${out}"`),
    inDeno(
      `--allow-write="${out}"`,
      `create --meta "${join(out, 'meta.json')}" --state "${join(out, 'state.bin')}" -o "${join(out, 'again.snap')}"`,
    ),
  ];
  for (const r of runs) {
    assert.doesNotMatch(r.stdout, /requests|NotCapable|Uncaught/, r.stdout);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  }
  const meta = JSON.parse(runs[1].stdout);
  assert.equal(meta.Index, 1002);
  assert.equal((await readFile(join(out, 'state.bin'))).length, meta.Size);
  const check = inDeno('', `verify "${join(out, 'again.snap')}"`);
  assert.equal(check.status, 0, check.stdout + check.stderr);

  // The library's temporary copy in the OS temporary directory, without --allow-env (which
  // os.tmpdir() would ask for, to read TMPDIR).
  const script = join(out, 'temp-copy.mjs');
  const entry = join(repoRoot, 'dist', 'src', 'node', 'index.js');
  await writeFile(
    script,
    `import { writeToTempFile } from ${JSON.stringify(entry)};
     const temp = await writeToTempFile(Deno.args[0]);
     console.log('copied to ' + temp.path);
     await temp.cleanup();`,
  );
  const copy = onTerminal(
    `NO_COLOR=1 "${deno}" run --quiet --allow-read --allow-write=/tmp "${script}" "${archive}"`,
  );
  assert.doesNotMatch(copy.stdout, /requests|NotCapable|Uncaught/, copy.stdout);
  assert.match(copy.stdout, /^copied to \/tmp\//m);
  assert.equal(copy.status, 0, copy.stdout);

  // Without --allow-sys=uid the process's uid is unknown: a link in a sticky world-writable
  // directory that its owner does not own counts as another user's (as fs.protected_symlinks).
  const { plantForeignLink } = await import('./support/temp.js');
  const { link, victim } = plantForeignLink(out);
  const refused = inDeno(
    `--allow-write="${out}"`,
    `create --meta "${join(out, 'meta.json')}" --state "${join(out, 'state.bin')}" -o "${link}"`,
  );
  assert.equal(refused.status, 1, refused.stdout);
  assert.match(refused.stdout, /uid is unknown \(Deno without --allow-sys=uid\); not followed/);
  assert.equal(await readFile(victim, 'utf8'), 'keep me');
});

test('Deno and Bun: the CLI reads a named pipe by path as Node does (a whole archive verifies; garbage is an invalid header, exit status 1)', async () => {
  const { readFile } = await import('node:fs/promises');
  const { fixture } = await import('./support/fixtures.js');
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'raftsnap.js');
  const archive = await readFile(fixture('reference-written', 'real-raft-1000-entries.snap'));
  const fifo = join(tmp, 'pipe.snap');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const runtimes: [string, string[]][] = [
    ['Deno', [binary('deno'), 'run', '--quiet', '--no-prompt', '--allow-read']],
    ['Bun', [binary('bun')]],
  ];
  for (const [name, argv] of runtimes) {
    for (const [bytes, status, output] of [
      [archive, 0, /^Snapshot verified: index 1002\b/m],
      [
        new Uint8Array(1000).fill(7),
        1,
        /^error: failed to decompress snapshot: gzip: invalid header$/m,
      ],
    ] as const) {
      // The writer: a shell that copies the bytes into the pipe (once the reader opens it) and
      // then runs the reader.
      const source = join(tmp, 'pipe-source');
      await writeFile(source, bytes);
      const run = spawnSync(
        'sh',
        [
          '-c',
          `cat "${source}" > "${fifo}" & exec "$0" "$@"`,
          argv[0],
          ...argv.slice(1),
          cli,
          'verify',
          fifo,
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(run.status, status, `${name}: ${run.stdout}${run.stderr}`);
      assert.match(run.stdout + run.stderr, output, name);
    }
  }
});

test('Deno allowed to read nothing of the package: `raftsnap --version` still names the version (the bundle carries it)', async () => {
  const { readFile } = await import('node:fs/promises');
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'raftsnap.js');
  const r = spawnSync(
    binary('deno'),
    ['run', '--quiet', '--no-prompt', `--allow-read=${tmp}`, cli, '--version'],
    { encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout.split('\n')[0], `raftsnap ${version}`);
});

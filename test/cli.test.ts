/** The raftsnap command line, run as a real process: outputs, exit codes, no partial files. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pseudoRandom, sha256hex } from './support/bytes.js';
import { cliPath, runCli } from './support/cli.js';
import { fixture, repoRoot } from './support/fixtures.js';
import { listDir, withTempDir } from './support/temp.js';

const run = (args: string[], input?: Uint8Array) => runCli(args, { input });

const realRaft = fixture('reference-written', 'real-raft-1000-entries.snap');
const sealed = fixture('reference-written', 'sealed-aes256gcm.snap');
const keyFile = fixture('reference-written', 'sealed-aes256gcm.key.hex');

test('verify: a valid archive exits 0 with a summary', () => {
  const r = run(['verify', realRaft]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Snapshot verified: index 1002, term 2, state 252\.9 KiB\n$/);
});

test('verify --json prints the meta as the reference encodes it', () => {
  const r = run(['verify', '--json', fixture('reference-written', 'index-above-2p53.snap')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^\{"Version":\d+,"ID":"[^"]*","Index":9007199254740993,"Term":2,"Peers":[^,]*,"Configuration":\{"Servers":\[\{"Suffrage":0,/,
  );
  assert.ok(r.stdout.endsWith('}\n'));
});

test('verify: an invalid archive exits 1 with "error: <reason>" on stderr', () => {
  const bytes = readFileSync(realRaft);
  bytes[bytes.length >> 1] ^= 1;
  const r = run(['verify', '-'], bytes);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: .+\n$/);
});

test('verify, inspect, extract: a whole archive with a damaged gzip tail fails, with a note that it restores', () => {
  const bytes = readFileSync(realRaft);
  bytes[bytes.length - 8] ^= 1; // the trailer's CRC-32
  const dir = join(tmpdir(), `raftsnap-cli-x-${process.pid}`);
  for (const args of [
    ['verify', '-'],
    ['inspect', '-'],
    ['extract', '-', dir],
  ]) {
    const r = run(args, bytes);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'error: gzip: invalid checksum\nnote: the archive itself is whole and its sums match; only the gzip stream after it is damaged. A restore reads no further than the archive: Consul, Vault, Nomad, OpenBao and raftsnap restore accept this file.\n',
    );
  }
  assert.equal(existsSync(join(dir, 'state.bin')), false);
  rmSync(dir, { recursive: true, force: true });
});

test('verify reads standard input for "-"', () => {
  const r = run(['verify', '-'], readFileSync(realRaft));
  assert.equal(r.code, 0, r.stderr);
});

test('usage errors exit 2: no file, unknown option, unknown command', () => {
  assert.equal(run(['verify']).code, 2);
  assert.equal(run(['verify', '--bogus', realRaft]).code, 2);
  assert.equal(run(['frobnicate']).code, 2);
  assert.equal(run([]).code, 2);
});

test('version and --version print the package version', () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  for (const arg of ['version', '--version']) {
    const r = run([arg]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `raftsnap ${version}\n`);
  }
});

test('--help for every command exits 0 with examples', () => {
  for (const cmd of ['verify', 'inspect', 'extract', 'create']) {
    const r = run([cmd, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: raftsnap ${cmd}`));
    assert.match(r.stdout, /Examples:/);
  }
});

test('verify --seal-key-file: the right key passes, another key fails, the key never shows', () => {
  const keyed = run(['verify', '--seal-key-file', keyFile, sealed]);
  assert.equal(keyed.code, 0);
  assert.match(keyed.stdout, /, sealed sums verified\n$/);
  // Without a key the sealed list is not opened, as in the reference's Verify; the summary says so.
  const unkeyed = run(['verify', sealed]);
  assert.equal(unkeyed.code, 0);
  assert.match(unkeyed.stdout, /, SHA256SUMS\.sealed not checked \(no --seal-key-file\)\n$/);
  withTempDirSync((dir) => {
    const key = readFileSync(keyFile, 'utf8').trim();
    const wrong = `${key[0] === '0' ? '1' : '0'}${key.slice(1)}`;
    const wrongFile = join(dir, 'wrong.hex');
    writeFileSync(wrongFile, wrong, { mode: 0o600 });
    const r = run(['verify', '--seal-key-file', wrongFile, sealed]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed to open the sealed hashes/);
    assert.ok(!r.stderr.includes(wrong) && !r.stdout.includes(wrong));
    chmodSync(wrongFile, 0o644);
    assert.match(
      run(['verify', '--seal-key-file', wrongFile, sealed]).stderr,
      /^warning: key file .* is readable by group or others/,
    );
    writeFileSync(wrongFile, 'not a key', { mode: 0o600 });
    const bad = run(['verify', '--seal-key-file', wrongFile, sealed]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /64 hexadecimal characters/);
  });
});

test('inspect shows the metadata table; --json is exact', () => {
  const r = run(['inspect', fixture('real-world', 'vault-1.15-test.snap')]);
  assert.equal(r.code, 0, r.stderr);
  for (const re of [
    / ID\s+bolt-snapshot/,
    / Index\s+38/,
    / Term\s+3/,
    / ConfigurationIndex\s+38/,
    / Sealed\s+yes/,
    /vault-2:8201\s+Voter/,
    / Checksum\s+sha-256=/,
  ]) {
    assert.match(r.stdout, re);
  }
  const j = run(['inspect', '--json', fixture('reference-written', 'index-above-2p53.snap')]);
  assert.equal(j.code, 0, j.stderr);
  assert.match(j.stdout, /"Index": 9007199254740993,/);
  assert.equal(JSON.parse(j.stdout).StateSize, 200000);
});

test('extract writes DIR/meta.json and DIR/state.bin; nothing on failure', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'x');
    const r = run(['extract', realRaft, out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await listDir(out), ['meta.json', 'state.bin']);
    assert.equal(readFileSync(join(out, 'state.bin')).length, 259003);
    const bytes = readFileSync(realRaft);
    bytes[bytes.length >> 1] ^= 2;
    const badFile = join(dir, 'bad.snap');
    writeFileSync(badFile, bytes);
    const badOut = join(dir, 'y');
    assert.equal(run(['extract', badFile, badOut]).code, 1);
    assert.deepEqual(existsSync(badOut) ? await listDir(badOut) : [], []);
  });
});

test("create writes an archive that verifies, from extract's meta.json and a state file", async () => {
  await withTempDir(async (dir) => {
    const x = run(['extract', realRaft, join(dir, 'x')]);
    assert.equal(x.code, 0, x.stderr);
    const state = pseudoRandom(123_457, 3);
    writeFileSync(join(dir, 'state.bin'), state);
    const out = join(dir, 'new.snap');
    const r = run([
      'create',
      '--meta',
      join(dir, 'x', 'meta.json'),
      '--state',
      join(dir, 'state.bin'),
      '-o',
      out,
      '--level',
      '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Created snapshot .* at index 1002 \(.*, sha-256=.*\)\n$/);
    const v = run(['verify', '--json', out]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /"Index":1002,.*"Size":123457\}\n$/);
    const y = run(['extract', out, join(dir, 'y')]);
    assert.equal(y.code, 0, y.stderr);
    assert.equal(sha256hex(readFileSync(join(dir, 'y', 'state.bin'))), sha256hex(state));
    assert.deepEqual(await listDir(dir), ['new.snap', 'state.bin', 'x', 'y']);
  });
});

test('create with invalid meta or a missing state exits non-zero and writes nothing', async () => {
  await withTempDir(async (dir) => {
    writeFileSync(join(dir, 'meta.json'), '{"Index": "not a number"}');
    writeFileSync(join(dir, 'state.bin'), 'x');
    const out = join(dir, 'out.snap');
    const r = run([
      'create',
      '--meta',
      join(dir, 'meta.json'),
      '--state',
      join(dir, 'state.bin'),
      '-o',
      out,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*meta\.json: /);
    const r2 = run([
      'create',
      '--meta',
      join(dir, 'meta.json'),
      '--state',
      join(dir, 'nope.bin'),
      '-o',
      out,
    ]);
    assert.equal(r2.code, 1);
    assert.deepEqual(await listDir(dir), ['meta.json', 'state.bin']);
    assert.equal(run(['create', '--meta', join(dir, 'meta.json'), '-o', out]).code, 2);
    assert.equal(
      run(['create', '--meta', 'm', '--state', 's', '-o', out, '--level', '12']).code,
      2,
    );
  });
});

test('a directory where a file is wanted is named as such, before anything is written', async () => {
  await withTempDir(async (dir) => {
    assert.equal(run(['extract', realRaft, join(dir, 'x')]).code, 0);
    const [m, st] = [join(dir, 'x', 'meta.json'), join(dir, 'x', 'state.bin')];
    const cases: [string[], string][] = [
      [['verify', dir], `error: cannot read ${dir}: it is a directory; give the path of a file\n`],
      [['inspect', dir], `error: cannot read ${dir}: it is a directory; give the path of a file\n`],
      [
        ['create', '--meta', m, '--state', dir, '-o', join(dir, 'o.snap')],
        `error: cannot read ${dir}: it is a directory; give the path of a file\n`,
      ],
      [
        ['create', '--meta', m, '--state', st, '-o', dir],
        `error: cannot write ${dir}: it is a directory; give the path of a file\n`,
      ],
      [
        ['verify', realRaft, '--seal-key-file', dir],
        `error: cannot read key file ${dir}: it is a directory; give the path of a file\n`,
      ],
    ];
    for (const [args, stderr] of cases) {
      const r = run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, stderr);
    }
    // extract's DIR is a directory by design: the message names the one in the way.
    const blocked = join(dir, 'blocked');
    mkdirSync(join(blocked, 'state.bin'), { recursive: true });
    const r = run(['extract', realRaft, blocked]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `error: cannot write to ${blocked}: ${join(blocked, 'state.bin')} is a directory\n`,
    );
    assert.deepEqual(await listDir(dir), ['blocked', 'x']);
    assert.deepEqual(await listDir(blocked), ['state.bin']);
  });
});

test('create refuses a state that is not a regular file (its size would be wrong), writing nothing', async () => {
  await withTempDir(async (dir) => {
    assert.equal(run(['extract', realRaft, join(dir, 'x')]).code, 0);
    const fifo = join(dir, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    for (const state of [fifo, '/dev/null']) {
      const r = run([
        'create',
        '--meta',
        join(dir, 'x', 'meta.json'),
        '--state',
        state,
        '-o',
        join(dir, 'o.snap'),
      ]);
      assert.equal(r.code, 1, state);
      assert.equal(
        r.stderr,
        `error: cannot read ${state}: not a regular file: the size of a pipe or device is not known before it is read; save it to a file first\n`,
      );
    }
    assert.deepEqual(await listDir(dir), ['pipe', 'x']);
  });
});

test('on a terminal, every command clears its progress line before an error', async () => {
  await withTempDir(async (dir) => {
    // Cut inside the state: the progress line is up when the error comes.
    const whole = readFileSync(realRaft);
    const cut = join(dir, 'cut.snap');
    writeFileSync(cut, whole.subarray(0, whole.length >> 1));
    for (const args of [
      ['verify', cut],
      ['inspect', cut],
      ['extract', cut, join(dir, 'x')],
    ]) {
      // script(1) runs the command on a pseudo-terminal, where progress is shown.
      const line = [process.execPath, cliPath, ...args].join(' ');
      const r = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8' });
      assert.equal(r.status, 1, `${args[0]}: ${r.stdout}`);
      assert.match(
        r.stdout,
        /^\r\[[#-]+\] /,
        `${args[0]} showed no progress: ${JSON.stringify(r.stdout)}`,
      );
      assert.match(r.stdout, /\r\u001b\[Kerror: failed to read snapshot file: /, args[0]);
    }
  });
});

test('npm run --silent cli -- runs the same CLI', () => {
  const r = spawnSync('npm', ['run', '--silent', 'cli', '--', 'verify', realRaft], {
    cwd: repoRoot,
  });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.match(r.stdout.toString(), /^Snapshot verified: index 1002/);
});

function withTempDirSync(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'raftsnap-cli-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

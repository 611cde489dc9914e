/** The raftsnap command line, run as a real process: outputs, exit codes, no partial files. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pseudoRandom, sha256hex } from './support/bytes.js';
import { cliPath, runCli } from './support/cli.js';
import { fixture, repoRoot } from './support/fixtures.js';
import { listDir, plantForeignLink, withTempDir } from './support/temp.js';

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
      'error: gzip: invalid checksum\nnote: the archive itself is whole and its sums match; only the gzip stream after it is damaged. A restore (Consul, Vault, Nomad, OpenBao, raftsnap) reads no further than the archive, so this does not stop one.\n',
    );
  }
  assert.equal(existsSync(join(dir, 'state.bin')), false);
  rmSync(dir, { recursive: true, force: true });
});

test("verify, inspect and extract pass an archive whose state.bin is not meta.json's Size long, as the reference does, and warn that Raft refuses it", async () => {
  const { archiveWithMeta } = await import('./support/archive.js');
  const bytes = await archiveWithMeta(
    '{"Version":1,"ID":"1-5-1","Index":5,"Term":1,"Size":10}\n',
    pseudoRandom(1000, 2),
  );
  for (const args of [
    ['verify', '-'],
    ['inspect', '-'],
    ['verify', '-q', '-'],
  ]) {
    const r = run(args, bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `warning: -: state.bin holds 1000 bytes but meta.json's Size is 10: Raft refuses to restore such a snapshot (hashicorp/raft: "size didn't match"); the reference's Verify accepts it, but Consul, Vault, Nomad and OpenBao cannot restore it\n`,
    );
  }
  await withTempDir(async (dir) => {
    const r = run(['extract', '-', join(dir, 'x')], bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^warning: -: state\.bin holds 1000 bytes but meta\.json's Size is 10: /,
    );
    assert.match(r.stdout, /\(meta\.json, state\.bin: 1000 B\)\n$/);
  });
});

test('inspect --json, extract --json and inspect are exact for Go ints beyond 2^53 (Version, Suffrage)', async () => {
  const { archiveWithMeta } = await import('./support/archive.js');
  const state = pseudoRandom(100, 3);
  const bytes = await archiveWithMeta(
    `{"Version":9007199254740993,"ID":"x","Index":5,"Term":1,"Configuration":{"Servers":[{"Suffrage":-9223372036854775808,"ID":"a","Address":"b"}]},"Size":${state.length}}\n`,
    state,
  );
  const inspected = run(['inspect', '--json', '-'], bytes);
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.match(inspected.stdout, /"Version": 9007199254740993,/);
  assert.match(inspected.stdout, /"Suffrage": -9223372036854775808,/);
  const text = run(['inspect', '-'], bytes);
  assert.match(text.stdout, /Version +9007199254740993\n/);
  assert.match(text.stdout, /ServerSuffrage\(-9223372036854775808\)/);
  await withTempDir(async (dir) => {
    const r = run(['extract', '--json', '-', join(dir, 'out')], bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"Version": 9007199254740993,/);
    assert.match(r.stdout, /"Suffrage": -9223372036854775808,/);
  });
});

test('verify reads standard input for "-"', () => {
  const r = run(['verify', '-'], readFileSync(realRaft));
  assert.equal(r.code, 0, r.stderr);
});

test('usage errors exit 2 with the reason and where help is, not the whole help; flags combine', () => {
  const bogus = run(['verify', '--bogus', realRaft]);
  assert.equal(bogus.code, 2);
  assert.equal(bogus.stdout, '');
  assert.equal(
    bogus.stderr,
    "error: unknown option --bogus\nRun 'raftsnap verify --help' for usage.\n",
  );
  assert.equal(run(['verify']).code, 2);
  assert.equal(run(['frobnicate']).code, 2);
  const bare = run([]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, '', 'usage for a mistake goes to stderr');
  assert.match(bare.stderr, /^Usage: raftsnap <command>/);
  // -qv is -q -v.
  const qv = run(['inspect', '-qv', realRaft]);
  assert.equal(qv.code, 0, qv.stderr);
  assert.match(qv.stdout, / Engines +hash=/);
  assert.equal(run(['inspect', '-qx', realRaft]).code, 2);
});

test('--quiet: no summary on success, so cron mails only failures; errors still show', async () => {
  await withTempDir(async (dir) => {
    for (const args of [
      ['verify', '-q', realRaft],
      ['extract', '--quiet', realRaft, join(dir, 'x')],
      [
        'create',
        '-q',
        '--meta',
        join(dir, 'x', 'meta.json'),
        '--state',
        join(dir, 'x', 'state.bin'),
        '-o',
        join(dir, 'o.snap'),
      ],
    ]) {
      const r = run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout + r.stderr, '', args[0]);
    }
    const bad = run(['verify', '-q', join(dir, 'x', 'meta.json')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: /);
  });
});

test('--json is exact for any string: a meta ID that looks like an internal placeholder stays itself', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    const meta = JSON.parse(readFileSync(join(dir, 'x', 'meta.json'), 'utf8'));
    meta.ID = '\u00000\u0000';
    writeFileSync(join(dir, 'm.json'), JSON.stringify(meta));
    args[2] = join(dir, 'm.json');
    const out = join(dir, 'o.snap');
    const c = run([...args, '-o', out]);
    assert.equal(c.code, 0, c.stderr);
    const j = JSON.parse(run(['inspect', '--json', out]).stdout);
    assert.equal(j.ID, '\u00000\u0000');
    assert.equal(j.Index, 1002);
  });
});

test('version and --version print the package version and the compressor create uses', () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  for (const arg of ['version', '--version']) {
    const r = run([arg]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      new RegExp(
        `^raftsnap ${version}\ncreate compresses with libdeflate 1\\.\\d+ \\(raftsnap's addon\\)\n$`,
      ),
    );
  }
  const off = runCli(['--version'], { env: { RAFTSNAP_LIBDEFLATE: '0' } });
  assert.match(
    off.stdout,
    /\ncreate compresses with node:zlib \S+ \(the libdeflate addon is not built/,
  );
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
    assert.match(
      r.stderr,
      /failed to open the sealed hashes: cipher: message authentication failed \(another key, or the sealed sums were altered\)\n$/,
    );
    assert.ok(!r.stderr.includes(wrong) && !r.stdout.includes(wrong));
    // A key for an archive that was never sealed: the message says that, not "too short".
    const unsealed = run(['verify', '--seal-key-file', keyFile, realRaft]);
    assert.equal(unsealed.code, 1);
    assert.match(
      unsealed.stderr,
      /failed to open the sealed hashes: the archive has no sealed sums \(SHA256SUMS\.sealed\) to open: it was not sealed\n$/,
    );
    chmodSync(wrongFile, 0o644);
    assert.match(
      run(['verify', '--seal-key-file', wrongFile, sealed]).stderr,
      /^warning: key file .* is readable by group or others/,
    );
    writeFileSync(wrongFile, 'not a key', { mode: 0o600 });
    const bad = run(['verify', '--seal-key-file', wrongFile, sealed]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /64 hexadecimal characters \(32 bytes\), got 9 characters, not all/);
    // A raw 32-byte key (any bytes, a newline after them or not) is not the key file's form: the
    // message says what to do.
    for (const raw of [randomBytes(32), Buffer.concat([randomBytes(32), Buffer.from('\n')])]) {
      writeFileSync(wrongFile, raw, { mode: 0o600 });
      const r = run(['verify', '--seal-key-file', wrongFile, sealed]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /got 32 bytes that are not hexadecimal: a raw key\? write it as hex/);
    }
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

test('extract of a sealed archive says whether its sealed sums were checked', async () => {
  await withTempDir(async (dir) => {
    const keyed = run(['extract', '--seal-key-file', keyFile, sealed, join(dir, 'k')]);
    assert.equal(keyed.code, 0, keyed.stderr);
    assert.match(keyed.stdout, /^Extracted snapshot at index \d+ to .*, sealed sums verified\n$/);
    // Without a key the archive is extracted, as the reference's Verify would accept it, and the
    // summary says what went unchecked.
    const unkeyed = run(['extract', sealed, join(dir, 'u')]);
    assert.equal(unkeyed.code, 0, unkeyed.stderr);
    assert.match(unkeyed.stdout, /, SHA256SUMS\.sealed not checked \(no --seal-key-file\)\n$/);
    assert.deepEqual(await listDir(join(dir, 'u')), ['meta.json', 'state.bin']);
    const plain = run(['extract', realRaft, join(dir, 'p')]);
    assert.match(plain.stdout, /state\.bin: [^)]+\)\n$/);
  });
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
    ];
    for (const [args, stderr] of cases) {
      const r = run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stderr, stderr);
    }
    // A key file is an argument, as a CA file is: one that cannot be read is a usage error.
    for (const key of [dir, join(dir, 'missing.key')]) {
      const k = run(['verify', realRaft, '--seal-key-file', key]);
      assert.equal(k.code, 2, key);
      assert.match(k.stderr, new RegExp(`^error: cannot read key file ${key}: `));
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
        /^\r(verifying|reading|extracting) \[[#-]+\] /,
        `${args[0]} showed no progress: ${JSON.stringify(r.stdout)}`,
      );
      assert.match(r.stdout, /\r\u001b\[Kerror: failed to read snapshot file: /, args[0]);
    }
  });
});

test('a snapshot is not written to a terminal (as gzip refuses): create -o - and save - on a tty are usage errors', () => {
  withTempDirSync((dir) => {
    assert.equal(run(['extract', realRaft, dir]).code, 0);
    const create = ['create', '--meta', join(dir, 'meta.json'), '--state', join(dir, 'state.bin')];
    for (const args of [
      [...create, '-o', '-'],
      // A terminal by path, with standard output elsewhere.
      [...create, '-o', '/dev/tty', '--quiet'],
      ['save', '--from', 'consul', '--addr', 'http://127.0.0.1:9', '-'],
    ]) {
      const line = [process.execPath, cliPath, ...args].join(' ');
      const r = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${args[0]}: ${r.stdout}`);
      assert.match(
        r.stdout,
        /error: refusing to write a snapshot to a terminal: redirect standard output or give a file/,
      );
    }
  });
});

test('the progress line: what is done, the bar and ETA when the total is known, and a stall', async () => {
  const { progressLine } = await import('../src/cli/progress.js');
  assert.equal(
    progressLine('verifying', { bytes: 1 << 20, total: 4 << 20 }, 512 * 1024, 0),
    'verifying [######------------------] 25% 1.0 MiB/4.0 MiB 512.0 KiB/s ETA 6s',
  );
  assert.equal(
    progressLine('saving from consul', { bytes: 65_331 }, undefined, 0),
    'saving from consul 63.8 KiB',
  );
  assert.equal(
    progressLine('saving from consul', { bytes: 65_331 }, 0, 6.2),
    'saving from consul 63.8 KiB, no data for 6s',
  );
  // Never wider than the terminal (a wrapped line cannot be redrawn in place): the bar goes
  // first, then the line is cut.
  const at90 = { bytes: 900 << 20, total: 1000 << 20 };
  const wide = progressLine('sending to openbao', at90, 120 << 20, 0, 200);
  assert.equal(
    wide,
    'sending to openbao [######################--] 90% 900.0 MiB/1000.0 MiB 120.0 MiB/s ETA 1s',
  );
  const narrow = progressLine(
    'sending to openbao',
    { bytes: 900 << 20, total: 1000 << 20 },
    120 << 20,
    0,
    80,
  );
  assert.equal(narrow, 'sending to openbao 90% 900.0 MiB/1000.0 MiB 120.0 MiB/s ETA 1s');
  assert.equal(progressLine('verifying', { bytes: 1, total: 2 }, 1, 0, 12).length, 11);
});

test('the progress rate is over the last seconds: after a stall it is the current rate, not one diluted by the stall', async () => {
  const { RateWindow } = await import('../src/cli/progress.js');
  const w = new RateWindow(0);
  const MiB = 1 << 20;
  let bytes = 0;
  let t = 0;
  // 1 MiB/s for 10 s, sampled every 100 ms as chunks come and redraws happen.
  for (; t <= 10_000; t += 100) {
    bytes = (t / 1000) * MiB;
    w.add(t, bytes);
  }
  // 30 s without a byte: redraws go on sampling.
  for (; t <= 40_000; t += 250) w.add(t, bytes);
  // Then 1 MiB/s again for 2 s.
  const resumed = t;
  for (; t <= resumed + 2000; t += 100) {
    bytes += MiB / 10;
    w.add(t, bytes);
  }
  const rate = w.rate(t - 100, bytes);
  assert.ok(rate > 0.6 * MiB && rate < 1.1 * MiB, `rate ${rate / MiB} MiB/s`);
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

/** extract's meta.json and state.bin of the real-raft fixture in DIR/x; returns create's args. */
function createArgs(dir: string): string[] {
  assert.equal(run(['extract', realRaft, join(dir, 'x')]).code, 0);
  return ['create', '--meta', join(dir, 'x', 'meta.json'), '--state', join(dir, 'x', 'state.bin')];
}

/**
 * create into DIR/fifo, a FIFO nobody opens, so that its cleanup after a signal cannot finish:
 * the running process, once it handles SIGTERM, what it has written to stderr so far, and its
 * exit (code, signal).
 */
async function createIntoUnreadFifo(dir: string) {
  const fifo = join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const child = spawn(process.execPath, [cliPath, ...createArgs(dir), '-o', fifo]);
  const run = {
    child,
    stderr: '',
    exited: new Promise<[number | null, string | null]>((resolve) =>
      child.on('exit', (c, s) => resolve([c, s])),
    ),
  };
  child.stderr.on('data', (c) => {
    run.stderr += c;
  });
  // Until its handlers are in place a signal kills it outright: wait until a thread of it waits
  // in the open of the FIFO for a reader (the kernel's wait_for_partner), which comes after them.
  // Where /proc does not tell, half a second.
  const waitsForReader = () => {
    try {
      return readdirSync(`/proc/${child.pid}/task`).some(
        (t) => readFileSync(`/proc/${child.pid}/task/${t}/wchan`, 'utf8') === 'wait_for_partner',
      );
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 200 && !waitsForReader(); i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, waitsForReader() ? 50 : 500));
  return run;
}

test('create -o - writes the archive to standard output and its summary to stderr', async () => {
  await withTempDir(async (dir) => {
    const r = spawnSync(process.execPath, [cliPath, ...createArgs(dir), '-o', '-']);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /^Created snapshot \(standard output\) at index 1002 /);
    const v = run(['verify', '-'], r.stdout);
    assert.equal(v.code, 0, v.stderr);
    assert.deepEqual(await listDir(dir), ['x'], 'no file named -');
  });
});

test('create through a symbolic link replaces the file it points to; a pipe is written through, not replaced', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    symlinkSync('target.snap', join(dir, 'latest.snap'));
    assert.equal(run([...args, '-o', join(dir, 'latest.snap')]).code, 0);
    assert.equal(readlinkSync(join(dir, 'latest.snap')), 'target.snap');
    assert.equal(run(['verify', join(dir, 'target.snap')]).code, 0);
    // A killed run through a link leaves its temporary file beside the target, in another
    // directory: the next run through the link cleans it there.
    mkdirSync(join(dir, 'store'));
    symlinkSync(join('store', 'kept.snap'), join(dir, 'kept.snap'));
    const stale = join(dir, 'store', '.kept.snap.raftsnap-4194304-0123456789ab.tmp');
    writeFileSync(stale, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    assert.equal(run([...args, '-o', join(dir, 'kept.snap')]).code, 0);
    assert.deepEqual(await listDir(join(dir, 'store')), ['kept.snap']);
    // Again, now that the target exists: still the target is replaced, the link kept.
    assert.equal(run([...args, '-o', join(dir, 'latest.snap')]).code, 0);
    assert.ok(lstatSync(join(dir, 'latest.snap')).isSymbolicLink());
    // A FIFO, read by another process (as >(gpg -e …) gives): it stays a FIFO.
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const reader = spawn('sh', ['-c', `cat "${fifo}" > "${join(dir, 'piped.snap')}"`]);
    const read = new Promise((resolve) => reader.on('exit', resolve));
    const r = await runAsync([...args, '-o', fifo]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await read, 0);
    assert.ok(lstatSync(fifo).isFIFO());
    assert.equal(run(['verify', join(dir, 'piped.snap')]).code, 0);
    assert.deepEqual(await listDir(dir), [
      'fifo',
      'kept.snap',
      'latest.snap',
      'piped.snap',
      'store',
      'target.snap',
      'x',
    ]);
  });
});

test('an output name as long as the file system allows works (the temporary name is cut to fit)', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, `${'é'.repeat(120)}.snap`); // 245 bytes of UTF-8
    const r = run([...createArgs(dir), '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(run(['verify', out]).code, 0);
  });
});

test('a file this user may not read: "cannot read FILE: permission denied", before any reading', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    const secret = join(dir, 'secret.snap');
    writeFileSync(secret, readFileSync(realRaft), { mode: 0o000 });
    // Root reads any file whatever its mode: as root, the CLI runs without the capabilities
    // that allow it (setpriv, from util-linux), so that mode 000 holds for it too.
    const asRoot = process.getuid?.() === 0;
    const launch = asRoot
      ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', process.execPath]
      : [process.execPath];
    for (const [argv, path] of [
      [['verify', secret], secret],
      [['inspect', secret], secret],
      [
        [...args.slice(0, 3), '--state', secret, '-o', join(tmpdir(), `o-${process.pid}.snap`)],
        secret,
      ],
    ] as const) {
      const r = spawnSync(launch[0], [...launch.slice(1), cliPath, ...argv], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr, `error: cannot read ${path}: permission denied\n`);
    }
  });
});

test('a reader that goes away (| head -c): exit 141 as SIGPIPE would give, no stack trace', async () => {
  await withTempDir(async (dir) => {
    writeFileSync(join(dir, 'big.bin'), pseudoRandom(8 << 20, 5));
    const args = createArgs(dir);
    args[4] = join(dir, 'big.bin');
    const child = spawn(process.execPath, [cliPath, ...args, '-o', '-', '--level', '0']);
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 141, stderr);
    assert.equal(stderr, '');
  });
});

test('Ctrl-C while waiting on a quiet pipe (stdin or a FIFO by path): exit status 130 at once, after removing DIR and temporary files', async () => {
  await withTempDir(async (dir) => {
    const whole = readFileSync(realRaft);
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    for (const input of ['-', fifo]) {
      const out = join(dir, 'x');
      const child = spawn(process.execPath, [cliPath, 'extract', input, out]);
      let stderr = '';
      child.stderr.on('data', (c) => {
        stderr += c;
      });
      // Half an archive, then silence: the command waits for the rest. A FIFO's writer stays
      // open (its read sits in a thread of the pool, which must not hold the exit up).
      const writer =
        input === '-'
          ? child.stdin
          : spawn('sh', ['-c', `cat > "${fifo}"`], { stdio: ['pipe', 'ignore', 'ignore'] }).stdin;
      writer.write(whole.subarray(0, whole.length >> 1));
      for (let i = 0; i < 200 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(existsSync(out), 'extract started');
      await new Promise((r) => setTimeout(r, 200));
      const started = Date.now();
      child.kill('SIGINT');
      const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (c, s) => resolve([c, s])),
      );
      assert.ok(Date.now() - started < 3000, `${input}: the signal did not end it at once`);
      // As a shell sees it: exit status 130 (killed by SIGINT, or its exit code).
      assert.equal(code ?? 128 + constants.signals[signal as 'SIGINT'], 130, stderr);
      assert.equal(stderr, 'error: interrupted by SIGINT\n');
      assert.deepEqual(await listDir(dir), ['fifo'], input);
      writer.end();
    }
  });
});

test('a signal repeated at once (timeout(1) signals the command, then its process group) is one request; one repeated a second later ends the process at once', async () => {
  await withTempDir(async (dir) => {
    // The process stays until the grace period ends, or until a signal that counts as a second.
    const run = await createIntoUnreadFifo(dir);
    const { child } = run;
    const started = Date.now();
    // Back to back, as timeout(1) sends them (a few milliseconds apart, so that the kernel does
    // not merge them into one).
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(child.exitCode, null, `the repeat ended it: ${run.stderr}`);
    assert.equal(child.signalCode, null, `the repeat ended it: ${run.stderr}`);
    child.kill('SIGTERM');
    const [code, signal] = await run.exited;
    assert.ok(Date.now() - started < 4000, 'the later signal did not end it at once');
    assert.equal(code ?? 128 + constants.signals[signal as 'SIGTERM'], 143, run.stderr);
  });
});

test('standard output that fails after the command has done its work (a full disk, a reader gone) fails the run', () => {
  const args = ['verify', '--json', realRaft];
  const devFull = openSync('/dev/full', 'w');
  const full = spawnSync(process.execPath, [cliPath, ...args], {
    stdio: ['ignore', devFull, 'pipe'],
  });
  closeSync(devFull);
  assert.equal(full.status, 1, full.stderr.toString());
  assert.match(full.stderr.toString(), /^error: cannot write to standard output: ENOSPC/);
  // A reader that closed its end at once: exit status 141, as a shell reports SIGPIPE, silently.
  const gone = spawnSync('bash', [
    '-c',
    '"$0" "$@" | (exec 0<&-); exit $PIPESTATUS',
    process.execPath,
    cliPath,
    ...args,
  ]);
  assert.equal(gone.status, 141, gone.stderr.toString());
  assert.equal(gone.stderr.toString(), '');
});

test('create refuses an OUT that is its own --state or --meta file (through a link too): usage error, the file intact', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    const state = args[args.indexOf('--state') + 1];
    const meta = args[args.indexOf('--meta') + 1];
    const before = [readFileSync(state), readFileSync(meta)];
    symlinkSync(meta, join(dir, 'link'));
    for (const [out, flag] of [
      [state, '--state'],
      [join(dir, 'link'), '--meta'],
    ]) {
      const r = runCli([...args, '-o', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^error: -o \\S+ is the ${flag} file itself, which the archive would replace\n`),
      );
    }
    assert.deepEqual([readFileSync(state), readFileSync(meta)], before);
  });
});

/**
 * Runs `extract - DIR` with a standard input that stays open and quiet, so that a command that
 * read before failing would wait (it is stopped after 20 s, and fails the caller's check); gives
 * the exit code and stderr.
 */
async function extractBeforeReading(dir: string): Promise<{ code: unknown; stderr: string }> {
  const child = spawn(process.execPath, [cliPath, 'extract', '-', dir]);
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(guard);
  child.stdin.destroy();
  return { code, stderr };
}

test('extract finds a DIR it cannot write into before reading anything: DIR/meta.json a directory, DIR a file, a file on the way', async () => {
  await withTempDir(async (dir) => {
    mkdirSync(join(dir, 'e', 'meta.json'), { recursive: true });
    writeFileSync(join(dir, 'f'), 'x');
    symlinkSync(join(dir, 'gone'), join(dir, 'l'));
    for (const [target, reason] of [
      ['e', `${join(dir, 'e', 'meta.json')} is a directory`],
      ['f', 'it exists and is not a directory'],
      [join('f', 'sub'), 'a part of the path is a file, not a directory'],
      ['l', 'it is a symbolic link to something missing or not a directory (a loop?)'],
    ]) {
      const { code, stderr } = await extractBeforeReading(join(dir, target));
      assert.equal(code, 1, `${target}: ${stderr}`);
      assert.equal(stderr, `error: cannot write to ${join(dir, target)}: ${reason}\n`);
    }
    assert.deepEqual(await listDir(dir), ['e', 'f', 'l']);
    // Nothing of the run left in DIR (no temporary state.bin).
    assert.deepEqual(await listDir(join(dir, 'e')), ['meta.json']);
  });
});

test('extract into a DIR the kernel will not make fails at once with its reason and leaves no parent it made: under /proc, a name too long, an immutable directory', async () => {
  assert.ok(existsSync('/proc/self'), 'the test needs Linux /proc');
  await withTempDir(async (dir) => {
    const immutable = join(dir, 'imm');
    mkdirSync(immutable);
    const probe = spawnSync('chattr', ['+i', immutable], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `chattr +i on ${immutable} (the test needs it): ${probe.stderr}`);
    try {
      for (const [target, reason] of [
        // /proc answers ENOENT under a directory that exists: a recursive mkdir that retries
        // the parent then would go round for ever.
        [`/proc/raftsnap-${process.pid}/x`, 'no such file or directory'],
        // `new` is made first; the name under it cannot be, and `new` is removed again.
        [join(dir, 'new', 'n'.repeat(300)), 'a name in the path is too long'],
        [
          join(immutable, 'a', 'b'),
          'operation not permitted (an immutable or append-only file or directory?)',
        ],
      ]) {
        const { code, stderr } = await extractBeforeReading(target);
        assert.equal(code, 1, `${target}: ${stderr}`);
        assert.equal(stderr, `error: cannot write to ${target}: ${reason}\n`);
      }
      assert.deepEqual(await listDir(dir), ['imm']);
      assert.deepEqual(await listDir(immutable), []);
    } finally {
      spawnSync('chattr', ['-i', immutable]);
    }
  });
});

test('-o /dev/stdout into a pipe is standard output: the archive alone on stdout, the summary on stderr', async () => {
  await withTempDir(async (dir) => {
    const r = spawnSync('sh', [
      '-c',
      `"$0" "$@" | cat`,
      process.execPath,
      cliPath,
      ...createArgs(dir),
      '-o',
      '/dev/stdout',
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /^Created snapshot \(standard output\) at index 1002 /);
    assert.equal(run(['verify', '-'], r.stdout).code, 0);
  });
});

test('a dangling relative link is followed from where it really is; a link another user planted in /tmp-like directories is not followed', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    symlinkSync(join('a', 'b'), join(dir, 'lb'));
    symlinkSync(join('..', 'x.snap'), join(dir, 'a', 'b', 'dang.snap'));
    assert.equal(run([...args, '-o', join(dir, 'lb', 'dang.snap')]).code, 0);
    // As the shell's `> lb/dang.snap` would: a/b/../x.snap is a/x.snap.
    assert.equal(run(['verify', join(dir, 'a', 'x.snap')]).code, 0);
    assert.equal(existsSync(join(dir, 'x.snap')), false);
    // A sticky world-writable directory with a link owned by someone else (root only can make one).
    const { link, victim } = plantForeignLink(dir);
    // Directly, or through a link of one's own that leads to it: every link of a chain counts.
    symlinkSync(link, join(dir, 'mine.snap'));
    for (const out of [link, join(dir, 'mine.snap')]) {
      const r = run([...args, '-o', out]);
      assert.equal(r.code, 1, out);
      assert.match(
        r.stderr,
        /symbolic link owned by another user \(uid 65534\) in a shared directory; not followed/,
      );
    }
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
  });
});

test('verify: an archive followed by more data (a tar with record padding) is whole; the note says what follows it', async () => {
  const { gunzipSync, gzipSync } = await import('node:zlib');
  const tar = gunzipSync(readFileSync(realRaft));
  // GNU tar pads archives to 10240-byte records: zero blocks after the end-of-archive marker.
  const padded = gzipSync(Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240) + 1024)]));
  const r = run(['verify', '-'], padded);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: \d+ unread uncompressed bytes remain\n/);
  assert.match(
    r.stderr,
    /\nnote: the archive itself is whole and its sums match; the gzip stream goes on past it \(a tar written with record padding, or data appended\), which the reference's Verify rejects\. A restore \(Consul, Vault, Nomad, OpenBao, raftsnap\) reads no further/,
  );
});

/** Runs the CLI without blocking this process (for commands that need another process's help). */
function runAsync(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliPath, ...args]);
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

test('exactJson writes what JSON.stringify writes, except bigints (exact numbers) and bytes (base64)', async () => {
  const { exactJson } = await import('../src/cli/format.js');
  const { default: fc } = await import('fast-check');
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(0, 2), (v, indent) => {
      assert.equal(exactJson(v, indent), JSON.stringify(v, null, indent));
    }),
  );
  const holes: number[] = [1];
  holes[2] = 3;
  const odd = {
    date: new Date(0),
    holes,
    gone: undefined,
    fn: () => 1,
    nested: [[], {}, [{ a: [undefined] }]],
  };
  for (const indent of [0, 2])
    assert.equal(exactJson(odd, indent), JSON.stringify(odd, null, indent));
  assert.equal(
    exactJson({ n: 2n ** 64n - 1n, b: Buffer.from('hi'), u: new Uint8Array([255]) }, 0),
    '{"n":18446744073709551615,"b":"aGk=","u":"/w=="}',
  );
});

test('one SIGTERM is enough even when the cleanup cannot finish (an output FIFO nobody opens): the process ends within seconds', async () => {
  await withTempDir(async (dir) => {
    const run = await createIntoUnreadFifo(dir);
    const started = Date.now();
    run.child.kill('SIGTERM');
    const [code, signal] = await run.exited;
    assert.ok(Date.now() - started < 8000, 'one signal did not end it');
    assert.equal(code ?? 128 + constants.signals[signal as 'SIGTERM'], 143, run.stderr);
    assert.match(run.stderr, /^error: interrupted by SIGTERM\n/);
  });
});

test('extract never pairs one archive’s state.bin with another’s meta.json: a meta.json that cannot be replaced puts the old state.bin back, or removes the new one where there was none', async () => {
  await withTempDir(async (dir) => {
    const above = fixture('reference-written', 'index-above-2p53.snap');
    const d = join(dir, 'd');
    assert.equal(run(['extract', '-q', above, d]).code, 0);
    const before = [readFileSync(join(d, 'meta.json')), readFileSync(join(d, 'state.bin'))];
    // A fresh DIR whose only file is an immutable meta.json.
    const f = join(dir, 'f');
    mkdirSync(f);
    writeFileSync(join(f, 'meta.json'), '{}');
    for (const locked of [join(d, 'meta.json'), join(f, 'meta.json')]) {
      const probe = spawnSync('chattr', ['+i', locked], { encoding: 'utf8' });
      assert.equal(probe.status, 0, `chattr +i (the test needs it): ${probe.stderr}`);
    }
    try {
      for (const target of [d, f]) {
        const r = run(['extract', realRaft, target]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(
          r.stderr,
          `error: cannot write to ${target}: operation not permitted (an immutable or append-only file or directory?)\n`,
        );
      }
      assert.deepEqual(
        [readFileSync(join(d, 'meta.json')), readFileSync(join(d, 'state.bin'))],
        before,
      );
      assert.deepEqual(await listDir(d), ['meta.json', 'state.bin']);
      assert.deepEqual(await listDir(f), ['meta.json']);
    } finally {
      spawnSync('chattr', ['-i', join(d, 'meta.json'), join(f, 'meta.json')]);
    }
  });
});

/** A copy of the sealed fixture's key file as DIR/key, with `mode`. */
function keyCopy(dir: string, mode: number): string {
  const key = join(dir, 'key');
  writeFileSync(key, readFileSync(keyFile));
  chmodSync(key, mode);
  return key;
}

test('a standard error that cannot be written (a full disk) fails no command: the archive is written and the exit code stands', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    // A group-readable key file makes create warn on stderr before it writes anything.
    const key = keyCopy(dir, 0o644);
    const out = join(dir, 'out.snap');
    const sh = (cmd: string) =>
      spawnSync('sh', ['-c', `${cmd} 2>/dev/full`, process.execPath, cliPath], {
        encoding: 'utf8',
      });
    const created = sh(
      `"$0" "$1" ${args.map((a) => `'${a}'`).join(' ')} --seal-key-file '${key}' -o '${out}'`,
    );
    assert.equal(created.status, 0);
    assert.equal(run(['verify', '--seal-key-file', keyFile, out]).code, 0);
    assert.equal(sh(`"$0" "$1" verify`).status, 2);
    assert.equal(sh(`"$0" "$1" verify '${realRaft}'`).status, 0);
  });
});

test('create --meta and --seal-key-file read a few bytes past their limit, not the whole of /dev/zero', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    const meta = run(['create', '--meta', '/dev/zero', ...args.slice(3), '-o', join(dir, 'o')]);
    assert.equal(meta.code, 1);
    assert.equal(
      meta.stderr,
      "error: /dev/zero: more than 1024 KiB, too long for a snapshot's metadata (its meta.json must stay under 8192 bytes)\n",
    );
    const key = run(['verify', '--seal-key-file', '/dev/zero', realRaft]);
    assert.equal(key.code, 2);
    assert.match(
      key.stderr,
      /^error: key file \/dev\/zero: more than 64 KiB, not a key \(64 hexadecimal characters\)\n/,
    );
    assert.deepEqual(await listDir(dir), ['x']);
  });
});

test('an empty path, or one that holds U+FFFD (a name with bytes that are not UTF-8), is a usage error: no command runs on another name than the one given', async () => {
  await withTempDir(async (dir) => {
    for (const [args, reason] of [
      [['extract', realRaft, ''], 'DIR is empty'],
      [['verify', ''], 'FILE is empty'],
      [[...createArgs(dir), '-o', ''], '-o is empty'],
    ] as const) {
      const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.split('\n')[0], `error: ${reason}`);
    }
    assert.deepEqual(await listDir(dir), ['x']);
    // The shell passes the byte 0xFF itself; Node hands the command U+FFFD in its place.
    writeFileSync(join(dir, 'bad\uFFFD.snap'), readFileSync(realRaft));
    const r = spawnSync(
      'sh',
      ['-c', `"$0" "$1" verify "$(printf 'bad\\377.snap')"`, process.execPath, cliPath],
      {
        cwd: dir,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^error: FILE "bad\uFFFD\.snap" holds U\+FFFD, as a name with bytes that are not UTF-8 arrives here/,
    );
  });
});

test('create refuses -o that is its --seal-key-file, and a --state that holds more than its reported size (a /proc file)', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    const key = keyCopy(dir, 0o600);
    const r = run([...args, '--seal-key-file', key, '-o', key]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^error: -o \S+ is the --seal-key-file file itself, which the archive would replace\n/,
    );
    assert.deepEqual(readFileSync(key), readFileSync(keyFile));
    const out = join(dir, 'p.snap');
    const proc = run(['create', '--meta', args[2], '--state', '/proc/self/status', '-o', out]);
    assert.equal(proc.code, 1);
    assert.match(
      proc.stderr,
      /^error: failed to write snapshot file: \/proc\/self\/status holds more than meta's Size \(0\): .*a \/proc or \/sys file\); nothing was written\n$/,
    );
    assert.equal(existsSync(out), false);
  });
});

test('an append-only output directory: the refused rename is the reason given (not what removing its temporary file met)', async () => {
  await withTempDir(async (dir) => {
    const args = createArgs(dir);
    const ao = join(dir, 'ao');
    mkdirSync(ao);
    const probe = spawnSync('chattr', ['+a', ao], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `chattr +a (the test needs it): ${probe.stderr}`);
    try {
      const r = run([...args, '-o', join(ao, 'x.snap')]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `error: failed to write snapshot file: cannot write ${join(ao, 'x.snap')}: operation not permitted (an immutable or append-only file or directory?)\n`,
      );
      const e = run(['extract', realRaft, ao]);
      assert.equal(e.code, 1);
      assert.equal(
        e.stderr,
        `error: cannot write to ${ao}: operation not permitted (an immutable or append-only file or directory?)\n`,
      );
    } finally {
      spawnSync('chattr', ['-a', ao]);
    }
  });
});

test('inspect shows control characters in a snapshot’s strings escaped: an ID or address cannot drive the terminal', async () => {
  await withTempDir(async (dir) => {
    const meta = join(dir, 'meta.json');
    writeFileSync(
      meta,
      JSON.stringify({
        Version: 1,
        ID: 'snap\u001b]0;owned\u0007',
        Index: 5,
        Term: 2,
        Configuration: { Servers: [{ Suffrage: 0, ID: 'a\u001b[31mb', Address: 'x\ny\u009b' }] },
      }),
    );
    const state = join(dir, 'state.bin');
    writeFileSync(state, 'state');
    const out = join(dir, 'c.snap');
    assert.equal(run(['create', '--meta', meta, '--state', state, '-o', out]).code, 0);
    const r = run(['inspect', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.match(r.stdout, /^ ID +snap\\u001b\]0;owned\\u0007$/m);
    assert.match(r.stdout, /^ {2}a\\u001b\[31mb +x\\u000ay\\u009b +Voter$/m);
    // --json keeps the strings as they are (JSON escapes them).
    assert.equal(JSON.parse(run(['inspect', '--json', out]).stdout).ID, 'snap\u001b]0;owned\u0007');
  });
});

test('a command left waiting on something that can never finish, with nothing left for the runtime to wait on, is no verdict: exit status 1 and a word why, not 0', async () => {
  // The runtime's own file call is replaced by one that never settles and holds nothing open,
  // as when a runtime's event loop lets go of a pending read.
  const preload = `data:text/javascript,${encodeURIComponent(`
    import { createRequire, syncBuiltinESMExports } from 'node:module';
    createRequire('/')('node:fs/promises').stat = () => new Promise(() => {});
    syncBuiltinESMExports();
  `)}`;
  const r = spawnSync(process.execPath, ['--import', preload, cliPath, 'verify', realRaft], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: the process ended before the command finished .*; no verdict$/m);
});

test('help and the version on a standard output that fails (a full disk): a word on stderr and status 1, not an unhandled error', () => {
  const full = openSync('/dev/full', 'w');
  try {
    for (const args of [['--help'], ['version'], ['verify', '--help']]) {
      const r = spawnSync(process.execPath, [cliPath, ...args], {
        stdio: ['ignore', full, 'pipe'],
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(r.status, 1, `${args}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        'error: cannot write to standard output: ENOSPC: no space left on device, write\n',
        String(args),
      );
    }
  } finally {
    closeSync(full);
  }
});

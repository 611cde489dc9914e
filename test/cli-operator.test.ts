/**
 * The operators' commands as real processes against a real hashicorp/raft cluster: save from and
 * restore to every product, and the faults operators meet — a wrong token, a corrupt file, a
 * dropped connection, a Vault standby's 307, kill -9 mid-write, a full disk, a read-only
 * directory — each exiting non-zero with a clear message and leaving no partial file.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verify } from 'raftsnap';
import { pseudoRandom } from './support/bytes.js';
import { cliPath, runCli } from './support/cli.js';
import { makeKeys, type RaftCluster, requirePeer, startCluster } from './support/raft-cluster.js';
import { listDir, withTempDir } from './support/temp.js';

await requirePeer();

const cli = cliPath;
const TOKEN = 'op-token-7d1e0b44c9';
const PRODUCTS = ['consul', 'vault', 'nomad', 'openbao'] as const;

/** Runs the CLI with the products' environment variables cleared, then `env`. */
function run(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { env });
}

/** Saves a snapshot from `product` (the cluster's leader) to DIR/NAME; returns its path. */
function savedTo(dir: string, product: string, name: string): string {
  const out = join(dir, name);
  const r = run(['save', '--from', product, '--addr', leaderUrl, '--token', TOKEN, out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

function noSecret(r: { stdout: string; stderr: string }) {
  assert.ok(
    !r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN),
    'the token appeared in the output',
  );
}

let cluster: RaftCluster;
let leaderUrl: string;
const keys = makeKeys(500, 'op');

before(async () => {
  // Sealed sums on the Vault endpoints, as Vault writes them.
  cluster = await startCluster({ token: TOKEN, sealKeyHex: '5a'.repeat(32) });
  leaderUrl = (await cluster.waitLeader()).httpUrl;
  await cluster.putKeys(keys);
});

after(async () => {
  await cluster?.stop();
});

describe('raftsnap save / restore against a real cluster', { timeout: 180_000 }, () => {
  for (const product of PRODUCTS) {
    test(`save --from ${product}: a verified file, the index printed, the token from the flag`, async () => {
      await withTempDir(async (dir) => {
        const out = join(dir, 'backup.snap');
        const r = run(['save', '--from', product, '--addr', leaderUrl, '--token', TOKEN, out]);
        noSecret(r);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          /^Saved and verified snapshot to index \d+: .*backup\.snap \(.* in [\d.]+s, sha-256=[A-Za-z0-9+/=]+\)\n$/,
        );
        const meta = await verify(out);
        assert.ok(meta.index > 0n);
        assert.deepEqual(await listDir(dir), ['backup.snap']);
      });
    });
  }

  test('save takes the address and token from the product environment variables; --json', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'v.snap');
      const r = run(['save', '--from', 'vault', '--json', out], {
        VAULT_ADDR: leaderUrl,
        VAULT_TOKEN: TOKEN,
      });
      noSecret(r);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.product, 'vault');
      assert.ok(j.index > 0);
      assert.match(j.checksum, /^sha-256=/);
      const b = run(['save', '--from', 'openbao', `${out}2`], {
        BAO_ADDR: leaderUrl,
        BAO_TOKEN: TOKEN,
      });
      assert.equal(b.code, 0, b.stderr);
    });
  });

  test('a Vault standby answers 307; save follows it to the active node with the token', async () => {
    const leader = await cluster.waitLeader();
    const standby = (await cluster.followers())[0].httpUrl;
    await withTempDir(async (dir) => {
      const out = join(dir, 's.snap');
      const r = run(['save', '--from', 'vault', '--addr', standby, '--token', TOKEN, out]);
      noSecret(r);
      assert.equal(r.code, 0, r.stderr);
      // The active node served it (the standby only redirected), to a request with the token.
      const served = (await cluster.status()).nodes.find((n) => n.id === leader.id)?.lastRequest;
      assert.equal(served?.method, 'GET');
      assert.equal(served?.path, '/v1/sys/storage/raft/snapshot');
      assert.ok((await verify(out)).index > 0n);
    });
  });

  test('save --stale: a Consul or Nomad follower answers itself instead of forwarding to the leader; --datacenter and --region reach the query', async () => {
    const leader = await cluster.waitLeader();
    const follower = (await cluster.followers())[0];
    const lastAt = async (id: string) =>
      (await cluster.status()).nodes.find((n) => n.id === id)?.lastRequest;
    await withTempDir(async (dir) => {
      for (const [product, flag, value, path] of [
        ['consul', '--datacenter', 'dc1', '/v1/snapshot'],
        ['nomad', '--region', 'global', '/v1/operator/snapshot'],
      ] as const) {
        const base = ['save', '--from', product, '--addr', follower.httpUrl, '--token', TOKEN];
        const forwarded = run([...base, flag, value, join(dir, `${product}.snap`)]);
        assert.equal(forwarded.code, 0, forwarded.stderr);
        const atLeader = await lastAt(leader.id);
        assert.equal(atLeader?.path, path);
        assert.equal(
          atLeader?.query,
          `${flag.slice(2) === 'datacenter' ? 'dc' : 'region'}=${value}`,
        );
        const stale = run([...base, '--stale', join(dir, `${product}-stale.snap`)]);
        assert.equal(stale.code, 0, stale.stderr);
        const atFollower = await lastAt(follower.id);
        assert.equal(atFollower?.path, path);
        assert.equal(atFollower?.query, 'stale');
        assert.ok((await verify(join(dir, `${product}-stale.snap`))).index > 0n);
      }
      // Flags of another product, and --stale on a restore, are usage errors.
      for (const args of [
        ['save', '--from', 'vault', '--stale', 'x.snap'],
        ['save', '--from', 'nomad', '--datacenter', 'dc1', 'x.snap'],
        ['save', '--from', 'consul', '--region', 'global', 'x.snap'],
        ['restore', '--to', 'consul', '--stale', 'x.snap'],
      ]) {
        const r = run(args);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      }
      assert.match(
        run(['save', '--from', 'vault', '--stale', 'x.snap']).stderr,
        /^error: --stale applies to consul and nomad only\n/,
      );
    });
  });

  test('a wrong token: exit 1, a message that says what to do, no file, the token not shown', async () => {
    await withTempDir(async (dir) => {
      for (const product of PRODUCTS) {
        const wrong = `${TOKEN}-wrong`;
        const r = run([
          'save',
          '--from',
          product,
          '--addr',
          leaderUrl,
          '--token',
          wrong,
          join(dir, 'x.snap'),
        ]);
        assert.equal(r.code, 1, `${product}: ${r.stderr}`);
        assert.match(r.stderr, /^error: .*(permission denied|403)/i);
        assert.ok(!r.stderr.includes(wrong));
        assert.deepEqual(await listDir(dir), []);
      }
      // To standard output: the one error, not a second one blamed on the output.
      const r = run(['save', '--from', 'consul', '--addr', leaderUrl, '--token', 'wrong', '-']);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.match(/^error: /gm)?.length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /standard output/);
    });
  });

  test('the server dropping the connection mid-stream: exit 1, no file', async () => {
    const px = await proxy(leaderUrl, { dropAfter: 2048 });
    const addr = px.url;
    try {
      await withTempDir(async (dir) => {
        await cluster.putKeys(makeKeys(3000, 'big'));
        const r = spawnAsync([
          'save',
          '--from',
          'consul',
          '--addr',
          addr,
          '--token',
          TOKEN,
          join(dir, 'x.snap'),
        ]);
        const done = await r.done;
        assert.equal(done.code, 1, done.stderr);
        assert.match(done.stderr, /^error: /);
        assert.deepEqual(await listDir(dir), []);
      });
    } finally {
      px.close();
    }
  });

  test('save onto a full disk (ENOSPC on a small tmpfs): the error names OUT, no file is left', async () => {
    await withTempDir(async (dir) => {
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', mnt]);
      assert.equal(m.status, 0, `mounting a tmpfs needs root: ${m.stderr}`);
      try {
        const out = join(mnt, 'full.snap');
        const r = run(['save', '--from', 'consul', '--addr', leaderUrl, '--token', TOKEN, out]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(
          r.stderr,
          `error: cannot write ${out}: the disk is full (no space or no inodes left); free space or choose another directory\n`,
        );
        assert.deepEqual(await listDir(mnt), []);
      } finally {
        spawnSync('umount', [mnt]);
      }
    });
  });

  test('save - streams the verified archive to standard output, the summary to stderr; --quiet says nothing', async () => {
    const r = spawnSync(process.execPath, [
      cli,
      'save',
      '--from',
      'consul',
      '--addr',
      leaderUrl,
      '--token',
      TOKEN,
      '-',
    ]);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(
      r.stderr.toString(),
      /^Saved and verified snapshot to index \d+: \(standard output\) /,
    );
    assert.ok((await verify(new Uint8Array(r.stdout))).index > 0n);
    await withTempDir(async (dir) => {
      const q = run([
        'save',
        '--from',
        'consul',
        '--quiet',
        '--addr',
        leaderUrl,
        '--token',
        TOKEN,
        join(dir, 'q.snap'),
      ]);
      assert.equal(q.code, 0, q.stderr);
      assert.equal(q.stdout + q.stderr, '');
      assert.deepEqual(await listDir(dir), ['q.snap']);
    });
  });

  test('save to a directory that does not exist fails before the server is asked for a snapshot', async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(500);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await withTempDir(async (dir) => {
        const out = join(dir, 'missing', 'x.snap');
        const r = runCli(['save', '--from', 'consul', '--addr', addr, out], {});
        assert.equal(r.code, 1);
        assert.equal(r.stderr, `error: cannot write ${out}: no such file or directory\n`);
        assert.equal(requests, 0, 'the server was asked for a snapshot');
      });
    } finally {
      server.close();
    }
  });

  test('restore - reads the archive from standard input (copied aside as it is verified)', async () => {
    await withTempDir(async (dir) => {
      const out = savedTo(dir, 'consul', 'c.snap');
      const r = runCli(['restore', '--to', 'consul', '--addr', leaderUrl, '--token', TOKEN, '-'], {
        input: readFileSync(out),
        env: { TMPDIR: dir },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Restored snapshot at index \d+ to consul/);
      assert.deepEqual(await listDir(dir), ['c.snap'], 'the temporary copy is gone');
    });
  });

  test('restore --to consul: verified first, then restored; every node holds the keys', async () => {
    await withTempDir(async (dir) => {
      const out = savedTo(dir, 'consul', 'c.snap');
      const before = await cluster.dump((await cluster.waitLeader()).id);
      await cluster.putKeys({ 'after-save': 'x' });
      const r = run(['restore', '--to', 'consul', '--addr', leaderUrl, '--token', TOKEN, out]);
      noSecret(r);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Restored snapshot at index \d+ to consul/);
      await cluster.waitForState(before);
    });
  });

  test('restore --to vault --force uses snapshot-force; Vault is said to have accepted the snapshot, which it restores in the background', async () => {
    await withTempDir(async (dir) => {
      const out = savedTo(dir, 'vault', 'v.snap');
      // Through a standby: the message names the active node, which took the snapshot.
      const leader0 = await cluster.waitLeader();
      const standby = (await cluster.followers())[0].httpUrl;
      const r = run([
        'restore',
        '--to',
        'vault',
        '--force',
        '--addr',
        standby,
        '--token',
        TOKEN,
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout.replace(/\([\d.]+s\)/, '(Ns)').replace(/index \d+/, 'index I'),
        `Vault at ${new URL(leader0.httpUrl).origin} accepted the snapshot at index I (Ns) and is restoring it; should that fail, Vault seals itself (see its log)\n`,
      );
      const st = await cluster.status();
      const leader = st.nodes.find((n) => n.id === st.leader);
      assert.match(leader?.lastRequest?.path ?? '', /snapshot-force$/);
    });
  });

  test('restore --to vault without --force of an archive without sealed sums: nothing sent, exit 1, says to force', async () => {
    await withTempDir(async (dir) => {
      const out = savedTo(dir, 'consul', 'c.snap');
      const before = (await cluster.status()).nodes.reduce((n, x) => n + x.restoreRequests, 0);
      const r = run(['restore', '--to', 'vault', '--addr', leaderUrl, '--token', TOKEN, out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no sealed sums \(SHA256SUMS\.sealed\).*raftsnap restore --force/);
      const after = (await cluster.status()).nodes.reduce((n, x) => n + x.restoreRequests, 0);
      assert.equal(after, before, 'nothing reached the server');
    });
  });

  // The products restore with the reference's Restore, which reads up to the end of the tar:
  // a damaged gzip trailer after it does not stop them, so it does not stop raftsnap either.
  test('restore of a whole archive whose gzip trailer is damaged: sent with a warning', async () => {
    await withTempDir(async (dir) => {
      const out = savedTo(dir, 'consul', 'c.snap');
      const bytes = readFileSync(out);
      bytes[bytes.length - 8] ^= 1; // the CRC-32 in the trailer
      writeFileSync(out, bytes);
      const v = run(['verify', out]);
      assert.equal(v.code, 1);
      assert.match(
        v.stderr,
        /^error: gzip: invalid checksum\nnote: .* so this does not stop one\.\n$/,
      );
      const before = await cluster.dump((await cluster.waitLeader()).id);
      await cluster.putKeys({ 'after-damaged-save': 'x' });
      const r = run(['restore', '--to', 'consul', '--addr', leaderUrl, '--token', TOKEN, out]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr,
        `warning: ${out}: after the end of the archive: gzip: invalid checksum; sending it all the same: the product's restore reads the archive only up to its end (raftsnap verify rejects the file)\n`,
      );
      await cluster.waitForState(before);
    });
  });

  test('a corrupt file is refused before anything reaches the server', async () => {
    await withTempDir(async (dir) => {
      const out = savedTo(dir, 'nomad', 'c.snap');
      const bytes = readFileSync(out);
      bytes[bytes.length >> 1] ^= 0x08;
      writeFileSync(out, bytes);
      const count = async () =>
        (await cluster.status()).nodes.reduce((n, s) => n + s.restoreRequests, 0);
      const before = await count();
      const r = run(['restore', '--to', 'nomad', '--addr', leaderUrl, '--token', TOKEN, out]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: .*\nnote: nothing was sent to Nomad\n$/);
      assert.equal(await count(), before, 'the corrupt archive reached the server');
    });
  });

  test('kill -9 during save leaves no OUT; the stale temporary file is recognisable and cleaned by the next run', async () => {
    await withTempDir(async (dir) => {
      const out = join(dir, 'k.snap');
      const slow = await proxy(leaderUrl, { bytesPerTick: 4096 });
      const p = spawnAsync(['save', '--from', 'consul', '--addr', slow.url, '--token', TOKEN, out]);
      try {
        await waitFor(async () => (await listDir(dir)).some((n) => n.includes('.raftsnap-')));
        p.child.kill('SIGKILL');
        await p.done;
      } finally {
        slow.close();
      }
      const left = await listDir(dir);
      assert.ok(!left.includes('k.snap'));
      assert.ok(
        left.every((n) => /^\.k\.snap\.raftsnap-[0-9a-f]{8}-\d+-[0-9a-f]{12}\.tmp$/.test(n)),
        left.join(','),
      );
      const r = run(['save', '--from', 'consul', '--addr', leaderUrl, '--token', TOKEN, out]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await listDir(dir), ['k.snap']);
    });
  });
});

describe('no partial files on local faults', { timeout: 120_000 }, () => {
  const state = pseudoRandom(40 << 20, 99);
  const metaJson =
    '{"Version":1,"ID":"x","Index":7,"Term":1,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":1,"Size":0}\n';

  /** Writes DIR/meta.json and DIR/state.bin (`bytes`); returns `create`'s arguments up to -o. */
  function createInputs(dir: string, bytes: Uint8Array = state): string[] {
    writeFileSync(join(dir, 'meta.json'), metaJson);
    writeFileSync(join(dir, 'state.bin'), bytes);
    return ['create', '--meta', join(dir, 'meta.json'), '--state', join(dir, 'state.bin')];
  }

  /** Mounts a fresh tmpfs at DIR/mnt with `mountOpts` (root only) for `use`, then unmounts it. */
  async function onTmpfs<T>(dir: string, mountOpts: string, use: (mnt: string) => Promise<T>) {
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', mountOpts, 'tmpfs', mnt]);
    assert.equal(m.status, 0, `mounting a tmpfs needs root: ${m.stderr}`);
    try {
      return await use(mnt);
    } finally {
      spawnSync('umount', [mnt]);
    }
  }

  test('kill -9 during create and during extract leaves no OUT', async () => {
    await withTempDir(async (dir) => {
      const create = createInputs(dir);
      const outDir = join(dir, 'out');
      mkdirSync(outDir);
      const out = join(outDir, 'new.snap');
      const p = spawnAsync([...create, '-o', out, '--level', '9']);
      await waitFor(async () => (await listDir(outDir)).length > 0);
      p.child.kill('SIGKILL');
      await p.done;
      assert.ok(!existsSync(out));
      // A complete archive to extract, then kill the extraction.
      assert.equal(run([...create, '-o', out, '--level', '1']).code, 0);
      const x = join(dir, 'x');
      const e = spawnAsync(['extract', out, x]);
      await waitFor(async () => existsSync(x) && (await listDir(x)).length > 0);
      e.child.kill('SIGKILL');
      await e.done;
      const left = await listDir(x);
      assert.ok(
        !left.includes('state.bin'),
        `extract was killed mid-way but state.bin exists: ${left}`,
      );
      assert.ok(
        left.every((n) =>
          /^\.(state\.bin|meta\.json)\.raftsnap-[0-9a-f]{8}-\d+-[0-9a-f]{12}\.tmp$/.test(n),
        ),
        left.join(','),
      );
      // The next run in that directory removes what the killed one left.
      assert.equal(run(['extract', out, x]).code, 0);
      assert.deepEqual(await listDir(x), ['meta.json', 'state.bin']);
    });
  });

  /**
   * Runs `raftsnap create` with OUT on a fresh tmpfs mounted with `mountOpts` (root only), and
   * returns the result with what the tmpfs holds afterwards.
   */
  async function createOnTmpfs(mountOpts: string, stateBytes: Uint8Array, extra: string[] = []) {
    return withTempDir(async (dir) => {
      const create = createInputs(dir, stateBytes);
      return onTmpfs(dir, mountOpts, async (mnt) => {
        const r = run([...create, '-o', join(mnt, 'o.snap'), ...extra]);
        return { r, left: await listDir(mnt) };
      });
    });
  }

  test('a full disk (ENOSPC on a small tmpfs): the error names OUT and what to do, no partial file', async () => {
    const { r, left } = await createOnTmpfs('size=1m', state, ['--level', '0']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^error: failed to write snapshot file: cannot write \S+o\.snap: the disk is full \(no space or no inodes left\); free space or choose another directory\n$/,
    );
    assert.deepEqual(left, []);
  });

  test('extract into a new directory on a read-only file system says so (not "no such file")', async () => {
    await withTempDir(async (dir) => {
      const snap = join(dir, 's.snap');
      assert.equal(run([...createInputs(dir, state.subarray(0, 1000)), '-o', snap]).code, 0);
      await onTmpfs(dir, 'ro,size=1m', async (mnt) => {
        const r = run(['extract', snap, join(mnt, 'a', 'b')]);
        assert.equal(r.code, 1);
        assert.equal(
          r.stderr,
          `error: cannot write to ${join(mnt, 'a', 'b')}: the file system is read-only; choose a writable directory\n`,
        );
      });
    });
  });

  test('SIGTERM and SIGINT during create: exit status 143 / 130 after removing the temporary file', async () => {
    await withTempDir(async (dir) => {
      const create = createInputs(dir);
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        const outDir = join(dir, sig);
        mkdirSync(outDir);
        const p = spawnAsync([...create, '-o', join(outDir, 'new.snap'), '--level', '9']);
        await waitFor(async () => (await listDir(outDir)).length > 0);
        p.child.kill(sig);
        const done = await p.done;
        // As a shell sees it: exit status 143 / 130 (killed by the signal, or its exit code).
        const status = done.code ?? 128 + constants.signals[done.signal as typeof sig];
        assert.equal(status, 128 + constants.signals[sig], done.stderr);
        assert.equal(done.stderr, `error: interrupted by ${sig}\n`);
        assert.deepEqual(await listDir(outDir), [], sig);
      }
    });
  });

  test('Ctrl-C while a restore is still verifying its input: the note says nothing was sent, and nothing was', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'r.snap');
      const r = run([...createInputs(dir, pseudoRandom(1 << 20, 8)), '-o', file]);
      assert.equal(r.code, 0, r.stderr);
      const whole = readFileSync(file);
      let requests = 0;
      const server = http.createServer((_req, res) => {
        requests++;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const p = spawnAsync(['restore', '--to', 'consul', '--addr', addr, '--token', 'x', '-']);
        // Half the archive, then silence. Written through a 64 KiB pipe, it has been read (the
        // command is verifying) once the write is done.
        await new Promise((resolve) =>
          p.child.stdin!.write(whole.subarray(0, 512 * 1024), resolve),
        );
        p.child.kill('SIGINT');
        const done = await p.done;
        assert.equal(done.code ?? 128 + constants.signals.SIGINT, 130, done.stderr);
        assert.equal(
          done.stderr,
          'error: interrupted by SIGINT\nnote: nothing was sent to Consul\n',
        );
        assert.equal(requests, 0);
      } finally {
        server.close();
      }
    });
  });

  test('Ctrl-C after the whole snapshot was sent, while the server restores it: a warning that it may still be restored', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'c.snap');
      const r = run([...createInputs(dir), '-o', file]);
      assert.equal(r.code, 0, r.stderr);
      const size = readFileSync(file).length;
      // A Consul that takes the whole upload and then restores for ever.
      let received = 0;
      const server = http.createServer((req) => {
        req.on('data', (c: Buffer) => {
          received += c.length;
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const p = spawnAsync(['restore', '--to', 'consul', '--addr', addr, '--token', 'x', file]);
        await waitFor(async () => received === size);
        p.child.kill('SIGINT');
        const done = await p.done;
        assert.equal(done.code ?? 128 + constants.signals.SIGINT, 130, done.stderr);
        assert.equal(
          done.stderr,
          `warning: ${file}: the whole snapshot had been sent to Consul when the restore was stopped, and it may still restore it: check it before restoring again\nerror: interrupted by SIGINT\n`,
        );
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });

  test('on a terminal the progress line keeps moving: a stalled download says for how long no data came', async () => {
    // A server that sends a few KiB of a snapshot and then nothing.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(Buffer.alloc(4096, 0x1f));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await withTempDir(async (dir) => {
        const line = [
          process.execPath,
          cli,
          'save',
          '--from',
          'consul',
          '--addr',
          addr,
          '--token',
          'x',
          '--timeout',
          '3500ms',
          join(dir, 'out.snap'),
        ].join(' ');
        const r = await new Promise<string>((resolve) => {
          const c = spawn('script', ['-qec', line, '/dev/null']);
          let out = '';
          c.stdout.on('data', (b: Buffer) => {
            out += b;
          });
          c.on('close', () => resolve(out));
        });
        assert.match(r, /\rsaving from consul 4\.0 KiB, no data for [23]s\u001b\[K/);
        assert.match(r, /error: no data from Consul/);
        assert.deepEqual(await listDir(dir), []);
      });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a read-only directory: a clear error and no file', async () => {
    const { r, left } = await createOnTmpfs('ro,size=1m', state.subarray(0, 1000));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*read-only/i);
    assert.deepEqual(left, []);
  });
});

/**
 * A local proxy in front of `target` that forwards requests and relays responses, throttled to
 * `bytesPerTick` per 20 ms and cut abruptly after `dropAfter` bytes when given.
 */
async function proxy(target: string, opts: { dropAfter?: number; bytesPerTick?: number }) {
  const server = http.createServer((req, res) => {
    const up = http.request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        let sent = 0;
        upRes.on('data', (c: Buffer) => {
          if (opts.dropAfter !== undefined && sent + c.length > opts.dropAfter) {
            res.write(c.subarray(0, opts.dropAfter - sent));
            res.socket?.destroy();
            upRes.destroy();
            return;
          }
          sent += c.length;
          res.write(c);
          if (opts.bytesPerTick) {
            upRes.pause();
            setTimeout(() => upRes.resume(), Math.ceil((20 * c.length) / opts.bytesPerTick));
          }
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}

function spawnAsync(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (c) => {
    stderr += c;
  });
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>(
    (resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
    },
  );
  return { child, done };
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached in time');
}

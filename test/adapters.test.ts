/**
 * The product adapters (Consul, Vault, OpenBao, Nomad) against a real hashicorp/raft cluster (the
 * Go peer's product-shaped endpoints), plus unit-level cases against small local servers: TLS,
 * the https→http downgrade, a server's Digest, a server that echoes the token, defaults from the
 * environment.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  aesGcmSealer,
  consul,
  HttpError,
  isSnapshotError,
  nomad,
  openbao,
  parseKeyHex,
  type SnapshotService,
  type VaultOptions,
  vault,
  verify,
} from 'raftsnap';
import { durationMs } from '../src/adapters/env.js';
import { parseDuration } from '../src/cli/operator.js';
import { makeKeys, type RaftCluster, requirePeer, startCluster } from './support/raft-cluster.js';
import { withTempDir } from './support/temp.js';

await requirePeer();
const TOKEN = 's3cr3t-token-5f0c2a9e';
const SEAL_KEY = '8f'.repeat(32);
const sealer = aesGcmSealer(parseKeyHex(SEAL_KEY));

async function readAll(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Asserts that `p` rejects with an HttpError of `kind` whose message matches and hides TOKEN. */
async function rejectsHttp(
  p: Promise<unknown>,
  kind: HttpError['kind'],
  message?: RegExp,
): Promise<HttpError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof HttpError, `expected HttpError, got ${String(caught)}`);
  assert.ok(isSnapshotError(caught));
  assert.equal(caught.kind, kind, caught.message);
  if (message) assert.match(caught.message, message);
  assert.ok(!caught.message.includes(TOKEN), `the token leaked: ${caught.message}`);
  assert.ok(!String(caught.stack).includes(TOKEN), 'the token leaked into the stack');
  return caught;
}

interface Product {
  name: 'consul' | 'vault' | 'openbao' | 'nomad';
  tokenVar: string;
  /** The service configured only through the environment, as the product's CLI would be. */
  fromEnv(addr: string, token: string, extra?: Record<string, string>): SnapshotService;
  make(opts: VaultOptions): SnapshotService;
  sealed: boolean;
}

const PRODUCTS: Product[] = [
  {
    name: 'consul',
    tokenVar: 'CONSUL_HTTP_TOKEN',
    fromEnv: (addr, token, extra) =>
      consul({ env: { CONSUL_HTTP_ADDR: addr, CONSUL_HTTP_TOKEN: token, ...extra } }),
    make: (o) => consul(o),
    sealed: false,
  },
  {
    name: 'vault',
    tokenVar: 'VAULT_TOKEN',
    fromEnv: (addr, token, extra) =>
      vault({ env: { VAULT_ADDR: addr, VAULT_TOKEN: token, ...extra } }),
    make: (o) => vault(o),
    sealed: true,
  },
  {
    name: 'openbao',
    tokenVar: 'BAO_TOKEN',
    fromEnv: (addr, token, extra) =>
      openbao({ env: { BAO_ADDR: addr, BAO_TOKEN: token, ...extra } }),
    make: (o) => openbao(o),
    sealed: true,
  },
  {
    name: 'nomad',
    tokenVar: 'NOMAD_TOKEN',
    fromEnv: (addr, token, extra) =>
      nomad({ env: { NOMAD_ADDR: addr, NOMAD_TOKEN: token, ...extra } }),
    make: (o) => nomad(o),
    sealed: false,
  },
];

describe('product adapters against a real hashicorp/raft cluster', {
  timeout: 120_000,
}, () => {
  let cluster: RaftCluster;
  /** What the cluster holds now. */
  let state: Record<string, string>;

  before(async () => {
    cluster = await startCluster({ token: TOKEN, sealKeyHex: SEAL_KEY });
    state = makeKeys(1000);
    await cluster.putKeys(state);
    await cluster.waitForState(state);
  });

  after(async () => {
    await cluster?.stop();
  });

  async function counts(): Promise<{ requests: number; restores: number }> {
    const s = await cluster.status();
    return {
      requests: s.nodes.reduce((n, x) => n + x.restoreRequests, 0),
      restores: s.nodes.reduce((n, x) => n + x.restores, 0),
    };
  }

  async function change(tag: string): Promise<void> {
    const extra = makeKeys(50, tag);
    const renamed = Object.fromEntries(Object.entries(extra).map(([k, v]) => [`${tag}-${k}`, v]));
    await cluster.putKeys(renamed);
    state = { ...state, ...renamed };
  }

  for (const p of PRODUCTS) {
    test(`${p.name}: save streams an archive that verifies`, async () => {
      const leader = await cluster.waitLeader();
      const svc = p.fromEnv(leader.httpUrl, TOKEN);
      const bytes = await readAll(await svc.save());
      const meta = await verify(bytes, p.sealed ? { sealer } : {});
      assert.ok(meta.index > 0n);
      assert.equal(meta.configuration.servers?.length, 3);
      if (p.sealed) {
        await assert.rejects(
          verify(bytes, { sealer: aesGcmSealer(parseKeyHex('11'.repeat(32))) }),
          {
            code: 'SEAL',
          },
        );
      }
    });

    test(`${p.name}: restore round trip (all nodes back to the saved state)`, async () => {
      await withTempDir(async (dir) => {
        const leader = await cluster.waitLeader();
        const svc = p.fromEnv(leader.httpUrl, TOKEN);
        const file = join(dir, 'backup.snap');
        const info = await svc.saveFile(file, p.sealed ? { sealer } : {});
        assert.equal(info.sealed, p.sealed);
        const saved = { ...state };
        await change(`after-${p.name}`);
        await cluster.waitForState(state);
        const before = await counts();
        const meta = await svc.restore(file, p.sealed ? { sealer } : {});
        assert.equal(meta.index, info.meta.index);
        state = saved;
        await cluster.waitForState(state, ['n1', 'n2', 'n3']);
        const after = await counts();
        assert.equal(after.restores, before.restores + 1);
      });
    });

    test(`${p.name}: a wrong or missing token is a clear error without the token in it`, async () => {
      const leader = await cluster.waitLeader();
      const wrong = `${TOKEN}-wrong`;
      const hint = new RegExp(`permission denied: check the token \\(${p.tokenVar}`);
      const e1 = await rejectsHttp(
        p.fromEnv(leader.httpUrl, wrong).save(),
        'permission-denied',
        hint,
      );
      assert.equal(e1.status, 403);
      assert.ok(!e1.message.includes(wrong));
      await rejectsHttp(
        p.make({ addr: leader.httpUrl, env: {} }).save(),
        'permission-denied',
        hint,
      );
      await withTempDir(async (dir) => {
        const file = join(dir, 'ok.snap');
        await p.fromEnv(leader.httpUrl, TOKEN).saveFile(file);
        const before = await counts();
        await rejectsHttp(
          p.fromEnv(leader.httpUrl, wrong).restore(file),
          'permission-denied',
          hint,
        );
        assert.deepEqual(await counts(), before);
      });
    });

    test(`${p.name}: a corrupt or truncated file never reaches the server`, async () => {
      await withTempDir(async (dir) => {
        const leader = await cluster.waitLeader();
        const svc = p.fromEnv(leader.httpUrl, TOKEN);
        const good = await readAll(await svc.save());
        const flipped = good.slice();
        flipped[Math.floor(good.length * 0.7)] ^= 0x01;
        await writeFile(join(dir, 'flipped.snap'), flipped);
        await writeFile(join(dir, 'short.snap'), good.subarray(0, good.length - 100));
        const before = await counts();
        for (const name of ['flipped.snap', 'short.snap']) {
          await assert.rejects(svc.restore(join(dir, name)), (err: unknown) => {
            assert.ok(isSnapshotError(err), String(err));
            assert.ok(!(err instanceof HttpError), `${name}: the request was sent: ${err.message}`);
            assert.match(err.code, /^(GZIP|TAR|INTEGRITY|TRUNCATED)$/, `${name}: ${err.message}`);
            return true;
          });
        }
        // A stream input is checked the same way (spooled, verified, never sent).
        await assert.rejects(
          svc.restore(new Blob([flipped]).stream() as ReadableStream<Uint8Array>),
          (err: unknown) => {
            assert.ok(isSnapshotError(err), String(err));
            assert.ok(!(err instanceof HttpError), `stream: the request was sent: ${err.message}`);
            assert.match(err.code, /^(GZIP|TAR|INTEGRITY|TRUNCATED)$/, `stream: ${err.message}`);
            return true;
          },
        );
        assert.deepEqual(await counts(), before, 'no restore request reached any node');
        await cluster.waitForState(state);
      });
    });

    test(`${p.name}: a connection dropped mid-stream is an error, and saveFile leaves nothing`, async () => {
      await withTempDir(async (dir) => {
        const leader = await cluster.waitLeader();
        const svc = p.fromEnv(leader.httpUrl, TOKEN);
        const stream = await svc.save({ query: { drop_after: '1000' } });
        await rejectsHttp(
          readAll(stream),
          'connection',
          /closed before the end of the response \(after 1000 bytes\)/,
        );
        await rejectsHttp(
          svc.saveFile(join(dir, 'x.snap'), { query: { drop_after: '5000' } }),
          'connection',
        );
        assert.deepEqual(await readdir(dir), []);
      });
    });
  }

  test('vault: a standby answers 307 and the adapter follows it with the token (save and restore)', async () => {
    await withTempDir(async (dir) => {
      const leader = await cluster.waitLeader();
      const standby = (await cluster.followers())[0];
      const svc = vault({
        env: { VAULT_ADDR: standby.httpUrl, VAULT_TOKEN: TOKEN, VAULT_NAMESPACE: 'team-a' },
      });
      const file = join(dir, 'v.snap');
      await svc.saveFile(file, { sealer });
      let s = await cluster.status();
      const lead = s.nodes.find((n) => n.id === leader.id)!;
      assert.equal(lead.lastRequest?.path, '/v1/sys/storage/raft/snapshot');
      assert.equal(lead.lastRequest?.method, 'GET');
      assert.equal(lead.lastRequest?.namespace, 'team-a');

      const saved = { ...state };
      await change('standby');
      const before = s.nodes.find((n) => n.id === leader.id)!.restoreRequests;
      await svc.restore(file, { sealer });
      state = saved;
      await cluster.waitForState(state, ['n1', 'n2', 'n3']);
      s = await cluster.status();
      assert.equal(s.nodes.find((n) => n.id === leader.id)!.restoreRequests, before + 1);
      assert.equal(
        s.nodes.find((n) => n.id === standby.id)!.restoreRequests,
        0,
        'the standby only redirected',
      );
    });
  });

  test('vault: an archive without sealed sums is not sent for a non-forced restore (the server would refuse it); force uses snapshot-force', async () => {
    await withTempDir(async (dir) => {
      const leader = await cluster.waitLeader();
      const file = join(dir, 'consul.snap');
      await consul({ addr: leader.httpUrl, token: TOKEN }).saveFile(file);
      const saved = { ...state };
      await change('force');
      const svc = vault({ addr: leader.httpUrl, token: TOKEN });
      const before = await counts();
      await assert.rejects(svc.restore(file), (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'SEAL', String(err));
        assert.match(err.message, /no sealed sums \(SHA256SUMS\.sealed\).*nothing was sent/);
        return true;
      });
      assert.equal((await counts()).requests, before.requests, 'nothing reached the server');
      // What raftsnap spares the operator: the server refuses it.
      const res = await fetch(`${leader.httpUrl}/v1/sys/storage/raft/snapshot`, {
        method: 'POST',
        headers: { 'X-Vault-Token': TOKEN },
        body: await readFile(file),
      });
      assert.equal(res.status, 400);
      assert.match(await res.text(), /sealed hashes/);
      await svc.restore(file, { force: true });
      const s = await cluster.status();
      assert.equal(
        s.nodes.find((n) => n.id === leader.id)!.lastRequest?.path,
        '/v1/sys/storage/raft/snapshot-force',
      );
      state = saved;
      await cluster.waitForState(state, ['n1', 'n2', 'n3']);
    });
  });

  test("every product: an archive whose state.bin is not meta.json's Size long is not sent (Raft refuses it, and Vault would seal itself)", async () => {
    const { archiveWithMeta } = await import('./support/archive.js');
    const bytes = await archiveWithMeta(
      '{"Version":1,"ID":"2-9-1","Index":9,"Term":2,"Size":10}\n',
      new TextEncoder().encode(JSON.stringify({ a: 'MQ==' })),
    );
    const leader = await cluster.waitLeader();
    const before = await counts();
    for (const svc of [
      consul({ addr: leader.httpUrl, token: TOKEN }),
      nomad({ addr: leader.httpUrl, token: TOKEN }),
      vault({ addr: leader.httpUrl, token: TOKEN }),
    ]) {
      await assert.rejects(svc.restore(bytes, { force: true }), (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'RAFT', String(err));
        assert.match(
          err.message,
          /^state\.bin holds 12 bytes but meta\.json's Size is 10: Raft refuses to restore such a snapshot \(hashicorp\/raft: "size didn't match"\); nothing was sent to (Consul|Nomad|Vault)$/,
        );
        return true;
      });
    }
    assert.equal((await counts()).requests, before.requests, 'nothing reached the server');
    // What raftsnap spares the operator: hashicorp/raft refuses it.
    const res = await fetch(`${leader.httpUrl}/v1/snapshot`, {
      method: 'PUT',
      headers: { 'X-Consul-Token': TOKEN },
      body: Buffer.from(bytes),
    });
    assert.equal(res.status, 500);
    assert.match(await res.text(), /size didn't match \(12 != 10\)/);
  });

  test('consul and nomad: a follower forwards to the leader', async () => {
    const follower = (await cluster.followers())[0];
    for (const svc of [
      consul({ addr: follower.httpUrl, token: TOKEN }),
      nomad({ addr: follower.httpUrl, token: TOKEN }),
    ]) {
      await verify(await readAll(await svc.save()));
    }
  });

  test('restore from a pipe (a FIFO another process writes, as <(gpg -d …) gives): spooled, verified, restored', async () => {
    await withTempDir(async (dir) => {
      const leader = await cluster.waitLeader();
      const svc = consul({ addr: leader.httpUrl, token: TOKEN });
      const file = join(dir, 'c.snap');
      const info = await svc.saveFile(file);
      const saved = { ...state };
      await change('before-pipe-restore');
      await cluster.waitForState(state);
      const fifo = join(dir, 'pipe');
      await promisify(execFile)('mkfifo', [fifo]);
      const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', file, fifo]);
      const before = await counts();
      const meta = await svc.restore(fifo, { dir });
      assert.equal(meta.index, info.meta.index);
      state = saved;
      await cluster.waitForState(state, ['n1', 'n2', 'n3']);
      assert.equal((await counts()).restores, before.restores + 1);
      assert.equal(writer.exitCode ?? (await new Promise((r) => writer.once('exit', r))), 0);
      assert.deepEqual((await readdir(dir)).sort(), ['c.snap', 'pipe'], 'no temporary file left');
    });
  });

  test('a restore that outlasts timeoutMs fails with a timeout, and nothing is restored', async () => {
    await withTempDir(async (dir) => {
      const leader = await cluster.waitLeader();
      const file = join(dir, 'c.snap');
      await consul({ addr: leader.httpUrl, token: TOKEN }).saveFile(file);
      const before = await counts();
      const svc = consul({ addr: leader.httpUrl, token: TOKEN, timeoutMs: 400 });
      const err = await rejectsHttp(
        svc.restore(file, { query: { delay_ms: '1500' } }),
        'timeout',
        /within 400 ms/,
      );
      assert.equal(err.code, 'ABORTED');
      // Past the server's delay, when a restore that was still coming would have happened.
      await new Promise((r) => setTimeout(r, 2000));
      const after = await counts();
      assert.equal(after.requests, before.requests + 1);
      assert.equal(after.restores, before.restores);
      await cluster.waitForState(state);
    });
  });

  test('an aborted save errors the stream with ABORTED', async () => {
    const leader = await cluster.waitLeader();
    const ctl = new AbortController();
    const stream = await consul({ addr: leader.httpUrl, token: TOKEN }).save({
      signal: ctl.signal,
      query: { throttle: '20000' },
    });
    const reading = readAll(stream);
    setTimeout(() => ctl.abort(), 100);
    await assert.rejects(reading, (err: unknown) => isSnapshotError(err) && err.code === 'ABORTED');
  });
});

// ---- unit level: local servers -----------------------------------------------------------------

/**
 * A self-signed ECDSA certificate made by openssl into `dir` (cert.pem, key.pem) for the subject
 * alternative name `san` (e.g. `IP:127.0.0.1`, `DNS:vault.test`).
 */
async function opensslCert(
  dir: string,
  san: string,
): Promise<{ cert: string; key: string; certFile: string }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const [, name] = san.split(':');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=${san}`,
  ]);
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), certFile };
}

/** A self-signed certificate for 127.0.0.1: openssl if available, else built with node:crypto. */
async function selfSignedCert(dir: string): Promise<{ cert: string; key: string; how: string }> {
  if (process.env.RAFTSNAP_TEST_NO_OPENSSL !== '1') {
    try {
      const { cert, key } = await opensslCert(dir, 'IP:127.0.0.1');
      return { cert, key, how: 'openssl' };
    } catch {
      // fall through to node:crypto
    }
  }
  const { cert, key } = cryptoSelfSigned();
  await writeFile(join(dir, 'cert.pem'), cert);
  await writeFile(join(dir, 'key.pem'), key);
  return { cert, key, how: 'node:crypto' };
}

/** A minimal X.509 v3 self-signed ECDSA P-256 certificate (CN and SAN IP 127.0.0.1, CA:TRUE). */
function cryptoSelfSigned(): { cert: string; key: string } {
  const len = (n: number) =>
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  const tlv = (tag: number, ...parts: Buffer[]) => {
    const body = Buffer.concat(parts);
    return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
  };
  const seq = (...p: Buffer[]) => tlv(0x30, ...p);
  const oid = (dotted: string) => {
    const [a, b, ...rest] = dotted.split('.').map(Number);
    const bytes = [40 * a + b];
    for (const n of rest) {
      const enc = [n & 0x7f];
      for (let v = n >> 7; v > 0; v >>= 7) enc.unshift((v & 0x7f) | 0x80);
      bytes.push(...enc);
    }
    return tlv(0x06, Buffer.from(bytes));
  };
  const utc = (d: Date) =>
    tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-:T]/g, '')}Z`));
  const name = seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('127.0.0.1')))));
  const sigAlg = seq(oid('1.2.840.10045.4.3.2'));
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const ext = (id: string, value: Buffer, critical = false) =>
    seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, Buffer.from([0x01, 0x23, 0x45, 0x67])),
    sigAlg,
    name,
    seq(utc(new Date(now - 3_600_000)), utc(new Date(now + 2 * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(
      0xa3,
      seq(
        ext('2.5.29.19', seq(tlv(0x01, Buffer.from([0xff]))), true),
        ext('2.5.29.17', seq(tlv(0x87, Buffer.from([127, 0, 0, 1])))),
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return {
    cert: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/**
 * A SOCKS5 proxy (RFC 1928, user name and password by RFC 1929) that connects every host to
 * 127.0.0.1, records `user:pass host:port` for each CONNECT, and answers `reply` (0: success).
 */
async function socksServer(creds: { user: string; pass: string }) {
  const asked: string[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const state = { reply: 0 };
  let live = 0;
  const server = (await import('node:net')).createServer((client) => {
    sockets.add(client);
    // Live until the client closes its side (the end of its data) or the connection is gone.
    live++;
    let counted = true;
    const gone = () => {
      if (counted) live--;
      counted = false;
    };
    client.on('end', gone);
    client.on('close', gone);
    client.on('error', () => {});
    let buf = Buffer.alloc(0);
    let stage = 0;
    let who = '-';
    client.on('data', function onData(chunk: Buffer) {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (stage === 0 && buf.length >= 2 && buf.length >= 2 + buf[1]) {
          const methods = [...buf.subarray(2, 2 + buf[1])];
          buf = buf.subarray(2 + buf[1]);
          if (!methods.includes(2)) return void client.end(Buffer.of(5, 0xff));
          client.write(Buffer.of(5, 2));
          stage = 1;
        } else if (stage === 1 && buf.length >= 2 && buf.length >= 3 + buf[1] + buf[2 + buf[1]]) {
          const ulen = buf[1];
          const plen = buf[2 + ulen];
          const user = buf.subarray(2, 2 + ulen).toString();
          const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
          buf = buf.subarray(3 + ulen + plen);
          if (user !== creds.user || pass !== creds.pass) return void client.end(Buffer.of(1, 1));
          who = `${user}:${pass}`;
          client.write(Buffer.of(1, 0));
          stage = 2;
        } else if (stage === 2 && buf.length >= 5) {
          const type = buf[3];
          const len = type === 1 ? 4 : type === 4 ? 16 : 1 + buf[4];
          if (buf.length < 4 + len + 2) return;
          const host = type === 3 ? buf.subarray(5, 5 + buf[4]).toString() : `address-type-${type}`;
          const port = buf.readUInt16BE(4 + len);
          const rest = buf.subarray(4 + len + 2);
          asked.push(`${who} ${host}:${port}`);
          client.off('data', onData);
          if (state.reply !== 0)
            return void client.end(Buffer.of(5, state.reply, 0, 1, 0, 0, 0, 0, 0, 0));
          const up = connect(port, '127.0.0.1', () => {
            // As a proxy does: the server's close ends the client's connection too.
            up.on('close', () => client.destroy());
            client.write(Buffer.of(5, 0, 0, 1, 127, 0, 0, 1, 0, 0));
            if (rest.length) up.write(rest);
            up.pipe(client);
            client.pipe(up);
          });
          sockets.add(up);
          up.on('error', () => client.destroy());
          return;
        } else return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    asked,
    /** Client connections the client has not closed. */
    get live() {
      return live;
    },
    set reply(r: number) {
      state.reply = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Answers a save as the products do: the archive, with Nomad's `Digest: sha-256=…` header. */
function sendArchive(res: http.ServerResponse, archive: Uint8Array): void {
  res.setHeader('Digest', `sha-256=${createHash('sha256').update(archive).digest('base64')}`);
  res.end(archive);
}

/**
 * A valid archive made by raftsnap (no cluster needed), with sealed sums as Vault and OpenBao
 * write them (the other products' readers ignore them).
 */
/** An archive of `size` bytes of patterned state, stored (level 0): as large as the state. */
async function storedArchive(size: number): Promise<Buffer> {
  const { writeSnapshot, zeroMeta } = await import('raftsnap');
  const state = new Uint8Array(size).map((_, i) => (i * 2654435761) >>> 24);
  const meta = { ...zeroMeta(), version: 1, id: '2-9-1', index: 9n, term: 2n };
  meta.size = BigInt(state.length);
  const parts: Uint8Array[] = [];
  const sink = { write: (c: Uint8Array) => void parts.push(c.slice()) };
  await writeSnapshot(meta, state, sink, { level: 0 });
  return Buffer.concat(parts);
}

async function smallArchive({ sealed = true } = {}): Promise<Uint8Array> {
  const { writeSnapshot, zeroMeta } = await import('raftsnap');
  const state = new TextEncoder().encode(JSON.stringify({ a: 'MQ==' }));
  const meta = {
    ...zeroMeta(),
    version: 1,
    id: '2-9-1',
    index: 9n,
    term: 2n,
    size: BigInt(state.length),
  };
  const parts: Uint8Array[] = [];
  await writeSnapshot(
    meta,
    state,
    { write: (c: Uint8Array) => void parts.push(c.slice()) },
    sealed ? { sealer } : {},
  );
  return Buffer.concat(parts);
}

describe('adapters against local servers', { timeout: 30_000 }, () => {
  test('https→http downgrade is refused; the CA file, skip-verify and untrusted certificates', async (t) => {
    await withTempDir(async (dir) => {
      const { cert, key, how } = await selfSignedCert(dir);
      t.diagnostic(`certificate made with ${how}`);
      let plainHits = 0;
      const plain = http.createServer((req, res) => {
        plainHits++;
        req.resume();
        res.end();
      });
      const plainPort = await listen(plain);
      const archive = await smallArchive();
      const secure = https.createServer({ cert, key }, (req, res) => {
        if (req.method === 'GET' && req.url?.startsWith('/v1/operator/snapshot')) {
          sendArchive(res, archive);
          return;
        }
        res.writeHead(307, { Location: `http://127.0.0.1:${plainPort}${req.url}` });
        res.end();
      });
      const securePort = await listen(secure);
      try {
        const addr = `https://127.0.0.1:${securePort}`;
        const caFile = join(dir, 'cert.pem');
        const file = join(dir, 'a.snap');
        await writeFile(file, archive);
        const svc = vault({ addr, token: TOKEN, caFile, env: {} });
        await rejectsHttp(
          svc.save(),
          'redirect',
          /refusing to follow the redirect from https:\/\/127\.0\.0\.1:\d+.* to http:/,
        );
        await rejectsHttp(svc.restore(file), 'redirect', /refusing/);
        await rejectsHttp(
          vault({ addr, token: TOKEN, tlsSkipVerify: true, env: {} }).save(),
          'redirect',
        );
        await rejectsHttp(
          vault({ addr, token: TOKEN, env: {} }).save(),
          'tls',
          /not trusted.*VAULT_CACERT.*VAULT_SKIP_VERIFY=true/,
        );
        await rejectsHttp(
          vault({
            env: { VAULT_ADDR: addr, VAULT_TOKEN: TOKEN, VAULT_SKIP_VERIFY: 'true' },
          }).save(),
          'redirect',
        );
        assert.equal(plainHits, 0, 'nothing was sent over plain http');
        // TLS with the CA file works end to end.
        const bytes = await readAll(await nomad({ addr, token: TOKEN, caFile, env: {} }).save());
        assert.equal((await verify(bytes)).index, 9n);
      } finally {
        await close(secure);
        await close(plain);
      }
    });
  });

  test('vault and openbao: a snapshot without sealed sums is incomplete, as their own clients say: no file, the stream errors', async () => {
    await withTempDir(async (dir) => {
      const unsealed = await smallArchive({ sealed: false });
      const srv = http.createServer((_req, res) => sendArchive(res, unsealed));
      const port = await listen(srv);
      try {
        for (const make of [vault, openbao]) {
          const svc = make({ addr: `http://127.0.0.1:${port}`, token: TOKEN, env: {} });
          const incomplete = (err: unknown) => {
            assert.ok(isSnapshotError(err) && err.code === 'SEAL', String(err));
            assert.match(err.message, /sent a snapshot without sealed sums \(SHA256SUMS\.sealed\)/);
            return true;
          };
          await assert.rejects(svc.saveFile(join(dir, 'v.snap')), incomplete);
          assert.deepEqual(await readdir(dir), [], 'no file, no temporary file');
          await assert.rejects(readAll(await svc.save()), incomplete);
        }
        // Consul and Nomad write no sealed sums: the same archive is whole for them.
        const info = await consul({ addr: `127.0.0.1:${port}`, env: {} }).saveFile(
          join(dir, 'c.snap'),
        );
        assert.equal(info.sealed, false);
      } finally {
        await close(srv);
      }
    });
  });

  test('a server that ignores Expect: 100-continue gets the body within a short timeout (sooner than the usual 1 s wait)', async () => {
    const archive = await smallArchive();
    let got = 0;
    const srv = http.createServer(async (req, res) => {
      for await (const c of req) got += c.length;
      res.end();
    });
    // Waits for the body without sending 100 Continue, as some servers and proxies do.
    srv.on('checkExpectation', (req, res) => srv.emit('request', req, res));
    const port = await listen(srv);
    try {
      const svc = consul({ addr: `127.0.0.1:${port}`, env: {}, timeoutMs: 400 });
      assert.equal((await svc.restore(archive)).index, 9n);
      assert.equal(got, archive.length);
    } finally {
      await close(srv);
    }
  });

  test('a timeout beyond what a timer can hold (over 24.8 days, Infinity) waits for ever instead of failing at once or crashing; under a millisecond is 1 ms, not none', async () => {
    const { timerMs } = await import('../src/adapters/http.js');
    assert.equal(timerMs(undefined), 60_000);
    assert.equal(timerMs(0), 0);
    assert.equal(timerMs(0.2), 1);
    assert.equal(timerMs(2 ** 31 - 1), 2 ** 31 - 1);
    assert.equal(timerMs(2 ** 31), 0);
    assert.equal(timerMs(Number.POSITIVE_INFINITY), 0);
    for (const bad of [-1, Number.NaN, '5' as unknown as number]) {
      assert.throws(() => timerMs(bad), { code: 'INVALID_ARGUMENT' });
    }
    const archive = await smallArchive();
    const srv = http.createServer((_req, res) => {
      setTimeout(() => sendArchive(res, archive), 200);
    });
    const port = await listen(srv);
    try {
      for (const timeoutMs of [30 * 24 * 3600_000, Number.POSITIVE_INFINITY]) {
        const bytes = await readAll(
          await consul({ addr: `127.0.0.1:${port}`, env: {}, timeoutMs }).save(),
        );
        assert.equal(bytes.length, archive.length);
      }
      // As the products' variable gives it: 30 days.
      const env = { VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_CLIENT_TIMEOUT: '2592000' };
      assert.equal(
        (await readAll(await vault({ token: TOKEN, env }).save())).length,
        archive.length,
      );
    } finally {
      await close(srv);
    }
  });

  test('permission denied names where the token came from: the option, the variable, the file a variable names, ~/.vault-token', async () => {
    await withTempDir(async (dir) => {
      const srv = http.createServer((req, res) => {
        req.resume();
        res.writeHead(403);
        res.end('permission denied');
      });
      const port = await listen(srv);
      try {
        const addr = `127.0.0.1:${port}`;
        const tokenFile = join(dir, 'token');
        await writeFile(tokenFile, 'from-the-file-0123456789');
        const home = join(dir, 'home');
        await mkdir(home);
        await writeFile(join(home, '.vault-token'), 'from-home-0123456789');
        const cases: [SnapshotService, string][] = [
          [
            consul({
              addr,
              token: 'opt-0123456789abcdef',
              env: {},
              optionNames: { token: '--token' },
            }),
            '(--token)',
          ],
          [
            consul({ addr, env: { CONSUL_HTTP_TOKEN: 'var-0123456789abcdef' } }),
            '(CONSUL_HTTP_TOKEN or the token option)',
          ],
          [
            consul({
              addr,
              env: { CONSUL_HTTP_TOKEN: 'var-0123456789abcdef', CONSUL_HTTP_TOKEN_FILE: tokenFile },
            }),
            `in ${tokenFile} (CONSUL_HTTP_TOKEN_FILE)`,
          ],
          [
            vault({ addr: `http://${addr}`, env: { HOME: home } }),
            `in ${join(home, '.vault-token')} (or set VAULT_TOKEN or the token option)`,
          ],
          [consul({ addr, env: {} }), '(CONSUL_HTTP_TOKEN or the token option)'],
        ];
        for (const [svc, where] of cases) {
          const err = await rejectsHttp(svc.save(), 'permission-denied');
          assert.ok(
            err.message.startsWith(`permission denied: check the token ${where}; `),
            err.message,
          );
        }
      } finally {
        await close(srv);
      }
    });
  });

  test('a server or proxy that answers 417 to Expect: 100-continue gets the upload again without it', async () => {
    const archive = await smallArchive();
    const seen: { expect: boolean; bytes: number }[] = [];
    const srv = http.createServer(async (req, res) => {
      if (req.headers.expect) {
        seen.push({ expect: true, bytes: 0 });
        res.writeHead(417);
        res.end();
        return;
      }
      let bytes = 0;
      for await (const c of req) bytes += c.length;
      seen.push({ expect: false, bytes });
      res.end();
    });
    // Node's server answers Expect itself unless asked not to: let the handler see it.
    srv.on('checkExpectation', (req, res) => srv.emit('request', req, res));
    const port = await listen(srv);
    try {
      const sent: number[] = [];
      const meta = await consul({ addr: `127.0.0.1:${port}`, env: {} }).restore(archive, {
        onUploadProgress: (p) => {
          assert.equal(p.total, archive.length);
          sent.push(p.bytes);
        },
      });
      assert.equal(meta.index, 9n);
      // The upload is reported as it goes, to the whole archive.
      assert.equal(sent.at(-1), archive.length);
      assert.deepEqual(seen, [
        { expect: true, bytes: 0 },
        { expect: false, bytes: archive.length },
      ]);
    } finally {
      await close(srv);
    }
  });

  test('TLS: a server name that is an address is checked against the certificate and sent as no SNI (no warning)', async () => {
    await withTempDir(async (dir) => {
      const { certFile, ...tls } = await opensslCert(dir, 'IP:127.0.0.1');
      const archive = await smallArchive();
      let sni: string | false | null | undefined;
      const server = https.createServer(tls, (req, res) => {
        sni = (req.socket as import('node:tls').TLSSocket).servername;
        sendArchive(res, archive);
      });
      const port = await listen(server);
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on('warning', onWarning);
      try {
        const base = { token: TOKEN, caFile: certFile, env: {}, addr: `https://localhost:${port}` };
        const bytes = await readAll(await vault({ ...base, tlsServerName: '127.0.0.1' }).save());
        assert.equal((await verify(bytes)).index, 9n);
        assert.ok(!sni, `SNI sent: ${sni}`);
        await rejectsHttp(
          vault({ ...base, tlsServerName: '127.0.0.2' }).save(),
          'tls',
          /is not issued for 127\.0\.0\.2 \(it holds IP Address:127\.0\.0\.1\) \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
        );
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(warnings.map(String), []);
      } finally {
        process.off('warning', onWarning);
        await close(server);
      }
    });
  });

  test('TLS: the server name holds across a redirect to another host; each certificate failure says what to set', async () => {
    await withTempDir(async (dir) => {
      // A certificate for the name vault.test only (openssl: installed by .ci/run).
      const { certFile, ...tls } = await opensslCert(dir, 'DNS:vault.test');
      const archive = await smallArchive();
      const active = https.createServer(tls, (_req, res) => sendArchive(res, archive));
      const activePort = await listen(active);
      // A standby at 127.0.0.1 that sends clients to the active node by another host name.
      const standby = https.createServer(tls, (req, res) => {
        res.writeHead(307, { Location: `https://localhost:${activePort}${req.url}` });
        res.end();
      });
      const standbyPort = await listen(standby);
      const mtls = https.createServer(
        { ...tls, requestCert: true, rejectUnauthorized: true },
        (_q, res) => res.end(),
      );
      const mtlsPort = await listen(mtls);
      try {
        const base = { token: TOKEN, caFile: certFile, env: {} };
        const bytes = await readAll(
          await vault({
            ...base,
            addr: `https://127.0.0.1:${standbyPort}`,
            tlsServerName: 'vault.test',
          }).save(),
        );
        assert.equal((await verify(bytes)).index, 9n);
        // Consul's client drops a port from its server name (CONSUL_TLS_SERVER_NAME=host:port).
        const viaConsul = await consul({
          env: {
            CONSUL_HTTP_ADDR: `https://127.0.0.1:${activePort}`,
            CONSUL_HTTP_TOKEN: TOKEN,
            CONSUL_CACERT: certFile,
            CONSUL_TLS_SERVER_NAME: 'vault.test:8501',
          },
        }).save();
        assert.equal((await verify(await readAll(viaConsul))).index, 9n);
        await rejectsHttp(
          vault({ ...base, addr: `https://127.0.0.1:${activePort}` }).save(),
          'tls',
          /is not issued for 127\.0\.0\.1 \(it holds DNS:vault\.test\) \(ERR_TLS_CERT_ALTNAME_INVALID\): use an address with a name the certificate holds, or set VAULT_TLS_SERVER_NAME or the tlsServerName option to one$/,
        );
        // With a server name set, that is the name checked, and the one to change.
        await rejectsHttp(
          vault({
            ...base,
            addr: `https://127.0.0.1:${activePort}`,
            tlsServerName: 'wrong.test',
          }).save(),
          'tls',
          /is not issued for wrong\.test \(it holds DNS:vault\.test\) \(ERR_TLS_CERT_ALTNAME_INVALID\): set VAULT_TLS_SERVER_NAME or the tlsServerName option to a name the certificate holds$/,
        );
        // A CA file with no certificate in it is refused at once, as the products' clients do,
        // and one that does not vouch for the server is named.
        const notPem = join(dir, 'not-a-ca.json');
        await writeFile(notPem, '{"name":"raftsnap"}');
        assert.throws(
          () => vault({ ...base, caFile: notPem, addr: `https://127.0.0.1:${activePort}` }),
          {
            code: 'INVALID_ARGUMENT',
            message: `the CA certificate file ${notPem} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
          },
        );
        // A device given by mistake for any PEM file is refused after 16 MiB, not read for ever.
        const https127 = `https://127.0.0.1:${activePort}`;
        for (const [option, what] of [
          ['caFile', 'CA certificate'],
          ['certFile', 'client certificate'],
          ['keyFile', 'client key'],
        ] as const) {
          const both = { certFile: certFile, keyFile: certFile, [option]: '/dev/zero' };
          assert.throws(() => vault({ ...base, ...both, addr: https127 }), {
            code: 'INVALID_ARGUMENT',
            message: `the ${what} file /dev/zero holds more than 16 MiB: not PEM certificates or a key`,
          });
        }
        const stranger = await opensslCert(await mkdtemp(join(dir, 'stranger-')), 'DNS:vault.test');
        await rejectsHttp(
          vault({
            ...base,
            caFile: stranger.certFile,
            addr: `https://127.0.0.1:${activePort}`,
            tlsServerName: 'vault.test',
          }).save(),
          'tls',
          new RegExp(
            `is not trusted by the CA in ${stranger.certFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`,
          ),
        );
        // A certificate without its key (or the reverse) is refused, as Vault's client does.
        for (const half of [{ certFile }, { keyFile: certFile }]) {
          assert.throws(() => vault({ ...base, addr: `https://127.0.0.1:${mtlsPort}`, ...half }), {
            code: 'INVALID_ARGUMENT',
            message:
              'a client certificate needs its key: set both VAULT_CLIENT_CERT and VAULT_CLIENT_KEY (or the certFile option and the keyFile option)',
          });
        }
        await rejectsHttp(
          vault({
            ...base,
            addr: `https://127.0.0.1:${mtlsPort}`,
            tlsServerName: 'vault.test',
          }).save(),
          'tls',
          /refused the connection for want of a client certificate it trusts \(\w+\): set VAULT_CLIENT_CERT and VAULT_CLIENT_KEY/,
        );
      } finally {
        await close(standby);
        await close(active);
        await close(mtls);
      }
    });
  });

  test('a save follows 301, 302 and 303 as the Go clients do; a restore is not turned into a GET and names the target; a server that never accepts the connection times out as "cannot connect"', async () => {
    const archive = await smallArchive();
    const seen: string[] = [];
    const target = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-vault-token'] === TOKEN}`);
      sendArchive(res, archive);
    });
    const targetPort = await listen(target);
    let status = 301;
    const moved = http.createServer((req, res) => {
      req.resume();
      const to = req.method === 'GET' ? `127.0.0.1:${targetPort}` : 'vault.example:8200';
      res.writeHead(status, { Location: `http://${to}${req.url}` });
      res.end();
    });
    const port = await listen(moved);
    // A listening socket that accepts nothing, its backlog full: connecting to it hangs.
    const blackhole = spawn('python3', [
      '-c',
      [
        'import socket, sys, time',
        's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
        'fill = [socket.socket() for _ in range(4)]',
        '[c.setblocking(False) or c.connect_ex(s.getsockname()) for c in fill]',
        'print(s.getsockname()[1], flush=True); time.sleep(60)',
      ].join('\n'),
    ]);
    try {
      const svc = vault({ addr: `http://127.0.0.1:${port}`, token: TOKEN, env: {} });
      for (status of [301, 302, 303]) {
        assert.equal((await verify(await readAll(await svc.save()))).index, 9n);
      }
      assert.deepEqual(seen, Array(3).fill('GET /v1/sys/storage/raft/snapshot true'));
      status = 301;
      await rejectsHttp(
        svc.restore(archive),
        'redirect',
        /redirects to http:\/\/vault\.example:8200\/v1\/sys\/storage\/raft\/snapshot with 301, which is not followed \(only 307 and 308 keep the method and body\): use that address \(VAULT_ADDR or the addr option\)$/,
      );
      assert.equal(seen.length, 3, 'the restore was not sent on as a GET');
      const hole = await new Promise<string>((resolve, reject) => {
        blackhole.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        blackhole.once('error', reject);
      });
      const started = Date.now();
      await rejectsHttp(
        vault({ addr: `http://127.0.0.1:${hole}`, token: TOKEN, timeoutMs: 500, env: {} }).save(),
        'timeout',
        /^cannot connect to Vault at http:\/\/127\.0\.0\.1:\d+\/v1\/sys\/storage\/raft\/snapshot within 500 ms \(check VAULT_ADDR or the addr option\)$/,
      );
      assert.ok(Date.now() - started < 5000, 'the timeout covered connecting');
    } finally {
      blackhole.kill();
      await close(moved);
      await close(target);
    }
  });

  test('HTTPS_PROXY / HTTP_PROXY: a CONNECT tunnel for https, the absolute URL for http; NO_PROXY and loopback go direct', async () => {
    await withTempDir(async (dir) => {
      // A certificate for vault.test: the name resolves nowhere, only the proxy knows where it is.
      const { certFile, ...tls } = await opensslCert(dir, 'DNS:vault.test');
      const archive = await smallArchive();
      const seenTokens: (string | undefined)[] = [];
      const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
        seenTokens.push((req.headers['x-vault-token'] ?? req.headers['x-consul-token']) as string);
        sendArchive(res, archive);
      };
      const secure = https.createServer(tls, serve);
      const securePort = await listen(secure);
      const plain = http.createServer(serve);
      const plainPort = await listen(plain);
      // The proxy: every host is 127.0.0.1 to it; it records what it was asked for.
      const asked: string[] = [];
      const proxy = http.createServer((req, res) => {
        asked.push(`${req.method} ${req.url} auth=${req.headers['proxy-authorization'] ?? ''}`);
        const u = new URL(req.url ?? '/');
        const up = http.request(
          {
            host: '127.0.0.1',
            port: u.port,
            path: u.pathname + u.search,
            method: req.method,
            headers: req.headers,
          },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        req.pipe(up);
      });
      // Tunnels leave the server's books once open: closed here at the end.
      const tunnels: Duplex[] = [];
      proxy.on('connect', (req, client, head) => {
        tunnels.push(client);
        asked.push(`CONNECT ${req.url} auth=${req.headers['proxy-authorization'] ?? ''}`);
        const port = Number((req.url ?? '').split(':').pop());
        const up = connect(port, '127.0.0.1', () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          up.write(head);
          up.pipe(client);
          client.pipe(up);
        });
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
      });
      const proxyPort = await listen(proxy);
      try {
        const viaProxy = {
          HTTPS_PROXY: `http://u:p%40ss@127.0.0.1:${proxyPort}`,
          http_proxy: `127.0.0.1:${proxyPort}`,
        };
        const v = vault({
          addr: `https://vault.test:${securePort}`,
          token: TOKEN,
          caFile: certFile,
          env: viaProxy,
        });
        assert.equal((await verify(await readAll(await v.save()))).index, 9n);
        const c = consul({
          addr: `http://consul.test:${plainPort}`,
          token: TOKEN,
          datacenter: 'dc2',
          env: viaProxy,
        });
        assert.equal((await verify(await readAll(await c.save()))).index, 9n);
        assert.deepEqual(asked, [
          `CONNECT vault.test:${securePort} auth=Basic ${Buffer.from('u:p@ss').toString('base64')}`,
          `GET http://consul.test:${plainPort}/v1/snapshot?dc=dc2 auth=`,
        ]);
        assert.deepEqual(
          seenTokens,
          [TOKEN, TOKEN],
          'the token reached the server, through the tunnel',
        );
        // Direct: a NO_PROXY host (here it then cannot be resolved) and loopback addresses.
        asked.length = 0;
        await rejectsHttp(
          vault({
            addr: `https://vault.test:${securePort}`,
            token: TOKEN,
            caFile: certFile,
            env: { ...viaProxy, NO_PROXY: 'example.com,.test' },
          }).save(),
          'connection',
          /cannot resolve the host of Vault at https:\/\/vault\.test/,
        );
        await readAll(
          await consul({
            addr: `http://127.0.0.1:${plainPort}`,
            token: TOKEN,
            env: viaProxy,
          }).save(),
        );
        assert.deepEqual(asked, []);
        // A proxy that refuses: the message names it (not its password).
        proxy.removeAllListeners('connect');
        proxy.on('connect', (_req, client) => {
          tunnels.push(client);
          client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        });
        const refused = await rejectsHttp(
          v.save(),
          'connection',
          /through the proxy http:\/\/127\.0\.0\.1:\d+\/? \(HTTPS_PROXY; NO_PROXY lists hosts to reach directly\): the proxy answered 403/,
        );
        assert.ok(!refused.message.includes('p%40ss') && !refused.message.includes('p@ss'));
        // 407 comes from the proxy, never from the product: said so, with what to do, for a
        // tunnel and for a forwarded request, with credentials in the URL and without.
        proxy.removeAllListeners('connect');
        proxy.on('connect', (_req, client) => {
          tunnels.push(client);
          client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
        });
        proxy.removeAllListeners('request');
        proxy.on('request', (_req, res) => {
          res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="corp"' });
          res.end('{"errors":["Permission denied"]}');
        });
        const withCredentials = await rejectsHttp(
          v.save(),
          'connection',
          /through the proxy http:\/\/127\.0\.0\.1:\d+\/? \(HTTPS_PROXY; [^)]*\): the proxy answered 407 \(Proxy Authentication Required\) to CONNECT vault\.test:\d+: it refused the user name and password in the proxy URL$/,
        );
        assert.ok(!withCredentials.message.includes('p@ss'));
        const forwarded407 = await rejectsHttp(
          c.save(),
          'connection',
          /^cannot reach Consul at http:\/\/consul\.test:\d+\S* through the proxy http:\/\/127\.0\.0\.1:\d+\/? \(HTTP_PROXY; [^)]*\): it answered 407 \(Proxy Authentication Required\) to GET consul\.test:\d+: it wants a user name and password: give them in the proxy URL \(http:\/\/USER:PASSWORD@127\.0\.0\.1:\d+\)$/,
        );
        assert.equal(forwarded407.status, 407);
        // Without a proxy, a 407 is the server's answer like any other status.
        await rejectsHttp(
          consul({ addr: `http://127.0.0.1:${proxyPort}`, token: TOKEN, env: {} }).save(),
          'client-error',
          /answered 407/,
        );
      } finally {
        for (const t of tunnels) t.destroy();
        await close(proxy);
        await close(secure);
        await close(plain);
      }
    });
  });

  test('socks5:// and https:// proxies: SOCKS5 CONNECT with the name for the proxy to resolve, TLS to an https proxy with the same trust as the server', async () => {
    await withTempDir(async (dir) => {
      // One certificate for vault.test (the server) and 127.0.0.1 (the https proxy), trusted as
      // the server's CA: Go's clients check an https proxy with the server's TLS settings.
      const { certFile, ...tls } = await opensslCert(dir, 'DNS:vault.test,IP:127.0.0.1');
      const archive = await smallArchive();
      const seenTokens: string[] = [];
      const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
        seenTokens.push(String(req.headers['x-vault-token'] ?? req.headers['x-consul-token']));
        sendArchive(res, archive);
      };
      const secure = https.createServer(tls, serve);
      const securePort = await listen(secure);
      const plain = http.createServer(serve);
      const plainPort = await listen(plain);
      const socks = await socksServer({ user: 'op', pass: 'p@ss' });
      // The https proxy: CONNECT tunnels, and requests forwarded by their absolute URL.
      const asked: string[] = [];
      const tunnels: Duplex[] = [];
      const httpsProxy = https.createServer(tls, (req, res) => {
        asked.push(`${req.method} ${req.url}`);
        const u = new URL(req.url ?? '/');
        const up = http.request(
          { host: '127.0.0.1', port: u.port, path: u.pathname + u.search, headers: req.headers },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        req.pipe(up);
      });
      httpsProxy.on('connect', (req, client) => {
        tunnels.push(client);
        asked.push(`CONNECT ${req.url}`);
        const up = connect(Number((req.url ?? '').split(':').pop()), '127.0.0.1', () => {
          client.write('HTTP/1.1 200 Connection established\r\n\r\n');
          up.pipe(client);
          client.pipe(up);
        });
        up.on('error', () => client.destroy());
        client.on('error', () => up.destroy());
      });
      const httpsProxyPort = await listen(httpsProxy);
      try {
        const throughSocks = {
          HTTPS_PROXY: `socks5://op:p%40ss@127.0.0.1:${socks.port}`,
          HTTP_PROXY: `socks5://op:p%40ss@127.0.0.1:${socks.port}`,
        };
        const v = (env: Record<string, string>) =>
          vault({ addr: `https://vault.test:${securePort}`, token: TOKEN, caFile: certFile, env });
        const c = (env: Record<string, string>) =>
          consul({ addr: `http://consul.test:${plainPort}`, token: TOKEN, caFile: certFile, env });
        assert.equal((await verify(await readAll(await v(throughSocks).save()))).index, 9n);
        assert.equal((await verify(await readAll(await c(throughSocks).save()))).index, 9n);
        // The proxy was given the names (it resolves them), and the credentials.
        assert.deepEqual(socks.asked, [
          `op:p@ss vault.test:${securePort}`,
          `op:p@ss consul.test:${plainPort}`,
        ]);
        const throughHttps = {
          HTTPS_PROXY: `https://127.0.0.1:${httpsProxyPort}`,
          HTTP_PROXY: `https://127.0.0.1:${httpsProxyPort}`,
        };
        assert.equal((await verify(await readAll(await v(throughHttps).save()))).index, 9n);
        assert.equal((await verify(await readAll(await c(throughHttps).save()))).index, 9n);
        assert.deepEqual(asked, [
          `CONNECT vault.test:${securePort}`,
          `GET http://consul.test:${plainPort}/v1/snapshot`,
        ]);
        assert.deepEqual(seenTokens, [TOKEN, TOKEN, TOKEN, TOKEN]);

        // An IPv6 server through a tunnel: its certificate is checked for the address.
        const v6 = await opensslCert(await mkdtemp(join(dir, 'v6-')), 'IP:2001:db8::1');
        const secure6 = https.createServer(v6, serve);
        const secure6Port = await listen(secure6);
        try {
          const save6 = vault({
            addr: `https://[2001:db8::1]:${secure6Port}`,
            token: TOKEN,
            caFile: v6.certFile,
            env: throughSocks,
          }).save();
          assert.equal((await verify(await readAll(await save6))).index, 9n);
        } finally {
          await close(secure6);
        }
        // Failures in setting up a request over a tunnel end at once, the tunnel closed: an
        // unusable client key (for the https proxy's TLS), a header Node cannot send.
        const garbage = join(dir, 'garbage.pem');
        await writeFile(garbage, 'not a key');
        for (const [env, extra] of [
          [throughHttps, { certFile, keyFile: garbage }],
          [throughSocks, { certFile, keyFile: garbage }],
          [throughSocks, { token: 'bad\u0001token' }],
        ] as const) {
          const started = Date.now();
          await assert.rejects(
            vault({
              addr: `https://vault.test:${securePort}`,
              token: TOKEN,
              caFile: certFile,
              timeoutMs: 10_000,
              env,
              ...extra,
            }).save(),
          );
          assert.ok(Date.now() - started < 3000, 'the failure waited for the timeout');
        }
        // No tunnel was left open by those failures.
        for (const end = Date.now() + 2000; socks.live > 0 && Date.now() < end; ) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(socks.live, 0, 'a tunnel was left open');
        // An https proxy whose certificate the server's CA does not vouch for is refused.
        const other = await opensslCert(await mkdtemp(join(dir, 'other-')), 'DNS:elsewhere.test');
        await rejectsHttp(
          vault({
            addr: `https://vault.test:${securePort}`,
            token: TOKEN,
            caFile: other.certFile,
            env: throughHttps,
          }).save(),
          'connection',
          /through the proxy https:\/\/127\.0\.0\.1:\d+\/? \(HTTPS_PROXY; NO_PROXY lists hosts to reach directly\): .*certificate/i,
        );
        // SOCKS5 refusals say what the proxy said.
        await rejectsHttp(
          v({ HTTPS_PROXY: `socks5://op:wrong@127.0.0.1:${socks.port}` }).save(),
          'connection',
          /through the proxy socks5:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY; .*\): the SOCKS5 proxy refused the user name and password$/,
        );
        await rejectsHttp(
          v({ HTTPS_PROXY: `socks5://127.0.0.1:${socks.port}` }).save(),
          'connection',
          /the SOCKS5 proxy requires authentication \(put the user name and password in the URL\)$/,
        );
        socks.reply = 5;
        await rejectsHttp(
          c(throughSocks).save(),
          'connection',
          /through the proxy socks5:\/\/127\.0\.0\.1:\d+ \(HTTP_PROXY; .*\): the SOCKS5 proxy answered CONNECT consul\.test:\d+ with connection refused$/,
        );
        // A proxy that takes the connection and says nothing: the timeout, or an abort, ends
        // the handshake, and the connection is closed.
        const silent = (await import('node:net')).createServer();
        const held = new Set<import('node:net').Socket>();
        silent.on('connection', (c) => {
          held.add(c);
          c.on('close', () => held.delete(c));
          c.resume();
        });
        await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
        const quiet = `socks5://127.0.0.1:${(silent.address() as AddressInfo).port}`;
        try {
          const started = Date.now();
          await rejectsHttp(
            vault({
              addr: `https://vault.test:${securePort}`,
              token: TOKEN,
              timeoutMs: 300,
              env: { HTTPS_PROXY: quiet },
            }).save(),
            'timeout',
            /^cannot reach Vault at .* through the proxy socks5:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY; .*\) within 300 ms$/,
          );
          const ctl = new AbortController();
          setTimeout(() => ctl.abort(), 200);
          await rejectsHttp(
            vault({
              addr: `https://vault.test:${securePort}`,
              token: TOKEN,
              timeoutMs: 0,
              env: { HTTPS_PROXY: quiet },
            }).save({ signal: ctl.signal }),
            'aborted',
            /aborted/,
          );
          assert.ok(Date.now() - started < 3000, 'the timeout or the abort was not honoured');
          for (const end = Date.now() + 2000; held.size > 0 && Date.now() < end; ) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          assert.equal(held.size, 0, 'the connection to the proxy was left open');
        } finally {
          for (const c of held) c.destroy();
          silent.close();
        }
      } finally {
        for (const t of tunnels) t.destroy();
        await socks.close();
        await close(httpsProxy);
        await close(secure);
        await close(plain);
      }
    });
  });

  test("the server's words on one line, with what to do: no leader (stale), another cluster's seal (force)", async () => {
    const archive = await smallArchive();
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.method === 'GET' && !req.url?.includes('stale')) {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('No cluster leader\n');
      } else if (req.method === 'GET') {
        sendArchive(res, archive);
      } else {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            errors: [
              '1 error occurred:\n\t* failed to open the sealed hashes: cipher: message authentication failed\n\n',
            ],
          }),
        );
      }
    });
    const port = await listen(server);
    try {
      const addr = `http://127.0.0.1:${port}`;
      for (const svc of [consul, nomad]) {
        await rejectsHttp(
          svc({ addr, token: TOKEN, env: {} }).save(),
          'server-error',
          /answered 500 when saving the snapshot: No cluster leader; any server can answer with stale \(raftsnap save --stale\)$/,
        );
        await verify(await readAll(await svc({ addr, token: TOKEN, env: {}, stale: true }).save()));
      }
      await rejectsHttp(
        vault({ addr, token: TOKEN, env: {} }).restore(archive),
        'client-error',
        /answered 400 when restoring the snapshot: 1 error occurred: \* failed to open the sealed hashes: cipher: message authentication failed; a snapshot of another cluster \(sealed by another seal\) is restored with force \(snapshot-force; raftsnap restore --force\)$/,
      );
    } finally {
      await close(server);
    }
  });

  test('restore uploads exactly the verified file, and cuts the upload short if it changes', async () => {
    // More than the sockets between here and the server hold, so that the upload waits for the
    // server, which stops reading until the file has changed.
    const archive = await storedArchive(16 * 1024 * 1024 + 4321);
    await withTempDir(async (dir) => {
      const file = join(dir, 'a.snap');
      await writeFile(file, archive);
      let onFirstData: (() => Promise<void>) | undefined;
      const received: Buffer[] = [];
      const server = http.createServer((req, res) => {
        let first = true;
        req.on('data', (c: Buffer) => {
          received.push(c);
          if (first && onFirstData) {
            req.pause();
            void onFirstData().then(() => req.resume());
          }
          first = false;
        });
        req.on('end', () => res.end());
      });
      const port = await listen(server);
      try {
        const svc = consul({ addr: `http://127.0.0.1:${port}`, env: {} });
        assert.equal((await svc.restore(file)).index, 9n);
        assert.ok(Buffer.concat(received).equals(archive), 'the server got the verified bytes');

        // The file's tail changes (same size) once the upload has begun.
        received.length = 0;
        const changed = Buffer.from(archive);
        for (let i = changed.length - 100; i < changed.length; i++) changed[i] ^= 0xff;
        onFirstData = () => writeFile(file, changed);
        await assert.rejects(svc.restore(file), (err: unknown) => {
          assert.ok(isSnapshotError(err));
          assert.equal(err.code, 'INTEGRITY');
          assert.match(err.message, /changed after it was verified; the upload was cut short/);
          return true;
        });
        assert.ok(Buffer.concat(received).length < archive.length, 'the upload was cut short');
      } finally {
        await close(server);
      }
    });
  });

  test('a restore whose upload stalls part way times out saying the server did not get it all (not that it may restore it)', async () => {
    // More than the sockets between here and the server hold.
    const archive = await storedArchive(24 * 1024 * 1024);
    // A server that stops reading the upload at once and never answers.
    const server = http.createServer((req) => req.pause());
    const port = await listen(server);
    try {
      const svc = consul({ addr: `http://127.0.0.1:${port}`, timeoutMs: 500, env: {} });
      const err = await rejectsHttp(
        svc.restore(archive),
        'timeout',
        /^no response from Consul at .* within 500 ms .*\(the upload stalled after \d+ of \d+ bytes: the server did not get the whole request\)$/,
      );
      assert.doesNotMatch(err.message, /may still complete/);
    } finally {
      server.closeAllConnections();
      await close(server);
    }
  });

  test('a wrong Digest, an archive that ends cleanly but early, an HTML page, 404, a reset, and a server echoing the token', async () => {
    const archive = await smallArchive();
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/v1/operator/snapshot') {
        res.setHeader('Digest', 'sha-256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
        res.end(archive);
      } else if (url.searchParams.has('short')) {
        res.end(archive.subarray(0, archive.length - 30));
      } else if (url.searchParams.has('html')) {
        // A login page or a proxy's, answered 200 where a snapshot was asked for.
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html><body>Sign in</body></html>');
      } else if (url.pathname.startsWith('/v1/sys/')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end('{"errors":["no handler for route \\"sys/storage/raft/snapshot\\""]}');
      } else if (url.searchParams.has('reset')) {
        req.socket.destroy();
      } else if (url.searchParams.has('long')) {
        // The token where the message is cut to 500 characters.
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end(`${'x'.repeat(480)} token=${req.headers['x-consul-token']} more`);
      } else {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end(`ACL not found for token ${req.headers['x-consul-token']}`);
      }
    });
    const port = await listen(server);
    try {
      const addr = `http://127.0.0.1:${port}`;
      await assert.rejects(readAll(await nomad({ addr, env: {} }).save()), (err: unknown) => {
        assert.ok(isSnapshotError(err));
        assert.equal(err.code, 'INTEGRITY');
        assert.match(err.message, /checksum mismatch: Nomad at .* sent Digest sha-256=AAAA/);
        return true;
      });
      await assert.rejects(
        readAll(await consul({ addr, env: {} }).save({ query: { short: '1' } })),
        (err: unknown) => {
          assert.ok(isSnapshotError(err) && !(err instanceof HttpError), String(err));
          return true;
        },
      );
      // What is not a snapshot is named, with where it came from and what the server said it was.
      await assert.rejects(
        readAll(await consul({ addr, env: {} }).save({ query: { html: '1' } })),
        (err: unknown) => {
          assert.ok(isSnapshotError(err) && err.code === 'GZIP', String(err));
          assert.match(
            err.message,
            /^the snapshot Consul at http:\/\/127\.0\.0\.1:\d+\/v1\/snapshot sent is invalid \(its Content-Type is text\/html: not a snapshot\): failed to decompress snapshot: gzip: invalid header$/,
          );
          return true;
        },
      );
      await withTempDir(async (dir) => {
        const out = join(dir, 'short.snap');
        await assert.rejects(consul({ addr, env: {} }).saveFile(out, { query: { short: '1' } }));
        assert.equal(existsSync(out), false);
        assert.deepEqual(await readdir(dir), []);
      });
      const nf = await rejectsHttp(
        vault({ addr, token: TOKEN, env: {} }).save(),
        'not-found',
        /not found: Vault at .* has no GET \/v1\/sys\/storage\/raft\/snapshot .*: no handler for route "sys\/storage\/raft\/snapshot"/,
      );
      assert.equal(nf.status, 404);
      await rejectsHttp(
        consul({ addr, token: TOKEN, env: {} }).save({ query: { reset: '1' } }),
        'connection',
        /the connection to Consul at .* was reset while saving the snapshot/,
      );
      const err = await rejectsHttp(
        consul({ addr, token: TOKEN, env: {} }).save(),
        'permission-denied',
      );
      assert.match(err.message, /ACL not found for token <redacted>/);
      // Hidden before the cut, not after: no part of it shows.
      const cut = await rejectsHttp(
        consul({ addr, token: TOKEN, env: {} }).save({ query: { long: '1' } }),
        'permission-denied',
      );
      assert.ok(!cut.message.includes(TOKEN.slice(0, 8)), cut.message);
      assert.match(cut.message, / token=<redac/);
    } finally {
      await close(server);
    }
  });

  test('defaults and settings from the environment; connection refused names the variable', async () => {
    assert.equal(consul({ env: {} }).addr, 'http://127.0.0.1:8500');
    assert.equal(
      consul({ env: { CONSUL_HTTP_ADDR: 'consul.internal:8501', CONSUL_HTTP_SSL: 'true' } }).addr,
      'https://consul.internal:8501',
    );
    // As Consul's client: once CONSUL_HTTP_SSL asks for TLS, an http:// address is https too.
    assert.equal(
      consul({ env: { CONSUL_HTTP_ADDR: 'http://consul.internal:8501', CONSUL_HTTP_SSL: '1' } })
        .addr,
      'https://consul.internal:8501',
    );
    assert.equal(vault({ env: {} }).addr, 'https://127.0.0.1:8200');
    assert.equal(openbao({ env: {} }).addr, 'https://127.0.0.1:8200');
    // Vault's, OpenBao's and Nomad's clients cannot use an address without a scheme: refused
    // rather than taken as http, which would send the token in clear text.
    for (const [make, variable] of [
      [vault, 'VAULT_ADDR'],
      [openbao, 'BAO_ADDR'],
      [nomad, 'NOMAD_ADDR'],
    ] as const) {
      assert.throws(() => make({ env: { [variable]: 'u:secret@10.0.0.3:8200' } }), {
        code: 'INVALID_ARGUMENT',
        message: new RegExp(
          `^the \\w+ address \\(${variable} or the addr option\\) "…@10\\.0\\.0\\.3:8200" has no scheme: write https://…@10\\.0\\.0\\.3:8200 or http://`,
        ),
      });
    }
    assert.equal(nomad({ env: {} }).addr, 'http://127.0.0.1:4646');
    assert.equal(
      nomad({ env: { NOMAD_ADDR: 'http://user:pw@10.0.0.1:4646' } }).addr,
      'http://10.0.0.1:4646',
    );
    assert.equal(
      vault({ addr: 'http://10.0.0.2:8200', env: { VAULT_ADDR: 'http://ignored:1' } }).addr,
      'http://10.0.0.2:8200',
    );
    assert.throws(() => vault({ env: { VAULT_SKIP_VERIFY: 'maybe' } }), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => vault({ env: { VAULT_CLIENT_TIMEOUT: 'soon' } }), {
      code: 'INVALID_ARGUMENT',
    });
    assert.throws(() => consul({ addr: 'unix:///var/run/consul.sock', env: {} }), {
      code: 'INVALID_ARGUMENT',
    });
    // An address that is not a URL is shown as given, without what could be credentials.
    assert.throws(() => consul({ addr: 'not a url', env: {} }), {
      code: 'INVALID_ARGUMENT',
      message: 'invalid address "not a url": expected scheme://host[:port] or host:port',
    });
    assert.throws(() => nomad({ addr: 'http://user:s3cret@bad host:1', env: {} }), {
      code: 'INVALID_ARGUMENT',
      message: 'invalid address "http://…@bad host:1": expected scheme://host[:port] or host:port',
    });
    assert.throws(
      () => consul({ env: { CONSUL_HTTP_TOKEN_FILE: '/nonexistent/token' } }),
      (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'INVALID_ARGUMENT');
        assert.match(err.message, /CONSUL_HTTP_TOKEN_FILE/);
        return true;
      },
    );

    // A port nothing listens on.
    const s = http.createServer();
    const port = await listen(s);
    await close(s);
    await rejectsHttp(
      consul({ env: { CONSUL_HTTP_ADDR: `127.0.0.1:${port}`, CONSUL_HTTP_TOKEN: TOKEN } }).save(),
      'connection',
      /cannot connect to Consul at http:\/\/127\.0\.0\.1:\d+\/v1\/snapshot: connection refused \(check CONSUL_HTTP_ADDR or the addr option\)$/,
    );
    // A command line names its flags instead.
    await rejectsHttp(
      consul({ addr: `127.0.0.1:${port}`, env: {}, optionNames: { addr: '--addr' } }).save(),
      'connection',
      /connection refused \(check CONSUL_HTTP_ADDR or --addr\)$/,
    );

    // The token file is read and sent, even when CONSUL_HTTP_TOKEN is set too: Consul's client
    // uses the file whenever one is named.
    await withTempDir(async (dir) => {
      let seen: string | undefined;
      const srv = http.createServer((req, res) => {
        seen = req.headers['x-consul-token'] as string | undefined;
        res.writeHead(500);
        res.end('boom: no leader');
      });
      const p = await listen(srv);
      try {
        await writeFile(join(dir, 'token'), `${TOKEN}\n`);
        const svc = consul({
          env: {
            CONSUL_HTTP_ADDR: `127.0.0.1:${p}`,
            CONSUL_HTTP_TOKEN: 'the-variable-token',
            CONSUL_HTTP_TOKEN_FILE: join(dir, 'token'),
          },
        });
        await rejectsHttp(
          svc.save(),
          'server-error',
          /answered 500 when saving the snapshot: boom: no leader/,
        );
        assert.equal(seen, TOKEN);
        // An empty file gives no token: the variable's is sent, as Consul's client does.
        await writeFile(join(dir, 'empty'), '\n');
        const fallback = consul({
          env: {
            CONSUL_HTTP_ADDR: `127.0.0.1:${p}`,
            CONSUL_HTTP_TOKEN: 'the-variable-token',
            CONSUL_HTTP_TOKEN_FILE: join(dir, 'empty'),
          },
        });
        await rejectsHttp(fallback.save(), 'server-error');
        assert.equal(seen, 'the-variable-token');
        // A device or a huge file named by mistake is refused after 64 KiB, not read for ever.
        assert.throws(
          () =>
            consul({
              env: { CONSUL_HTTP_ADDR: `127.0.0.1:${p}`, CONSUL_HTTP_TOKEN_FILE: '/dev/zero' },
            }),
          {
            code: 'INVALID_ARGUMENT',
            message:
              'the token file /dev/zero (CONSUL_HTTP_TOKEN_FILE) holds more than 64 KiB: not a token',
          },
        );
      } finally {
        await close(srv);
      }
    });
  });

  test("Vault's and OpenBao's ~/.vault-token when no variable gives a token; VAULT_CAPATH, a tree of CAs", async () => {
    await withTempDir(async (dir) => {
      const { cert, key } = await selfSignedCert(dir);
      const archive = await smallArchive();
      let seen: string | undefined;
      const srv = https.createServer({ cert, key }, (req, res) => {
        seen = req.headers['x-vault-token'] as string | undefined;
        sendArchive(res, archive);
      });
      const port = await listen(srv);
      try {
        const home = join(dir, 'home');
        const cas = join(dir, 'cas');
        await mkdir(home);
        await mkdir(cas);
        await writeFile(
          join(home, '.vault-token'),
          `${TOKEN}
`,
        );
        await writeFile(
          join(cas, 'other.pem'),
          (await selfSignedCert(await mkdtemp(join(dir, 'x-')))).cert,
        );
        // In a subdirectory: the products' Go clients (rootcerts) walk the whole tree.
        await mkdir(join(cas, 'sub'));
        await writeFile(join(cas, 'sub', 'ours.pem'), cert);
        const env = { VAULT_ADDR: `https://127.0.0.1:${port}`, VAULT_CAPATH: cas, HOME: home };
        assert.equal((await verify(await readAll(await vault({ env }).save()))).index, 9n);
        assert.equal(seen, TOKEN);
        // VAULT_TOKEN comes first; OpenBao's `bao login` writes the same file.
        await readAll(await vault({ env: { ...env, VAULT_TOKEN: `${TOKEN}-env` } }).save());
        assert.equal(seen, `${TOKEN}-env`);
        await readAll(
          await openbao({ env: { BAO_ADDR: env.VAULT_ADDR, BAO_CAPATH: cas, HOME: home } }).save(),
        );
        assert.equal(seen, TOKEN);
        // Without the CA directory the certificate is not trusted.
        await rejectsHttp(
          vault({ env: { ...env, VAULT_CAPATH: undefined } }).save(),
          'tls',
          /not trusted/,
        );
      } finally {
        await close(srv);
      }
    });
  });
});

test("proxyFor: which requests go through a proxy, by Go's ProxyFromEnvironment rules", async () => {
  const { proxyFor } = await import('../src/adapters/proxy.js');
  const via = (url: string, env: Record<string, string>) => proxyFor(new URL(url), env)?.host;
  const env = { HTTPS_PROXY: 'proxy:3128', HTTP_PROXY: 'http://web-proxy:8080' };
  assert.equal(via('https://vault.corp:8200', env), 'proxy:3128');
  assert.equal(via('http://consul.corp:8500', env), 'web-proxy:8080');
  assert.equal(via('https://vault.corp', { https_proxy: 'lower:1' }), 'lower:1');
  assert.equal(
    via('https://vault.corp', { HTTPS_PROXY: 'upper:1', https_proxy: 'lower:1' }),
    'upper:1',
  );
  for (const local of ['https://localhost:8200', 'https://127.0.0.9', 'https://[::1]:8200']) {
    assert.equal(via(local, env), undefined, local);
  }
  const bypass = (noProxy: string, url: string) =>
    via(url, { ...env, NO_PROXY: noProxy }) === undefined;
  assert.ok(bypass('*', 'https://anything.example'));
  assert.ok(bypass('corp', 'https://vault.corp'));
  assert.ok(bypass('vault.corp', 'https://vault.corp'));
  assert.ok(!bypass('.vault.corp', 'https://vault.corp'));
  assert.ok(bypass('.corp', 'https://a.vault.corp'));
  assert.ok(!bypass('ault.corp', 'https://vault.corp'));
  assert.ok(bypass('10.0.0.0/8', 'https://10.1.2.3:8200'));
  assert.ok(!bypass('10.0.0.0/8', 'https://11.1.2.3:8200'));
  assert.ok(bypass('10.1.2.3', 'https://10.1.2.3:8200'));
  assert.ok(bypass('vault.corp:8200', 'https://vault.corp:8200'));
  assert.ok(!bypass('vault.corp:8201', 'https://vault.corp:8200'));
  assert.ok(bypass('other, vault.corp', 'https://vault.corp'));
  // As Go's httpproxy: `*.` as a leading dot, IPv6 ranges and addresses by value, IDNA names,
  // IPv4-mapped loopback.
  assert.ok(bypass('*.corp', 'https://vault.corp'));
  assert.ok(!bypass('*.vault.corp', 'https://vault.corp'));
  assert.ok(bypass('2001:db8::/32', 'https://[2001:db8::1]:8200'));
  assert.ok(bypass('2001:db8:0:0::1', 'https://[2001:db8::1]:8200'));
  assert.ok(bypass('[2001:db8::1]:8200', 'https://[2001:db8::1]:8200'));
  assert.ok(bypass('bücher.example', 'https://vault.bücher.example'));
  assert.equal(via('https://[::ffff:127.0.0.1]:8200', env), undefined);
  // The schemes Go's Transport takes (and socks5h, as curl names a proxy that resolves names).
  assert.equal(via('https://vault.corp', { HTTPS_PROXY: 'socks5://p:1080' }), 'p:1080');
  assert.equal(via('https://vault.corp', { HTTPS_PROXY: 'socks5h://p' }), 'p');
  assert.equal(via('http://consul.corp', { HTTP_PROXY: 'https://p' }), 'p');
  assert.throws(() => via('https://vault.corp', { HTTPS_PROXY: 'http://u:50%off@p:3128' }), {
    code: 'INVALID_ARGUMENT',
    message:
      "HTTPS_PROXY: the proxy's user name or password has a % not followed by two hex digits (write % as %25)",
  });
  assert.throws(() => via('https://vault.corp', { HTTPS_PROXY: 'socks5://:secret@p' }), {
    code: 'INVALID_ARGUMENT',
    message: 'HTTPS_PROXY: a SOCKS5 password needs a user name',
  });
  assert.throws(() => via('https://vault.corp', { HTTPS_PROXY: 'ftp://p:21' }), {
    code: 'INVALID_ARGUMENT',
    message:
      'HTTPS_PROXY: ftp:// proxies are not supported (http://, https:// and socks5:// are); list vault.corp in NO_PROXY to reach it directly',
  });
});

test("durations as the products' clients take them, for --timeout and the timeout variables alike: Go durations or plain seconds", () => {
  for (const [text, ms] of [
    ['90', 90_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1s500ms', 1500],
    ['1.5h', 5_400_000],
    ['1.1s', 1100],
    ['0', 0],
    ['0s', 0],
    // Under a millisecond but not none (0 would mean no timeout at all).
    ['1ns', 1],
    ['100us', 1],
    ['0.0001', 1],
  ] as const) {
    assert.equal(durationMs(text), ms, text);
    assert.equal(parseDuration(text), ms, text);
  }
  for (const bad of ['', '1x', '1m 30s', 'm', '-1s']) {
    assert.equal(durationMs(bad), undefined, bad);
    assert.throws(() => parseDuration(bad), /^UsageError: --timeout must be a duration like/);
  }
});

test('redaction hides a token where it stands alone, and leaves words that merely contain a short one', async () => {
  const { HttpClient } = await import('../src/adapters/http.js');
  const redact = (secret: string, s: string) =>
    new HttpClient({ addr: 'https://vault.test:8200', secrets: [secret] }).redact(s);
  assert.equal(
    redact('t', 'cannot reach Vault at https://vault.test:8200: token t is not valid'),
    'cannot reach Vault at https://vault.test:8200: token <redacted> is not valid',
  );
  assert.equal(
    redact('root', 'cannot read /root/.vault-token; token "root" rejected'),
    'cannot read /<redacted>/.vault-token; token "<redacted>" rejected',
  );
  const token = 'hvs.CAESIJ-x_1+y';
  assert.equal(redact(token, `permission denied (${token})`), 'permission denied (<redacted>)');
  assert.equal(redact(`${token}-and-more`, `token ${token}-and-morex`), 'token <redacted>x');
  assert.equal(redact('s3cr', 'its3cr s3cr'), 'its3cr <redacted>');
  // Punctuation next to it does not keep a short one from being hidden, an underscore included.
  assert.equal(
    redact('root', 'token root. is not valid; tried root-root'),
    'token <redacted>. is not valid; tried <redacted>-<redacted>',
  );
  assert.equal(
    redact('Xy7kQ2pL', 'invalid token: Xy7kQ2pL_expired (session_Xy7kQ2pL)'),
    'invalid token: <redacted>_expired (session_<redacted>)',
  );
  // A token given with whitespace around it (a variable, an option) reaches the server without
  // it (HTTP trims header values): that form is hidden too.
  const uuid = '0b8d3f2a-1c4e-4f5a-9b7c-6d5e4f3a2b1c';
  assert.equal(redact(`${uuid}\t`, `token ${uuid} is invalid`), 'token <redacted> is invalid');
  assert.equal(redact(' Xy7kQ2pL ', 'token "Xy7kQ2pL"'), 'token "<redacted>"');
});

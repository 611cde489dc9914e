/**
 * Disaster recovery end to end against a real hashicorp/raft cluster (the Go peer in
 * test/peers/hashicorp-raft): raftsnap's archives judged by Go's readers and restored into fresh
 * clusters, Go's archives judged and restored by raftsnap, corrupt archives refused before
 * anything reaches Raft, a leader killed during a save, a restore past its deadline, and a node
 * that catches up after a restore.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  consul,
  extract,
  inspect,
  isSnapshotError,
  restore,
  Snapshot,
  type SnapshotMeta,
  verify,
  writeSnapshot,
} from 'raftsnap';
import { gzipMemberLengths } from './support/bytes.js';
import {
  makeKeys,
  type RaftCluster,
  raftOverBridge,
  requirePeer,
  startCluster,
} from './support/raft-cluster.js';
import { withTempDir } from './support/temp.js';

await requirePeer();

/** The FSM state as the Go peer persists it: JSON of map[string][]byte (values base64). */
function goState(kv: Record<string, string>): Uint8Array {
  const sorted = Object.keys(kv).sort();
  const obj: Record<string, string> = {};
  for (const k of sorted) obj[k] = Buffer.from(kv[k]).toString('base64');
  return new TextEncoder().encode(JSON.stringify(obj));
}

async function bytesOfStream(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Restore counters summed over the cluster. */
async function restoreCounts(c: RaftCluster): Promise<{ requests: number; restores: number }> {
  const s = await c.status();
  return {
    requests: s.nodes.reduce((n, x) => n + x.restoreRequests, 0),
    restores: s.nodes.reduce((n, x) => n + x.restores, 0),
  };
}

describe('disaster recovery on a real hashicorp/raft cluster', { timeout: 120_000 }, () => {
  const kv = makeKeys(10_000);
  let source: RaftCluster;
  let freshA: RaftCluster;
  let freshB: RaftCluster;

  before(async () => {
    [source, freshA, freshB] = await Promise.all([startCluster(), startCluster(), startCluster()]);
    await source.putKeys(kv);
    await source.waitForState(kv);
  });

  after(async () => {
    await Promise.all([source?.stop(), freshA?.stop(), freshB?.stop()]);
  });

  test("Snapshot.create over the bridge → Go's Consul-shaped PUT restores it into a fresh cluster", async () => {
    const leader = await source.waitLeader();
    let closes = 0;
    const snap = await Snapshot.create(raftOverBridge(leader.httpUrl, { onClose: () => closes++ }));
    try {
      assert.equal(closes, 1, 'the Raft snapshot was closed exactly once');
      const meta = await verify(snap.path);
      assert.equal(meta.index, snap.index);
      assert.deepEqual(
        meta.configuration.servers?.map((s) => s.id),
        ['n1', 'n2', 'n3'],
      );
      const target = await freshA.waitLeader();
      const res = await fetch(`${target.httpUrl}/v1/snapshot`, {
        method: 'PUT',
        body: await readFile(snap.path),
      });
      assert.equal(res.status, 200, await res.text());
      await freshA.waitForState(kv, ['n1', 'n2', 'n3']);
      assert.equal((await restoreCounts(freshA)).restores, 1);
    } finally {
      await snap.close();
    }
  });

  test("an archive of several gzip members (create's blocks, state over 2 MiB) → Go's PUT restores it", async () => {
    const cluster = await startCluster();
    try {
      // Some 3 MiB of state: at least two blocks, so at least two members (on Node the default
      // engine writes one per block with libdeflate).
      const big = makeKeys(1_500, 'x'.repeat(2_000));
      await cluster.putKeys(big, 500);
      await cluster.waitForState(big);
      const leader = await cluster.waitLeader();
      const snap = await Snapshot.create(raftOverBridge(leader.httpUrl));
      try {
        const archive = await readFile(snap.path);
        const members = gzipMemberLengths(archive).length;
        assert.ok(members >= 2, `${members} member(s)`);
        await cluster.putKeys(makeKeys(10, 'changed'));
        const res = await fetch(`${leader.httpUrl}/v1/snapshot`, { method: 'PUT', body: archive });
        assert.equal(res.status, 200, await res.text());
        await cluster.waitForState(big, ['n1', 'n2', 'n3']);
      } finally {
        await snap.close();
      }
    } finally {
      await cluster.stop();
    }
  });

  test("Go's Vault-shaped GET archive → raftsnap verify/inspect/extract → restore over the bridge into a fresh cluster", async () => {
    const leader = await source.waitLeader();
    const res = await fetch(`${leader.httpUrl}/v1/sys/storage/raft/snapshot`);
    assert.equal(res.status, 200);
    const archive = new Uint8Array(await res.arrayBuffer());

    const meta = await verify(archive);
    const info = await inspect(archive);
    assert.equal(info.meta.index, meta.index);
    assert.equal(info.sealed, false);
    assert.equal(info.archiveSize, archive.length);
    assert.equal(info.stateSize, meta.size);

    await withTempDir(async (dir) => {
      await extract(archive, join(dir, 'out'));
      const state = JSON.parse(await readFile(join(dir, 'out', 'state.bin'), 'utf8')) as Record<
        string,
        string
      >;
      assert.equal(Object.keys(state).length, 10_000);
      assert.equal(Buffer.from(state.key00042, 'base64').toString(), kv.key00042);
      const file = join(dir, 'vault.snap');
      await writeFile(file, archive);
      const target = await freshB.waitLeader();
      const restored = await restore(file, raftOverBridge(target.httpUrl), { dir });
      assert.equal(restored.index, meta.index);
      assert.deepEqual(await readdir(dir), ['out', 'vault.snap'], 'no temporary file left');
    });
    await freshB.waitForState(kv, ['n1', 'n2', 'n3']);
  });

  test('a corrupt or truncated archive is refused before anything reaches Raft; the cluster is unchanged', async () => {
    const leader = await source.waitLeader();
    const good = await bytesOfStream((await fetch(`${leader.httpUrl}/v1/snapshot`)).body!);
    const flipped = good.slice();
    flipped[Math.floor(flipped.length / 2)] ^= 0x55;
    const truncated = good.slice(0, Math.floor(good.length * 0.6));
    const target = await freshA.waitLeader();
    const before = await restoreCounts(freshA);

    const cases = [
      ['flipped byte', flipped],
      ['truncated', truncated],
    ] as const;
    for (const [name, bad] of cases) {
      await withTempDir(async (dir) => {
        await assert.rejects(
          restore(bad, raftOverBridge(target.httpUrl), { dir }),
          (err: unknown) => {
            assert.ok(isSnapshotError(err), `${name}: ${String(err)}`);
            assert.match(
              err.code,
              /^(GZIP|TAR|INTEGRITY|TRUNCATED|META)$/,
              `${name}: ${err.code} ${err.message}`,
            );
            return true;
          },
        );
        assert.deepEqual(await readdir(dir), [], `${name}: no temporary file left`);
      });
      assert.deepEqual(await restoreCounts(freshA), before, `${name}: nothing reached the cluster`);
    }
    // Go's reader refuses them as well (the request arrives; no restore happens).
    for (const [name, bad] of cases) {
      const res = await fetch(`${target.httpUrl}/v1/snapshot`, { method: 'PUT', body: bad });
      assert.equal(res.status, 400, `${name}: Go accepted a bad archive`);
      assert.match(await res.text(), /failed to read snapshot/);
    }
    const after = await restoreCounts(freshA);
    assert.equal(after.restores, before.restores, 'no restore happened');
    await freshA.waitForState(kv, ['n1', 'n2', 'n3']);
  });

  test('a restore that exceeds timeoutMs fails cleanly and restores nothing', async () => {
    const target = await freshB.waitLeader();
    const leader = await source.waitLeader();
    const archive = await bytesOfStream((await fetch(`${leader.httpUrl}/v1/snapshot`)).body!);
    const before = await restoreCounts(freshB);
    await withTempDir(async (dir) => {
      const started = Date.now();
      await assert.rejects(
        restore(archive, raftOverBridge(target.httpUrl, { restoreDelayMs: 1500 }), {
          timeoutMs: 300,
          dir,
        }),
        (err: unknown) => {
          assert.ok(isSnapshotError(err), String(err));
          assert.equal(err.code, 'ABORTED');
          assert.match(err.message, /timed out after 300 ms/);
          return true;
        },
      );
      assert.ok(Date.now() - started < 3000, 'the deadline was honoured');
      assert.deepEqual(await readdir(dir), [], 'no temporary file left');
    });
    // Past the bridge's delay, when a restore that was still coming would have happened.
    await new Promise((r) => setTimeout(r, 2500));
    const after = await restoreCounts(freshB);
    assert.equal(after.requests, before.requests + 1, 'the request reached the bridge');
    assert.equal(after.restores, before.restores, 'but nothing was restored');
    await freshB.waitForState(kv, ['n1', 'n2', 'n3']);
  });

  test('a node stopped before a restore catches up to the restored state when it restarts', async () => {
    const target = await freshA.waitLeader();
    const follower = (await freshA.followers())[0];
    await freshA.stopNode(follower.id);

    // A state written by raftsnap itself: the Go FSM's JSON, under a meta taken from the cluster.
    const kv2 = makeKeys(2_000, 'restored');
    const state = goState(kv2);
    const base = (await raftOverBridge(target.httpUrl).snapshot()) as {
      meta: SnapshotMeta;
      close(): unknown;
    };
    await base.close();
    const meta: SnapshotMeta = { ...base.meta, size: BigInt(state.length) };
    const parts: Uint8Array[] = [];
    await writeSnapshot(meta, state, { write: (c: Uint8Array) => void parts.push(c.slice()) });
    const archive = Buffer.concat(parts);

    await restore(archive, raftOverBridge(target.httpUrl));
    const up = (await freshA.status()).nodes.filter((n) => n.up).map((n) => n.id);
    await freshA.waitForState(kv2, up);

    await freshA.startNode(follower.id);
    await freshA.waitForState(kv2, ['n1', 'n2', 'n3']);
    const s = await freshA.status();
    assert.ok(s.nodes.every((n) => n.up));
  });

  test('the leader killed during a save: a clear error and no output', async () => {
    await withTempDir(async (dir) => {
      // raftsnap's Snapshot.create over a throttled bridge.
      const leader = await source.waitLeader();
      let closes = 0;
      let received = 0;
      let killed: Promise<string> | undefined;
      const creating = Snapshot.create(
        raftOverBridge(leader.httpUrl, {
          snapshotQuery: { throttle: '50000' },
          onClose: () => closes++,
        }),
        {
          dir,
          onProgress: (p) => {
            received = p.bytes;
            if (received > 10_000) killed ??= source.killLeader();
          },
        },
      );
      await assert.rejects(creating, (err: unknown) => {
        assert.ok(isSnapshotError(err), String(err));
        assert.match(err.message, /closed before the end of the response|reset/);
        return true;
      });
      assert.equal(await killed, leader.id);
      assert.equal(closes, 1, 'the Raft snapshot was closed exactly once');
      assert.deepEqual(await readdir(dir), [], 'no output');

      // A product save to a file: the same, through the Consul adapter.
      await source.startNode(leader.id);
      const leader2 = await source.waitLeader();
      // hashicorp/raft 1.1.2 refuses a user snapshot ("nothing new to snapshot") on a node whose
      // FSM has applied no entry since it started, which the restarted node may be: apply one.
      const current = { ...kv, 'after-restart': 'yes' };
      await source.putKeys({ 'after-restart': 'yes' });
      await source.waitForState(current, ['n1', 'n2', 'n3']);
      const out = join(dir, 'consul.snap');
      let killer: Promise<string> | undefined;
      const saving = consul({ addr: leader2.httpUrl }).saveFile(out, {
        query: { throttle: '50000' },
        onProgress: (p) => {
          if (p.bytes > 5000) killer ??= source.killLeader();
        },
      });
      await assert.rejects(saving, (err: unknown) => {
        assert.ok(isSnapshotError(err), String(err));
        assert.match(
          err.message,
          /the connection to Consul at http:\/\/127\.0\.0\.1:\d+\/v1\/snapshot closed before the end of the response/,
        );
        return true;
      });
      assert.equal(await killer, leader2.id);
      assert.deepEqual(await readdir(dir), [], 'no output file, no temporary file');
      await source.startNode(leader2.id);
      await source.waitForState(current, ['n1', 'n2', 'n3']);
    });
  });
});

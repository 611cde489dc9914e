/**
 * SHA-256 on hashing threads (src/node/hash-thread.ts): the digests are node:crypto's whatever
 * the chunking, concurrent hashes keep their bytes apart, threads are reused, and neither an
 * idle nor an abandoned thread keeps a process alive or lives on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { isSnapshotError, verify } from 'raftsnap';
import type { HashState } from '../src/engines/sha256.js';
import { writeArchive } from '../src/format/archive.js';
import { encodeMeta, zeroMeta } from '../src/format/meta.js';
import { HASH_RING } from '../src/node/hash-ring.js';
import {
  changed,
  hashThreadCount,
  hashThreadsAvailable,
  OFFLOAD_MIN,
  offloadedHashCount,
  RECHECK_MS,
  threadedHash,
} from '../src/node/hash-thread.js';
import { nodeHash } from '../src/node/node-hash.js';
import { collect, pseudoRandom } from './support/bytes.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const reference = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Feeds `data` to `h` in chunks of the sizes in `sizes` (cycled), awaiting each update. */
async function feed(h: HashState, data: Uint8Array, sizes: number[]): Promise<void> {
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length];
    await h.update(data.subarray(at, at + n));
    at += n;
  }
}

describe('hashing threads', () => {
  test('this machine has more than one core, so large hashes do go to threads', () => {
    assert.ok(hashThreadsAvailable(), 'threads unavailable: the tests below would test nothing');
  });

  test("a large hash equals node:crypto's digest, through ring wrap-arounds and full rings", async () => {
    const data = pseudoRandom(OFFLOAD_MIN + 3 * HASH_RING.RING_BYTES + 12_345, 7);
    const before = hashThreadCount();
    const h = threadedHash.create(data.length);
    // Chunks larger than the ring (the feeder waits for room) and odd sizes (wrap mid-chunk).
    await feed(h, data, [1, HASH_RING.RING_BYTES + 4097, 65_521, 3 * 1024 * 1024]);
    assert.ok(hashThreadCount() >= Math.max(before, 1), 'the hash did not take a thread');
    assert.equal(hex(await h.digest()), reference(data));
  });

  test('two large hashes at once keep their bytes apart', async () => {
    const a = pseudoRandom(OFFLOAD_MIN + 1000, 11);
    const b = pseudoRandom(OFFLOAD_MIN + 2000, 12);
    const ha = threadedHash.create(a.length);
    const hb = threadedHash.create(b.length);
    const step = 300_000;
    for (let at = 0; at < Math.max(a.length, b.length); at += step) {
      if (at < a.length) await ha.update(a.subarray(at, at + step));
      if (at < b.length) await hb.update(b.subarray(at, at + step));
    }
    const [da, db] = await Promise.all([ha.digest(), hb.digest()]);
    assert.equal(hex(da), reference(a));
    assert.equal(hex(db), reference(b));
  });

  test('a thread starts a fresh hash after each digest, and is reused', async () => {
    const data = pseudoRandom(OFFLOAD_MIN, 3);
    const first = threadedHash.create(data.length);
    await feed(first, data, [1 << 20]);
    assert.equal(hex(await first.digest()), reference(data));
    const threads = hashThreadCount();
    const second = threadedHash.create(data.length);
    await feed(second, data.subarray(5), [777_777]);
    assert.equal(hex(await second.digest()), reference(data.subarray(5)));
    assert.equal(hashThreadCount(), threads, 'a second thread was started for the second hash');
  });

  test('small and unsized hashes stay on the calling thread with the same digests', async () => {
    const data = pseudoRandom(100_000, 5);
    for (const h of [threadedHash.create(data.length), threadedHash.create()]) {
      const threads = hashThreadCount();
      await feed(h, data, [4096]);
      assert.equal(hex(await h.digest()), reference(data));
      assert.equal(hashThreadCount(), threads);
    }
    assert.equal(hex(await threadedHash.create(0).digest()), reference(new Uint8Array(0)));
  });

  test('verify of a large state, hashed on a thread, passes intact and fails on one changed byte', async () => {
    const state = pseudoRandom(OFFLOAD_MIN + 5000, 21);
    const meta = { ...zeroMeta(), index: 9n, term: 2n, size: BigInt(state.length) };
    async function* once() {
      yield state;
    }
    const tar = await collect(writeArchive(meta, once(), { hash: nodeHash }));
    const offloaded = offloadedHashCount();
    assert.equal((await verify(gzipSync(tar))).index, 9n);
    assert.equal(offloadedHashCount(), offloaded + 1, 'state.bin was hashed on a thread');
    // meta.json's header and blocks, then state.bin's header, then the state.
    const stateAt = 512 + Math.ceil(encodeMeta(meta).length / 512) * 512 + 512;
    assert.deepEqual(tar.subarray(stateAt, stateAt + 64), state.subarray(0, 64));
    const changed = tar.slice();
    changed[stateAt + 1000] ^= 1;
    await assert.rejects(verify(gzipSync(changed)), (err: unknown) => {
      assert.ok(isSnapshotError(err));
      assert.equal(err.code, 'INTEGRITY');
      assert.match(err.message, /state\.bin/);
      return true;
    });
  });

  test('a verify rejected half-way through state.bin hands its thread back for the next hash', async () => {
    const state = pseudoRandom(OFFLOAD_MIN + 5000, 31);
    const meta = { ...zeroMeta(), index: 3n, term: 1n, size: BigInt(state.length) };
    async function* once() {
      yield state;
    }
    const gz = gzipSync(await collect(writeArchive(meta, once(), { hash: nodeHash })));
    const warm = threadedHash.create(OFFLOAD_MIN);
    await warm.update(new Uint8Array(1));
    await warm.digest();
    const threads = hashThreadCount();
    const offloaded = offloadedHashCount();
    await assert.rejects(verify(gz.subarray(0, gz.length >> 1)), /unexpected EOF/);
    assert.equal(offloadedHashCount(), offloaded + 1, 'the verify took a thread');
    const next = threadedHash.create(OFFLOAD_MIN);
    assert.equal(hashThreadCount(), threads, 'the rejected verify still held its thread');
    await next.update(new Uint8Array(1));
    await next.digest();
  });

  test('a thread that dies before hashing hands its bytes and CRC runs back: same verdicts', () => {
    const module = (path: string) =>
      JSON.stringify(fileURLToPath(new URL(`../src/${path}`, import.meta.url)));
    // Every worker is terminated as it is created, so each large hash starts on a thread that
    // never runs: its bytes (and the CRC-32 cuts asked of it) are taken back by the caller.
    const script = `
      import { gzipSync } from 'node:zlib';
      process.on('worker', (w) => { void w.terminate(); });
      const { verify } = await import(${module('node/index.js')});
      const { writeArchive } = await import(${module('format/archive.js')});
      const { zeroMeta } = await import(${module('format/meta.js')});
      const { nodeHash } = await import(${module('node/node-hash.js')});
      const { hashThreadCount, OFFLOAD_MIN } = await import(${module('node/hash-thread.js')});
      const n = OFFLOAD_MIN + 70000;
      const state = new Uint8Array(n);
      for (let i = 0; i < n; i++) state[i] = i % 97 < 48 ? 65 + (i % 7) : (i * 2654435761) >>> 29;
      const meta = { ...zeroMeta(), index: 5n, term: 1n, size: BigInt(n) };
      const parts = [];
      const once = async function* () { yield state; };
      for await (const c of writeArchive(meta, once(), { hash: nodeHash })) parts.push(c.slice());
      const gz = gzipSync(Buffer.concat(parts));
      const out = [String((await verify(new Uint8Array(gz))).index)];
      const bad = Buffer.from(gz);
      bad[bad.length - 8] ^= 1;
      await verify(new Uint8Array(bad)).then(() => out.push('accepted'), (e) => out.push(e.message));
      out.push(String(hashThreadCount()));
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `child failed or hung: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), ['5', 'gzip: invalid checksum', '0']);
  });

  test('firstHashThreadStarted resolves once the first thread has loaded its program, not before', () => {
    const module = fileURLToPath(new URL('../src/node/hash-thread.js', import.meta.url));
    const script = `
      const m = await import(${JSON.stringify(module)});
      let started = false;
      m.firstHashThreadStarted.then(() => { started = true; });
      await new Promise((r) => setTimeout(r, 100));
      const before = started;
      m.prewarmHashThread();
      // The thread is unreferenced: waiting for it alone does not keep the process up.
      const up = setInterval(() => {}, 1000);
      await m.firstHashThreadStarted;
      clearInterval(up);
      // The prewarmed thread is idle: the process still ends on its own.
      console.log(before, m.hashThreadCount());
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, `child failed or hung: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'false 1');
  });

  test('a wait for the thread ends on the notification, at once when the value already changed, and after RECHECK_MS when no notification comes', async () => {
    const control = new Int32Array(new SharedArrayBuffer(16));
    assert.equal(await changed(control, 1, 5), 'not-equal');

    const notified = changed(control, 1, 0);
    setTimeout(() => {
      Atomics.store(control, 1, 1);
      Atomics.notify(control, 1);
    }, 10);
    assert.equal(await notified, 'ok');

    // A change nobody notifies (a notification lost): the wait still ends, after RECHECK_MS.
    const started = Date.now();
    const lost = changed(control, 2, 0);
    Atomics.store(control, 2, 1);
    assert.equal(await lost, 'timed-out');
    assert.ok(Date.now() - started >= RECHECK_MS - 5, `${Date.now() - started} ms`);
  });

  test('an abandoned hash has its thread ended, and no thread keeps the process alive', () => {
    const module = fileURLToPath(new URL('../src/node/hash-thread.js', import.meta.url));
    const script = `
      const { threadedHash, hashThreadCount, OFFLOAD_MIN } = await import(${JSON.stringify(module)});
      let h = threadedHash.create(OFFLOAD_MIN);
      await h.update(new Uint8Array(1 << 20));
      const started = hashThreadCount();
      h = undefined;
      // Up to 10 s: collection and the thread's end can be slow on a loaded machine.
      for (let i = 0; i < 500 && hashThreadCount() === started; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      console.log(started, hashThreadCount());
      // An idle thread must not hold the process either.
      const idle = threadedHash.create(OFFLOAD_MIN);
      await idle.update(new Uint8Array(10));
      await idle.digest();
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, `child failed or hung: ${r.stderr}`);
    assert.equal(r.stdout.trim(), '1 0');
  });
});

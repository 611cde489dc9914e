/**
 * The Node API over a Raft: Snapshot.create/close, writeToTempFile/cleanup, restore (never with a
 * corrupt archive, with timeouts and aborts), extract, and that no temporary file outlives its owner.
 *
 * The Rafts here are MemoryRaft and small hand-written ones: they fail on cue (a snapshot stream
 * that breaks, a close that throws, a restore that stops reading or never ends), which a real
 * Raft cannot be made to do. test/raft-dr.test.ts runs the same API against a real
 * hashicorp/raft cluster.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, createWriteStream, existsSync, readlinkSync } from 'node:fs';
import fsPromises, {
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  cleanStaleTemps,
  consul,
  createFile,
  decodeMeta,
  extract,
  fileInput,
  isSnapshotError,
  MemoryRaft,
  nomad,
  openbao,
  parse,
  parseKeyHex,
  type Raft,
  restore,
  Snapshot,
  type SnapshotMeta,
  vault,
  verify,
  write,
  writeToTempFile,
} from 'raftsnap';
import { concat, memorySink, pseudoRandom, records, sha256hex } from './support/bytes.js';
import { listDir, withTempDir } from './support/temp.js';

const state = pseudoRandom(200_000, 21);

test('Snapshot.create → index, checksum, size, stream; close removes the file and is idempotent', async () => {
  await withTempDir(async (dir) => {
    const raft = new MemoryRaft(state, 77n, { term: 4n });
    const snap = await Snapshot.create(raft, { dir });
    assert.equal(raft.openSnapshots, 0, 'the Raft snapshot was closed');
    assert.equal(snap.index, 77n);
    const size = await snap.size();
    const bytes = new Uint8Array(await new Response(snap.stream()).arrayBuffer());
    assert.equal(bytes.length, size);
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
    assert.equal(snap.checksum, `sha-256=${Buffer.from(digest).toString('base64')}`);
    const meta = await verify(bytes);
    assert.equal(meta.index, 77n);
    assert.equal(meta.term, 4n);
    assert.equal(meta.size, BigInt(state.length));
    assert.deepEqual(await listDir(dir), [snap.path.slice(dir.length + 1)]);
    await snap.close();
    await snap.close();
    assert.deepEqual(await listDir(dir), []);
  });
});

test('Snapshot.create closes the Raft snapshot and leaves no file when writing fails', async () => {
  await withTempDir(async (dir) => {
    let closed = 0;
    const raft: Raft = {
      async snapshot() {
        const meta: SnapshotMeta = (await new MemoryRaft(state).snapshot()).meta;
        return {
          meta,
          data: (async function* () {
            yield state.subarray(0, 1000);
            throw new Error('disk read error in the FSM');
          })(),
          close: () => {
            closed++;
          },
        };
      },
      restore: async () => {},
    };
    await assert.rejects(Snapshot.create(raft, { dir }), /disk read error in the FSM/);
    assert.equal(closed, 1);
    assert.deepEqual(await listDir(dir), []);
  });
});

test("a Raft snapshot whose close fails: RAFT error and no file after a good write; the write's own error otherwise", async () => {
  await withTempDir(async (dir) => {
    const failingClose = (data: () => AsyncIterable<Uint8Array>): Raft => ({
      async snapshot() {
        const { meta } = await new MemoryRaft(state).snapshot();
        return {
          meta,
          data: data(),
          close: () => {
            throw new Error('snapshot store lock lost');
          },
        };
      },
      restore: async () => {},
    });
    const good = failingClose(async function* () {
      yield state;
    });
    const closing = {
      code: 'RAFT',
      message: 'raft error when closing snapshot: snapshot store lock lost',
    };
    await assert.rejects(Snapshot.create(good, { dir }), closing);
    assert.deepEqual(await listDir(dir), []);
    await assert.rejects(write(good, memorySink().stream), closing);
    const bad = failingClose(async function* () {
      yield state.subarray(0, 1000);
      throw new Error('disk read error in the FSM');
    });
    await assert.rejects(Snapshot.create(bad, { dir }), /disk read error in the FSM/);
    await assert.rejects(write(bad, memorySink().stream), /disk read error in the FSM/);
    assert.deepEqual(await listDir(dir), []);
  });
});

test('write() streams a Raft snapshot without a temporary file and closes it once', async () => {
  const raft = new MemoryRaft(state, 5n);
  const sink = memorySink();
  const result = await write(raft, sink.stream);
  assert.equal(raft.openSnapshots, 0);
  assert.ok(sink.closed());
  assert.equal((await verify(sink.bytes())).index, 5n);
  assert.equal(result.bytes, sink.bytes().length);
});

test('a Raft that fails to snapshot gives a RAFT error', async () => {
  const raft: Raft = {
    snapshot: async () => {
      throw new Error('no snapshot available');
    },
    restore: async () => {},
  };
  await assert.rejects(write(raft, memorySink().stream), (err: Error) => {
    assert.ok(isSnapshotError(err));
    assert.equal(err.code, 'RAFT');
    assert.match(err.message, /raft error when taking snapshot: no snapshot available/);
    return true;
  });
});

async function archiveOf(raft: MemoryRaft): Promise<Uint8Array> {
  const sink = memorySink();
  await write(raft, sink.stream);
  return sink.bytes();
}

test('writeToTempFile → meta, path, stream; cleanup removes the file (twice is fine); stream() after it is refused', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 9n));
    const t = await writeToTempFile(bytes, { dir });
    assert.equal(t.meta.index, 9n);
    assert.equal(sha256hex(await readFile(t.path)), sha256hex(state));
    const again = new Uint8Array(await new Response(t.stream()).arrayBuffer());
    assert.equal(sha256hex(again), sha256hex(state));
    await t.cleanup();
    await t.cleanup();
    assert.deepEqual(await listDir(dir), []);
    assert.throws(
      () => t.stream(),
      (err: unknown) =>
        isSnapshotError(err) &&
        err.code === 'INVALID_ARGUMENT' &&
        /was removed by cleanup\(\)/.test(err.message),
    );
  });
});

test('writeToTempFile of a corrupt archive leaves no temporary file', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 9n));
    bytes[bytes.length - 100] ^= 1;
    await assert.rejects(writeToTempFile(bytes, { dir }), isSnapshotError);
    assert.deepEqual(await listDir(dir), []);
  });
});

test('restore feeds a verified archive to Raft and removes its temporary file', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 500n, { term: 3n }));
    const target = new MemoryRaft(new Uint8Array([9]), 2n);
    const meta = await restore(bytes, target, { dir });
    assert.equal(meta.index, 500n);
    assert.equal(sha256hex(target.state), sha256hex(state));
    assert.equal(target.index, 501n);
    assert.deepEqual(await listDir(dir), []);
  });
});

test('a corrupt or truncated archive never reaches raft.restore', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 500n));
    const target = new MemoryRaft(new Uint8Array([9]), 2n);
    let calls = 0;
    const spy: Raft = {
      snapshot: () => target.snapshot(),
      restore: async (...args) => {
        calls++;
        return target.restore(...args);
      },
    };
    const corrupt = bytes.slice();
    corrupt[corrupt.length >> 1] ^= 0x10;
    await assert.rejects(restore(corrupt, spy, { dir }), isSnapshotError);
    await assert.rejects(
      restore(bytes.subarray(0, bytes.length >> 1), spy, { dir }),
      isSnapshotError,
    );
    assert.equal(calls, 0);
    assert.deepEqual(target.state, new Uint8Array([9]));
    assert.deepEqual(await listDir(dir), []);
  });
});

test("restore and writeToTempFile read up to the end of the tar, as the reference's Restore and WriteToTempFile", async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 500n));
    const badCrc = bytes.slice();
    badCrc[bytes.length - 8] ^= 1;
    // A damaged trailer or bytes after the archive: verify rejects, the reference restores.
    for (const damaged of [badCrc, concat(bytes, new TextEncoder().encode('junk after it'))]) {
      await assert.rejects(verify(damaged), isSnapshotError);
      const t = await writeToTempFile(damaged, { dir });
      assert.equal(sha256hex(await readFile(t.path)), sha256hex(state));
      await t.cleanup();
      const target = new MemoryRaft(new Uint8Array([9]), 2n);
      assert.equal((await restore(damaged, target, { dir })).index, 500n);
      assert.equal(sha256hex(target.state), sha256hex(state));
    }
    assert.deepEqual(await listDir(dir), []);
  });
});

test('MemoryRaft, as hashicorp/raft, restores snapshot versions 0 and 1 only', async () => {
  const raft = new MemoryRaft(state, 5n);
  const { meta } = await new MemoryRaft(pseudoRandom(10, 1), 40n).snapshot();
  const data = () =>
    new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(pseudoRandom(10, 1));
        ctl.close();
      },
    });
  await assert.rejects(
    raft.restore({ ...meta, version: 2 }, data()),
    /unsupported snapshot version 2/,
  );
  assert.equal(raft.restores, 0);
  assert.deepEqual(raft.state, state);
  for (const version of [0, 1]) {
    await raft.restore({ ...meta, version }, data());
  }
  assert.equal(raft.restores, 2);
  // The index moves past the snapshot's as a uint64, as Go's lastIndex++: 2^64 - 1 wraps to 0.
  await raft.restore({ ...meta, index: 0xffff_ffff_ffff_ffffn }, data());
  assert.equal(raft.index, 0n);
});

test('a restore that exceeds timeoutMs fails cleanly, aborting Raft and removing the temp file', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 500n));
    let sawAbort = false;
    const slow: Raft = {
      snapshot: () => new MemoryRaft().snapshot(),
      restore: (_meta, _data, opts) =>
        new Promise((_, reject) => {
          opts?.signal?.addEventListener('abort', () => {
            sawAbort = true;
            reject(new Error('aborted by caller'));
          });
        }),
    };
    await assert.rejects(restore(bytes, slow, { dir, timeoutMs: 50 }), (err: Error) => {
      assert.ok(isSnapshotError(err));
      assert.equal(err.code, 'ABORTED');
      assert.match(
        err.message,
        /timed out after 50 ms \(Raft was asked to stop; a restore it had already begun installing may still complete\)/,
      );
      return true;
    });
    assert.ok(sawAbort);
    assert.deepEqual(await listDir(dir), []);
  });
});

test('restore closes the state file however Raft ends: stopping early, failing, or after a timeout', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(pseudoRandom(3 << 20, 9), 500n));
    /** The files this process holds open in `dir` (deleted ones included). */
    const openInDir = async () => {
      const links = await Promise.all(
        (await readdir('/proc/self/fd')).map((fd) =>
          readlink(`/proc/self/fd/${fd}`).catch(() => ''),
        ),
      );
      return links.filter((l) => l.startsWith(dir));
    };
    const readOneChunk = async (data: ReadableStream<Uint8Array>) => {
      const reader = data.getReader();
      assert.ok(!(await reader.read()).done);
    };
    const rafts: [string, string, Raft['restore']][] = [
      ['returns after one chunk', 'restored', async (_meta, data) => readOneChunk(data)],
      [
        'fails after one chunk',
        'RAFT',
        async (_meta, data) => {
          await readOneChunk(data);
          throw new Error('disk trouble');
        },
      ],
      // Holds its reader and never finishes: the timeout ends the restore.
      [
        'hangs after one chunk',
        'ABORTED',
        async (_meta, data) => readOneChunk(data).then(() => new Promise(() => {})),
      ],
    ];
    for (const [what, outcome, restoreFn] of rafts) {
      const raft: Raft = { snapshot: () => new MemoryRaft().snapshot(), restore: restoreFn };
      const got = await restore(bytes, raft, { dir, timeoutMs: 300 }).then(
        () => 'restored',
        (err: unknown) => (isSnapshotError(err) ? err.code : String(err)),
      );
      assert.equal(got, outcome, what);
      // Closing is asynchronous: give it up to 2 s.
      for (const end = Date.now() + 2000; (await openInDir()).length > 0 && Date.now() < end; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(await openInDir(), [], what);
      assert.deepEqual(await listDir(dir), [], what);
    }
  });
});

test('an aborted restore rejects with ABORTED and leaves no temp file', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 500n));
    const ctl = new AbortController();
    ctl.abort(new Error('operator cancelled'));
    await assert.rejects(
      restore(bytes, new MemoryRaft(), { dir, signal: ctl.signal }),
      (err: Error) => {
        assert.ok(isSnapshotError(err));
        assert.equal(err.code, 'ABORTED');
        return true;
      },
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

test('extract writes meta.json and state.bin only for a valid archive', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 42n));
    const file = `${dir}/in.snap`;
    await writeFile(file, bytes);
    const out = `${dir}/out/nested`;
    const info = await extract(file, out);
    assert.equal(info.meta.index, 42n);
    assert.equal(info.stateSize, BigInt(state.length));
    assert.equal(info.sealed, false);
    assert.deepEqual(await listDir(out), ['meta.json', 'state.bin']);
    assert.equal(sha256hex(await readFile(`${out}/state.bin`)), sha256hex(state));
    assert.match(
      await readFile(`${out}/meta.json`, 'utf8'),
      /^\{"Version":1,"ID":"[^"]*","Index":42,/,
    );

    const bad = bytes.slice();
    bad[bad.length - 50] ^= 4;
    // The directories extract made are gone again; one that was there stays, empty.
    const badOut = `${dir}/bad/nested`;
    await assert.rejects(extract(bad, badOut), isSnapshotError);
    assert.ok(!existsSync(`${dir}/bad`));
    await assert.rejects(extract(bad, out), isSnapshotError);
    assert.deepEqual(await listDir(out), ['meta.json', 'state.bin']);
    assert.equal(sha256hex(await readFile(`${out}/state.bin`)), sha256hex(state));
    await assert.rejects(extract(bad, `${dir}/empty`), isSnapshotError);
    await mkdir(`${dir}/empty`);
    await assert.rejects(extract(bad, `${dir}/empty`), isSnapshotError);
    assert.deepEqual(await listDir(`${dir}/empty`), []);
  });
});

test('extract aborted after the last byte was read leaves DIR as it was', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 7n));
    const ctl = new AbortController();
    await assert.rejects(
      extract(bytes, join(dir, 'out'), {
        signal: ctl.signal,
        onProgress: (p) => {
          if (p.bytes === bytes.length) ctl.abort(new Error('stop'));
        },
      }),
      { code: 'ABORTED' },
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

test('extract onto a full disk: the error names DIR; a state.bin that fails at its last write leaves no meta.json either', async () => {
  await withTempDir(async (dir) => {
    // A 600 KiB state fits in the writer's first buffer: nothing reaches the disk before the
    // final flush, which a tmpfs with 128 KiB free refuses. meta.json (a few hundred bytes)
    // would fit, and must still not appear on its own.
    const big = pseudoRandom(600 * 1024, 11);
    const file = `${dir}/in.snap`;
    await writeFile(file, await archiveOf(new MemoryRaft(big, 7n)));
    const mnt = `${dir}/mnt`;
    await mkdir(mnt);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    assert.equal(m.status, 0, `mounting a tmpfs needs root: ${m.stderr}`);
    try {
      await writeFile(`${mnt}/filler`, new Uint8Array(1024 * 1024 - 128 * 1024));
      await assert.rejects(extract(file, `${mnt}/out`), (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'IO', String(err));
        assert.match(err.message, /^cannot write to .*\/out: the disk is full/);
        return true;
      });
      assert.deepEqual(await listDir(mnt), ['filler']);
      // Larger than the free space by far: the disk fills while the archive is being read.
      const large = `${dir}/large.snap`;
      await writeFile(large, await archiveOf(new MemoryRaft(pseudoRandom(4 << 20, 12), 8n)));
      await assert.rejects(extract(large, `${mnt}/out2`), (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'IO', String(err));
        assert.match(
          err.message,
          /^failed to read snapshot file: failed to read or write snapshot data: cannot write to .*\/out2: the disk is full/,
        );
        return true;
      });
      assert.deepEqual(await listDir(mnt), ['filler']);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

test('cleanStaleTemps removes what dead writers left: from this host at once, from others after an hour', async () => {
  await withTempDir(async (dir) => {
    // This host: its name and its PID namespace (containers with host networking share the name).
    const id = `${hostname()}\n${readlinkSync('/proc/self/ns/pid')}`;
    const here = createHash('sha256').update(id).digest('hex').slice(0, 8);
    const other = here === '00000000' ? '11111111' : '00000000';
    // PID 1 always runs; the largest PID Linux can issue is 2^22 and none runs there here.
    const dead = 4194304;
    assert.throws(() => process.kill(dead, 0));
    const name = (host: string, pid: number) => `.o.snap.raftsnap-${host}-${pid}-0123456789ab.tmp`;
    const files = {
      deadHere: name(here, dead),
      mine: name(here, process.pid),
      aliveHere: name(here, 1),
      freshOther: name(other, dead),
      oldOther: name(other, 1),
      // Named before the host tag: as another host's.
      freshLegacy: `.o.snap.raftsnap-${dead}-0123456789ab.tmp`,
      oldLegacy: `.p.snap.raftsnap-${dead}-0123456789ab.tmp`,
      unrelated: 'o.snap',
    };
    for (const f of Object.values(files)) await writeFile(join(dir, f), 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const old of [files.oldOther, files.oldLegacy]) {
      await utimes(join(dir, old), twoHoursAgo, twoHoursAgo);
    }
    const removed = await cleanStaleTemps(dir);
    assert.deepEqual(
      removed.sort(),
      [files.deadHere, files.oldOther, files.oldLegacy].map((f) => join(dir, f)).sort(),
    );
    assert.deepEqual(
      await listDir(dir),
      [files.aliveHere, files.freshLegacy, files.freshOther, files.mine, files.unrelated].sort(),
    );
  });
});

test('several large verifies at once in one process each get their own verdict', async () => {
  await withTempDir(async (dir) => {
    // Large enough for hashing threads (32 MiB of state and more) and many lent outputs each.
    const states = [records(40 << 20), pseudoRandom(34 << 20, 5), records(33 << 20).reverse()];
    const paths: string[] = [];
    for (const [i, s] of states.entries()) {
      const snap = await Snapshot.create(new MemoryRaft(s, BigInt(100 + i)), { dir });
      paths.push(snap.path);
    }
    const corrupt = await readFile(paths[0]);
    corrupt[corrupt.length >> 1] ^= 0x55;
    const badPath = `${dir}/corrupt.snap`;
    await writeFile(badPath, corrupt);
    const results = await Promise.allSettled([...paths, badPath, paths[1]].map((p) => verify(p)));
    const indexes = results.map((r) => (r.status === 'fulfilled' ? r.value.index : r.reason));
    assert.deepEqual(indexes.slice(0, 3), [100n, 101n, 102n]);
    assert.equal(indexes[4], 101n);
    assert.ok(isSnapshotError(indexes[3]), String(indexes[3]));
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled' && i !== 3) {
        assert.equal(r.value.size, BigInt(states[i === 4 ? 1 : i].length));
      }
    }
  });
});

test('createFile of a state file that is not meta.size long when read (it grew or shrank meanwhile): refused with its name, OUT as it was', async () => {
  await withTempDir(async (dir) => {
    const bytes = pseudoRandom(300_000, 5);
    const { meta } = await new MemoryRaft(bytes, 4n).snapshot();
    const statePath = join(dir, 'state.bin');
    const out = join(dir, 'out.snap');
    await writeFile(out, 'previous');
    // Grows as it is read.
    await writeFile(statePath, bytes);
    let grown = false;
    await assert.rejects(
      createFile(meta, statePath, out, {
        onProgress: () => {
          if (!grown) appendFileSync(statePath, 'more');
          grown = true;
        },
      }),
      (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'IO', String(err));
        assert.match(
          err.message,
          /state\.bin holds 300004 bytes, more than meta's Size \(300000\)/,
        );
        return true;
      },
    );
    // Shorter than meta says.
    await writeFile(statePath, bytes.subarray(0, 200_000));
    await assert.rejects(createFile(meta, statePath, out), (err: unknown) => {
      assert.ok(isSnapshotError(err) && err.code === 'TRUNCATED', String(err));
      assert.match(
        err.message,
        /^\S+state\.bin: failed to write snapshot file: failed to write snapshot data: state ended 100000 bytes before its size 300000$/,
      );
      return true;
    });
    assert.equal(await readFile(out, 'utf8'), 'previous');
    assert.deepEqual(await listDir(dir), ['out.snap', 'state.bin']);
  });
});

test("createFile's last steps: an abort during the final fsync keeps OUT as it was and rejects; once the rename has begun, it finishes and resolves", async () => {
  await withTempDir(async (dir) => {
    const bytes = pseudoRandom(300_000, 4);
    const { meta } = await new MemoryRaft(bytes, 9n).snapshot();
    const out = join(dir, 'out.snap');
    await writeFile(out, 'previous');
    // The fsync of a file handle aborts the run as it starts.
    const probe = await open(join(dir, 'probe'), 'w');
    const handle = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    await rm(join(dir, 'probe'));
    const sync = handle.sync;
    let ctl = new AbortController();
    handle.sync = function (this: unknown) {
      ctl.abort(new Error('stop'));
      return sync.call(this);
    };
    try {
      await assert.rejects(createFile(meta, bytes, out, { signal: ctl.signal }), {
        code: 'ABORTED',
      });
    } finally {
      handle.sync = sync;
    }
    assert.equal(await readFile(out, 'utf8'), 'previous');
    assert.deepEqual(await listDir(dir), ['out.snap']);

    // The rename aborts the run as it starts (node:fs/promises' export, seen by raftsnap's import).
    const rename = fsPromises.rename;
    ctl = new AbortController();
    fsPromises.rename = (from, to) => {
      ctl.abort(new Error('stop'));
      return rename(from, to);
    };
    syncBuiltinESMExports();
    try {
      const result = await createFile(meta, bytes, out, { signal: ctl.signal });
      assert.ok(ctl.signal.aborted);
      assert.equal(result.bytes, (await readFile(out)).length);
    } finally {
      fsPromises.rename = rename;
      syncBuiltinESMExports();
    }
    assert.equal((await verify(out)).index, 9n);
    assert.deepEqual(await listDir(dir), ['out.snap']);
  });
});

test('an abort is honoured while the input has stalled: createFile and verify reject at once, no file left', async () => {
  await withTempDir(async (dir) => {
    const raft = new MemoryRaft(pseudoRandom(100_000, 2), 3n);
    const { meta } = await raft.snapshot();
    const archive = await archiveOf(raft);
    const stalled = (start: Uint8Array) => {
      // A pipe that sent a little and went quiet.
      const r = new Readable({ read() {} });
      r.push(start);
      return r;
    };
    for (const run of [
      (signal: AbortSignal) =>
        createFile(meta, stalled(pseudoRandom(1000, 3)), join(dir, 'out.snap'), { signal }),
      (signal: AbortSignal) => verify(stalled(archive.subarray(0, 1000)), { signal }),
    ]) {
      const ctl = new AbortController();
      const started = Date.now();
      setTimeout(() => ctl.abort(new Error('stop')), 100);
      await assert.rejects(run(ctl.signal), (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'ABORTED', String(err));
        assert.match(err.message, /operation aborted: stop$/);
        return true;
      });
      assert.ok(Date.now() - started < 1500, 'the abort waited for the input');
      assert.deepEqual(await listDir(dir), []);
    }
  });
});

test('an abort while an async iterable input has stalled asks its own iterator to return at once (a socket or file behind it is let go), for verify and createFile', async () => {
  await withTempDir(async (dir) => {
    const raft = new MemoryRaft(pseudoRandom(100_000, 2), 3n);
    const { meta } = await raft.snapshot();
    const archive = await archiveOf(raft);
    // A source that sent a little and then waits without end, as a quiet connection's iterator.
    const stalled = (start: Uint8Array) => {
      const seen = { returned: false };
      const iterable = {
        [Symbol.asyncIterator]() {
          let sent = false;
          return {
            next(): Promise<IteratorResult<Uint8Array>> {
              if (sent) return new Promise(() => {});
              sent = true;
              return Promise.resolve({ value: start, done: false });
            },
            return(): Promise<IteratorResult<Uint8Array>> {
              seen.returned = true;
              return Promise.resolve({ value: undefined, done: true });
            },
          };
        },
      };
      return { iterable, seen };
    };
    for (const run of [
      (input: AsyncIterable<Uint8Array>, signal: AbortSignal) => verify(input, { signal }),
      (input: AsyncIterable<Uint8Array>, signal: AbortSignal) =>
        createFile(meta, input, join(dir, 'out.snap'), { signal }),
    ]) {
      const { iterable, seen } = stalled(archive.subarray(0, 1000));
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error('stop')), 50);
      await assert.rejects(run(iterable, ctl.signal), (err: unknown) => {
        assert.ok(isSnapshotError(err) && err.code === 'ABORTED', String(err));
        return true;
      });
      assert.equal(seen.returned, true, 'the source was not asked to return');
      assert.deepEqual(await listDir(dir), []);
    }
  });
});

test("after an abort the caller's iterator is never read again once asked to return: an abort during the pipeline's turn of the event loop every 16 MiB, and one from a progress callback", async () => {
  const raft = new MemoryRaft(pseudoRandom(1000, 2), 3n);
  const { meta } = await raft.snapshot();
  // 40 chunks of 1 MiB, each delivered on a later turn; `abortAt` aborts on a turn of its own.
  const source = (abortAt: number, ctl: AbortController) => {
    const log: string[] = [];
    let returned = false;
    const iterable = {
      [Symbol.asyncIterator]() {
        let i = 0;
        return {
          next(): Promise<IteratorResult<Uint8Array>> {
            log.push(returned ? 'next after return' : 'next');
            const k = i++;
            return new Promise((resolve) => {
              setImmediate(() =>
                resolve(
                  k < 40
                    ? { value: new Uint8Array(1 << 20), done: false }
                    : { value: undefined, done: true },
                ),
              );
              if (k === abortAt) setImmediate(() => ctl.abort(new Error('stop')));
            });
          },
          return(): Promise<IteratorResult<Uint8Array>> {
            returned = true;
            log.push('return');
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    };
    return { iterable, log };
  };
  await withTempDir(async (dir) => {
    for (const abortAt of [14, 15, 16, 31]) {
      const ctl = new AbortController();
      const { iterable, log } = source(abortAt, ctl);
      const big = { ...meta, size: 40n << 20n };
      await assert.rejects(
        createFile(big, iterable, join(dir, 'out.snap'), { signal: ctl.signal }),
        (err: unknown) => isSnapshotError(err) && err.code === 'ABORTED',
      );
      assert.ok(!log.includes('next after return'), `abort at chunk ${abortAt}: ${log.slice(-4)}`);
      assert.equal(log.filter((x) => x === 'return').length, 1, `abort at chunk ${abortAt}`);
    }
  });
  // Aborted by the progress callback of the first chunk: no second read.
  const archive = await archiveOf(raft);
  const ctl = new AbortController();
  const log: string[] = [];
  const iterable = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          log.push('next');
          return i++ === 0
            ? { value: archive.subarray(0, 100), done: false }
            : { value: archive.subarray(100), done: false };
        },
        return: async (): Promise<IteratorResult<Uint8Array>> => {
          log.push('return');
          return { value: undefined, done: true };
        },
      };
    },
  };
  await assert.rejects(
    verify(iterable, { signal: ctl.signal, onProgress: () => ctl.abort(new Error('stop')) }),
    (err: unknown) => isSnapshotError(err) && err.code === 'ABORTED',
  );
  assert.deepEqual(log, ['next', 'return']);
});

test("a FIFO whose writer went quiet holds none of libuv's file threads: after aborted verifies of five, file calls run and the process ends at once; a FIFO written in full verifies", async () => {
  await withTempDir(async (dir) => {
    const archive = await archiveOf(new MemoryRaft(pseudoRandom(100_000, 2), 3n));
    const fifos: string[] = [];
    const writers = [];
    try {
      for (let i = 0; i < 5; i++) {
        const fifo = join(dir, `quiet-${i}`);
        assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
        fifos.push(fifo);
        // A writer that opens the FIFO and then sends nothing for a minute.
        writers.push(spawn('sh', ['-c', 'exec 3>"$0"; exec sleep 60', fifo], { stdio: 'ignore' }));
      }
      // In a process of its own, which must be able to end while the writers still wait.
      const script = `
        import { writeFile, readFile } from 'node:fs/promises';
        import { verify } from 'raftsnap';
        for (const fifo of process.argv.slice(1)) {
          const ctl = new AbortController();
          setTimeout(() => ctl.abort(new Error('stop')), 100);
          await verify(fifo, { signal: ctl.signal }).then(
            () => { throw new Error('verified'); },
            (err) => { if (err.code !== 'ABORTED') throw err; },
          );
        }
        const probe = process.argv[1] + '.probe';
        await writeFile(probe, 'x');
        if ((await readFile(probe, 'utf8')) !== 'x') throw new Error('read back');
        console.log('done');
      `;
      const started = Date.now();
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, ...fifos], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(child.stderr, '');
      assert.equal(child.stdout, 'done\n');
      assert.equal(child.status, 0);
      assert.ok(Date.now() - started < 15_000, 'the process waited for the writers');
      const full = join(dir, 'full');
      assert.equal(spawnSync('mkfifo', [full]).status, 0);
      const writing = writeFile(full, archive);
      assert.equal((await verify(full)).index, 3n);
      await writing;
    } finally {
      for (const w of writers) w.kill();
    }
  });
});

test('a FIFO as OUT whose reader goes away part way: createFile rejects with IO, saying the reader of the pipe went away', async () => {
  await withTempDir(async (dir) => {
    const raft = new MemoryRaft(pseudoRandom(4 << 20, 5), 3n);
    const { meta } = await raft.snapshot();
    const state = join(dir, 'state.bin');
    await writeFile(state, pseudoRandom(4 << 20, 5));
    const gone = join(dir, 'gone');
    assert.equal(spawnSync('mkfifo', [gone]).status, 0);
    // A reader that takes 100 bytes and goes.
    const head = spawn('sh', ['-c', 'head -c 100 "$0" > /dev/null', gone], { stdio: 'ignore' });
    try {
      await assert.rejects(createFile(meta, state, gone, { level: 0 }), {
        code: 'IO',
        message: `failed to write snapshot file: cannot write ${gone}: the reader of the pipe went away (broken pipe)`,
      });
    } finally {
      head.kill();
    }
  });
});

test('an abort is honoured while the output has stalled: a WritableStream that never takes more, a FIFO nobody reads (createFile, extract)', async () => {
  await withTempDir(async (dir) => {
    const raft = new MemoryRaft(pseudoRandom(4 << 20, 4), 3n);
    const { meta } = await raft.snapshot();
    const state = raft.state;
    const archive = await archiveOf(raft);
    await mkdir(join(dir, 'x'));
    // extract writes through a FIFO at DIR/state.bin, as create writes through one at OUT.
    const fifo = join(dir, 'x', 'state.bin');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // A reader that opens the FIFO and never reads: writes stall once the pipe is full.
    const holder = spawn('sh', ['-c', `exec 3<"${fifo}"; sleep 30`]);
    try {
      for (const run of [
        (signal: AbortSignal) =>
          write(raft, new WritableStream({ write: () => new Promise(() => {}) }), { signal }),
        (signal: AbortSignal) => createFile(meta, state, fifo, { signal }),
        (signal: AbortSignal) => extract(archive, join(dir, 'x'), { signal }),
      ]) {
        const ctl = new AbortController();
        const started = Date.now();
        setTimeout(() => ctl.abort(new Error('stop')), 300);
        await assert.rejects(run(ctl.signal), { code: 'ABORTED' });
        assert.ok(Date.now() - started < 2000, 'the abort waited for the output');
      }
    } finally {
      holder.kill();
    }
  });
});

test('parse and writeSnapshot honour an abort while their output has stalled (a write or the close that never ends)', async () => {
  const bytes = await archiveOf(new MemoryRaft(pseudoRandom(4 << 20, 6), 3n));
  const { meta } = await new MemoryRaft(state, 3n).snapshot();
  const { writeSnapshot } = await import('raftsnap');
  const never = () => new Promise<void>(() => {});
  let aborted: unknown;
  const outputs = [
    // A WritableStream's own abort waits for the write under way (the Streams rule), so only
    // the rejection is checked for it.
    () => new WritableStream<Uint8Array>({ write: never }),
    () => ({
      write: never,
      abort: (reason: unknown) => {
        aborted = reason;
      },
    }),
    () => ({
      write: () => {},
      close: never,
      abort: (reason: unknown) => {
        aborted = reason;
      },
    }),
  ];
  for (const [i, output] of outputs.entries()) {
    for (const run of [
      (signal: AbortSignal) => parse(bytes, output(), { signal }),
      (signal: AbortSignal) => writeSnapshot(meta, state, output(), { signal }),
    ]) {
      aborted = undefined;
      const ctl = new AbortController();
      const started = Date.now();
      setTimeout(() => ctl.abort(new Error('stop')), 200);
      await assert.rejects(run(ctl.signal), { code: 'ABORTED' });
      assert.ok(Date.now() - started < 2000, 'the abort waited for the output');
      if (i > 0) assert.ok(aborted !== undefined, 'the output was aborted');
    }
  }
});

test("parse: an output whose close fails is an IO error naming the output; a missing input's failure aborts the output", async () => {
  const bytes = await archiveOf(new MemoryRaft(state, 3n));
  await assert.rejects(
    parse(bytes, {
      write: () => {},
      close: () => {
        throw new Error('EIO: flush failed');
      },
    }),
    { code: 'IO', message: 'failed to write the state to the output: EIO: flush failed' },
  );
  let aborted = false;
  await assert.rejects(
    parse('/nonexistent/raftsnap.snap', {
      write: () => {},
      abort: () => {
        aborted = true;
      },
    }),
    { code: 'IO' },
  );
  assert.ok(aborted, 'the output was aborted');
});

test('write: an abort while Raft is taking its snapshot rejects at once (and the late snapshot is closed); an aborted signal asks for none; a failed snapshot aborts the output', async () => {
  const memory = new MemoryRaft(state, 3n);
  let asked = 0;
  const slow: Raft & { closed: number } = {
    closed: 0,
    snapshot: async () => {
      asked++;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const snap = await memory.snapshot();
      return {
        ...snap,
        close: async () => {
          slow.closed++;
          await snap.close();
        },
      };
    },
    restore: async () => {},
  };
  const ctl = new AbortController();
  const started = Date.now();
  setTimeout(() => ctl.abort(new Error('stop')), 100);
  let aborted = false;
  const output = {
    write: () => {},
    abort: () => {
      aborted = true;
    },
  };
  await assert.rejects(write(slow, output, { signal: ctl.signal }), { code: 'ABORTED' });
  assert.ok(Date.now() - started < 800, 'the abort waited for the snapshot');
  assert.ok(aborted, 'the output was aborted');
  await new Promise((resolve) => setTimeout(resolve, 1200));
  assert.equal(slow.closed, 1, 'the snapshot that came after the abort was closed');
  await assert.rejects(Snapshot.create(slow, { signal: ctl.signal }), { code: 'ABORTED' });
  assert.equal(asked, 1, 'no snapshot was asked for with an aborted signal');

  aborted = false;
  const failing: Raft = {
    snapshot: async () => {
      throw new Error('not the leader');
    },
    restore: async () => {},
  };
  await assert.rejects(write(failing, output), { code: 'RAFT' });
  assert.ok(aborted, 'the output was aborted');
});

test('restore: whatever Raft throws (at once, or a SnapshotError of its own) is RAFT, and nothing stays armed', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 500n));
    const rafts: Raft['restore'][] = [
      () => {
        throw new Error('not the leader');
      },
      async () => {
        throw Object.assign(new Error('archive looked odd'), {
          name: 'SnapshotError',
          code: 'INTEGRITY',
        });
      },
    ];
    for (const restoreFn of rafts) {
      const ctl = new AbortController();
      const raft: Raft = { snapshot: () => new MemoryRaft().snapshot(), restore: restoreFn };
      await assert.rejects(restore(bytes, raft, { dir, timeoutMs: 100, signal: ctl.signal }), {
        code: 'RAFT',
        message: /^raft error when restoring snapshot: (not the leader|archive looked odd)$/,
      });
      // Neither the timer nor the signal may fire into an unhandled rejection afterwards.
      ctl.abort();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(await listDir(dir), []);
    // Timeouts beyond what timers take are no limit to speak of, not an instant failure.
    const raft = new MemoryRaft();
    await restore(bytes, raft, { dir, timeoutMs: 30 * 24 * 3600 * 1000 });
    await restore(bytes, raft, { dir, timeoutMs: Number.POSITIVE_INFINITY });
    for (const timeoutMs of [-1, Number.NaN, '1000' as unknown as number]) {
      await assert.rejects(restore(bytes, raft, { dir, timeoutMs }), {
        code: 'INVALID_ARGUMENT',
      });
    }
  });
});

test("restore refuses a state.bin that is not meta.json's Size long, which Raft refuses though the archive verifies", async () => {
  const { archiveWithMeta } = await import('./support/archive.js');
  // meta.json says 10 bytes; the archive's state.bin holds 1000, and its sums match.
  const bytes = await archiveWithMeta(
    '{"Version":1,"ID":"1-5-1","Index":5,"Term":1,"Size":10}\n',
    pseudoRandom(1000, 2),
  );
  assert.equal((await verify(bytes)).size, 10n, 'the archive verifies, as with the reference');
  let reached = false;
  const raft: Raft = {
    snapshot: () => new MemoryRaft().snapshot(),
    restore: async () => {
      reached = true;
    },
  };
  await assert.rejects(restore(bytes, raft), {
    code: 'RAFT',
    message:
      'state.bin holds 1000 bytes but meta.json\'s Size is 10: Raft refuses to restore such a snapshot (hashicorp/raft: "size didn\'t match")',
  });
  assert.ok(!reached);
});

test('plainly wrong arguments are INVALID_ARGUMENT errors, and a vanished Snapshot file an IO one', async () => {
  const bytes = await archiveOf(new MemoryRaft(state, 3n));
  for (const bad of [null, undefined]) {
    await assert.rejects(verify(bad as never), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(parse(bytes, bad as never), { code: 'INVALID_ARGUMENT' });
  }
  // The lower-level helpers and the products' clients say what they take, too.
  assert.throws(() => decodeMeta(null as never), {
    code: 'INVALID_ARGUMENT',
    message: 'meta.json must be given as a Uint8Array, got null',
  });
  assert.throws(() => decodeMeta('{}' as never), {
    code: 'INVALID_ARGUMENT',
    message: 'meta.json must be given as a Uint8Array, got string',
  });
  assert.equal(decodeMeta(new TextEncoder().encode('{"Index":7}').buffer).index, 7n);
  assert.throws(() => parseKeyHex(undefined as never), {
    code: 'INVALID_ARGUMENT',
    message: 'key must be a string of 64 hexadecimal characters, got undefined',
  });
  for (const [fn, client] of Object.entries({ consul, vault, nomad, openbao })) {
    assert.throws(() => client(null as never), {
      code: 'INVALID_ARGUMENT',
      message: `${fn}() takes an options object, got null`,
    });
  }
  const portable = await import('raftsnap/portable');
  await assert.rejects(portable.verify('backup.snap' as never), {
    code: 'INVALID_ARGUMENT',
    message: /got a string \(a file path is taken by the Node entry, 'raftsnap'\)$/,
  });
  const { meta } = await new MemoryRaft(state, 3n).snapshot();
  await assert.rejects(portable.writeSnapshot(meta, state, null as never), {
    code: 'INVALID_ARGUMENT',
  });
  await withTempDir(async (dir) => {
    const snap = await Snapshot.create(new MemoryRaft(state, 3n), { dir });
    const { rm } = await import('node:fs/promises');
    await rm(snap.path);
    await assert.rejects(snap.size(), { code: 'IO', message: /^cannot read .*: / });
    await snap.close();
  });
});

test('a Node Writable as output: its drain is waited for (memory stays bounded) and it is ended', async () => {
  const state = pseudoRandom(24 << 20, 8);
  const bytes = await archiveOf(new MemoryRaft(state, 9n));
  let written = 0;
  let maxBuffered = 0;
  const slow = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      setImmediate(cb);
    },
  });
  const finished = new Promise((resolve) => slow.on('finish', resolve));
  const watch = setInterval(() => {
    maxBuffered = Math.max(maxBuffered, slow.writableLength);
  }, 1);
  try {
    await parse(bytes, slow);
  } finally {
    clearInterval(watch);
  }
  await finished;
  assert.equal(written, state.length);
  assert.ok(slow.writableEnded, 'the stream was ended');
  assert.equal(slow.listenerCount('error'), 0, "the stream's errors are the caller's again");
  assert.ok(maxBuffered <= 4 << 20, `up to ${maxBuffered} bytes waited in the stream`);
});

test('a Node Writable as output: a failed parse, a write that fails between writes and an abort each reject once, and no stream error reaches the process', async () => {
  const stray: unknown[] = [];
  const onStray = (err: unknown) => stray.push(err);
  process.on('uncaughtException', onStray);
  try {
    await withTempDir(async (dir) => {
      const bytes = await archiveOf(new MemoryRaft(state, 9n));
      const bad = bytes.slice();
      bad[bad.length >> 1] ^= 4;
      await assert.rejects(parse(bad, createWriteStream(join(dir, 'out.bin'))), isSnapshotError);
      // A Raft that fails: the output is aborted.
      const failing: Raft = {
        async snapshot() {
          throw new Error('no snapshot available');
        },
        async restore() {},
      };
      await assert.rejects(write(failing, createWriteStream(join(dir, 'w.snap'))), /RAFT|raft/);
      // A small write that the stream accepts at once and fails afterwards (a full device).
      await assert.rejects(
        write(new MemoryRaft(new Uint8Array(10), 1n), createWriteStream('/dev/full')),
        (err: unknown) => isSnapshotError(err) && /ENOSPC|no space/i.test(err.message),
      );
      // An abort while the stream takes its time.
      const ctl = new AbortController();
      const slow = new Writable({
        write(_chunk, _enc, cb) {
          setTimeout(cb, 5);
        },
      });
      const parsing = parse(await archiveOf(new MemoryRaft(pseudoRandom(8 << 20, 3), 2n)), slow, {
        signal: ctl.signal,
      });
      setTimeout(() => ctl.abort(new Error('stop')), 30);
      await assert.rejects(
        parsing,
        (err: unknown) => isSnapshotError(err) && err.code === 'ABORTED',
      );
      assert.ok(slow.destroyed, 'the aborted stream was destroyed');
      // Any 'error' event still on its way has been emitted by now.
      await new Promise((resolve) => setTimeout(resolve, 50));
    });
  } finally {
    process.off('uncaughtException', onStray);
  }
  assert.deepEqual(stray, []);
});

test('write: a snapshot that arrives after the abort and whose close throws at once is still closed, and its error reaches nobody', async () => {
  const stray: unknown[] = [];
  const onStray = (err: unknown) => stray.push(err);
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
  try {
    const memory = new MemoryRaft(state, 3n);
    let closes = 0;
    const raft: Raft = {
      snapshot: async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        const snap = await memory.snapshot();
        return {
          ...snap,
          close: () => {
            closes++;
            throw new Error('snapshot store unavailable');
          },
        };
      },
      restore: async () => {},
    };
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error('stop')), 50);
    await assert.rejects(write(raft, { write() {} }, { signal: ctl.signal }), {
      code: 'ABORTED',
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(closes, 1, 'the late snapshot was closed');
  } finally {
    process.off('unhandledRejection', onStray);
    process.off('uncaughtException', onStray);
  }
  assert.deepEqual(stray, []);
});

test('onProgress: a regular file has its size as the total; a path that is a pipe has none (not 0), its size being unknown before it is read', async () => {
  await withTempDir(async (dir) => {
    const bytes = await archiveOf(new MemoryRaft(state, 9n));
    const file = join(dir, 'a.snap');
    await writeFile(file, bytes);
    const fromFile: { bytes: number; total?: number }[] = [];
    await verify(file, { onProgress: (p) => fromFile.push(p) });
    assert.ok(fromFile.length > 0);
    assert.ok(fromFile.every((p) => p.total === bytes.length));
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const feeder = spawn('sh', ['-c', `cat "${file}" > "${fifo}"`]);
    const fromPipe: { bytes: number; total?: number }[] = [];
    try {
      await verify(fifo, { onProgress: (p) => fromPipe.push(p) });
    } finally {
      feeder.kill();
    }
    assert.ok(fromPipe.length > 0);
    assert.ok(
      fromPipe.every((p) => p.total === undefined),
      JSON.stringify(fromPipe.slice(0, 2)),
    );
    assert.equal(fromPipe.at(-1)?.bytes, bytes.length);
  });
});

test('write and Snapshot.create check their arguments before asking Raft for a snapshot: level, engine, output, directory (named)', async () => {
  let taken = 0;
  const memory = new MemoryRaft(state, 3n);
  const counting: Raft = {
    snapshot: async () => {
      taken++;
      return memory.snapshot();
    },
    restore: async () => {},
  };
  const sink = { write() {} };
  await assert.rejects(write(counting, sink, { level: 12 }), {
    code: 'INVALID_ARGUMENT',
    message: /12/,
  });
  await assert.rejects(write(counting, sink, { engine: 'bogus' as never }), {
    code: 'INVALID_ARGUMENT',
    message: /^engine must be auto, wasm or native, not "bogus"$/,
  });
  await assert.rejects(write(counting, null as never), { code: 'INVALID_ARGUMENT' });
  // An output given with a wrong argument is aborted all the same, as after any failure.
  let abortedWith: unknown;
  await assert.rejects(
    write(counting, { write() {}, abort: (r: unknown) => (abortedWith = r) }, { level: 42 }),
    { code: 'INVALID_ARGUMENT' },
  );
  assert.ok(isSnapshotError(abortedWith), 'the output was aborted with the error');
  // null is no choice, as undefined.
  assert.equal((await verify(await archiveOf(memory), { engine: null as never })).index, 3n);
  const locked = new WritableStream();
  locked.getWriter();
  await assert.rejects(write(counting, locked), {
    code: 'INVALID_ARGUMENT',
    message: /locked/,
  });
  await assert.rejects(Snapshot.create(counting, { level: 12 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(Snapshot.create(counting, { dir: '/nonexistent/dir' }), {
    code: 'IO',
    message: /^cannot create a temporary file in \/nonexistent\/dir: no such file or directory$/,
  });
  await assert.rejects(verify(await archiveOf(memory), { engine: 'fast' as never }), {
    code: 'INVALID_ARGUMENT',
  });
  assert.equal(taken, 0, 'no snapshot was taken');
  // A Raft that fails leaves no temporary file behind in the directory.
  await withTempDir(async (dir) => {
    const failing: Raft = {
      snapshot: async () => {
        throw new Error('not the leader');
      },
      restore: async () => {},
    };
    await assert.rejects(Snapshot.create(failing, { dir }), { code: 'RAFT' });
    assert.deepEqual(await listDir(dir), []);
  });
});

test('a sealer that fails to seal: SEAL "failed to seal snapshot hashes: …", as the reference words it; one that returns no bytes is named', async () => {
  const { meta } = await new MemoryRaft(state, 3n).snapshot();
  const { writeSnapshot } = await import('raftsnap');
  const failing = {
    seal: async () => {
      throw new Error('kms unreachable');
    },
    open: async (b: Uint8Array) => b,
  };
  await assert.rejects(writeSnapshot(meta, state, { write() {} }, { sealer: failing }), {
    code: 'SEAL',
    message: /failed to seal snapshot hashes: kms unreachable$/,
  });
  const wrongType = { seal: async () => 'sealed' as never, open: async (b: Uint8Array) => b };
  await assert.rejects(writeSnapshot(meta, state, { write() {} }, { sealer: wrongType }), {
    code: 'SEAL',
    message: /failed to seal snapshot hashes: the sealer returned no Uint8Array$/,
  });
  // Bytes of another realm, or an ArrayBuffer (what WebCrypto returns), are sealed bytes.
  const { runInNewContext } = await import('node:vm');
  for (const wrap of [
    (b: Uint8Array) => runInNewContext('Uint8Array.from(b)', { b }) as Uint8Array,
    (b: Uint8Array) => b.slice().buffer as never,
  ]) {
    const sealer = { seal: async (b: Uint8Array) => wrap(b), open: async (b: Uint8Array) => b };
    const sink = memorySink();
    await writeSnapshot(meta, state, sink.stream, { sealer });
    assert.equal((await verify(sink.bytes(), { sealer })).index, meta.index);
  }
});

test('an input that fails after the end of the tar (in the gzip trailer) is an IO SnapshotError with its own message, unprefixed as the reference returns it there', async () => {
  const { inspect } = await import('raftsnap');
  const bytes = await archiveOf(new MemoryRaft(state, 3n));
  const failingAfter = (reason: unknown) => {
    let pulls = 0;
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulls++ === 0) c.enqueue(bytes.slice(0, bytes.length - 8));
        else c.error(reason);
      },
    });
  };
  // A late chunk that is no bytes: the input's own SnapshotError.
  await assert.rejects(
    verify(
      (async function* () {
        yield bytes.slice(0, bytes.length - 8);
        yield 'oops' as never;
      })(),
    ),
    {
      code: 'IO',
      message: /^input yielded a string chunk; expected Uint8Array$/,
    },
  );
  for (const run of [
    (input: ReadableStream<Uint8Array>) => verify(input),
    (input: ReadableStream<Uint8Array>) => inspect(input),
    (input: ReadableStream<Uint8Array>) => parse(input, { write() {} }, { strict: true }),
  ]) {
    for (const reason of [new Error('disk gone'), 'boom']) {
      await assert.rejects(
        run(failingAfter(reason)),
        (err: unknown) =>
          isSnapshotError(err) && err.code === 'IO' && /^(disk gone|boom)$/.test(err.message),
      );
    }
  }
});

test('bytes of another realm (a vm context, an iframe) are read as bytes: a Uint8Array, an ArrayBuffer, chunks of an iterable', async () => {
  const { runInNewContext } = await import('node:vm');
  const bytes = await archiveOf(new MemoryRaft(state, 4n));
  const foreign = runInNewContext('new Uint8Array(n)', { n: bytes.length }) as Uint8Array;
  foreign.set(bytes);
  assert.equal(foreign instanceof Uint8Array, false, 'the array is of another realm');
  const portable = await import('raftsnap/portable');
  for (const input of [
    foreign,
    foreign.buffer,
    [foreign.subarray(0, 1000), foreign.subarray(1000)],
  ]) {
    assert.equal((await verify(input as never)).index, 4n);
    assert.equal((await portable.verify(input as never)).index, 4n);
  }
});

test("keepFresh: a temporary file its owner still holds keeps a recent modification time, so that other hosts' cleanStaleTemps leave it; stopped, it ages", async () => {
  const { keepFresh } = await import('../src/node/files.js');
  const { stat } = await import('node:fs/promises');
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await withTempDir(async (dir) => {
    const path = join(dir, '.o.snap.raftsnap-00000000-1-0123456789ab.tmp');
    await writeFile(path, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(path, twoHoursAgo, twoHoursAgo);
    const stop = keepFresh(path, 20);
    await sleep(150);
    assert.ok(Date.now() - (await stat(path)).mtimeMs < 60_000, 'freshened');
    stop();
    await utimes(path, twoHoursAgo, twoHoursAgo);
    await sleep(150);
    assert.ok(Date.now() - (await stat(path)).mtimeMs > 3600_000, 'left alone once stopped');
    // A file that has gone meanwhile is no error.
    const stopGone = keepFresh(join(dir, 'gone.tmp'), 10);
    await sleep(50);
    stopGone();
  });
});

test("a file being written atomically (create, extract, a save waiting on its server) is kept fresh for other hosts' cleanStaleTemps until it is closed or aborted", async (t) => {
  const { createAtomicFile } = await import('../src/node/files.js');
  const { stat } = await import('node:fs/promises');
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  const age = async (path: string) => Date.now() - (await stat(path)).mtimeMs;
  const freshened = async (path: string) => {
    for (let i = 0; i < 100 && (await age(path)) > 3600_000; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return (await age(path)) < 60_000;
  };
  await withTempDir(async (dir) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    for (const end of ['close', 'abort'] as const) {
      const w = await createAtomicFile(join(dir, `${end}.snap`));
      await w.write(new Uint8Array(10));
      await utimes(w.path, twoHoursAgo, twoHoursAgo);
      t.mock.timers.tick(10 * 60_000);
      assert.ok(await freshened(w.path), 'freshened while held');
      await utimes(w.path, twoHoursAgo, twoHoursAgo);
      t.mock.timers.tick(10 * 60_000);
      assert.ok(await freshened(w.path), 'and again');
      if (end === 'close') await w.close();
      else await w.abort(new Error('stop'));
      t.mock.timers.tick(10 * 60_000);
    }
    assert.deepEqual(await listDir(dir), ['close.snap']);
  });
});

test('restore: a temporary state that cannot be removed afterwards (an immutable directory) does not replace what Raft answered', async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const probe = spawnSync('chattr', ['+i', tmp], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `chattr +i on ${tmp} (the test needs it): ${probe.stderr}`);
    spawnSync('chattr', ['-i', tmp]);
    const bytes = await archiveOf(new MemoryRaft(state, 7n));
    const target = new MemoryRaft(new Uint8Array(0), 1n);
    const raft: Raft = {
      snapshot: () => target.snapshot(),
      restore: async (meta, data, o) => {
        await target.restore(meta, data, o);
        // From now on nothing in the directory can be removed, not even by root.
        assert.equal(spawnSync('chattr', ['+i', tmp]).status, 0);
      },
    };
    try {
      const meta = await restore(bytes, raft, { dir: tmp });
      assert.equal(meta.index, 7n);
      assert.equal(sha256hex(target.state), sha256hex(state));
    } finally {
      spawnSync('chattr', ['-i', tmp]);
    }
  });
});

test('a Node Writable that fails before anything is written to it (while the input is opened, or Raft takes its snapshot) fails the call with IO, not the process', async () => {
  await withTempDir(async (dir) => {
    const archived = join(dir, 'a.snap');
    await createFile((await verifyMeta()).meta, state, archived);
    // createWriteStream opens its file in the background and emits 'error' when it cannot.
    await assert.rejects(parse(archived, createWriteStream(join(dir, 'missing', 'state.bin'))), {
      code: 'IO',
    });
    const raft = new MemoryRaft(state, 3n);
    const slow: Raft = {
      snapshot: () => new Promise((resolve) => setTimeout(() => resolve(raft.snapshot()), 100)),
      restore: (m, d, o) => raft.restore(m, d, o),
    };
    const out = new Writable({ write: (_c, _e, done) => done() });
    setTimeout(() => out.destroy(new Error('ECONNRESET')), 30);
    await assert.rejects(write(slow, out), { code: 'IO', message: /ECONNRESET/ });
    assert.equal(raft.openSnapshots, 0);
  });
});

async function verifyMeta(): Promise<{ meta: SnapshotMeta }> {
  const raft = new MemoryRaft(state, 5n);
  const snap = await raft.snapshot();
  await snap.close();
  return { meta: { ...snap.meta, size: BigInt(state.length) } };
}

test('an abort is not held up by a sealer that never answers or a Raft snapshot whose close never ends: ABORTED, no file left, the snapshot asked to close', async () => {
  await withTempDir(async (dir) => {
    const stalled = {
      seal: () => new Promise<Uint8Array>(() => {}),
      open: () => new Promise<Uint8Array>(() => {}),
    };
    const raft = new MemoryRaft(state, 9n);
    const abortSoon = () => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      return ac.signal;
    };
    await assert.rejects(Snapshot.create(raft, { sealer: stalled, signal: abortSoon(), dir }), {
      code: 'ABORTED',
    });
    assert.equal(raft.openSnapshots, 0);
    assert.deepEqual(await listDir(dir), []);
    // Reading: the sealed sums' open stalls.
    const sealedArchive = join(dir, 's.snap');
    const key = { seal: async (b: Uint8Array) => b, open: async (b: Uint8Array) => b };
    await createFile((await verifyMeta()).meta, state, sealedArchive, { sealer: key });
    await assert.rejects(verify(sealedArchive, { sealer: stalled, signal: abortSoon() }), {
      code: 'ABORTED',
    });
    // A Raft whose snapshot's close never ends.
    let closes = 0;
    const stuck: Raft = {
      snapshot: async () => {
        const snap = await raft.snapshot();
        return {
          ...snap,
          close: () => {
            closes++;
            void snap.close();
            return new Promise<void>(() => {});
          },
        };
      },
      restore: (m, d, o) => raft.restore(m, d, o),
    };
    await assert.rejects(write(stuck, memorySink().stream, { signal: abortSoon() }), {
      code: 'ABORTED',
    });
    assert.equal(closes, 1);
  });
});

test('a timed abort stops a verify of an archive held in memory: the pipeline gives the event loop a turn every 16 MiB of input', async () => {
  const big = new Uint8Array(64 << 20);
  const raft = new MemoryRaft(big, 4n);
  const sink = memorySink();
  // Level 0: stored blocks, so that the input is as long as the state.
  await write(raft, sink.stream, { level: 0 });
  const archived = sink.bytes();
  for (const engine of ['auto', 'wasm'] as const) {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(verify(archived, { engine, signal: ac.signal }), { code: 'ABORTED' });
  }
  assert.equal((await verify(archived)).index, 4n);
});

test('a timed abort stops a verify of a small archive that inflates to much more (zeros): in state.bin and after the archive, the pipeline gives the event loop a turn every 16 MiB of output too', async () => {
  const zeros = new Uint8Array(256 << 20);
  const sink = memorySink();
  await write(new MemoryRaft(zeros, 4n), sink.stream);
  const archived = sink.bytes();
  assert.ok(archived.length < 4 << 20);
  // 256 MiB of zeros in gzip members after the archive: the reference reads them all to count them.
  const member = gzipSync(zeros.subarray(0, 64 << 20), { level: 9 });
  const head = await archiveOf(new MemoryRaft(state, 3n));
  const trailed = concat(head, member, member, member, member);
  for (const input of [archived, trailed]) {
    for (const engine of ['auto', 'wasm'] as const) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 10);
      await assert.rejects(verify(input, { engine, signal: ac.signal }), { code: 'ABORTED' });
    }
  }
  assert.equal((await verify(archived)).index, 4n);
  await assert.rejects(verify(trailed), {
    code: 'TRAILING_DATA',
    message: `${256 << 20} unread uncompressed bytes remain`,
  });
});

test('a Raft whose snapshot() gives no { meta, data, close } is a RAFT error, not a TypeError', async () => {
  await withTempDir(async (dir) => {
    for (const given of [undefined, null, {}, { meta: {}, data: new Uint8Array(0) }]) {
      const raft = { snapshot: async () => given, restore: async () => {} } as unknown as Raft;
      await assert.rejects(write(raft, memorySink().stream), {
        code: 'RAFT',
        message: 'raft error when taking snapshot: snapshot() gave no { meta, data, close }',
      });
      await assert.rejects(Snapshot.create(raft, { dir }), { code: 'RAFT' });
    }
    assert.deepEqual(await listDir(dir), []);
  });
});

test('a stream taken from a Snapshot or a TempState before close() or cleanup() still reads every byte after it', async () => {
  await withTempDir(async (dir) => {
    const raft = new MemoryRaft(state, 6n);
    const snap = await Snapshot.create(raft, { dir });
    const size = await snap.size();
    const taken = snap.stream();
    await snap.close();
    const bytes = new Uint8Array(await new Response(taken).arrayBuffer());
    assert.equal(bytes.length, size);
    assert.equal((await verify(bytes)).index, 6n);
    const temp = await writeToTempFile(bytes, { dir });
    const early = temp.stream();
    await temp.cleanup();
    assert.equal(
      sha256hex(new Uint8Array(await new Response(early).arrayBuffer())),
      sha256hex(state),
    );
    assert.deepEqual(await listDir(dir), []);
  });
});

test('fileInput opens nothing until read: an input of a missing file read later rejects the read (IO), not the process; a good file verifies', async () => {
  const missing = fileInput('/nonexistent/raftsnap/backup.snap');
  await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(verify(missing), { code: 'IO', message: /ENOENT/ });
  await withTempDir(async (dir) => {
    const path = join(dir, 'good.snap');
    await writeFile(path, await archiveOf(new MemoryRaft(state, 3n)));
    const input = fileInput(path);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await verify(input)).index, 3n);
  });
});

/**
 * Archives raftsnap writes read back exactly; every truncation is rejected; single-byte
 * corruptions are rejected or (where nothing covers the byte, as in the reference) change nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  aesGcmSealer,
  isAfterArchiveError,
  isSnapshotError,
  parse,
  type SnapshotMeta,
  verify,
  writeSnapshot,
  zeroMeta,
} from 'raftsnap';
import { meta as metaArb, U64 } from './support/arbitrary.js';
import { concat, memorySink, pseudoRandom, sha256hex } from './support/bytes.js';
import { ENGINES } from './support/fixtures.js';

async function archive(
  meta: SnapshotMeta,
  state: Uint8Array,
  opts: Parameters<typeof writeSnapshot>[3] = {},
) {
  const sink = memorySink();
  const result = await writeSnapshot(meta, state, sink.stream, opts);
  return { bytes: sink.bytes(), result };
}

async function readBack(bytes: Uint8Array, opts: Parameters<typeof parse>[2] = {}) {
  const sink = memorySink();
  const meta = await parse(bytes, sink.stream, opts);
  return { meta, state: sink.bytes() };
}

const baseMeta = (size: number): SnapshotMeta => ({
  ...zeroMeta(),
  version: 1,
  id: '2-1002-1700000000000',
  index: 1002n,
  term: 2n,
  configuration: { servers: [{ suffrage: 0, id: 'a', address: '127.0.0.1:8300' }] },
  configurationIndex: 1n,
  size: BigInt(size),
});

const MiB = 1 << 20;

for (const engine of ENGINES) {
  describe(`round trips (${engine} engine)`, () => {
    for (const size of [0, 1, 511, 512, 513, 1024, MiB - 1, MiB, MiB + 1, 5 * MiB + 3]) {
      test(`state of ${size} bytes`, async () => {
        const state = pseudoRandom(size, size + 1);
        const { bytes, result } = await archive(baseMeta(size), state, { engine });
        assert.equal(result.bytes, bytes.length);
        const back = await readBack(bytes, { engine });
        assert.deepEqual(back.meta, baseMeta(size));
        assert.equal(back.state.length, size);
        assert.equal(sha256hex(back.state), sha256hex(state));
      });
    }

    test('uint64 extremes in Index, Term and ConfigurationIndex stay exact', async () => {
      for (const v of [0n, (1n << 53n) + 1n, U64]) {
        const m = { ...baseMeta(3), index: v, term: v, configurationIndex: v };
        const { bytes } = await archive(m, new Uint8Array([1, 2, 3]), { engine });
        assert.deepEqual(await verify(bytes, { engine }), m);
      }
    });

    test('the checksum is sha-256= + base64 of the archive bytes', async () => {
      const { bytes, result } = await archive(baseMeta(10), pseudoRandom(10), { engine });
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
      assert.equal(result.checksum, `sha-256=${Buffer.from(digest).toString('base64')}`);
    });

    test('every gzip level writes an archive that reads back', async () => {
      const state = pseudoRandom(70000, 4);
      for (const level of [0, 1, 6, 9]) {
        const { bytes } = await archive(baseMeta(state.length), state, { engine, level });
        assert.equal(sha256hex((await readBack(bytes, { engine })).state), sha256hex(state));
      }
    });

    test('a state shorter than meta.size is an error; extra bytes are not written (as the reference)', async () => {
      await assert.rejects(archive(baseMeta(10), new Uint8Array(9), { engine }), (err: Error) => {
        assert.ok(isSnapshotError(err));
        assert.equal(err.code, 'TRUNCATED');
        return true;
      });
      const { bytes } = await archive(baseMeta(4), new Uint8Array([1, 2, 3, 4, 5, 6]), { engine });
      assert.deepEqual((await readBack(bytes, { engine })).state, new Uint8Array([1, 2, 3, 4]));
    });

    test('property: random meta and state round-trip exactly, plain and sealed', async () => {
      const key = pseudoRandom(32, 77);
      await fc.assert(
        fc.asyncProperty(
          fc
            .uint8Array({ maxLength: 3000 })
            .chain((state) =>
              fc.tuple(fc.constant(state), metaArb(BigInt(state.length)), fc.boolean()),
            ),
          async ([state, meta, sealed]) => {
            const sealer = sealed ? aesGcmSealer(key) : undefined;
            const { bytes } = await archive(meta, state, { engine, sealer });
            const back = await readBack(bytes, { engine, sealer });
            assert.deepEqual(back.meta, meta);
            assert.deepEqual(back.state, state);
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe(`damaged archives (${engine} engine)`, () => {
    const state = pseudoRandom(3000, 11);
    const meta = baseMeta(state.length);

    test('every truncation of a valid archive is rejected', async () => {
      const { bytes } = await archive(meta, state, { engine });
      for (let n = 0; n < bytes.length; n++) {
        await assert.rejects(
          verify(bytes.subarray(0, n), { engine }),
          isSnapshotError,
          `truncated to ${n} bytes`,
        );
      }
    });

    test('property: a single-byte change is rejected or reads back exactly the original', async () => {
      const { bytes } = await archive(meta, state, { engine });
      await fc.assert(
        fc.asyncProperty(
          fc.nat(bytes.length - 1),
          fc.integer({ min: 1, max: 255 }),
          async (at, x) => {
            const bad = bytes.slice();
            bad[at] ^= x;
            let back: Awaited<ReturnType<typeof readBack>> | undefined;
            try {
              back = await readBack(bad, { engine });
            } catch (err) {
              assert.ok(isSnapshotError(err), String(err));
              return;
            }
            // Bytes no check covers (gzip FLG's FTEXT and reserved bits, MTIME, XFL, OS, the DEFLATE
            // stream's final padding bits) may change: then the result must be exactly the original.
            assert.deepEqual(back.meta, meta);
            assert.deepEqual(back.state, state);
          },
        ),
        { numRuns: 300 },
      );
    });

    test('sealed: every tampered byte is rejected with the key, or changes nothing', async () => {
      const key = pseudoRandom(32, 5);
      const small = pseudoRandom(200, 6);
      const smallMeta = baseMeta(small.length);
      const { bytes } = await archive(smallMeta, small, {
        engine,
        sealer: aesGcmSealer(key),
      });
      for (let at = 0; at < bytes.length; at++) {
        const bad = bytes.slice();
        bad[at] ^= 0x20;
        try {
          const back = await readBack(bad, { engine, sealer: aesGcmSealer(key) });
          assert.deepEqual(back.meta, smallMeta);
          assert.deepEqual(back.state, small);
        } catch (err) {
          assert.ok(isSnapshotError(err), String(err));
        }
      }
    });

    test('data after the end of the tar is rejected ("unread uncompressed bytes remain")', async () => {
      const { bytes } = await archive(meta, state, { engine });
      const { gzipSync } = await import('node:zlib');
      const withExtra = concat(bytes, new Uint8Array(gzipSync(new Uint8Array(512))));
      await assert.rejects(verify(withExtra, { engine }), /512 unread uncompressed bytes remain/);
      const withEmptyMember = concat(bytes, new Uint8Array(gzipSync(new Uint8Array(0))));
      assert.deepEqual(await verify(withEmptyMember, { engine }), meta);
    });

    // The reference's Parse (like its WriteToTempFile and Restore) stops at the end of the tar;
    // only Verify goes on to the end of the gzip stream (concludeGzipRead).
    test('parse reads up to the end of the tar, as the reference does (strict: as verify does)', async () => {
      const { bytes } = await archive(meta, state, { engine });
      const { gzipSync } = await import('node:zlib');
      const badCrc = bytes.slice();
      badCrc[bytes.length - 8] ^= 1;
      const cases: [Uint8Array, RegExp][] = [
        [concat(bytes, new Uint8Array(gzipSync(new Uint8Array(512)))), /512 unread uncompressed/],
        [concat(bytes, new TextEncoder().encode('not a gzip member')), /gzip: invalid header$/],
        [badCrc, /gzip: invalid checksum$/],
        [bytes.subarray(0, bytes.length - 3), /unexpected EOF$/],
      ];
      for (const [archiveBytes, verifyError] of cases) {
        await assert.rejects(
          verify(archiveBytes, { engine }),
          (err) => verifyError.test(String(err)) && isAfterArchiveError(err),
        );
        await assert.rejects(readBack(archiveBytes, { engine, strict: true }), verifyError);
        const back = await readBack(archiveBytes, { engine });
        assert.deepEqual(back.meta, meta);
        assert.equal(sha256hex(back.state), sha256hex(state));
      }
      // Inside the archive: not such an error, and parse fails too.
      const corrupt = bytes.slice();
      corrupt[bytes.length >> 1] ^= 0x10;
      const err = await verify(corrupt, { engine }).catch((e: unknown) => e);
      assert.ok(isSnapshotError(err) && !isAfterArchiveError(err), String(err));
      await assert.rejects(readBack(corrupt, { engine }), isSnapshotError);
    });
  });
}

test('writeSnapshot honours its signal with an empty state and after the last state chunk', async () => {
  const meta = { ...zeroMeta(), index: 3n, term: 1n };
  const aborted = AbortSignal.abort(new Error('stop'));
  const empty = memorySink();
  await assert.rejects(
    writeSnapshot({ ...meta, size: 0n }, new Uint8Array(0), empty.stream, { signal: aborted }),
    (err: unknown) => isSnapshotError(err) && err.code === 'ABORTED',
  );
  assert.equal(empty.closed(), false);
  // Aborted once every state byte was read: the sums are still to come.
  const state = pseudoRandom(100_000, 4);
  const ctl = new AbortController();
  const late = memorySink();
  await assert.rejects(
    writeSnapshot({ ...meta, size: BigInt(state.length) }, state, late.stream, {
      signal: ctl.signal,
      onProgress: (p) => {
        if (p.bytes === state.length) ctl.abort(new Error('stop'));
      },
    }),
    (err: unknown) => isSnapshotError(err) && err.code === 'ABORTED',
  );
  assert.equal(late.closed(), false);
});

test('writeSnapshot refuses a meta.json or sealed sums of 8192 bytes or more, which no reader takes; 8191 is written and read', async () => {
  const { encodeMeta } = await import('raftsnap');
  const state = pseudoRandom(1000, 8);
  const base = { ...zeroMeta(), index: 3n, term: 1n, size: BigInt(state.length) };
  const withLength = (n: number): SnapshotMeta => {
    const meta = { ...base, id: '' };
    meta.id = 'x'.repeat(n - encodeMeta(meta).length);
    assert.equal(encodeMeta(meta).length, n);
    return meta;
  };
  const fits = memorySink();
  await writeSnapshot(withLength(8191), state, fits.stream);
  assert.equal((await verify(fits.bytes())).id.length, 8191 - encodeMeta(base).length);
  const over = memorySink();
  await assert.rejects(writeSnapshot(withLength(8192), state, over.stream), {
    code: 'TOO_LARGE',
    message:
      'failed to write snapshot file: meta.json would be 8192 bytes, and readers (the reference, Consul, Vault, Nomad, OpenBao) refuse 8192 or more',
  });
  assert.equal(over.closed(), false);
  const bulky = {
    seal: async () => new Uint8Array(8192),
    open: async (b: Uint8Array) => b,
  };
  await assert.rejects(writeSnapshot(base, state, memorySink().stream, { sealer: bulky }), {
    code: 'TOO_LARGE',
    message: /SHA256SUMS\.sealed would be 8192 bytes/,
  });
});

test('writeSnapshot level: 0-9, or -1 for the default (the same archive as no level); anything else is refused', async () => {
  const state = pseudoRandom(50_000, 6);
  const meta = { ...zeroMeta(), index: 3n, term: 1n, size: BigInt(state.length) };
  // One mtime for both: the headers would differ whenever the two runs straddled a second.
  const mtime = new Date();
  const bytesAt = async (level?: number) => {
    const sink = memorySink();
    await writeSnapshot(meta, state, sink.stream, { level, mtime });
    return sha256hex(sink.bytes());
  };
  assert.equal(await bytesAt(-1), await bytesAt(undefined));
  for (const level of [-2, 10, 1.5, Number.NaN]) {
    await assert.rejects(writeSnapshot(meta, state, memorySink().stream, { level }), {
      code: 'INVALID_ARGUMENT',
      message: `failed to write snapshot file: compression level must be 0-9 (or -1 for the default), got ${level}`,
    });
  }
});

test('aesGcmSealer without WebCrypto (a browser page over plain http) says so instead of blaming the key', async () => {
  const sealer = aesGcmSealer(pseudoRandom(32, 8));
  const sealed = await sealer.seal(new TextEncoder().encode('sums'));
  const small = pseudoRandom(100, 3);
  const { bytes: archived } = await archive(baseMeta(small.length), small, { sealer });
  const own = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  assert.ok(own?.configurable, 'globalThis.crypto can be taken away for this test');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
  try {
    await assert.rejects(aesGcmSealer(pseudoRandom(32, 8)).open(sealed), {
      code: 'IO',
      message: /^WebCrypto \(crypto\.subtle\) is not available here/,
    });
    // A verify with the key: not judged ('IO'), never a SEAL failure.
    await assert.rejects(verify(archived, { sealer: aesGcmSealer(pseudoRandom(32, 8)) }), {
      code: 'IO',
      message: /^failed to read snapshot file: failed to open the sealed hashes: WebCrypto/,
    });
    await assert.rejects(aesGcmSealer(pseudoRandom(32, 8)).seal(small), { code: 'IO' });
  } finally {
    Object.defineProperty(globalThis, 'crypto', own);
  }
  // With WebCrypto, a wrong key gives Go's crypto/cipher message, with what it means.
  await assert.rejects(aesGcmSealer(pseudoRandom(32, 9)).open(sealed), {
    code: 'SEAL',
    message: 'cipher: message authentication failed (another key, or the sealed sums were altered)',
  });
});

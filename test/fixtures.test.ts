/** Every shared fixture gives the outcome and the facts its README documents, with each engine. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import {
  aesGcmSealer,
  encodeMeta,
  inspect,
  isSnapshotError,
  parse,
  parseKeyHex,
  readArchive,
  type SnapshotMeta,
  verify,
} from 'raftsnap';
import { getEngines } from '../src/engines/registry.js';
import { TarReader } from '../src/format/tar-reader.js';
import { ByteReader } from '../src/io/byte-reader.js';
import { bytesOf } from '../src/io/input.js';
import { gzip, memorySink, sha256hex } from './support/bytes.js';
import { ENGINES, fixture, readFixture } from './support/fixtures.js';

/** Reads a raw tar at the archive level (the reference's read()), as the testdata README does. */
async function readTar(bytes: Uint8Array, engine: (typeof ENGINES)[number]) {
  const e = await getEngines(engine);
  return readArchive(new TarReader(new ByteReader(bytesOf(bytes))), { hash: e.hash });
}

const rawTarOutcomes: [string, RegExp | null][] = [
  ['spaces-meta.tar', null],
  [
    'empty.tar',
    /^failed checking integrity of snapshot: file missing for "(meta\.json|state\.bin)"$/,
  ],
  ['extra.tar', /^unexpected file "nope" in snapshot$/],
  [
    'missing-meta.tar',
    /^failed checking integrity of snapshot: hash check failed for "meta\.json"$/,
  ],
  [
    'missing-state.tar',
    /^failed checking integrity of snapshot: hash check failed for "state\.bin"$/,
  ],
  [
    'missing-sha.tar',
    /^failed checking integrity of snapshot: file missing for "(meta\.json|state\.bin)"$/,
  ],
  [
    'corrupt-meta.tar',
    /^failed checking integrity of snapshot: hash check failed for "meta\.json"$/,
  ],
  [
    'corrupt-state.tar',
    /^failed checking integrity of snapshot: hash check failed for "state\.bin"$/,
  ],
  ['corrupt-sha.tar', /^failed checking integrity of snapshot: list missing hash for "nope"$/],
];

for (const engine of ENGINES) {
  describe(`reference testdata (raw tar, archive level) with the ${engine} engine`, () => {
    for (const [name, expected] of rawTarOutcomes) {
      test(`${name} → ${expected ? expected.source : 'reads OK'}`, async () => {
        const bytes = await readFixture('reference-testdata', name);
        if (expected === null) {
          const info = await readTar(bytes, engine);
          assert.equal(info.meta.id, '2-10-1546615723344');
          assert.equal(info.meta.index, 10n);
          assert.equal(info.meta.term, 2n);
          assert.equal(info.meta.size, 4518n);
          assert.equal(info.stateSize, 4518n);
          assert.equal(encodeMeta(info.meta).length > 0, true);
          assert.deepEqual(
            info.meta.peers,
            Uint8Array.from(atob('ka4xMjcuMC4wLjE6ODMwMA=='), (c) => c.charCodeAt(0)),
          );
        } else {
          await assert.rejects(readTar(bytes, engine), (err: Error) => {
            assert.ok(isSnapshotError(err));
            assert.match(err.message, expected);
            return true;
          });
        }
      });
    }

    test("spaces-meta.tar gzip'd fails Verify: its tar record padding is data after the archive", async () => {
      const bytes = gzip(await readFixture('reference-testdata', 'spaces-meta.tar'));
      await assert.rejects(
        verify(bytes, { engine }),
        /^Error: 1536 unread uncompressed bytes remain$|1536 unread uncompressed bytes remain/,
      );
    });

    test("every failing raw tar is also refused by verify once gzip'd, with the same reason", async () => {
      for (const [name, expected] of rawTarOutcomes) {
        if (!expected) continue;
        const bytes = gzip(await readFixture('reference-testdata', name));
        await assert.rejects(verify(bytes, { engine }), (err: Error) => {
          assert.match(
            err.message,
            new RegExp(`^failed to read snapshot file: ${expected.source.slice(1)}`),
          );
          return true;
        });
      }
    });
  });

  describe(`reference-written snapshots with the ${engine} engine`, () => {
    test('real-raft-1000-entries.snap: meta, state digest over the entries, archive checksum', async () => {
      const path = fixture('reference-written', 'real-raft-1000-entries.snap');
      const info = await inspect(path, { engine });
      const m = info.meta;
      assert.equal(m.index, 1002n);
      assert.equal(m.term, 2n);
      assert.equal(m.version, 1);
      assert.equal(m.configurationIndex, 1n);
      assert.equal(m.configuration.servers?.length, 1);
      assert.equal(m.configuration.servers?.[0].suffrage, 0);
      assert.equal(m.size, 259003n);
      assert.equal(info.stateSize, 259003n);
      assert.equal(info.checksum, 'sha-256=fkP8Iv11Fd5T8O6RpI2r510W0u2iIxp09UnqS94tGkQ=');
      assert.equal(info.sealed, false);

      const sink = memorySink();
      await parse(path, sink.stream, { engine });
      const state = sink.bytes();
      assert.equal(state.length, 259003);
      // msgpack array16 of 1000 entries, each str16/bin16 of 256 bytes: concatenate the payloads.
      assert.equal(state[0], 0xdc);
      assert.equal((state[1] << 8) | state[2], 1000);
      const entries = new Uint8Array(1000 * 256);
      let off = 3;
      for (let i = 0; i < 1000; i++) {
        assert.ok(state[off] === 0xda || state[off] === 0xc5, `entry ${i} is a str16/bin16`);
        assert.equal((state[off + 1] << 8) | state[off + 2], 256);
        entries.set(state.subarray(off + 3, off + 3 + 256), i * 256);
        off += 3 + 256;
      }
      assert.equal(off, state.length);
      assert.equal(
        sha256hex(entries),
        'e51276a05102eb4f3a820558f05f815567f71ce7ea7baddf58f2fb1ab3310d2d',
      );
    });

    test('index-above-2p53.snap: Index 2^53+1 exact, two servers, state bytes', async () => {
      const path = fixture('reference-written', 'index-above-2p53.snap');
      const sink = memorySink();
      const m: SnapshotMeta = await parse(path, sink.stream, { engine });
      assert.equal(m.index, 9007199254740993n);
      assert.equal(m.term, 2n);
      assert.deepEqual(
        m.configuration.servers?.map((s) => s.suffrage),
        [0, 1],
      );
      assert.match(new TextDecoder().decode(encodeMeta(m)), /"Index":9007199254740993,/);
      const state = sink.bytes();
      assert.equal(state.length, 200000);
      for (let i = 0; i < state.length; i++) {
        if (state[i] !== (7 * i + 3) % 256) assert.fail(`state byte ${i}`);
      }
      assert.equal(
        sha256hex(state),
        'ec0ebf98b6f2954bf0f7b839402b1ba245996c39d18e155414e91a2b4353c157',
      );
    });

    test('sealed-aes256gcm.snap: accepted without a sealer, with its key; rejected with another key', async () => {
      const path = fixture('reference-written', 'sealed-aes256gcm.snap');
      const key = parseKeyHex(
        await readFile(fixture('reference-written', 'sealed-aes256gcm.key.hex'), 'utf8'),
      );
      const plain = await inspect(path, { engine });
      assert.equal(plain.meta.index, 4242n);
      assert.equal(plain.meta.term, 3n);
      assert.equal(plain.sealed, true);
      assert.equal((await verify(path, { engine, sealer: aesGcmSealer(key) })).index, 4242n);
      const other = key.slice();
      other[0] ^= 1;
      await assert.rejects(verify(path, { engine, sealer: aesGcmSealer(other) }), (err: Error) => {
        assert.ok(isSnapshotError(err));
        assert.equal(err.code, 'SEAL');
        assert.match(err.message, /failed to open the sealed hashes/);
        return true;
      });
    });
  });

  describe(`real-world snapshots with the ${engine} engine`, () => {
    test('vault-1.15-test.snap: meta, three voters, state digest and its 30 storage entries', async () => {
      const path = fixture('real-world', 'vault-1.15-test.snap');
      const sink = memorySink();
      const m = await parse(path, sink.stream, { engine });
      assert.equal(m.id, 'bolt-snapshot');
      assert.equal(m.index, 38n);
      assert.equal(m.term, 3n);
      assert.equal(m.configurationIndex, 38n);
      assert.deepEqual(
        m.configuration.servers?.map((s) => [s.id, s.address, s.suffrage]),
        [0, 1, 2].map((i) => [`vault-${i}`, `vault-${i}:8201`, 0]),
      );
      const state = sink.bytes();
      assert.equal(state.length, 16274);
      assert.equal(
        sha256hex(state),
        '452a52613219859ae6417c55334be468e598ab602d3e8d36b0afd81f703b42b8',
      );
      // 30 varint-length-prefixed protobuf entries whose field 1 is a key under core/, logical/ or sys/.
      let off = 0;
      let count = 0;
      const varint = () => {
        let v = 0;
        let shift = 0;
        for (;;) {
          const b = state[off++];
          v += (b & 0x7f) * 2 ** shift;
          shift += 7;
          if (!(b & 0x80)) return v;
        }
      };
      while (off < state.length) {
        const len = varint();
        const end = off + len;
        assert.equal(state[off], 0x0a, 'field 1, length-delimited');
        off++;
        const klen = varint();
        const key = new TextDecoder().decode(state.subarray(off, off + klen));
        assert.match(key, /^(core|logical|sys)\//);
        off = end;
        count++;
      }
      assert.equal(off, state.length);
      assert.equal(count, 30);
      assert.equal((await inspect(path, { engine })).sealed, true);
    });
  });
}

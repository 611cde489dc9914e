/**
 * The gzip layer follows Go's compress/gzip Reader: multi-member streams are one stream, member
 * trailers are checked, header fields are parsed as Go parses them, and nothing but whole gzip
 * members may follow the first one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  deflateRawSync,
  gzipSync,
  constants as zlibConstants,
  crc32 as zlibCrc32,
} from 'node:zlib';
import { getEngines } from '../src/engines/registry.js';
import { encodeStored, storedSize } from '../src/format/deflate-stored.js';
import { gzipHeader, openGunzip } from '../src/format/gzip.js';
import { TarWriter } from '../src/format/tar-writer.js';
import { ByteReader } from '../src/io/byte-reader.js';
import { bytesOf } from '../src/io/input.js';
import { verify } from '../src/node/index.js';
import { collect, concat, pseudoRandom, sha256hex } from './support/bytes.js';
import { ENGINES, readFixture } from './support/fixtures.js';

const le32 = (n: number) =>
  new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);

/** A gzip member built by hand: header fields as given, then DEFLATE data and the trailer. */
function member(
  data: Uint8Array,
  opts: {
    flags?: number;
    extra?: Uint8Array;
    name?: Uint8Array;
    comment?: Uint8Array;
    hcrc?: number | 'good';
    trailer?: Uint8Array;
  } = {},
): Uint8Array {
  let flags = opts.flags ?? 0;
  const parts: Uint8Array[] = [];
  if (opts.extra) flags |= 4;
  if (opts.name) flags |= 8;
  if (opts.comment) flags |= 16;
  if (opts.hcrc !== undefined) flags |= 2;
  parts.push(new Uint8Array([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 255]));
  if (opts.extra)
    parts.push(new Uint8Array([opts.extra.length & 0xff, opts.extra.length >> 8]), opts.extra);
  if (opts.name) parts.push(opts.name, new Uint8Array([0]));
  if (opts.comment) parts.push(opts.comment, new Uint8Array([0]));
  if (opts.hcrc !== undefined) {
    const c = opts.hcrc === 'good' ? zlibCrc32(concat(...parts)) & 0xffff : opts.hcrc;
    parts.push(new Uint8Array([c & 0xff, c >> 8]));
  }
  parts.push(new Uint8Array(deflateRawSync(data)));
  parts.push(opts.trailer ?? concat(le32(zlibCrc32(data)), le32(data.length)));
  return concat(...parts);
}

async function gunzipAll(
  input: Uint8Array,
  engine: (typeof ENGINES)[number],
  chunk = 7,
  reuseOutput = false,
): Promise<Uint8Array> {
  const e = await getEngines(engine);
  // Small chunks exercise every boundary of the header and trailer parsing.
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < input.length; i += chunk) chunks.push(input.slice(i, i + chunk));
  // collect() copies each array before asking for the next, as reuseOutput requires.
  return collect(await openGunzip(new ByteReader(bytesOf(chunks)), { ...e, reuseOutput }));
}

const text = new TextEncoder().encode('hello, raft snapshot\n'.repeat(50));

for (const engine of ENGINES) {
  describe(`gzip reading (${engine} engine)`, () => {
    test('a single member', async () => {
      assert.deepEqual(await gunzipAll(new Uint8Array(gzipSync(text)), engine), text);
    });

    test('several members are one stream, in order; empty members are fine', async () => {
      const a = pseudoRandom(5000, 3);
      const input = concat(member(a), member(new Uint8Array(0)), member(text));
      assert.deepEqual(await gunzipAll(input, engine), concat(a, text));
      assert.deepEqual(await gunzipAll(input, engine, 1 << 20), concat(a, text));
    });

    test('with reused output (lent by the wasm engine), members of MiBs decode the same', async () => {
      const big = pseudoRandom(3 << 20, 8);
      const records = new TextEncoder().encode('{"Key":"service/web","Index":1}\n'.repeat(90_000));
      const input = concat(member(big), member(records), member(new Uint8Array(0)), member(text));
      const want = concat(big, records, text);
      assert.deepEqual(await gunzipAll(input, engine, 1 << 16, true), want);
      assert.deepEqual(await gunzipAll(input, engine, 4093, true), want);
      await assert.rejects(
        gunzipAll(input.subarray(0, input.length - 3), engine, 1 << 16, true),
        /unexpected EOF/,
      );
    });

    test('empty input is "EOF", as gzip.NewReader, saying the input is empty', async () => {
      await assert.rejects(
        gunzipAll(new Uint8Array(0), engine),
        /failed to decompress snapshot: EOF \(the input is empty\)$/,
      );
    });

    test('a first header shorter than 10 bytes is "unexpected EOF"', async () => {
      await assert.rejects(
        gunzipAll(new Uint8Array([0x1f, 0x8b, 8]), engine),
        /failed to decompress snapshot: unexpected EOF/,
      );
    });

    test('wrong magic or method is "gzip: invalid header"', async () => {
      const m = member(text);
      for (const [i, v] of [
        [0, 0x1e],
        [1, 0x8c],
        [2, 7],
      ]) {
        const bad = m.slice();
        bad[i] = v;
        await assert.rejects(
          gunzipAll(bad, engine),
          /failed to decompress snapshot: gzip: invalid header/,
        );
      }
    });

    test('reserved flag bits are ignored, as Go does', async () => {
      assert.deepEqual(await gunzipAll(member(text, { flags: 0xe0 }), engine), text);
    });

    test('FEXTRA, FNAME, FCOMMENT are skipped; a good FHCRC passes and a bad one fails', async () => {
      const opts = {
        extra: pseudoRandom(300, 9),
        name: new TextEncoder().encode('state.tar'),
        comment: new Uint8Array([0xe9, 0x41]),
      };
      assert.deepEqual(await gunzipAll(member(text, { ...opts, hcrc: 'good' }), engine), text);
      await assert.rejects(
        gunzipAll(member(text, { ...opts, hcrc: 0x1234 }), engine),
        /gzip: invalid header/,
      );
    });

    test('FNAME of 511 bytes is read; 512 bytes is "gzip: invalid header"', async () => {
      const n511 = new Uint8Array(511).fill(0x61);
      assert.deepEqual(await gunzipAll(member(text, { name: n511 }), engine), text);
      await assert.rejects(
        gunzipAll(member(text, { name: new Uint8Array(512).fill(0x61) }), engine),
        /gzip: invalid header/,
      );
      await assert.rejects(
        gunzipAll(member(text, { comment: new Uint8Array(600).fill(0x61) }), engine),
        /gzip: invalid header/,
      );
    });

    test('a CRC or length mismatch in any member is "gzip: invalid checksum"', async () => {
      const badCrc = member(text, {
        trailer: concat(le32(zlibCrc32(text) ^ 1), le32(text.length)),
      });
      const badLen = member(text, {
        trailer: concat(le32(zlibCrc32(text)), le32(text.length + 1)),
      });
      for (const bad of [badCrc, badLen, concat(member(text), badCrc)]) {
        await assert.rejects(gunzipAll(bad, engine), /gzip: invalid checksum/);
      }
    });

    test('trailing bytes after the last member must be a whole member', async () => {
      const good = member(text);
      const cases: [Uint8Array, RegExp][] = [
        [concat(good, new Uint8Array([0])), /unexpected EOF/],
        [concat(good, new Uint8Array(9)), /unexpected EOF/],
        [concat(good, new Uint8Array(10)), /gzip: invalid header/],
        [
          concat(good, new TextEncoder().encode('garbage after the gzip stream')),
          /gzip: invalid header/,
        ],
        [concat(good, good.subarray(0, 20)), /unexpected EOF/],
      ];
      for (const [input, re] of cases) await assert.rejects(gunzipAll(input, engine), re);
    });

    test('every truncation of a member is rejected', async () => {
      const good = member(pseudoRandom(3000, 5));
      for (let n = 1; n < good.length; n++) {
        await assert.rejects(
          gunzipAll(good.subarray(0, n), engine, 64),
          /unexpected EOF|invalid/,
          `truncated to ${n}`,
        );
      }
    });

    test('corrupt DEFLATE data is an error', async () => {
      const bad = member(text);
      bad[10] = 0xff; // block type 3 (reserved) in the first byte of the DEFLATE data
      await assert.rejects(gunzipAll(bad, engine), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'GZIP');
        return true;
      });
    });
  });
}

/** One gzip member holding `data` in stored blocks, then corrupt DEFLATE data (block type 3). */
const corruptAfter = (data: Uint8Array) =>
  concat(gzipHeader(), encodeStored(data, false), new Uint8Array([0b111]), new Uint8Array(8));

test('an engine that cannot set up a lender decodes with its own inflaters instead', async () => {
  const e = await getEngines('wasm');
  const data = pseudoRandom(700_000, 4);
  const inflate = { ...e.inflate, lender: () => Promise.reject(new Error('out of memory')) };
  const out = await openGunzip(new ByteReader(bytesOf([member(data)])), {
    inflate,
    crc32: e.crc32,
    reuseOutput: true,
  });
  assert.deepEqual(await collect(out), data);
});

describe('output decoded before corrupt DEFLATE data (engines decoding on this thread)', () => {
  for (const reuseOutput of [false, true]) {
    test(`reaches the consumer before the error, as from Go's reader (reuseOutput: ${reuseOutput})`, async () => {
      const data = pseudoRandom(150_000, 11);
      const e = await getEngines('wasm');
      const got: Uint8Array[] = [];
      const out = await openGunzip(new ByteReader(bytesOf([corruptAfter(data)])), {
        inflate: e.inflate,
        crc32: e.crc32,
        reuseOutput,
      });
      await assert.rejects(
        async () => {
          for await (const chunk of out) got.push(chunk.slice());
        },
        // The stored blocks, then the bad block's byte.
        new RegExp(
          `^SnapshotError: flate: corrupt input before offset ${storedSize(data.length) + 1}$`,
        ),
      );
      assert.deepEqual(concat(...got), data);
    });
  }

  // The reference's tar reader sees the bytes decoded before the corruption first: an archive
  // whose first wrong entry comes before corrupt data is rejected for that entry.
  for (const engine of ['auto', 'wasm'] as const) {
    test(`a tar error before corrupt data is the error reported (${engine} engine)`, async () => {
      const tar = await readFixture('reference-testdata', 'extra.tar');
      let at = 0;
      while (new TextDecoder().decode(tar.subarray(at, at + 4)) !== 'nope') at += 512;
      await assert.rejects(
        verify(corruptAfter(tar.subarray(0, at + 512)), { engine }),
        /^SnapshotError: failed to read snapshot file: unexpected file "nope" in snapshot$/,
      );
      const badHeader = tar.slice(0, at + 512);
      badHeader[at + 148] ^= 1; // the header checksum
      await assert.rejects(
        verify(corruptAfter(badHeader), { engine }),
        /^SnapshotError: failed to read snapshot file: failed reading snapshot: archive\/tar: invalid tar header$/,
      );
    });
  }
});

/**
 * A snapshot tar (`meta` as given, a state of `stateSize` bytes, their SHA256SUMS) and where
 * each entry's data ends in it.
 */
function snapshotTar(stateSize: number, meta?: string) {
  const tw = new TarWriter();
  const mtime = new Date(0);
  const state = pseudoRandom(stateSize, 8);
  const metaBytes = new TextEncoder().encode(
    meta ?? `{"Version":1,"ID":"s","Index":5,"Term":2,"Size":${stateSize}}\n`,
  );
  const sums = new TextEncoder().encode(
    `${sha256hex(metaBytes)}  meta.json\n${sha256hex(state)}  state.bin\n`,
  );
  const parts: Uint8Array[] = [];
  const ends: number[] = [];
  for (const [name, data] of [
    ['meta.json', metaBytes],
    ['state.bin', state],
    ['SHA256SUMS', sums],
  ] as const) {
    parts.push(tw.header(name, data.length, mtime), data);
    ends.push(parts.reduce((n, p) => n + p.length, 0));
    parts.push(tw.padding(data.length));
  }
  parts.push(tw.end());
  const [metaEnd, stateEnd, sumsEnd] = ends;
  return { tar: concat(...parts), metaEnd, stateEnd, sumsEnd };
}

/** A gzip member whose trailer holds a wrong CRC-32. */
const badCrcMember = (data: Uint8Array) =>
  member(data, { trailer: concat(le32(zlibCrc32(data) ^ 1), le32(data.length)) });

/** gzip of the first `n` bytes of `data` whose DEFLATE stream just stops after a `flush`. */
const cutAfter = (data: Uint8Array, n: number, flush: number) =>
  concat(
    gzipHeader(),
    new Uint8Array(deflateRawSync(data.subarray(0, n), { flush, finishFlush: flush })),
  );

// Go's flate reader returns an error together with the output it still holds (everything since
// its 32 KiB window last filled or the last non-final empty stored block), and compress/gzip
// does the same with the errors it meets at a member's end. When that output ends exactly where
// a tar entry's data ends, the reference's read of that entry gets the error: it fails there
// ("failed to read or write snapshot data", "failed to read snapshot metadata" before the JSON
// is decoded, …) instead of at the next header ("failed reading snapshot"). Every expectation
// below is what the reference (Go 1.19) reports for the same bytes.
describe('an error that arrives with the last bytes of an entry (engines decoding on this thread)', () => {
  const { Z_BLOCK, Z_SYNC_FLUSH } = zlibConstants;
  const prefix = 'failed to read snapshot file: ';
  for (const engine of ['auto', 'wasm'] as const) {
    test(`is that entry's read error (${engine} engine)`, async () => {
      const { tar, metaEnd, stateEnd, sumsEnd } = snapshotTar(1000);
      const cases: [Uint8Array, string][] = [
        [
          concat(badCrcMember(tar.subarray(0, stateEnd)), member(tar.subarray(stateEnd))),
          'failed to read or write snapshot data: gzip: invalid checksum',
        ],
        [
          concat(member(tar.subarray(0, stateEnd)), new TextEncoder().encode('not a gzip member')),
          'failed to read or write snapshot data: gzip: invalid header',
        ],
        [
          member(tar.subarray(0, stateEnd)).subarray(0, -3),
          'failed to read or write snapshot data: unexpected EOF',
        ],
        [cutAfter(tar, stateEnd, Z_BLOCK), 'failed to read or write snapshot data: unexpected EOF'],
        [
          concat(badCrcMember(tar.subarray(0, metaEnd)), member(tar.subarray(metaEnd))),
          'failed to read snapshot metadata: gzip: invalid checksum',
        ],
        [cutAfter(tar, sumsEnd, Z_BLOCK), 'failed to read snapshot hashes: unexpected EOF'],
      ];
      for (const [archive, want] of cases) {
        await assert.rejects(verify(archive, { engine }), { message: prefix + want });
      }
      // The read fails before the metadata is decoded.
      const bad = snapshotTar(1000, '{"Index": 5,,}\n');
      await assert.rejects(verify(cutAfter(bad.tar, bad.metaEnd, Z_BLOCK), { engine }), {
        message: `${prefix}failed to read snapshot metadata: unexpected EOF`,
      });
    });

    test(`is the next header's error where Go had handed the bytes over (${engine} engine)`, async () => {
      const { tar, stateEnd } = snapshotTar(1000);
      // Member output of exactly 32 KiB: Go's window filled and handed it over.
      const full = snapshotTar(32 * 1024 - 3 * 512);
      assert.equal(full.stateEnd, 32 * 1024);
      const cases: [Uint8Array, string][] = [
        [cutAfter(tar, stateEnd, Z_SYNC_FLUSH), 'failed reading snapshot: unexpected EOF'],
        [
          concat(
            badCrcMember(full.tar.subarray(0, 32 * 1024)),
            member(full.tar.subarray(32 * 1024)),
          ),
          'failed reading snapshot: gzip: invalid checksum',
        ],
        [
          concat(badCrcMember(tar.subarray(0, stateEnd + 24)), member(tar.subarray(stateEnd + 24))),
          'failed reading snapshot: gzip: invalid checksum',
        ],
      ];
      for (const [archive, want] of cases) {
        await assert.rejects(verify(archive, { engine }), { message: prefix + want });
      }
    });
  }
});

test('a read that fails in the tar layer closes the gzip reader: no decode started ahead is left unhandled', async () => {
  // Stored DEFLATE blocks, so that the first 64 KiB slice decodes to a tar whose first entry is
  // refused, while the next slice (already handed to an engine decoding off this thread) holds
  // a block header with an invalid type.
  const tw = new TarWriter();
  const data = pseudoRandom(300 * 1024, 3);
  const tar = concat(tw.header('unexpected.bin', data.length, new Date(0)), data, tw.end());
  const gz = new Uint8Array(gzipSync(tar, { level: 0 }));
  const second = 10 + 5 + (gz[11] | (gz[12] << 8));
  assert.ok(second > 64 * 1024 && second < 128 * 1024, `second stored block at ${second}`);
  gz[second] = 0b110; // BTYPE 11: invalid
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  try {
    for (const engine of ENGINES) {
      await assert.rejects(verify(gz, { engine }), {
        message: 'failed to read snapshot file: unexpected file "unexpected.bin" in snapshot',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

/**
 * Tests of the WebAssembly raw-DEFLATE engine (src/wasm/inflate.ts) and CRC-32
 * (src/wasm/crc32.ts): differential against node:zlib, Go 1.19 compress/flate verdicts on
 * crafted streams, stream-end accounting, truncation, bounded output, fast-check fuzzing.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { isSnapshotError } from '../src/errors.js';
import '../src/wasm/embedded.js';
import { encodeStored } from '../src/format/deflate-stored.js';
import { concatBytes as concat } from '../src/io/bytes.js';
import { loadWasmCrc32 } from '../src/wasm/crc32.js';
import {
  loadWasmInflate,
  type WasmInflateEngine,
  type WasmRawInflater,
} from '../src/wasm/inflate.js';
import { rng } from './support/bytes.js';
import { dynamicBlock } from './support/deflate-blocks.js';

let engine: WasmInflateEngine;
let crc32: (crc: number, data: Uint8Array) => number;

before(async () => {
  engine = await loadWasmInflate();
  crc32 = await loadWasmCrc32();
});

// ----------------------------------------------------------------------------------------------
// Helpers

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.u32() & 255;
  return out;
}

/** Compressible bytes: words, numbers and some noise, like JSON records. */
function textBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const words = ['{"Key":"', 'service/', 'web-', '","Value":', 'true', 'null', ',"Index":', '}\n'];
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const w = words[r.int(words.length)];
    for (let j = 0; j < w.length && i < n; j++) out[i++] = w.charCodeAt(j);
    if (r.int(4) === 0) for (let j = r.int(6); j > 0 && i < n; j--) out[i++] = 48 + r.int(10);
    if (r.int(50) === 0 && i < n) out[i++] = r.u32() & 255;
  }
  return out;
}

/** Long runs of few distinct bytes: short-distance matches (distance 1..15). */
function runBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const period = 1 + r.int(15);
    const len = 1 + r.int(600);
    for (let j = 0; j < period && i + j < n; j++) out[i + j] = r.u32() & 255;
    for (let j = period; j < len && i + j < n; j++) out[i + j] = out[i + j - period];
    i += len;
  }
  return out;
}

function hex(s: string): Uint8Array {
  const full = s.replace(/\(([0-9a-f]{2})x(\d+)\)/g, (_, b: string, n: string) =>
    b.repeat(Number(n)),
  );
  const out = new Uint8Array(full.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(full.slice(2 * i, 2 * i + 2), 16);
  return out;
}

type Chunker = (pos: number) => number;
const whole: Chunker = () => Number.MAX_SAFE_INTEGER;
const fixed =
  (n: number): Chunker =>
  () =>
    n;
function randomChunks(max: number, seed: number): Chunker {
  const r = rng(seed);
  return () => 1 + r.int(max);
}

interface Result {
  status: 'ok' | 'corrupt' | 'truncated';
  out: Uint8Array;
  /** Bytes of `input` in the DEFLATE stream (status ok). */
  consumed: number;
  /** Go's offset from the error message (status corrupt). */
  offset: number;
  message: string;
}

/** Feeds `input` to a fresh inflater in chunks; never throws (except on a failed assertion). */
function run(
  input: Uint8Array,
  chunker: Chunker = whole,
  api: 'decode' | 'write' = 'decode',
): Result {
  const inf = engine.create();
  const outs: Uint8Array[] = [];
  let pos = 0;
  let consumed = -1;
  try {
    let done = false;
    do {
      const n = Math.max(1, Math.min(chunker(pos), input.length - pos));
      const chunk = input.subarray(pos, pos + n);
      let step: { done: boolean; unused: number };
      if (api === 'write') {
        const w = inf.write(chunk);
        outs.push(...w.output);
        step = w;
      } else {
        // decode() yields the output decoded before an error, as Go's reader returns it.
        const it = inf.decode(chunk);
        let r = it.next();
        for (; !r.done; r = it.next()) outs.push(r.value);
        step = r.value;
      }
      pos += chunk.length;
      if (step.done) {
        done = true;
        assert.ok(step.unused >= 0 && step.unused <= chunk.length);
        consumed = pos - step.unused;
      } else {
        assert.equal(step.unused, 0);
      }
    } while (!done && pos < input.length);
    inf.close();
    return { status: 'ok', out: concat(outs), consumed, offset: -1, message: '' };
  } catch (err) {
    try {
      inf.close();
    } catch {
      // already reported
    }
    assert.ok(isSnapshotError(err), `not a SnapshotError: ${err}`);
    if (err.code === 'TRUNCATED') {
      return { status: 'truncated', out: concat(outs), consumed, offset: -1, message: err.message };
    }
    assert.equal(err.code, 'GZIP');
    const m = /^flate: corrupt input before offset (\d+)$/.exec(err.message);
    assert.ok(m, err.message);
    return {
      status: 'corrupt',
      out: concat(outs),
      consumed,
      offset: Number(m[1]),
      message: err.message,
    };
  }
}

/** node:zlib's verdict: output and bytes consumed, or null when it rejects the stream. */
function zlibInflate(input: Uint8Array): { out: Uint8Array; consumed: number } | null {
  try {
    const r = zlib.inflateRawSync(input, { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { out: new Uint8Array(r.buffer), consumed: r.engine.bytesWritten };
  } catch {
    return null;
  }
}

function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  if (!Buffer.from(actual).equals(Buffer.from(expected))) {
    let i = 0;
    while (actual[i] === expected[i]) i++;
    assert.fail(`${what}: first difference at byte ${i}`);
  }
}

function assertInflates(
  comp: Uint8Array,
  data: Uint8Array,
  chunker: Chunker,
  what: string,
  api: 'decode' | 'write' = 'write',
): void {
  const r = run(comp, chunker, api);
  assert.equal(r.status, 'ok', `${what}: ${r.message}`);
  assert.equal(r.consumed, comp.length, `${what}: consumed`);
  assertBytesEqual(r.out, data, what);
}

// ----------------------------------------------------------------------------------------------

const { Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED } = zlib.constants;
const strategies = [
  ['default', Z_DEFAULT_STRATEGY],
  ['filtered', Z_FILTERED],
  ['huffman-only', Z_HUFFMAN_ONLY],
  ['rle', Z_RLE],
  ['fixed', Z_FIXED],
] as const;

describe('wasm inflate: differential against node:zlib', () => {
  it('decodes every level and strategy, whole and in random chunks', () => {
    const inputs = [
      ['text', textBytes(200_000, 1)],
      ['random', randomBytes(70_000, 2)],
      ['runs', runBytes(150_000, 3)],
    ] as const;
    let seed = 10;
    for (const [kind, data] of inputs) {
      for (let level = 0; level <= 9; level++) {
        for (const [sname, strategy] of strategies) {
          const comp = new Uint8Array(zlib.deflateRawSync(data, { level, strategy }));
          const what = `${kind} level ${level} ${sname}`;
          assertInflates(comp, data, whole, what);
          assertInflates(comp, data, randomChunks(5000, seed++), `${what} chunked`, 'decode');
        }
      }
    }
  });

  it('decodes memLevel and windowBits variants', () => {
    const data = concat([textBytes(120_000, 4), runBytes(40_000, 5), randomBytes(5000, 6)]);
    let seed = 100;
    for (const memLevel of [1, 5, 9]) {
      for (const windowBits of [9, 10, 12, 15]) {
        for (const level of [1, 6, 9]) {
          const comp = new Uint8Array(zlib.deflateRawSync(data, { level, memLevel, windowBits }));
          const what = `memLevel ${memLevel} windowBits ${windowBits} level ${level}`;
          assertInflates(comp, data, randomChunks(3000, seed++), what);
        }
      }
    }
  });

  it('decodes multi-MiB streams in random chunks', () => {
    const big = [
      ['text 6 MiB', textBytes(6 << 20, 7)],
      ['random 3 MiB', randomBytes(3 << 20, 8)],
      ['runs 4 MiB', runBytes(4 << 20, 9)],
    ] as const;
    let seed = 200;
    for (const [what, data] of big) {
      const comp = new Uint8Array(zlib.deflateRawSync(data, { level: 6 }));
      assertInflates(comp, data, whole, what);
      assertInflates(comp, data, randomChunks(300_000, seed++), `${what}, chunks up to 300 KB`);
      assertInflates(
        comp,
        data,
        randomChunks(100, seed++),
        `${what}, chunks up to 100 B`,
        'decode',
      );
    }
  });

  it('decodes in 1-byte chunks', () => {
    const data = concat([textBytes(40_000, 10), randomBytes(3000, 11), runBytes(20_000, 12)]);
    for (const [sname, strategy] of strategies) {
      for (const level of [0, 1, 9]) {
        const comp = new Uint8Array(zlib.deflateRawSync(data, { level, strategy }));
        assertInflates(comp, data, fixed(1), `1-byte chunks, level ${level} ${sname}`);
      }
    }
  });

  it('decodes flushed streams (sync/full flush points, empty stored blocks)', () => {
    const data = textBytes(300_000, 13);
    const d = zlib.createDeflateRaw({ level: 6 });
    const parts: Uint8Array[] = [];
    const flushes = [zlib.constants.Z_SYNC_FLUSH, zlib.constants.Z_FULL_FLUSH];
    for (let i = 0; i < data.length; i += 7_000) {
      d.write(data.subarray(i, i + 7000));
      d.flush(flushes[(i / 7000) % 2]);
    }
    d.on('data', (c: Buffer) => parts.push(new Uint8Array(c)));
    return new Promise<void>((resolve, reject) => {
      d.on('end', () => {
        try {
          const comp = concat(parts);
          assertInflates(comp, data, whole, 'flushed');
          assertInflates(comp, data, randomChunks(2000, 14), 'flushed, chunked');
          resolve();
        } catch (err) {
          reject(err);
        }
      });
      d.end();
    });
  });
});

describe('wasm inflate: end of stream', () => {
  it('reports the bytes after the stream (gzip trailer and a next member) as unused', () => {
    const data = textBytes(50_000, 20);
    const member = new Uint8Array(zlib.gzipSync(data));
    const deflate = member.subarray(10, member.length - 8); // gzipSync writes a 10-byte header
    const after = concat([member.subarray(member.length - 8), member]);
    const input = concat([deflate, after]);
    for (let cut = deflate.length - 3; cut <= deflate.length + 2; cut++) {
      // Two chunks split around the end of the stream.
      const inf = engine.create();
      const first = inf.write(input.subarray(0, cut));
      let step = first;
      let base = 0;
      if (!first.done) {
        base = cut;
        step = inf.write(input.subarray(cut));
      }
      inf.close();
      assert.equal(step.done, true);
      const chunkLen = first.done ? cut : input.length - cut;
      assert.equal(base + chunkLen - step.unused, deflate.length, `cut at ${cut}`);
    }
    // Random chunkings, many times.
    for (let seed = 0; seed < 50; seed++) {
      const r = run(input, randomChunks(1 + (seed % 7) * 3000, seed));
      assert.equal(r.status, 'ok');
      assert.equal(r.consumed, deflate.length);
      assertBytesEqual(r.out, data, 'output');
    }
  });

  it('stops at the stream end inside a byte and counts that byte as used', () => {
    // Fixed block "A" then EOB: 3 + 8 + 7 = 18 bits -> 3 bytes; the 6 spare bits are ignored.
    const r = run(hex('730400ffee'), whole);
    assert.equal(r.status, 'ok');
    assert.equal(r.consumed, 3);
    assertBytesEqual(r.out, new Uint8Array([0x41]), 'output');
  });

  it('returns the whole chunk as unused after done, and close() is idempotent', () => {
    const inf = engine.create();
    const step = inf.write(hex('730400'));
    assert.equal(step.done, true);
    const again = inf.write(new Uint8Array(5));
    assert.deepEqual(again, { output: [], done: true, unused: 5 });
    inf.close();
    inf.close();
  });

  it('rejects every strict prefix of a valid stream with TRUNCATED at close()', () => {
    const data = concat([textBytes(3000, 21), randomBytes(300, 22)]);
    for (const [sname, strategy] of strategies) {
      const comp = new Uint8Array(zlib.deflateRawSync(data, { level: 6, strategy }));
      for (let n = 0; n < comp.length; n++) {
        const prefix = comp.subarray(0, n);
        const r = run(prefix, n % 2 ? whole : fixed(1 + (n % 5)));
        assert.equal(r.status, 'truncated', `${sname} prefix ${n}/${comp.length}: ${r.message}`);
        assert.equal(r.message, 'unexpected EOF');
        // Output so far is a prefix of the data.
        assertBytesEqual(r.out, data.subarray(0, r.out.length), 'partial output');
      }
    }
  });
});

describe('wasm inflate: sync points (where Go hands over its output)', () => {
  /** Raw DEFLATE of `parts` back to back, each ended by `flush` (the last by `last`). */
  const segments = (parts: Uint8Array[], flush: number, last: number) =>
    concat(
      parts.map(
        (p, i) =>
          new Uint8Array(
            zlib.deflateRawSync(p, {
              flush: i === parts.length - 1 ? last : flush,
              finishFlush: i === parts.length - 1 ? last : flush,
            }),
          ),
      ),
    );
  const { Z_SYNC_FLUSH, Z_FULL_FLUSH, Z_FINISH, Z_BLOCK } = zlib.constants;

  it('syncOutput is the output before the last non-final empty stored block, 0 without one', () => {
    const a = textBytes(1000, 1);
    const b = runBytes(400_000, 2); // past the output buffer: the window is moved in between
    const c = textBytes(3000, 3);
    const cases: [Uint8Array, number][] = [
      [segments([a, b, c], Z_SYNC_FLUSH, Z_FINISH), a.length + b.length],
      [segments([a, b, c], Z_FULL_FLUSH, Z_FINISH), a.length + b.length],
      [segments([a], Z_BLOCK, Z_BLOCK), 0], // an empty fixed block is no sync point
      [segments([concat([a, b, c])], Z_FINISH, Z_FINISH), 0],
      [segments([a, b, c], Z_SYNC_FLUSH, Z_SYNC_FLUSH), a.length + b.length + c.length],
    ];
    for (const [[input, want], i] of cases.map((c, i) => [c, i] as const)) {
      const inf = engine.create();
      const step = inf.write(input);
      assert.equal(inf.syncOutput(), want, `case ${i}`);
      try {
        inf.close();
      } catch {
        assert.equal(step.done, false, 'only the unfinished stream may fail to close');
      }
      assert.equal(inf.syncOutput(), want, `case ${i}, after close`);
    }
  });

  it("a final empty stored block is not a sync point (Go's writer ends streams with one)", () => {
    const a = textBytes(5000, 4);
    const c = textBytes(700, 5);
    const finalEmptyStored = new Uint8Array([0x01, 0x00, 0x00, 0xff, 0xff]);
    const inf = engine.create();
    const step = inf.write(
      concat([segments([a], Z_SYNC_FLUSH, Z_SYNC_FLUSH), encodeStored(c, false), finalEmptyStored]),
    );
    assert.equal(step.done, true);
    assert.equal(inf.syncOutput(), a.length);
    inf.close();
  });
});

describe('wasm inflate: Go 1.19 compress/flate verdicts', () => {
  // Each stream was run through Go 1.19's flate.NewReader over a bytes.Reader: `ok` is the
  // number of bytes Go consumed, `corrupt` the N of "flate: corrupt input before offset N",
  // `truncated` Go's io.ErrUnexpectedEOF; `out` the bytes Go returned before the end or error.
  // "(00x31)" is 31 zero bytes.
  const cases: [
    string,
    string,
    { ok?: number; corrupt?: number; truncated?: true; out: number },
  ][] = [
    // zlib: invalid block type
    ['block type 3', '07', { corrupt: 1, out: 0 }],
    // zlib: invalid block type
    ['block type 3 after a stored block', '000100feff4107', { corrupt: 7, out: 1 }],
    // zlib: invalid stored block lengths
    ['stored LEN/NLEN mismatch', '0105000000', { corrupt: 5, out: 0 }],
    // zlib: ok 0 5
    ['stored empty final block', '010000ffff', { ok: 5, out: 0 }],
    // zlib: unexpected end of file
    ['stored truncated data', '010500faff4142', { truncated: true, out: 2 }],
    // zlib: ok 1 3
    ['fixed literal', '730400', { ok: 3, out: 1 }],
    // zlib: invalid literal/length code
    ['fixed lit/len code 286', '1b03', { corrupt: 2, out: 0 }],
    // zlib: invalid literal/length code
    ['fixed lit/len code 287', '1b0700', { corrupt: 2, out: 0 }],
    // zlib: invalid distance code
    ['fixed distance code 30', '73043e00', { corrupt: 3, out: 1 }],
    // zlib: invalid distance code
    ['fixed distance code 31', '73047e00', { corrupt: 3, out: 1 }],
    // zlib: invalid distance too far back
    ['distance too far back at start', '030200', { corrupt: 2, out: 0 }],
    // zlib: invalid distance too far back
    ['distance 2 with 1 byte of history', '73044200', { corrupt: 3, out: 1 }],
    // zlib: ok 4 4
    ['distance 1 with 1 byte of history', '73040200', { ok: 4, out: 4 }],
    // zlib: too many length or distance symbols
    ['HLIT 30 (287 codes)', 'f50000', { corrupt: 3, out: 0 }],
    // zlib: too many length or distance symbols
    ['HLIT 31 (288 codes)', 'fd0000', { corrupt: 3, out: 0 }],
    // zlib: too many length or distance symbols
    ['HDIST 30 (31 codes)', 'ed1e00', { corrupt: 3, out: 0 }],
    // zlib: too many length or distance symbols
    ['HDIST 31 (32 codes)', '051f00', { corrupt: 3, out: 0 }],
    // zlib: invalid code lengths set
    ['precode over-subscribed', '05e08124000000000000', { corrupt: 10, out: 0 }],
    // zlib: invalid code lengths set
    ['precode incomplete', '05e00149000000000000', { corrupt: 10, out: 0 }],
    // zlib: unexpected end of file
    ['precode empty', '05e00100000000000000', { corrupt: 10, out: 0 }],
    // zlib: invalid code lengths set
    ['degenerate precode, repeat past end', '050080c0df1f00', { corrupt: 6, out: 0 }],
    // zlib: invalid code lengths set
    ['degenerate precode, all lengths zero', '050080c05f1b00', { corrupt: 6, out: 0 }],
    // zlib: invalid code lengths set
    ['degenerate precode, invalid code', '050080c03f', { corrupt: 5, out: 0 }],
    // zlib: invalid bit length repeat
    ['repeat code 16 first', '05e00304000000000004', { corrupt: 10, out: 0 }],
    // zlib: ok 0 42
    [
      'lit code: only EOB, length 1 (degenerate, accepted)',
      '05c001040000000010(00x31)8000',
      { ok: 42, out: 0 },
    ],
    // zlib: invalid literal/length code
    ['lit code degenerate, invalid bit', '05c001040000000010(00x31)8002', { corrupt: 42, out: 0 }],
    // zlib: ok 2 42
    [
      'literals only, degenerate distance code',
      '05c001040000000010(00x8)01(00x22)8009',
      { ok: 42, out: 2 },
    ],
    // zlib: ok 2 42
    [
      'literals only, empty distance code',
      '05c001040000000010(00x8)01(00x22)8008',
      { ok: 42, out: 2 },
    ],
    // zlib: unexpected end of file
    [
      'length with empty distance code',
      '0dc001040000008020(00x8)01(00x23)cf',
      { corrupt: 42, out: 1 },
    ],
    // zlib: ok 4 43
    ['degenerate distance code used', '0dc101040000008020(00x8)01(00x23)1f0b', { ok: 43, out: 4 }],
    // zlib: invalid distance code
    [
      'degenerate distance code, invalid bit',
      '0dc101040000008020(00x8)01(00x23)1f0f',
      { corrupt: 43, out: 1 },
    ],
    // zlib: invalid literal/lengths set
    [
      'incomplete lit code (three of length 2)',
      '0dc001040000008020(00x8)0f(00x23)1601',
      { corrupt: 42, out: 0 },
    ],
    // zlib: invalid literal/lengths set
    ['over-subscribed lit code', '0dc001040000000010(00x8)03(00x22)8002', { corrupt: 42, out: 0 }],
    // zlib: invalid distances set
    [
      'incomplete distance code (two of length 2)',
      '0dc101040000008020(00x8)01(00x23)7901',
      { corrupt: 42, out: 0 },
    ],
    // zlib: invalid code -- missing end-of-block
    [
      'no end-of-block code',
      '05c001040000000010(00x8)03(00x23)010000',
      { truncated: true, out: 23 },
    ],
    // zlib: ok 2 141
    [
      '15-bit EOB code, complete',
      '05e00190244992244902(00x32)128b9a4756cfde03(00x87)3cf2ff07',
      { ok: 141, out: 2 },
    ],
    // zlib: unexpected end of file
    [
      '15-bit EOB code, last 1 byte(s) cut',
      '05e00190244992244902(00x32)128b9a4756cfde03(00x87)3cf2ff',
      { truncated: true, out: 0 },
    ],
    // zlib: unexpected end of file
    [
      '15-bit EOB code, last 2 byte(s) cut',
      '05e00190244992244902(00x32)128b9a4756cfde03(00x87)3cf2',
      { truncated: true, out: 0 },
    ],
    // zlib: ok 5 10
    ['stored then fixed match over it', '000200fdff6162034200', { ok: 10, out: 5 }],
    // zlib: unexpected end of file
    ['non-final empty stored block, then nothing', '000000ffff', { truncated: true, out: 0 }],
    // zlib: unexpected end of file
    ['empty input', '', { truncated: true, out: 0 }],
  ];
  for (const [name, h, expect] of cases) {
    it(name, () => {
      const input = hex(h);
      for (const chunker of [whole, fixed(1), fixed(3)]) {
        const r = run(input, chunker);
        if (expect.ok !== undefined) {
          assert.equal(r.status, 'ok', r.message);
          assert.equal(r.consumed, expect.ok);
        } else if (expect.corrupt !== undefined) {
          assert.equal(r.message, `flate: corrupt input before offset ${expect.corrupt}`);
        } else {
          assert.equal(r.status, 'truncated', r.message);
        }
        assert.equal(r.out.length, expect.out, 'bytes output before the end');
      }
    });
  }

  it('accepts a stream using all 15-bit codes and the 32768-byte distance', () => {
    // zlib at level 9 on skewed data produces long codes; window-sized distance via 32 KiB.
    const base = randomBytes(32768, 30);
    const data = concat([base, base, textBytes(10_000, 31), base]);
    const comp = new Uint8Array(zlib.deflateRawSync(data, { level: 9 }));
    assertInflates(comp, data, randomChunks(777, 32), 'window-sized distances');
  });

  it('rejects a distance one byte beyond the output so far', () => {
    // Stored "ab" (non-final), then a fixed block with length 3 at distance 3.
    const r = run(hex('000200fdff6162032200'), whole);
    assert.equal(r.message, 'flate: corrupt input before offset 9');
  });
});

describe('wasm inflate: dynamic block headers', () => {
  // The decoder reads a block's code lengths and builds its tables on a fast path when 16 bytes
  // of input are at hand, and on the slow path (which reads as Go does) otherwise: fed a byte at
  // a time, a stream takes the slow path only.
  it('decodes generated blocks (codes up to 15 bits, repeats) to what was coded', () => {
    for (let seed = 1; seed <= 600; seed++) {
      const block = dynamicBlock(seed);
      if (block.flaw !== 'none') continue;
      const input = concat([block.stream, Uint8Array.of(0xaa, 0x55)]);
      for (const chunker of [whole, fixed(1)]) {
        const r = run(input, chunker);
        assert.equal(r.status, 'ok', `seed ${seed}: ${r.message}`);
        assert.equal(r.consumed, block.stream.length, `seed ${seed}: end of stream`);
        assertBytesEqual(r.out, block.data, `seed ${seed}`);
      }
    }
  });

  it('gives the same verdict, offset and output whole and in small chunks, flawed headers too', () => {
    const seen = new Map<string, number>();
    for (let seed = 1; seed <= 1500; seed++) {
      const block = dynamicBlock(seed);
      const input = concat([block.stream, randomBytes(seed % 40, seed)]);
      const a = run(input, whole);
      const what = `seed ${seed} (${block.flaw})`;
      // A byte at a time, and in chunks that leave the fast path anywhere in the header.
      for (const chunker of [fixed(1), randomChunks(64, seed)]) {
        const b = run(input, chunker);
        assert.equal(a.status, b.status, `${what}: ${a.message} / ${b.message}`);
        assert.equal(a.message, b.message, what);
        assert.equal(a.consumed, b.consumed, what);
        assertBytesEqual(a.out, b.out, what);
      }
      if (block.flaw === 'repeat-past-end' || block.flaw === 'repeat-first') {
        // Go rejects the repeat itself, before reading anything after the header.
        assert.equal(a.status, 'corrupt', what);
        assert.ok(a.offset <= block.headerBytes, `${what}: offset ${a.offset}`);
      }
      const key = `${block.flaw} ${a.status}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // The generator reaches every flaw, and each is rejected (or not) as it should be often.
    for (const key of [
      'none ok',
      'repeat-past-end corrupt',
      'repeat-first corrupt',
      'length-missing corrupt',
      'bit-flip corrupt',
    ])
      assert.ok((seen.get(key) ?? 0) >= 50, `${key}: ${seen.get(key) ?? 0} of 1500 ${[...seen]}`);
  });
});

describe('wasm inflate: errors and output', () => {
  it('decode() yields the output decoded before corrupt data, then throws; write() throws', () => {
    const corrupt = concat([hex('000100feff41'), hex('07')]); // stored "A", then block type 3
    const isCorrupt7 = (err: unknown) =>
      isSnapshotError(err) &&
      err.code === 'GZIP' &&
      err.message === 'flate: corrupt input before offset 7';
    const inf = engine.create();
    const it = inf.decode(corrupt);
    const first = it.next();
    assert.equal(first.done, false);
    assert.deepEqual(Array.from(first.value as Uint8Array), [0x41]);
    assert.throws(() => it.next(), isCorrupt7);
    assert.throws(() => inf.write(new Uint8Array(1)), isCorrupt7); // the same error again
    inf.close(); // no TRUNCATED after the error; idempotent
    inf.close();
    const w = engine.create();
    assert.throws(() => w.write(corrupt), isCorrupt7);
    w.close();
  });

  it('throws at once when nothing was decoded before the error, and stays failed', () => {
    const inf = engine.create();
    assert.throws(() => inf.write(hex('07')), /flate: corrupt input before offset 1/);
    assert.throws(
      () => inf.write(hex('00')),
      (err: unknown) => isSnapshotError(err) && err.code === 'GZIP',
    );
    inf.close();
  });

  it('keeps output arrays bounded for highly compressible data (decode() and write())', () => {
    const zeros = new Uint8Array(48 << 20);
    const comp = new Uint8Array(zlib.deflateRawSync(zeros, { level: 9 }));
    assert.ok(comp.length < 100_000);
    const inf = engine.create();
    const it = inf.decode(comp);
    let total = 0;
    let arrays = 0;
    for (let r = it.next(); ; r = it.next()) {
      if (r.done) {
        assert.deepEqual(r.value, { done: true, unused: 0 });
        break;
      }
      assert.ok(r.value.length <= 300 * 1024, `array of ${r.value.length} bytes`);
      assert.ok(r.value.every((b) => b === 0));
      total += r.value.length;
      arrays++;
    }
    inf.close();
    assert.equal(total, zeros.length);
    assert.ok(arrays > 100);
    const w = engine.create();
    const step = w.write(comp);
    w.close();
    assert.ok(step.output.every((o) => o.length <= 300 * 1024));
    assert.equal(
      step.output.reduce((n, o) => n + o.length, 0),
      zeros.length,
    );
  });

  it('runs many inflaters at once (memory grows) and reuses them after close()', () => {
    const streams = Array.from({ length: 24 }, (_, i) => {
      const data = i % 3 ? textBytes(200_000 + i * 1000, 50 + i) : randomBytes(100_000, 50 + i);
      return { data, comp: new Uint8Array(zlib.deflateRawSync(data, { level: 1 + (i % 9) })) };
    });
    for (let round = 0; round < 3; round++) {
      const infs = streams.map(() => engine.create());
      const outs: Uint8Array[][] = streams.map(() => []);
      const pos = streams.map(() => 0);
      let open = streams.length;
      const r = rng(60 + round);
      while (open > 0) {
        for (let i = 0; i < streams.length; i++) {
          const { comp } = streams[i];
          if (pos[i] >= comp.length) continue;
          const n = 1 + r.int(20_000);
          const step = infs[i].write(comp.subarray(pos[i], pos[i] + n));
          outs[i].push(...step.output);
          pos[i] += n;
          if (pos[i] >= comp.length) {
            assert.equal(step.done, true);
            infs[i].close();
            open--;
          }
        }
      }
      for (let i = 0; i < streams.length; i++) {
        assertBytesEqual(concat(outs[i]), streams[i].data, `stream ${i}`);
      }
    }
  });
});

describe('wasm inflate: fuzzing (fast-check)', () => {
  const streamArb = fc
    .record({
      kind: fc.constantFrom('text', 'random', 'runs'),
      size: fc.integer({ min: 0, max: 4000 }),
      seed: fc.integer({ min: 1, max: 1 << 30 }),
      level: fc.integer({ min: 0, max: 9 }),
      strategy: fc.constantFrom(Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED),
    })
    .map(({ kind, size, seed, level, strategy }) => {
      const data =
        kind === 'text'
          ? textBytes(size, seed)
          : kind === 'random'
            ? randomBytes(size, seed)
            : runBytes(size, seed);
      return new Uint8Array(zlib.deflateRawSync(data, { level, strategy }));
    });
  const mutationArb = fc.oneof(
    fc.record({
      op: fc.constant('flip' as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({
      op: fc.constant('set' as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  );
  type Mutation =
    | { op: 'flip'; at: number; bit: number }
    | { op: 'set'; at: number; value: number }
    | { op: 'cut'; at: number }
    | { op: 'insert'; at: number; value: number }
    | { op: 'delete'; at: number };
  function mutate(s: Uint8Array, muts: Mutation[]): Uint8Array {
    let b: Uint8Array = Uint8Array.from(s);
    for (const m of muts) {
      if (b.length === 0) break;
      const at = m.at % b.length;
      if (m.op === 'flip') b[at] ^= 1 << m.bit;
      else if (m.op === 'set') b[at] = m.value;
      else if (m.op === 'cut') b = b.slice(0, at);
      else if (m.op === 'insert')
        b = concat([b.subarray(0, at), Uint8Array.of(m.value), b.subarray(at)]);
      else b = concat([b.subarray(0, at), b.subarray(at + 1)]);
    }
    return b;
  }

  it('agrees with node:zlib on mutated streams (accept/reject, output, stream end)', () => {
    // zlib and Go accept exactly the same streams; they only differ in which error they report.
    fc.assert(
      fc.property(
        streamArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.uint8Array({ maxLength: 12 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 1, max: 1 << 30 }),
        (stream, muts, tail, maxChunk, seed) => {
          const input = concat([mutate(stream, muts), tail]);
          const expected = zlibInflate(input);
          const a = run(input, whole);
          const b = run(input, randomChunks(maxChunk, seed));
          if (expected === null) {
            assert.notEqual(a.status, 'ok');
          } else {
            assert.equal(a.status, 'ok', a.message);
            assert.equal(a.consumed, expected.consumed);
            assertBytesEqual(a.out, expected.out, 'output');
          }
          // Chunking never changes the verdict, the offset or the output.
          assert.equal(b.status, a.status);
          assert.equal(b.message, a.message);
          assert.equal(b.consumed, a.consumed);
          assertBytesEqual(b.out, a.out, 'chunked output');
        },
      ),
      { numRuns: 1500, seed: 42 },
    );
  });

  it('agrees with node:zlib on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        const expected = zlibInflate(input);
        const a = run(input, whole);
        const b = run(input, fixed(1));
        if (expected === null) assert.notEqual(a.status, 'ok');
        else {
          assert.equal(a.status, 'ok', a.message);
          assert.equal(a.consumed, expected.consumed);
          assertBytesEqual(a.out, expected.out, 'output');
        }
        assert.equal(b.message, a.message);
        assertBytesEqual(b.out, a.out, 'chunked output');
      }),
      { numRuns: 3000, seed: 43 },
    );
  });
});

describe('wasm crc32', () => {
  /** Bitwise reference CRC-32, or node:zlib's crc32 where this Node has it. */
  function reference(data: Uint8Array, crc = 0): number {
    const z = (zlib as unknown as { crc32?: (d: Uint8Array, c?: number) => number }).crc32;
    // zlib returns 0 for a NULL buffer, which an empty view may have: skip it for no data.
    if (z && data.length > 0) return z(data, crc) >>> 0;
    let c = ~crc >>> 0;
    for (const b of data) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = c & 1 ? (0xedb88320 ^ (c >>> 1)) >>> 0 : c >>> 1;
    }
    return ~c >>> 0;
  }

  it('computes the check value', () => {
    assert.equal(crc32(0, new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(0, new Uint8Array(0)), 0);
    assert.equal(crc32(0x12345678, new Uint8Array(0)), 0x12345678);
  });

  it('matches node:zlib on random data of every length up to 600 and misaligned views', () => {
    const data = randomBytes(4096, 70);
    for (let n = 0; n <= 600; n++) {
      const off = n % 13;
      const view = data.subarray(off, off + n);
      assert.equal(crc32(0, view), reference(view), `length ${n}`);
    }
  });

  it('continues across chunks, including chunks larger than the WASM buffer', () => {
    const data = concat([randomBytes(3 << 20, 71), textBytes(1 << 20, 72)]);
    const expected = reference(data);
    assert.equal(crc32(0, data), expected);
    for (let seed = 0; seed < 5; seed++) {
      const r = rng(seed + 80);
      let c = 0;
      for (let pos = 0; pos < data.length; ) {
        const n = 1 + r.int(seed % 2 ? 100 : 700_000);
        c = crc32(c, data.subarray(pos, pos + n));
        pos += n;
      }
      assert.equal(c, expected, `seed ${seed}`);
    }
  });

  it('agrees with the reference under fast-check', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (data, seed, start) => {
        const cut = data.length ? seed % (data.length + 1) : 0;
        const init = start >>> 0;
        const c = crc32(crc32(init, data.subarray(0, cut)), data.subarray(cut));
        assert.equal(c, reference(data, init));
      }),
      { numRuns: 500, seed: 44 },
    );
  });
});

describe('wasm inflate: lenders (output lent, not copied)', () => {
  /** Decodes `comp` with `inf.decode` in 4 KiB slices, copying each lent view at once. */
  function decodeAll(inf: Pick<WasmRawInflater, 'decode'>, comp: Uint8Array): Uint8Array {
    const got: Uint8Array[] = [];
    for (let i = 0; i < comp.length; i += 4096) {
      const it = inf.decode(comp.subarray(i, i + 4096));
      for (let r = it.next(); ; r = it.next()) {
        if (r.done) {
          if (r.value.done) return concat(got);
          break;
        }
        got.push(r.value.slice());
      }
    }
    throw new Error('stream did not end');
  }

  it('decodes member after member, each output a view of the same memory', async () => {
    const lender = await engine.lender();
    const buffers = new Set<ArrayBufferLike>();
    for (let i = 0; i < 3; i++) {
      const data = textBytes(700_000 + i, 90 + i);
      const inf = lender.create();
      const comp = new Uint8Array(zlib.deflateRawSync(data));
      const it = inf.decode(comp);
      const first = it.next();
      assert.equal(first.done, false);
      buffers.add((first.value as Uint8Array).buffer);
      // Closed half-way (TRUNCATED, as any unfinished stream): the next one starts afresh.
      assert.throws(() => inf.close(), /unexpected EOF/);
      const again = lender.create();
      assertBytesEqual(decodeAll(again, comp), data, `member ${i}`);
      again.close();
    }
    assert.equal(buffers.size, 1);
    lender.release();
  });

  it('keeps a lent view intact while other inflaters and lenders grow their memory', async () => {
    const data = textBytes(300_000, 77);
    const lender = await engine.lender();
    const inf = lender.create();
    const it = inf.decode(new Uint8Array(zlib.deflateRawSync(data)));
    const view = it.next().value as Uint8Array;
    const copy = view.slice();
    assert.ok(view.length > 0);
    // Many inflaters open at once on the shared instance (its memory grows), and more lenders.
    const others = Array.from({ length: 40 }, () => engine.create());
    const lenders = await Promise.all(Array.from({ length: 6 }, () => engine.lender()));
    const lent = lenders.map((l) => l.create());
    for (const o of [...others, ...lent]) {
      const step = o.decode(new Uint8Array(zlib.deflateRawSync(randomBytes(70_000, 5))));
      for (let r = step.next(); !r.done; r = step.next());
    }
    assert.equal(view.length, copy.length);
    assertBytesEqual(view, copy, 'lent view');
    for (const o of [...others, ...lent]) o.close();
    for (const l of lenders) l.release();
    // The rest of the stream decodes as if nothing happened.
    const rest: Uint8Array[] = [copy];
    for (let r = it.next(); !r.done; r = it.next()) rest.push(r.value.slice());
    assertBytesEqual(concat(rest), data, 'stream');
    inf.close();
    lender.release();
  });

  it('lends one inflater at a time, only decode(), and nothing after release()', async () => {
    const lender = await engine.lender();
    const inf = lender.create();
    assert.throws(() => lender.create(), /previous inflater is still open/);
    assert.throws(() => inf.write(new Uint8Array(1)), /use decode\(\)/);
    assert.throws(() => inf.close(), /unexpected EOF/);
    const next = lender.create();
    assert.throws(() => next.close(), /unexpected EOF/);
    lender.release();
    assert.throws(() => lender.create(), /used after release/);
  });
});

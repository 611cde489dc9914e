/**
 * Differential tests of the WebAssembly tar framing kernel (assembly/tar.ts, src/wasm/tar.ts)
 * against the pure TypeScript codec (src/format/tar-header.ts), which is the reference: for
 * thousands of crafted and random 512-byte blocks, checksum verdicts, parsed numbers (or
 * errors), detected formats, zero-block tests and whole parsed headers must be equal; encoded
 * header blocks must be byte-identical; TarReader and TarWriter must give the same entries,
 * data, bytes and errors with the kernel installed and without it.
 *
 * The Go-observed suites of test/tar.test.ts are also registered in this file (imported after
 * the kernel is installed), so they run here a second time with the WebAssembly framing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as tarStream from 'tar-stream';
import {
  blockPadding,
  buildHeader,
  buildRawFileHeader,
  computeChecksum,
  encodeHeader,
  encodeRawFileHeader,
  FORMAT_GNU,
  FORMAT_PAX,
  FORMAT_STAR,
  FORMAT_USTAR,
  FORMAT_V7,
  getFormat,
  type HeaderFields,
  installedTarKernel,
  installTarKernel,
  isZeroBlock,
  parseHeaderBlock,
  parseNumeric,
  parseOctal,
  scanHeaderBlock,
  type TarKernel,
  verifyChecksum,
  ZERO_BLOCK,
} from '../src/format/tar-header.js';
import { type TarEntryHeader, TarReader } from '../src/format/tar-reader.js';
import { TarWriter } from '../src/format/tar-writer.js';
import { ByteReader } from '../src/io/byte-reader.js';
import '../src/wasm/embedded.js';
import { concatBytes as concat } from '../src/io/bytes.js';
import { installWasmTar, loadWasmTar } from '../src/wasm/tar.js';
import { xorshift32 } from './support/bytes.js';
import {
  byteStringBytes as ascii,
  base256Field as base256,
  octalField as oct,
  utf8ByteString as utf8,
} from './support/tar-fields.js';

const wasm = await loadWasmTar();

/** The kernel with call counters, to check that the reader and writer really go through it. */
const calls = { scan: 0, encode: 0, raw: 0 };
const counted: TarKernel = {
  name: 'wasm (counted)',
  scanHeaderBlock(b) {
    calls.scan++;
    return wasm.scanHeaderBlock(b);
  },
  encodeHeader(h, format) {
    calls.encode++;
    return wasm.encodeHeader(h, format);
  },
  encodeRawFileHeader(name, size, typeflag, format) {
    calls.raw++;
    return wasm.encodeRawFileHeader(name, size, typeflag, format);
  },
};
installTarKernel(counted);

// Registers test/tar.test.ts's suites here (run with the kernel installed) and gives its tables.
const { readerCases, writerVectors } = await import('./tar.test.js');

// Registered right after those suites, so it runs once they have run and before any test of this
// file has used the kernel.
test('the Go-observed suites of test/tar.test.ts ran through the kernel in this file', () => {
  assert.equal(installedTarKernel(), counted);
  assert.ok(calls.scan > 1000, `scan calls: ${calls.scan}`);
  assert.ok(calls.encode > 100, `encode calls: ${calls.encode}`);
});

/** Runs `fn` with `k` installed (null: the pure codec), restoring the previous kernel. */
async function withKernel<T>(k: TarKernel | null, fn: () => T | Promise<T>): Promise<T> {
  const prev = installedTarKernel();
  installTarKernel(k);
  try {
    return await fn();
  } finally {
    installTarKernel(prev);
  }
}

// ---------------------------------------------------------------------------------------------
// Random input

/** Deterministic generator (xorshift32), so that failures reproduce. */
class Rng {
  readonly u32: () => number;
  constructor(seed: number) {
    this.u32 = xorshift32(seed);
  }
  /** 0..n-1 (0 when n < 1) */
  int(n: number): number {
    return n < 1 ? 0 : this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** A random int64 with a random bit length. */
  i64(): bigint {
    const bits = this.int(64);
    const x = (BigInt(this.u32()) << 32n) | BigInt(this.u32());
    return BigInt.asIntN(64, x >> BigInt(63 - bits)) * (this.chance(0.3) ? -1n : 1n);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A JS string's UTF-8 bytes as a byte string (one char per byte), as TarWriter makes them. */

/** Contents of a numeric field of `len` bytes: every edge case of Go's parsers. */
function numericField(r: Rng, len: number): number[] {
  const digits = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x30 + r.int(8));
    return s;
  };
  const pad = (s: string) => Array.from(ascii(s.padEnd(len, '\0').slice(0, len)));
  switch (r.int(22)) {
    case 0: // Go's writer: zero-padded digits and a NUL
      return pad(oct(r.int(2 ** Math.min(30, (len - 1) * 3)), len));
    case 1: // leading spaces, trailing space and NUL
      return pad(`${' '.repeat(r.int(4))}${digits(1 + r.int(len - 5))} \0`);
    case 2: // leading NULs
      return pad(`${'\0'.repeat(r.int(4))}${digits(1 + r.int(len - 5))}`);
    case 3: // digits filling the whole field (no terminator)
      return pad(digits(len));
    case 4: // all spaces / all NULs / mixed
      return pad(r.pick([' '.repeat(len), '\0'.repeat(len), ' \0'.repeat(len), '\0 '.repeat(len)]));
    case 5: // NUL inside the digits (cut there)
      return pad(`${digits(1 + r.int(4))}\0${digits(1 + r.int(4))}`);
    case 6: // space inside the digits (an error)
      return pad(`${digits(1 + r.int(4))} ${digits(1 + r.int(4))}`);
    case 7: {
      // one non-octal character somewhere
      const s = Array.from(digits(len - 1));
      s[r.int(s.length)] = r.pick(['8', '9', 'a', '+', '-', '\t', '\n', 'x', '\x7f', '/', ':']);
      return pad(`${s.join('')}\0`);
    }
    case 8: // base-256, positive
      return base256(BigInt(r.int(2 ** 31)) * BigInt(r.int(2 ** 20) + 1), len);
    case 9: // base-256, negative
      return base256(-BigInt(r.int(2 ** 31)) * BigInt(r.int(2 ** 20) + 1), len);
    case 10: // base-256 of any int64 (may not fit the field: high bits cut)
      return base256(r.i64(), len);
    case 11: // base-256 around the int64 limits
      return base256(
        r.pick([(1n << 63n) - 1n, 1n << 63n, -(1n << 63n), -(1n << 63n) - 1n, 1n << 56n, -1n]) +
          BigInt(r.int(3)) -
          1n,
        len,
      );
    case 12: {
      // overflow: significant bytes beyond 8 (Go's x >> 56 check)
      const b = Array.from(r.bytes(len));
      b[0] = r.pick([0x80, 0xff, 0xc0, 0xbf]);
      return b;
    }
    case 13: // full of 0xff (base-256 -1), or 0x80 then zeros (0)
      return r.pick([new Array(len).fill(0xff), [0x80, ...new Array(len - 1).fill(0)]]);
    case 14: // random bytes with the marker bit
      return Array.from(r.bytes(len), (c, i) => (i === 0 ? c | 0x80 : c));
    case 15: // random bytes
      return Array.from(r.bytes(len));
    case 16: // random bytes from the octal alphabet with spaces and NULs
      return Array.from({ length: len }, () => r.pick([0, 0x20, 0x30, 0x31, 0x37, 0x38]));
    case 17: // the largest values that fit octal, and one more
      return pad(r.pick(['7'.repeat(len - 1), `1${'0'.repeat(len - 1)}`, '7'.repeat(len)]));
    case 18: // high bytes after a NUL (non-ASCII but ignored by the parser)
      return pad(`${digits(3)}\0\xff\x80`);
    case 19: // empty field
      return new Array(len).fill(0);
    case 20: // trailing spaces after the digits, no NUL
      return pad(`${digits(len - 3)}   `);
    default: // leading '+' or '-' (strconv.ParseUint refuses them)
      return pad(`${r.pick(['+', '-'])}${digits(3)}\0`);
  }
}

const MAGICS: Array<[number, string]> = [
  [257, 'ustar\x0000'], // USTAR / PAX
  [257, 'ustar  \0'], // GNU
  [257, 'ustar \0\0'], // neither (V7)
  [257, 'ustar\0  '], // USTAR with GNU version
  [257, 'USTAR\x0000'], // V7
];

/** Writes a checksum field for `b`: mostly right in some accepted spelling, sometimes wrong. */
function setChecksum(r: Rng, b: Uint8Array): void {
  const [unsigned, signed] = computeChecksum(b);
  let v = r.chance(0.5) ? unsigned : signed;
  const kind = r.int(12);
  if (kind === 10) v += r.pick([1, -1, 256, -256, 8]);
  const s = v.toString(8);
  let field: string;
  switch (kind) {
    case 0:
      field = `${oct(v, 7)} `; // Go's "%06o\0 "
      break;
    case 1:
      field = `${s.padStart(7, '0')}\0`;
      break;
    case 2:
      field = `${' '.repeat(8 - s.length - 1)}${s}\0`;
      break;
    case 3:
      field = `\0\0${s}`.padEnd(8, ' ');
      break;
    case 4:
      field = s.padStart(8, '0'); // no terminator
      break;
    case 5:
      field = `${s}\0xyz`.slice(0, 8).padEnd(8, '\0'); // garbage after the NUL
      break;
    case 6:
      field = ` ${s} `.padEnd(8, ' ');
      break;
    case 7:
      field = r.pick(['        ', '\0\0\0\0\0\0\0\0', '0000000\0', '\xff'.repeat(8)]);
      break;
    case 8: {
      field = `${oct(v, 7)} `; // one byte changed
      const i = r.int(8);
      field = field.slice(0, i) + String.fromCharCode(r.int(256)) + field.slice(i + 1);
      break;
    }
    case 9:
      field = `${s.slice(0, 2)} ${s.slice(2)}`.padEnd(8, '\0'); // space inside
      break;
    default:
      field = `${oct(v, 7)} `;
  }
  if (v < 0) field = `-${String(-v)}`.padEnd(8, '\0');
  b.set(ascii(field.slice(0, 8)), 148);
}

/** A header block with random content in every field, built to reach every branch. */
function craftedBlock(r: Rng): Uint8Array {
  const b = new Uint8Array(512);
  const text = (off: number, len: number) => {
    const n = r.chance(0.3) ? len : r.int(len + 1); // often the whole field
    const odd = r.chance(0.5) ? [0x2f, 0x80, 0xe9, 0xff] : [0, 0x2f, 0x80, 0xe9, 0xff];
    for (let i = 0; i < n; i++) b[off + i] = r.chance(0.9) ? 0x20 + r.int(95) : r.pick(odd);
  };
  text(0, 100);
  text(157, 100);
  b[156] = r.pick([0x30, 0x00, 0x35, 0x32, 0x78, 0x67, 0x4c, 0x4b, 0x53, r.int(256)]);
  for (const [off, len] of [
    [100, 8],
    [108, 8],
    [116, 8],
    [124, 12],
    [136, 12],
  ]) {
    b.set(r.chance(0.7) ? ascii(oct(r.int(1 << 20), len)) : numericField(r, len), off);
  }
  const magic = r.int(MAGICS.length + 3);
  if (magic < MAGICS.length) b.set(ascii(MAGICS[magic][1]), MAGICS[magic][0]);
  const star = magic === MAGICS.length; // STAR: USTAR magic and the "tar\0" trailer
  if (star) b.set(ascii('ustar\x0000'), 257);
  if (r.chance(0.8)) {
    text(265, 32);
    text(297, 32);
    b.set(r.chance(0.7) ? ascii(oct(0, 8)) : numericField(r, 8), 329);
    b.set(r.chance(0.7) ? ascii(oct(0, 8)) : numericField(r, 8), 337);
  }
  switch (star ? 2 : r.int(4)) {
    case 0:
      text(345, 155); // USTAR prefix
      break;
    case 1: // GNU atime/ctime
      if (r.chance(0.7)) b.set(numericField(r, 12), 345);
      if (r.chance(0.7)) b.set(numericField(r, 12), 357);
      break;
    case 2: // STAR atime/ctime (and prefix before them)
      text(345, 131);
      b.set(r.chance(0.5) ? ascii(oct(r.int(2 ** 30), 12)) : numericField(r, 12), 476);
      b.set(r.chance(0.5) ? ascii(oct(r.int(2 ** 30), 12)) : numericField(r, 12), 488);
      break;
    default:
      break;
  }
  if (star) b.set(ascii('tar\0'), 508);
  if (r.chance(0.1)) b[r.int(512)] = 0x80 + r.int(128); // a stray non-ASCII byte
  if (r.chance(0.9)) setChecksum(r, b);
  else b.set(numericField(r, 8), 148);
  return b;
}

/** Every numeric field of every format, plus odd ranges. */
const FIELDS: ReadonlyArray<readonly [number, number]> = [
  [100, 8],
  [108, 8],
  [116, 8],
  [124, 12],
  [136, 12],
  [148, 8],
  [329, 8],
  [337, 8],
  [345, 12],
  [357, 12],
  [386, 12],
  [398, 12],
  [476, 12],
  [483, 12],
  [488, 12],
  [0, 0],
  [0, 1],
  [500, 12],
  [257, 17],
];

/** Asserts that the kernel and the pure codec agree on everything about block `b`. */
function compareBlock(b: Uint8Array, label: string): void {
  try {
    assert.deepEqual(wasm.computeChecksum(b), computeChecksum(b), 'computeChecksum');
    assert.equal(wasm.verifyChecksum(b), verifyChecksum(b), 'verifyChecksum');
    assert.equal(wasm.getFormat(b), getFormat(b), 'getFormat');
    assert.equal(wasm.isZeroBlock(b), isZeroBlock(b), 'isZeroBlock');
    const want = isZeroBlock(b) ? ZERO_BLOCK : parseHeaderBlock(b);
    assert.deepEqual(wasm.scanHeaderBlock(b), want, 'scanHeaderBlock');
    for (const [off, len] of FIELDS) {
      assert.equal(wasm.parseOctal(b, off, len), parseOctal(b, off, len), `octal ${off}`);
      assert.equal(wasm.parseNumeric(b, off, len), parseNumeric(b, off, len), `numeric ${off}`);
    }
  } catch (e) {
    (e as Error).message = `${label}: block ${hex(b)}\n${(e as Error).message}`;
    throw e;
  }
}

function blocksOf(tar: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 512 <= tar.length; i += 512) out.push(tar.slice(i, i + 512));
  return out;
}

/** Random names: short and long ASCII paths, non-ASCII, trailing slashes, odd bytes. */
function randomName(r: Rng): string {
  const seg = () => {
    const n = 1 + r.int(r.chance(0.2) ? 120 : 20);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(r.pick([0x61 + r.int(26), 0x2e, 0x5f]));
    return s;
  };
  const parts: string[] = [];
  const k = 1 + r.int(8);
  for (let i = 0; i < k; i++) parts.push(seg());
  let name = parts.join('/');
  if (r.chance(0.15)) name += r.pick(['é', '日本', '\u{1f600}', 'ü']);
  if (r.chance(0.1)) name += '/';
  if (r.chance(0.05)) name = r.pick(['', '/', '//', 'a//b', '../x', './y']);
  if (r.chance(0.3)) name = name.slice(0, 1 + r.int(100));
  return name;
}

/** A random TarWriter mtime: Date, milliseconds or nanoseconds, inside and outside 0..2^33 s. */
function randomMtime(r: Rng): Date | number | bigint {
  const sec = r.pick([
    r.int(2 ** 31),
    2 ** 33 - 1,
    2 ** 33,
    -1 - r.int(2 ** 31),
    r.int(2 ** 31) * 300,
    0,
    -62135596800, // Go's zero time
  ]);
  switch (r.int(3)) {
    case 0:
      return new Date(sec * 1000 + r.int(1000));
    case 1:
      return sec * 1000 + r.int(1000);
    default:
      return BigInt(sec) * 1_000_000_000n + BigInt(r.int(1e9));
  }
}

function randomSize(r: Rng): number | bigint {
  return r.pick([
    0,
    1 + r.int(4096),
    r.int(2 ** 31),
    2 ** 33 - 1,
    2 ** 33,
    2 ** 33 + r.int(2 ** 20),
    8 * 2 ** 30 - 1 - r.int(1000),
    Number.MAX_SAFE_INTEGER,
    (1n << 63n) - 1n,
    BigInt(r.int(2 ** 30)) << BigInt(r.int(34)),
  ]);
}

/** TarWriter.header's bytes, or its error message. */
function writerBytes(
  name: string | Uint8Array,
  size: number | bigint,
  mtime: Date | number | bigint,
) {
  try {
    return hex(new TarWriter().header(name, size, mtime));
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading archives

/** All entries of `tar` (headers, SHA-256 of each entry's data) and the final outcome. */
async function readAll(
  tar: Uint8Array,
  chunk = 65536,
): Promise<{ headers: TarEntryHeader[]; data: string[]; end: string }> {
  async function* chunks() {
    for (let i = 0; i < tar.length; i += chunk) yield tar.subarray(i, i + chunk);
  }
  const reader = new TarReader(new ByteReader(chunks()));
  const headers: TarEntryHeader[] = [];
  const data: string[] = [];
  try {
    for (;;) {
      const h = await reader.next();
      if (h === null) return { headers, data, end: 'EOF' };
      headers.push(h);
      const hash = createHash('sha256');
      for (;;) {
        const c = await reader.read(1 << 20);
        if (c === null) break;
        hash.update(c);
      }
      data.push(hash.digest('hex'));
    }
  } catch (e) {
    return { headers, data, end: `${(e as { code?: string }).code}: ${(e as Error).message}` };
  }
}

/** Reads `tar` without and with the kernel and asserts identical outcomes. */
async function compareReads(tar: Uint8Array, chunk?: number): Promise<void> {
  const pure = await withKernel(null, () => readAll(tar, chunk));
  const before = calls.scan;
  const viaWasm = await withKernel(counted, () => readAll(tar, chunk));
  assert.ok(calls.scan > before || tar.length < 512, 'the reader used the kernel');
  assert.deepEqual(viaWasm, pure);
}

async function tarStreamArchive(
  entries: Array<{ name: string; data?: Uint8Array; size?: number; type?: string }>,
): Promise<Uint8Array> {
  const p = tarStream.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Uint8Array);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      const header = {
        name: e.name,
        type: (e.type ?? 'file') as 'file',
        mtime: new Date(1e12),
        uname: 'user',
        gname: 'group',
        uid: 1000,
        gid: 1000,
        mode: 0o644,
        linkname: e.type === 'symlink' ? 'target/of/the/link' : undefined,
      };
      if (e.data !== undefined) p.entry(header, Buffer.from(e.data), cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return concat(chunks);
}

// ---------------------------------------------------------------------------------------------

describe('tar kernel: block parsing equals the pure codec', () => {
  test('TarWriter headers (USTAR, USTAR with prefix, PAX) and their PAX record blocks', () => {
    const r = new Rng(1);
    let n = 0;
    for (let i = 0; i < 600; i++) {
      const w = new TarWriter();
      let out: Uint8Array;
      try {
        out = w.header(randomName(r), randomSize(r), randomMtime(r));
      } catch {
        continue;
      }
      for (const b of blocksOf(out)) {
        compareBlock(b, `writer #${i}`);
        n++;
      }
    }
    assert.ok(n > 600);
  });

  test('tar-stream headers (USTAR, PAX, base-256 sizes, directories, symlinks)', async () => {
    const r = new Rng(2);
    const entries: Array<{ name: string; data?: Uint8Array; type?: string }> = [];
    for (let i = 0; i < 150; i++) {
      const type = r.pick(['file', 'file', 'directory', 'symlink']);
      entries.push({
        name: randomName(r).replace(/\/$/, '') || 'x',
        data: type === 'file' ? r.bytes(r.int(700)) : undefined,
        type,
      });
    }
    const tar = await tarStreamArchive(entries);
    for (const [i, b] of blocksOf(tar).entries()) compareBlock(b, `tar-stream block ${i}`);
    // Base-256 size fields (tar-stream writes them beyond 8 GiB).
    for (const size of [2 ** 33, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
      const p = tarStream.pack();
      const first = new Promise<Uint8Array>((resolve) => {
        p.once('data', (c: unknown) => resolve(c as Uint8Array));
      });
      p.entry({ name: 'state.bin', size, mtime: new Date(1e12) });
      const block = (await first).slice(0, 512);
      p.destroy();
      assert.equal(block[124] & 0x80, 0x80);
      compareBlock(block, `tar-stream size ${size}`);
    }
  });

  test("every block of test/tar.test.ts's Go-observed archives", () => {
    let n = 0;
    for (const c of readerCases) {
      for (const [i, b] of blocksOf(c.tar).entries()) {
        compareBlock(b, `${c.name} block ${i}`);
        n++;
      }
    }
    assert.ok(n > 500);
  });

  test('crafted headers: every field edge case, every magic, checksum spellings', () => {
    const r = new Rng(3);
    const formats = new Map<number, number>();
    let parsed = 0;
    for (let i = 0; i < 6000; i++) {
      const b = craftedBlock(r);
      compareBlock(b, `crafted #${i}`);
      const f = getFormat(b);
      formats.set(f, (formats.get(f) ?? 0) + 1);
      if (parseHeaderBlock(b) !== null) parsed++;
    }
    // The generator reaches every format and both verdicts.
    for (const f of [0, FORMAT_V7, FORMAT_USTAR | FORMAT_PAX, FORMAT_GNU, FORMAT_STAR]) {
      assert.ok((formats.get(f) ?? 0) > 50, `format ${f}: ${formats.get(f)}`);
    }
    assert.ok(parsed > 1000 && parsed < 5500, `parsed ${parsed}`);
  });

  test('random bytes, and random bytes with a valid checksum', () => {
    const r = new Rng(4);
    for (let i = 0; i < 2000; i++) {
      const b = r.bytes(512);
      compareBlock(b, `random #${i}`);
      if (r.chance(0.5)) b.set(ascii(MAGICS[r.int(MAGICS.length)][1]), 257);
      setChecksum(r, b);
      compareBlock(b, `random+checksum #${i}`);
    }
  });

  test('mutations of valid headers (single bytes, checksum fields)', () => {
    const r = new Rng(5);
    const valid = blocksOf(
      concat([
        new TarWriter().header('meta.json', 201, 1700000000000),
        new TarWriter().header(`${'d/'.repeat(60)}state.bin`, 2 ** 34, 1700000000000),
      ]),
    );
    for (const c of readerCases)
      for (const b of blocksOf(c.tar)) if (verifyChecksum(b)) valid.push(b);
    for (let i = 0; i < 3000; i++) {
      const b = r.pick(valid).slice();
      const k = r.int(4);
      if (k === 0) b[r.int(512)] = r.int(256);
      else if (k === 1) b[148 + r.int(8)] = r.pick([0, 0x20, 0x30 + r.int(10), r.int(256)]);
      else if (k === 2) setChecksum(r, b);
      else {
        const [off, len] = r.pick(FIELDS.slice(0, 15));
        b.set(numericField(r, len), off);
        if (r.chance(0.8)) setChecksum(r, b);
      }
      compareBlock(b, `mutation #${i}`);
    }
  });

  test('zero blocks and near-zero blocks', () => {
    compareBlock(new Uint8Array(512), 'zero');
    for (let i = 0; i < 512; i++) {
      const b = new Uint8Array(512);
      b[i] = 1 + (i % 255);
      compareBlock(b, `one byte at ${i}`);
    }
    // A zero block inside a longer array: only the first 512 bytes count.
    const long = new Uint8Array(1024);
    long[700] = 1;
    assert.equal(wasm.scanHeaderBlock(long), ZERO_BLOCK);
    assert.equal(scanHeaderBlock(long), ZERO_BLOCK);
  });

  test('numeric fields in isolation: lengths 1..17 (octal) and up to 24 (base-256)', () => {
    const r = new Rng(6);
    for (let i = 0; i < 20000; i++) {
      const len = 1 + r.int(17);
      const field = Uint8Array.from(len >= 2 ? numericField(r, len) : r.bytes(len));
      const b = new Uint8Array(len + 3);
      b.set(field, 2);
      assert.equal(wasm.parseOctal(b, 2, len), parseOctal(b, 2, len), hex(field));
      assert.equal(wasm.parseNumeric(b, 2, len), parseNumeric(b, 2, len), hex(field));
    }
    for (let i = 0; i < 5000; i++) {
      const len = 1 + r.int(24);
      const b = r.bytes(len);
      b[0] |= 0x80;
      if (r.chance(0.5)) b.fill(r.pick([0, 0xff]), 1, 1 + r.int(len));
      assert.equal(wasm.parseNumeric(b, 0, len), parseNumeric(b, 0, len), hex(b));
    }
    // Exact limits of base-256 in 12 bytes.
    for (const x of [(1n << 63n) - 1n, -(1n << 63n), 0n, -1n, 1n << 62n]) {
      const b = Uint8Array.from(base256(x, 12));
      assert.equal(wasm.parseNumeric(b, 0, 12), x);
      assert.equal(parseNumeric(b, 0, 12), x);
    }
    for (const x of [1n << 63n, -(1n << 63n) - 1n, 1n << 70n]) {
      const b = Uint8Array.from(base256(x, 12));
      assert.equal(wasm.parseNumeric(b, 0, 12), null);
      assert.equal(parseNumeric(b, 0, 12), null);
    }
    assert.throws(() => wasm.parseOctal(new Uint8Array(20), 0, 18), RangeError);
    assert.throws(() => wasm.parseNumeric(new Uint8Array(8), 4, 8), RangeError);
    assert.throws(() => wasm.getFormat(new Uint8Array(511)), RangeError);
  });

  test('blockPadding', () => {
    const r = new Rng(7);
    const sizes: Array<number | bigint> = [0, 1, 511, 512, 513, 2 ** 33, -1, 1.5, Number.NaN];
    for (let i = 0; i < 2000; i++) sizes.push(r.int(2 ** 31) * r.int(1000), r.i64(), r.i64() << 8n);
    for (const s of sizes) assert.equal(wasm.blockPadding(s), blockPadding(s), String(s));
  });
});

describe('tar kernel: header encoding is byte-identical', () => {
  const formats = [
    FORMAT_USTAR,
    FORMAT_PAX,
    FORMAT_GNU,
    FORMAT_V7,
    FORMAT_STAR,
    FORMAT_USTAR | FORMAT_PAX,
    FORMAT_V7 | FORMAT_GNU,
    FORMAT_GNU | FORMAT_STAR,
    FORMAT_STAR | FORMAT_USTAR,
    FORMAT_PAX | 32,
  ];

  const byteString = (r: Rng, max: number) => {
    const n = r.chance(0.2) ? max + r.int(60) - 30 : r.int(max + 1);
    let s = '';
    for (let i = 0; i < Math.max(0, n); i++) {
      s += String.fromCharCode(
        r.chance(0.85) ? 0x20 + r.int(95) : r.pick([0, 0x2f, 0x2f, 0x80, 0xc3, 0xff]),
      );
    }
    if (r.chance(0.2)) s = s.slice(0, max - 1 - r.int(3)) + '/'.repeat(1 + r.int(5)) + s;
    return s;
  };
  const number = (r: Rng): bigint =>
    r.pick([
      0n,
      BigInt(r.int(1 << 21)),
      (1n << 21n) - 1n,
      1n << 21n,
      BigInt(r.int(2 ** 31)) * 4n,
      (1n << 33n) - 1n,
      1n << 33n,
      -1n,
      -(1n << 56n),
      (1n << 56n) - 1n,
      1n << 56n,
      -(1n << 56n) - 1n,
      (1n << 63n) - 1n,
      -(1n << 63n),
      r.i64(),
    ]);

  test('encodeHeader: random fields in every format', () => {
    const r = new Rng(8);
    for (let i = 0; i < 5000; i++) {
      const h: HeaderFields = {
        typeflag: r.pick([0x30, 0x35, 0x00, 0x78, r.int(256)]),
        name: byteString(r, 100),
      };
      if (r.chance(0.5)) h.linkname = byteString(r, 100);
      if (r.chance(0.5)) h.uname = byteString(r, 32);
      if (r.chance(0.5)) h.gname = byteString(r, 32);
      if (r.chance(0.5)) h.prefix = byteString(r, 155);
      for (const k of ['mode', 'uid', 'gid', 'size', 'mtime', 'devmajor', 'devminor'] as const) {
        if (r.chance(0.7)) h[k] = number(r);
      }
      if (r.chance(0.5)) h.atime = number(r);
      if (r.chance(0.5)) h.ctime = number(r);
      const format = r.pick(formats);
      const got = wasm.encodeHeader(h, format);
      assert.ok(got !== undefined, 'the kernel takes every in-range input');
      assert.equal(hex(got), hex(encodeHeader(h, format)), `#${i} format ${format}`);
    }
  });

  test('encodeHeader: the shapes TarWriter emits (USTAR, USTAR prefix, PAX main block)', () => {
    const r = new Rng(9);
    for (let i = 0; i < 3000; i++) {
      const name = byteString(r, 100);
      const h: HeaderFields = {
        typeflag: r.pick([0x30, 0x35]),
        name,
        mode: 0o600n,
        size: r.pick([0n, BigInt(r.int(2 ** 31)), (1n << 33n) - 1n, 1n << 33n, 1n << 40n]),
        mtime: r.pick([0n, BigInt(r.int(2 ** 31)), 1n << 33n, -BigInt(r.int(2 ** 31))]),
      };
      if (r.chance(0.3)) h.prefix = byteString(r, 155);
      for (const format of [FORMAT_USTAR, FORMAT_PAX]) {
        assert.equal(hex(wasm.encodeHeader(h, format)!), hex(encodeHeader(h, format)));
      }
    }
  });

  test('encodeRawFileHeader: PAX and GNU special-file headers', () => {
    const r = new Rng(10);
    for (let i = 0; i < 3000; i++) {
      const name = r.chance(0.5) ? byteString(r, 130) : utf8(`${randomName(r)}/PaxHeaders.0/x`);
      const size = r.pick([0, r.int(1 << 20), 2 ** 33 - 1, 2 ** 33, Number.MAX_SAFE_INTEGER]);
      const typeflag = r.pick([0x78, 0x67, 0x4c, 0x4b]);
      const format = r.pick(formats);
      const got = wasm.encodeRawFileHeader(name, size, typeflag, format);
      assert.equal(hex(got!), hex(encodeRawFileHeader(name, size, typeflag, format)), `#${i}`);
    }
  });

  test('inputs the kernel declines are encoded (or refused) by the pure codec', async () => {
    const big: HeaderFields = { typeflag: 0x30, name: 'x', size: 1n << 64n };
    assert.equal(wasm.encodeHeader(big, FORMAT_GNU), undefined);
    const wide: HeaderFields = { typeflag: 0x30, name: 'caf\u00e9\u0101' };
    assert.equal(wasm.encodeHeader(wide, FORMAT_PAX), undefined);
    const long: HeaderFields = { typeflag: 0x30, name: 'n'.repeat(5000) };
    assert.equal(wasm.encodeHeader(long, FORMAT_USTAR), undefined);
    assert.equal(wasm.encodeHeader({ typeflag: 0x30, name: 'x' }, 0), undefined);
    assert.equal(wasm.encodeRawFileHeader('x', 1.5, 0x78, FORMAT_PAX), undefined);
    await withKernel(wasm, () => {
      for (const [h, f] of [
        [big, FORMAT_GNU],
        [big, FORMAT_USTAR],
        [wide, FORMAT_PAX],
        [long, FORMAT_USTAR],
        [long, FORMAT_PAX],
      ] as const) {
        assert.deepEqual(buildHeader(h, f), encodeHeader(h, f));
      }
      assert.throws(() => buildHeader({ typeflag: 0x30, name: 'x' }, 0), RangeError);
      assert.deepEqual(
        buildRawFileHeader('p'.repeat(9000), 5, 0x78, FORMAT_PAX),
        encodeRawFileHeader('p'.repeat(9000), 5, 0x78, FORMAT_PAX),
      );
      assert.throws(() => buildRawFileHeader('x', 1.5, 0x78, FORMAT_PAX), RangeError);
    });
  });

  test('TarWriter: the same bytes and errors with and without the kernel', async () => {
    const r = new Rng(11);
    const cases: Array<[string | Uint8Array, number | bigint, Date | number | bigint]> = [];
    for (let i = 0; i < 3000; i++) {
      const name = r.chance(0.1) ? r.bytes(r.int(140)) : randomName(r);
      cases.push([name, randomSize(r), randomMtime(r)]);
    }
    for (const v of writerVectors) cases.push([v.name, v.size, v.mtime]);
    const pure = await withKernel(null, () => cases.map(([n, s, t]) => writerBytes(n, s, t)));
    const before = { ...calls };
    const viaWasm = await withKernel(counted, () => cases.map(([n, s, t]) => writerBytes(n, s, t)));
    assert.deepEqual(viaWasm, pure);
    assert.ok(calls.encode - before.encode > 2500, 'headers went through the kernel');
    assert.ok(calls.raw - before.raw > 100, 'PAX headers went through the kernel');
    assert.ok(pure.filter((p) => p.length > 2048).length > 100, 'PAX headers were written');
  });

  test('fast-check: TarWriter names and sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 120 }), fc.string({ unit: 'binary', maxLength: 120 })),
        fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: (1n << 63n) - 1n })),
        fc.integer({ min: -(2 ** 40), max: 2 ** 44 }),
        async (name, size, ms) => {
          const pure = await withKernel(null, () => writerBytes(name, size, ms));
          assert.equal(await withKernel(wasm, () => writerBytes(name, size, ms)), pure);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('tar kernel: TarReader and TarWriter installed vs not', () => {
  test("test/tar.test.ts's Go-observed archives give the same entries and errors", async () => {
    for (const c of readerCases) {
      for (const chunk of [512, 4096, 65536]) await compareReads(c.tar, chunk);
    }
  });

  test('a multi-MiB TarWriter archive: same headers and data', async () => {
    const r = new Rng(12);
    const w = new TarWriter();
    const parts: Uint8Array[] = [];
    let total = 0;
    let i = 0;
    while (total < 24 << 20) {
      let name = `${randomName(r).replace(/\/$/, '')}-${i++}`;
      if (r.chance(0.1)) name += '/'; // a directory
      const size = name.endsWith('/') ? 0 : r.chance(0.05) ? r.int(2 << 20) : r.int(20000);
      parts.push(w.header(name, size, 1700000000000 + r.int(1e9)));
      parts.push(r.bytes(size), w.padding(size));
      total += size;
    }
    parts.push(w.end());
    const tar = concat(parts);
    assert.ok(tar.length > 24 << 20);
    await compareReads(tar);
    const out = await withKernel(wasm, () => readAll(tar));
    assert.equal(out.end, 'EOF');
    assert.equal(out.headers.length, i);
  });

  test('a multi-MiB tar-stream archive, and damaged copies of it', async () => {
    const r = new Rng(13);
    const entries: Array<{ name: string; data?: Uint8Array; type?: string }> = [];
    let total = 0;
    while (total < 8 << 20) {
      const type = r.pick(['file', 'file', 'file', 'directory', 'symlink']);
      const data = type === 'file' ? r.bytes(r.int(200000)) : undefined;
      entries.push({ name: `${randomName(r).replace(/\/$/, '')}-${entries.length}`, data, type });
      total += data?.length ?? 0;
    }
    const tar = await tarStreamArchive(entries);
    await compareReads(tar);
    // Damage: a byte of a header (or of data), a truncation, a stray zero block.
    const headerOffsets: number[] = [];
    for (let off = 0; off + 512 <= tar.length; off += 512) {
      if (verifyChecksum(tar.subarray(off, off + 512))) headerOffsets.push(off);
    }
    for (let i = 0; i < 40; i++) {
      const bad = tar.slice();
      const at = r.pick(headerOffsets) + r.int(512);
      bad[at] = r.int(256);
      await compareReads(bad);
    }
    await compareReads(tar.subarray(0, r.int(tar.length)));
    const zero = r.pick(headerOffsets);
    await compareReads(concat([tar.subarray(0, zero), new Uint8Array(512), tar.subarray(zero)]));
  });

  test('installWasmTar installs the kernel; scanHeaderBlock falls back for short blocks', async () => {
    await withKernel(null, async () => {
      assert.equal(await installWasmTar(), true);
      assert.equal(installedTarKernel(), wasm);
      const short = new Uint8Array(100);
      assert.equal(
        scanHeaderBlock(short),
        isZeroBlock(short) ? ZERO_BLOCK : parseHeaderBlock(short),
      );
    });
  });
});

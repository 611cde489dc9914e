/**
 * Tests of the tar layer against Go 1.19's archive/tar.
 *
 * Every expected outcome in the tables below (entries, sizes, data, final error; writer bytes)
 * was produced by running Go 1.19.8's archive/tar on the same bytes; the tests themselves do
 * not need Go. Archives are crafted block by block here; no binary fixtures.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as tarStream from 'tar-stream';
import { isSnapshotError } from '../src/errors.js';
import {
  computeChecksum,
  DecimalInt64Parser,
  FORMAT_GNU,
  FORMAT_PAX,
  FORMAT_STAR,
  FORMAT_UNKNOWN,
  FORMAT_USTAR,
  FORMAT_V7,
  formatName,
  formatPaxRecord,
  formatPaxTime,
  getFormat,
  parseHeaderBlock,
  parseInt64,
  parseNumeric,
  parseOctal,
  parsePaxRecords,
  parsePaxTime,
  SparseHoles,
  splitUstarPath,
} from '../src/format/tar-header.js';
import {
  ERR_FIELD_TOO_LONG,
  ERR_HEADER,
  ERR_MISS_DATA,
  ERR_UNEXPECTED_EOF,
  ERR_UNREF_DATA,
  type TarEntryHeader,
  TarReader,
} from '../src/format/tar-reader.js';
import { cleanPath, TarWriter } from '../src/format/tar-writer.js';
import { ByteReader, markWithLastChunk } from '../src/io/byte-reader.js';
import { chunked, concat as concatAll } from './support/bytes.js';
import {
  base256Field,
  byteStringBytes as bytes,
  octalField as oct,
  byteString as str,
  utf8ByteString as utf8,
} from './support/tar-fields.js';

// ---------------------------------------------------------------------------------------------
// Builders. Strings are byte strings (one char per byte).

/** The parts joined; strings are byte strings. */
const concat = (...parts: Array<Uint8Array | string>): Uint8Array =>
  concatAll(...parts.map((p) => (typeof p === 'string' ? bytes(p) : p)));

/** Base-256 (GNU binary) field as a byte string. */
const b256 = (n: bigint, width: number) => String.fromCharCode(...base256Field(n, width));

const zeros = (n: number) => '\0'.repeat(n);
const padding = (n: number) => zeros((512 - (n % 512)) % 512);
const END = zeros(1024);

interface Hdr {
  name?: string;
  mode?: string;
  uid?: string;
  gid?: string;
  /** A number is written as octal; a string is the raw 12-byte field. */
  size?: number | bigint | string;
  mtime?: string;
  typeflag?: string;
  linkname?: string;
  magic?: 'ustar' | 'gnu' | 'star' | 'v7';
  uname?: string;
  gname?: string;
  devmajor?: string;
  devminor?: string;
  /** USTAR prefix (155 bytes at 345) or STAR prefix (131 bytes at 345). */
  prefix?: string;
  /** Raw bytes written last, at the given offsets (before the checksum). */
  at?: Array<[number, string]>;
  /** 'unsigned' (default), 'signed', or the raw 8-byte checksum field. */
  chksum?: string;
}

function header(h: Hdr): Uint8Array {
  const b = new Uint8Array(512);
  const put = (off: number, s: string) => b.set(bytes(s), off);
  put(0, h.name ?? 'file');
  put(100, h.mode ?? oct(0o644, 8));
  put(108, h.uid ?? oct(1000, 8));
  put(116, h.gid ?? oct(1000, 8));
  put(124, typeof h.size === 'string' ? h.size : oct(h.size ?? 0, 12));
  put(136, h.mtime ?? oct(1700000000, 12));
  put(156, h.typeflag ?? '0');
  put(157, h.linkname ?? '');
  const magic = h.magic ?? 'ustar';
  if (magic === 'ustar' || magic === 'star') put(257, 'ustar\x0000');
  if (magic === 'gnu') put(257, 'ustar  \0');
  if (magic === 'star') put(508, 'tar\0');
  if (magic !== 'v7') {
    put(265, h.uname ?? 'user');
    put(297, h.gname ?? 'group');
    put(329, h.devmajor ?? oct(0, 8));
    put(337, h.devminor ?? oct(0, 8));
  }
  if (h.prefix !== undefined) put(345, h.prefix);
  for (const [off, s] of h.at ?? []) put(off, s);
  const [unsigned, signed] = computeChecksum(b);
  if (h.chksum === undefined || h.chksum === 'unsigned') put(148, `${oct(unsigned, 7)} `);
  else if (h.chksum === 'signed') put(148, `${oct(signed, 7)} `);
  else put(148, h.chksum);
  return b;
}

/** Header + data + padding; the size field defaults to the data length. */
function file(h: Hdr, data = ''): Uint8Array {
  return concat(header({ ...h, size: h.size ?? data.length }), data, padding(data.length));
}

function paxRecord(k: string, v: string): string {
  const r = formatPaxRecord(k, v);
  if (r === null) throw new Error(`test bug: invalid record ${k}`);
  return r;
}

function paxBody(recs: Array<[string, string]>): string {
  return recs.map(([k, v]) => paxRecord(k, v)).join('');
}

/** A PAX extended header ('x' by default) carrying `body`. */
function pax(body: string, h: Hdr = {}): Uint8Array {
  return file({ name: 'PaxHeaders.0/file', typeflag: 'x', ...h }, body);
}

/** Old-GNU sparse array entries (offset, length) as 24-byte records. */
function sparseEntries(entries: Array<[number, number]>): string {
  return entries.map(([o, l]) => oct(o, 12) + oct(l, 12)).join('');
}

/** Deterministic data of length n. */
function data(n: number, seed = 1): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x41 + ((i * 7 + seed) % 26));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Running the reader

type Mode = 'full' | 'skip';
type Entry = [name: string, typeflag: string, size: bigint, data: string];

interface Outcome {
  headers: TarEntryHeader[];
  entries: Entry[];
  err: string;
  reader: TarReader;
  src: ByteReader;
}

async function readArchive(
  tar: Uint8Array,
  opts: { mode?: Mode; chunk?: number; readSize?: number } = {},
): Promise<Outcome> {
  const src = new ByteReader(chunked(tar, opts.chunk ?? 4096));
  const reader = new TarReader(src);
  const out: Outcome = { headers: [], entries: [], err: '', reader, src };
  for (;;) {
    let h: TarEntryHeader | null;
    try {
      h = await reader.next();
    } catch (e) {
      out.err = (e as Error).message;
      return out;
    }
    if (h === null) {
      out.err = 'EOF';
      return out;
    }
    out.headers.push(h);
    const entry: Entry = [h.raw.name, String.fromCharCode(h.typeflag), h.size, ''];
    out.entries.push(entry);
    if (opts.mode === 'skip') continue;
    try {
      for (;;) {
        const c = await reader.read(opts.readSize ?? 1000);
        if (c === null) break;
        entry[3] += str(c);
      }
    } catch (e) {
      out.err = (e as Error).message;
      return out;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reader cases: crafted archives and Go 1.19's outcome for each.

export interface ReaderCase {
  name: string;
  tar: Uint8Array;
  /** Reading mode: 'full' reads every entry's data to the end; 'skip' reads none. */
  mode?: Mode;
  entries: Array<[name: string, typeflag: string, size: number | bigint, data?: string]>;
  /** Go's final error message, or 'EOF' for io.EOF. */
  err: string;
  check?: (headers: TarEntryHeader[]) => void;
}

const EOF = 'EOF';
const hello = file({ name: 'hello.txt' }, 'hello');
const MiB = 1 << 20;

const sparseHdr = (entries: Array<[number, number]>, realSize: number, ext = false): Hdr => ({
  name: 'sparse',
  typeflag: 'S',
  magic: 'gnu',
  at: [
    [386, sparseEntries(entries)],
    [482, ext ? '\x01' : '\0'],
    [483, oct(realSize, 12)],
  ],
});

/** The PAX header of 'sp10', a GNU 1.0 sparse file of 10 bytes (its map starts its data). */
const sparse10Pax = () =>
  pax(
    paxBody([
      ['GNU.sparse.major', '1'],
      ['GNU.sparse.minor', '0'],
      ['GNU.sparse.realsize', '10'],
      ['GNU.sparse.name', 'sp10'],
    ]),
  );

export const readerCases: ReaderCase[] = [
  // --- Basic layout and end of archive
  {
    name: 'single USTAR file with end-of-archive marker',
    tar: concat(hello, END),
    entries: [['hello.txt', '0', 5, 'hello']],
    err: EOF,
  },
  {
    name: 'entries with padding; unread data and padding are skipped by next()',
    tar: concat(
      file({ name: 'a' }, data(600)),
      file({ name: 'b' }),
      file({ name: 'c' }, data(512)),
      END,
    ),
    mode: 'skip',
    entries: [
      ['a', '0', 600],
      ['b', '0', 0],
      ['c', '0', 512],
    ],
    err: EOF,
  },
  {
    name: 'data of several entries, block-aligned and not',
    tar: concat(
      file({ name: 'a' }, data(600)),
      file({ name: 'b' }),
      file({ name: 'c' }, data(512, 3)),
      END,
    ),
    entries: [
      ['a', '0', 600, data(600)],
      ['b', '0', 0, ''],
      ['c', '0', 512, data(512, 3)],
    ],
    err: EOF,
  },
  { name: 'empty input is io.EOF', tar: new Uint8Array(0), entries: [], err: EOF },
  {
    name: 'archive without end-of-archive marker is accepted',
    tar: hello,
    entries: [['hello.txt', '0', 5, 'hello']],
    err: EOF,
  },
  {
    name: 'a single zero block then end of input is io.EOF',
    tar: concat(hello, zeros(512)),
    entries: [['hello.txt', '0', 5, 'hello']],
    err: EOF,
  },
  {
    name: 'zero block followed by a non-zero block is ErrHeader',
    tar: concat(hello, zeros(512), hello),
    entries: [['hello.txt', '0', 5, 'hello']],
    err: ERR_HEADER,
  },
  {
    name: 'zero block followed by a partial block is ErrUnexpectedEOF',
    tar: concat(hello, zeros(512), zeros(100)),
    entries: [['hello.txt', '0', 5, 'hello']],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'partial header block is ErrUnexpectedEOF',
    tar: concat(hello, header({ name: 'next' }).subarray(0, 300)),
    entries: [['hello.txt', '0', 5, 'hello']],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'input ending inside the data: data so far, then ErrUnexpectedEOF',
    tar: concat(header({ name: 'big', size: 1000 }), data(700)),
    entries: [['big', '0', 1000, data(700)]],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'input ending inside unread data: next() fails with ErrUnexpectedEOF',
    tar: concat(header({ name: 'big', size: 1000 }), data(700)),
    mode: 'skip',
    entries: [['big', '0', 1000]],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'input ending inside the padding is io.EOF (Go: tryReadFull)',
    tar: concat(header({ name: 'a', size: 5 }), 'hello', zeros(100)),
    entries: [['a', '0', 5, 'hello']],
    err: EOF,
  },
  {
    name: 'three zero blocks: end after the second',
    tar: concat(hello, zeros(1536)),
    entries: [['hello.txt', '0', 5, 'hello']],
    err: EOF,
  },

  // --- Checksum
  {
    name: 'wrong checksum is ErrHeader',
    tar: concat(header({ chksum: `${oct(1234, 7)} ` }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'signed (Sun tar) checksum is accepted',
    tar: concat(file({ name: 'caf\xe9\xff', chksum: 'signed' }, 'x'), END),
    entries: [['caf\xe9\xff', '0', 1, 'x']],
    err: EOF,
  },
  {
    name: 'checksum with leading spaces, no NUL',
    tar: (() => {
      const b = header({ name: 'sp' });
      const v = parseOctal(b, 148, 8);
      b.set(bytes(` ${v.toString(8).padStart(6, '0')} `), 148);
      return concat(b, END);
    })(),
    entries: [['sp', '0', 0, '']],
    err: EOF,
  },
  {
    name: 'checksum with an inner space is ErrHeader',
    tar: (() => {
      const b = header({ name: 'sp' });
      const s = parseOctal(b, 148, 8).toString(8).padStart(6, '0');
      b.set(bytes(`${s.slice(0, 2)} ${s.slice(2)}\0`), 148);
      return concat(b, END);
    })(),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'checksum field of NULs (value 0) is ErrHeader',
    tar: concat(header({ chksum: zeros(8) }), END),
    entries: [],
    err: ERR_HEADER,
  },

  // --- Formats and names
  {
    name: 'V7 header: prefix area and user names ignored, format unknown',
    tar: concat(
      file({ name: 'v7', magic: 'v7', at: [[345, 'ignored-prefix']], typeflag: '\0' }, 'v'),
      END,
    ),
    entries: [['v7', '0', 1, 'v']],
    err: EOF,
    check: (h) => {
      assert.equal(h[0].format, FORMAT_UNKNOWN);
      assert.equal(h[0].uname, '');
    },
  },
  {
    name: 'V7 header: devmajor is not parsed (garbage accepted)',
    tar: concat(file({ name: 'v7', magic: 'v7', at: [[329, 'zz']] }, 'v'), END),
    entries: [['v7', '0', 1, 'v']],
    err: EOF,
  },
  {
    name: 'USTAR devmajor garbage is ErrHeader',
    tar: concat(file({ name: 'u', devmajor: 'zz' }, 'v'), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'USTAR prefix is joined with a slash; format USTAR',
    tar: concat(file({ name: 'name', prefix: 'some/prefix' }, 'x'), END),
    entries: [['some/prefix/name', '0', 1, 'x']],
    err: EOF,
    check: (h) => assert.equal(h[0].format, FORMAT_USTAR),
  },
  {
    name: 'STAR: 131-byte prefix, atime and ctime',
    tar: concat(
      file(
        {
          name: 'n',
          magic: 'star',
          prefix: 'starpre',
          at: [
            [476, oct(111, 12)],
            [488, oct(222, 12)],
          ],
        },
        'x',
      ),
      END,
    ),
    entries: [['starpre/n', '0', 1, 'x']],
    err: EOF,
    check: (h) => {
      assert.equal(h[0].format, FORMAT_UNKNOWN);
      assert.deepEqual(h[0].atime, { sec: 111n, nsec: 0 });
      assert.deepEqual(h[0].ctime, { sec: 222n, nsec: 0 });
    },
  },
  {
    name: 'STAR with an unparsable atime is ErrHeader',
    tar: concat(file({ magic: 'star', at: [[476, 'xyz']] }, 'x'), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'GNU: atime/ctime in the prefix area, no prefix; format GNU',
    tar: concat(
      file(
        {
          name: 'g',
          magic: 'gnu',
          at: [
            [345, oct(5, 12)],
            [357, oct(6, 12)],
          ],
        },
        'x',
      ),
      END,
    ),
    entries: [['g', '0', 1, 'x']],
    err: EOF,
    check: (h) => {
      assert.equal(h[0].format, FORMAT_GNU);
      assert.deepEqual(h[0].atime, { sec: 5n, nsec: 0 });
      assert.deepEqual(h[0].ctime, { sec: 6n, nsec: 0 });
    },
  },
  {
    name: 'GNU with unparsable atime: pre-Go1.8 fallback to the USTAR prefix',
    tar: concat(file({ name: 'g', magic: 'gnu', prefix: 'old/go/prefix' }, 'x'), END),
    entries: [['old/go/prefix/g', '0', 1, 'x']],
    err: EOF,
    check: (h) => {
      assert.equal(h[0].format, FORMAT_UNKNOWN);
      assert.equal(h[0].atime, null);
    },
  },
  {
    name: 'GNU fallback ignores a non-ASCII prefix',
    tar: concat(file({ name: 'g', magic: 'gnu', prefix: 'pr\xe9fix' }, 'x'), END),
    entries: [['g', '0', 1, 'x']],
    err: EOF,
  },
  {
    name: 'USTAR with a non-ASCII byte: accepted, format unknown',
    tar: concat(file({ name: 'n\xe4me' }, 'x'), END),
    entries: [['n\xe4me', '0', 1, 'x']],
    err: EOF,
    check: (h) => assert.equal(h[0].format, FORMAT_UNKNOWN),
  },
  {
    name: 'USTAR numeric field not NUL-terminated (tar-stream style): format unknown',
    tar: concat(file({ name: 'ts', size: '00000000001 ' }, 'x'), END),
    entries: [['ts', '0', 1, 'x']],
    err: EOF,
    check: (h) => assert.equal(h[0].format, FORMAT_UNKNOWN),
  },
  {
    name: 'GNU magic with the USTAR version is V7',
    tar: concat(file({ name: 'x', at: [[257, 'ustar 00']], prefix: 'p' }, 'x'), END),
    entries: [['x', '0', 1, 'x']],
    err: EOF,
    check: (h) => assert.equal(h[0].format, FORMAT_UNKNOWN),
  },

  // --- Numeric fields
  {
    name: 'octal size with leading spaces and a trailing space',
    tar: concat(header({ size: '        12 ' }), data(10), padding(10), END),
    entries: [['file', '0', 10, data(10)]],
    err: EOF,
  },
  {
    name: 'octal size with leading NULs',
    tar: concat(header({ size: `${zeros(8)}012\0` }), data(10), padding(10), END),
    entries: [['file', '0', 10, data(10)]],
    err: EOF,
  },
  {
    name: 'octal size with an inner space is ErrHeader',
    tar: concat(header({ size: '000000 0012\0' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'octal size with the digit 8 is ErrHeader',
    tar: concat(header({ size: '00000000018\0' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'octal size cut at an inner NUL',
    tar: concat(header({ size: '12\0 99\0\0\0\0\0\0' }), data(10), padding(10), END),
    entries: [['file', '0', 10, data(10)]],
    err: EOF,
  },
  {
    name: 'base-256 size',
    tar: concat(header({ size: b256(1000n, 12) }), data(1000), padding(1000), END),
    entries: [['file', '0', 1000, data(1000)]],
    err: EOF,
  },
  {
    name: 'negative base-256 size on a regular file is ErrHeader',
    tar: concat(header({ size: b256(-1n, 12) }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'negative base-256 size on a symlink is accepted',
    tar: concat(header({ name: 'l', typeflag: '2', linkname: 't', size: b256(-1n, 12) }), END),
    entries: [['l', '2', -1, '']],
    err: EOF,
  },
  {
    name: 'base-256 size beyond 64 bits is ErrHeader',
    tar: concat(header({ size: `\x80\x01${zeros(10)}` }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'base-256 size with bit 63 set is ErrHeader',
    tar: concat(header({ size: `\x80\0\0\0\x80${zeros(7)}` }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'base-256 size of 2^63-1: header accepted, data truncated',
    tar: concat(header({ size: b256((1n << 63n) - 1n, 12) }), data(100)),
    entries: [['file', '0', (1n << 63n) - 1n, data(100)]],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'base-256 mode, uid and negative mtime',
    tar: concat(
      file({ mode: b256(0o755n, 8), uid: b256(1n << 40n, 8), mtime: b256(-1n, 12) }, 'x'),
      END,
    ),
    entries: [['file', '0', 1, 'x']],
    err: EOF,
    check: (h) => {
      assert.equal(h[0].mode, 0o755n);
      assert.equal(h[0].uid, 1n << 40n);
      assert.deepEqual(h[0].mtime, { sec: -1n, nsec: 0 });
      assert.equal(h[0].format, FORMAT_UNKNOWN); // base-256 fields are not NUL-terminated
    },
  },
  {
    name: 'unparsable uid is ErrHeader',
    tar: concat(file({ uid: '00009x0\0' }, 'x'), END),
    entries: [],
    err: ERR_HEADER,
  },

  // --- PAX extended headers
  {
    name: 'PAX path overrides the name; format PAX',
    tar: concat(pax(paxBody([['path', 'a/very/long/path']])), file({ name: 'short' }, 'x'), END),
    entries: [['a/very/long/path', '0', 1, 'x']],
    err: EOF,
    check: (h) => {
      assert.equal(h[0].format, FORMAT_PAX);
      assert.deepEqual([...h[0].paxRecords!], [['path', 'a/very/long/path']]);
    },
  },
  {
    name: 'PAX size overrides the header size',
    tar: concat(
      pax(paxBody([['size', '700']])),
      header({ name: 'f', size: 0 }),
      data(700),
      padding(700),
      END,
    ),
    entries: [['f', '0', 700, data(700)]],
    err: EOF,
  },
  {
    name: 'PAX size beyond 2^53',
    tar: concat(pax(paxBody([['size', '9007199254740993']])), header({ name: 'f' }), data(10)),
    mode: 'skip',
    entries: [['f', '0', 9007199254740993n]],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'negative PAX size is ErrHeader',
    tar: concat(pax(paxBody([['size', '-1']])), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'unparsable PAX size is ErrHeader',
    tar: concat(pax(paxBody([['size', '12a']])), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'empty PAX values keep the header values',
    tar: concat(
      pax(
        paxBody([
          ['size', ''],
          ['path', ''],
          ['mtime', ''],
        ]),
      ),
      file({ name: 'keep' }, 'abc'),
      END,
    ),
    entries: [['keep', '0', 3, 'abc']],
    err: EOF,
    check: (h) => assert.deepEqual(h[0].mtime, { sec: 1700000000n, nsec: 0 }),
  },
  {
    name: 'PAX uid, gid, uname, gname, linkpath, times and xattrs',
    tar: concat(
      pax(
        paxBody([
          ['uid', '4294967296'],
          ['gid', '+7'],
          ['uname', 'üser'],
          ['gname', 'grp'],
          ['linkpath', 'target'],
          ['mtime', '1234567890.123456789123'],
          ['atime', '-1.5'],
          ['ctime', '-0.25'],
          ['SCHILY.xattr.user.k', 'v'],
          ['SCHILY.xattr.user.empty', ''],
          ['comment', 'a\0b'],
        ]),
      ),
      header({ name: 'l', typeflag: '2' }),
      END,
    ),
    entries: [['l', '2', 0, '']],
    err: EOF,
    check: ([h]) => {
      assert.equal(h.uid, 4294967296n);
      assert.equal(h.gid, 7n);
      assert.equal(h.raw.uname, 'üser'); // byte string as written (latin1 here)
      assert.equal(h.gname, 'grp');
      assert.equal(h.linkname, 'target');
      assert.deepEqual(h.mtime, { sec: 1234567890n, nsec: 123456789 });
      assert.deepEqual(h.atime, { sec: -2n, nsec: 500000000 });
      assert.deepEqual(h.ctime, { sec: -1n, nsec: 750000000 });
      assert.deepEqual([...h.xattrs!], [['user.k', 'v']]);
      assert.equal(h.paxRecords!.get('comment'), 'a\0b');
      assert.equal(h.paxRecords!.get('SCHILY.xattr.user.empty'), '');
    },
  },
  {
    name: 'unparsable PAX mtime is ErrHeader',
    tar: concat(pax(paxBody([['mtime', '1.2x']])), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX record whose length runs past the data is ErrHeader',
    tar: concat(pax('13 path=abc\n'), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX record length with a plus sign and leading zeros is accepted',
    tar: concat(pax('+13 path=abc\n0012 size=0\n'), file({ name: 'f', size: 1 }), END),
    entries: [['abc', '0', 0, '']],
    err: EOF,
  },
  {
    name: 'PAX record without "=" is ErrHeader',
    tar: concat(pax('12 pathabcd\n'), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX record not ending in a newline is ErrHeader',
    tar: concat(pax('12 path=abc!'), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX record length below 5 is ErrHeader',
    tar: concat(pax('4 a\n'), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX key with a NUL is ErrHeader',
    tar: concat(pax('10 a\0b=cd\n'), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX path value with a NUL is ErrHeader',
    tar: concat(pax('12 path=a\0c\n'), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'only the last of several PAX headers applies',
    tar: concat(
      pax(paxBody([['path', 'first']])),
      pax(paxBody([['uname', 'second']])),
      file({ name: 'orig' }, 'x'),
      END,
    ),
    entries: [['orig', '0', 1, 'x']],
    err: EOF,
    check: ([h]) => assert.equal(h.uname, 'second'),
  },
  {
    name: 'PAX header followed by the end of input is io.EOF',
    tar: pax(paxBody([['path', 'x']])),
    entries: [],
    err: EOF,
  },
  {
    name: 'PAX header followed by two zero blocks is io.EOF',
    tar: concat(pax(paxBody([['path', 'x']])), END),
    entries: [],
    err: EOF,
  },
  {
    name: 'truncated PAX data is ErrUnexpectedEOF',
    tar: concat(header({ typeflag: 'x', size: 100 }), '30 path='),
    entries: [],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'PAX header over 1 MiB is ErrFieldTooLong',
    tar: concat(header({ typeflag: 'x', size: MiB + 1 }), zeros(MiB + 1)),
    entries: [],
    err: ERR_FIELD_TOO_LONG,
  },
  {
    name: 'PAX header of exactly 1 MiB is accepted',
    tar: (() => {
      const body = paxRecord('comment', 'c'.repeat(MiB - 17));
      assert.equal(body.length, MiB);
      return concat(pax(body), file({ name: 'f' }, 'x'), END);
    })(),
    entries: [['f', '0', 1, 'x']],
    err: EOF,
  },
  {
    name: 'empty PAX header gives empty (not absent) records',
    tar: concat(pax(''), file({ name: 'f' }, 'x'), END),
    entries: [['f', '0', 1, 'x']],
    err: EOF,
    check: ([h]) => assert.equal(h.paxRecords?.size, 0),
  },
  {
    name: 'GNU.sparse.numbytes before GNU.sparse.offset is ErrHeader',
    tar: concat(pax(paxBody([['GNU.sparse.numbytes', '1']])), file({ name: 'f' }), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX global header is returned as an entry and does not apply to later files',
    tar: concat(
      pax(
        paxBody([
          ['path', 'global-path'],
          ['mtime', '5'],
          ['SCHILY.xattr.a', 'b'],
        ]),
        { typeflag: 'g', name: 'GlobalHead.0.0' },
      ),
      file({ name: 'after' }, 'x'),
      END,
    ),
    entries: [
      ['global-path', 'g', 0, ''],
      ['after', '0', 1, 'x'],
    ],
    err: EOF,
    check: ([g, f]) => {
      assert.equal(g.format, FORMAT_PAX);
      assert.equal(g.mtime, null);
      assert.equal(g.paxRecords?.get('mtime'), '5');
      assert.deepEqual([...g.xattrs!], [['a', 'b']]);
      assert.equal(f.paxRecords, null);
    },
  },
  {
    name: 'PAX global header with invalid values is still returned',
    tar: concat(pax(paxBody([['size', 'x']]), { typeflag: 'g' }), END),
    entries: [['PaxHeaders.0/file', 'g', 0, '']],
    err: EOF,
    check: ([g]) => assert.equal(g.paxRecords, null),
  },

  // --- GNU long names and links
  {
    name: 'GNU long name',
    tar: concat(
      file({ name: '././@LongLink', typeflag: 'L', magic: 'gnu' }, `${'n'.repeat(300)}\0`),
      file({ name: 'short', magic: 'gnu' }, 'x'),
      END,
    ),
    entries: [['n'.repeat(300), '0', 1, 'x']],
    err: EOF,
    check: ([h]) => assert.equal(h.format, FORMAT_GNU),
  },
  {
    name: 'GNU long link name, cut at the first NUL',
    tar: concat(
      file({ name: '././@LongLink', typeflag: 'K', magic: 'gnu' }, 'target\0junk'),
      header({ name: 'link', typeflag: '2', linkname: 'short', magic: 'gnu' }),
      END,
    ),
    entries: [['link', '2', 0, '']],
    err: EOF,
    check: ([h]) => assert.equal(h.linkname, 'target'),
  },
  {
    name: 'empty GNU long name is ignored',
    tar: concat(
      file({ typeflag: 'L', magic: 'gnu' }, '\0'),
      file({ name: 'kept', magic: 'gnu' }, 'x'),
      END,
    ),
    entries: [['kept', '0', 1, 'x']],
    err: EOF,
  },
  {
    name: 'GNU long name wins over PAX path',
    tar: concat(
      pax(paxBody([['path', 'pax-path']])),
      file({ typeflag: 'L', magic: 'gnu' }, 'gnu-long'),
      file({ name: 'hdr' }, 'x'),
      END,
    ),
    entries: [['gnu-long', '0', 1, 'x']],
    err: EOF,
    check: ([h]) => assert.equal(h.format, FORMAT_UNKNOWN),
  },
  {
    name: 'GNU long name over 1 MiB is ErrFieldTooLong',
    tar: concat(header({ typeflag: 'L', magic: 'gnu', size: MiB + 10 }), zeros(MiB + 10)),
    entries: [],
    err: ERR_FIELD_TOO_LONG,
  },
  {
    name: 'truncated GNU long name is ErrUnexpectedEOF',
    tar: concat(header({ typeflag: 'L', magic: 'gnu', size: 200 }), 'abc'),
    entries: [],
    err: ERR_UNEXPECTED_EOF,
  },

  // --- Type flags
  {
    name: "typeflag NUL becomes '0', or '5' with a trailing slash (also from PAX path)",
    tar: concat(
      file({ name: 'f', typeflag: '\0' }, 'x'),
      file({ name: 'd/', typeflag: '\0' }),
      pax(paxBody([['path', 'pd/']])),
      file({ name: 'p', typeflag: '\0' }),
      END,
    ),
    entries: [
      ['f', '0', 1, 'x'],
      ['d/', '5', 0, ''],
      ['pd/', '5', 0, ''],
    ],
    err: EOF,
  },
  {
    name: 'header-only types have no data whatever their size',
    tar: concat(
      header({ name: 's', typeflag: '2', linkname: 't', size: 100 }),
      header({ name: 'd', typeflag: '5', size: 600 }),
      header({ name: 'h', typeflag: '1', linkname: 's', size: 1 }),
      header({ name: 'c', typeflag: '3', size: 1 }),
      header({ name: 'b', typeflag: '4', size: 1 }),
      header({ name: 'p', typeflag: '6', size: 1 }),
      file({ name: 'r' }, 'data'),
      END,
    ),
    entries: [
      ['s', '2', 100, ''],
      ['d', '5', 600, ''],
      ['h', '1', 1, ''],
      ['c', '3', 1, ''],
      ['b', '4', 1, ''],
      ['p', '6', 1, ''],
      ['r', '0', 4, 'data'],
    ],
    err: EOF,
  },
  {
    name: 'contiguous and unknown type flags have data',
    tar: concat(
      file({ name: 'c', typeflag: '7' }, 'abc'),
      file({ name: 'z', typeflag: 'Z' }, 'de'),
      END,
    ),
    entries: [
      ['c', '7', 3, 'abc'],
      ['z', 'Z', 2, 'de'],
    ],
    err: EOF,
  },

  // --- Old GNU sparse files
  {
    name: 'old GNU sparse file',
    tar: concat(
      file(
        sparseHdr(
          [
            [2, 5],
            [10, 3],
          ],
          20,
        ),
        'abcdefgh',
      ),
      END,
    ),
    entries: [['sparse', 'S', 20, '\0\0abcde\0\0\0fgh\0\0\0\0\0\0\0']],
    err: EOF,
    check: ([h]) => assert.equal(h.format, FORMAT_GNU),
  },
  {
    name: 'old GNU sparse file with an extension block',
    tar: (() => {
      const entries: Array<[number, number]> = [];
      for (let i = 0; i < 7; i++) entries.push([i * 10, 2]);
      const ext = `${sparseEntries(entries.slice(4)).padEnd(504, '\0')}\0${zeros(7)}`;
      const dense = data(14);
      return concat(
        header({ ...sparseHdr(entries.slice(0, 4), 70, true), size: 14 }),
        ext,
        dense,
        padding(14),
        END,
      );
    })(),
    entries: [
      [
        'sparse',
        'S',
        70,
        Array.from({ length: 7 }, (_, i) => data(14).slice(i * 2, i * 2 + 2) + zeros(8)).join(''),
      ],
    ],
    err: EOF,
  },
  {
    name: "'S' in a USTAR header is ErrHeader",
    tar: concat(file({ ...sparseHdr([[0, 1]], 1), magic: 'ustar' }, 'a'), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'overlapping sparse entries are ErrHeader',
    tar: concat(
      file(
        sparseHdr(
          [
            [0, 5],
            [3, 2],
          ],
          10,
        ),
        'abcdefg',
      ),
      END,
    ),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'sparse entry beyond the real size is ErrHeader',
    tar: concat(file(sparseHdr([[8, 5]], 10), 'abcde'), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'unparsable real size is ErrHeader',
    tar: concat(file({ ...sparseHdr([[0, 1]], 1), at: [[483, 'x']] }, 'a'), END),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'sparse data shorter than the map: errMissData after the data there is',
    tar: concat(
      file(
        sparseHdr(
          [
            [0, 3],
            [5, 3],
          ],
          10,
        ),
        'abcd',
      ),
      END,
    ),
    entries: [['sparse', 'S', 10, 'abc\0\0d']],
    err: ERR_MISS_DATA,
  },
  {
    name: 'sparse data longer than the map: errUnrefData after the logical data',
    tar: concat(file(sparseHdr([[1, 2]], 5), 'abcdef'), END),
    entries: [['sparse', 'S', 5, '\0ab\0\0']],
    err: ERR_UNREF_DATA,
  },
  {
    name: 'sparse data longer than the map is not an error if not read',
    tar: concat(file(sparseHdr([[1, 2]], 5), 'abcdef'), END),
    mode: 'skip',
    entries: [['sparse', 'S', 5]],
    err: EOF,
  },
  {
    name: 'empty sparse map with dense data: errUnrefData on the first read',
    tar: concat(file(sparseHdr([], 0), 'abc'), END),
    entries: [['sparse', 'S', 0, '']],
    err: ERR_UNREF_DATA,
  },
  {
    name: 'sparse file that is all hole',
    tar: concat(file(sparseHdr([], 1000)), END),
    entries: [['sparse', 'S', 1000, zeros(1000)]],
    err: EOF,
  },
  {
    name: 'truncated sparse extension block is ErrUnexpectedEOF',
    tar: concat(header({ ...sparseHdr([[0, 1]], 1, true), size: 1 }), zeros(100)),
    entries: [],
    err: ERR_UNEXPECTED_EOF,
  },

  // --- PAX (GNU) sparse files
  {
    name: 'PAX sparse 0.0 (offset/numbytes records)',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.size', '12'],
          ['GNU.sparse.numblocks', '2'],
          ['GNU.sparse.offset', '1'],
          ['GNU.sparse.numbytes', '2'],
          ['GNU.sparse.offset', '6'],
          ['GNU.sparse.numbytes', '3'],
          ['path', 'sp00'],
        ]),
      ),
      file({ name: 'GNUSparseFile.0/sp00' }, 'abcde'),
      END,
    ),
    entries: [['sp00', '0', 12, '\0ab\0\0\0cde\0\0\0']],
    err: EOF,
    check: ([h]) => {
      assert.equal(h.format, FORMAT_PAX);
      assert.equal(h.paxRecords?.get('GNU.sparse.map'), '1,2,6,3');
    },
  },
  {
    name: 'PAX sparse 0.1 (GNU.sparse.map) with GNU.sparse.name',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.realsize', '8'],
          ['GNU.sparse.numblocks', '1'],
          ['GNU.sparse.map', '4,2'],
          ['GNU.sparse.name', 'real-name'],
        ]),
      ),
      file({ name: 'fake' }, 'xy'),
      END,
    ),
    entries: [['real-name', '0', 8, '\0\0\0\0xy\0\0']],
    err: EOF,
  },
  {
    name: 'PAX sparse 1.0 (map at the start of the data)',
    tar: concat(
      sparse10Pax(),
      file({ name: 'GNUSparseFile.0/sp10' }, `${'2\n1\n2\n6\n3\n'.padEnd(512, '\0')}abcde`),
      END,
    ),
    entries: [['sp10', '0', 10, '\0ab\0\0\0cde\0']],
    err: EOF,
  },
  {
    name: 'PAX sparse 1.0 map spanning blocks, token split across a block boundary',
    tar: (() => {
      let map = '100\n';
      for (let i = 0; i < 100; i++) map += `${i * 10}\n1\n`;
      map = `${zeros(0)}${map}`;
      // Shift so that a token straddles the first block boundary.
      assert.ok(map.length > 512);
      const mapBlocks = map.padEnd(Math.ceil(map.length / 512) * 512, '\0');
      return concat(
        pax(
          paxBody([
            ['GNU.sparse.major', '1'],
            ['GNU.sparse.minor', '0'],
            ['GNU.sparse.realsize', '1000'],
          ]),
        ),
        file({ name: 'big' }, mapBlocks + data(100)),
        END,
      );
    })(),
    entries: [
      ['big', '0', 1000, Array.from({ length: 100 }, (_, i) => data(100)[i] + zeros(9)).join('')],
    ],
    err: EOF,
  },
  {
    name: 'PAX sparse 1.0 with an unparsable entry count is ErrHeader',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.major', '1'],
          ['GNU.sparse.minor', '0'],
          ['GNU.sparse.realsize', '10'],
        ]),
      ),
      file({ name: 'f' }, 'x\n'.padEnd(512, '\0')),
      END,
    ),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX sparse 1.0 map longer than the entry is ErrUnexpectedEOF',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.major', '1'],
          ['GNU.sparse.minor', '0'],
          ['GNU.sparse.realsize', '10'],
        ]),
      ),
      file({ name: 'f' }, '5\n1\n'.padEnd(512, '\0')),
      END,
    ),
    entries: [],
    err: ERR_UNEXPECTED_EOF,
  },
  {
    name: 'PAX sparse 0.1 with a wrong block count is ErrHeader',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.numblocks', '2'],
          ['GNU.sparse.map', '0,1'],
        ]),
      ),
      file({ name: 'f' }, 'x'),
      END,
    ),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'unknown GNU sparse version: a plain file',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.major', '2'],
          ['GNU.sparse.map', '0,1'],
        ]),
      ),
      file({ name: 'f' }, 'xyz'),
      END,
    ),
    entries: [['f', '0', 3, 'xyz']],
    err: EOF,
  },
  {
    name: 'PAX sparse map on a symlink is ErrHeader',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.numblocks', '0'],
          ['GNU.sparse.map', ''],
          ['GNU.sparse.major', '0'],
          ['GNU.sparse.minor', '1'],
        ]),
      ),
      header({ name: 'l', typeflag: '2' }),
      END,
    ),
    entries: [],
    err: ERR_HEADER,
  },
  {
    name: 'PAX sparse with an unparsable GNU.sparse.size is ErrHeader',
    tar: concat(
      pax(
        paxBody([
          ['GNU.sparse.size', '1x'],
          ['GNU.sparse.map', '0,1'],
          ['GNU.sparse.numblocks', '1'],
        ]),
      ),
      file({ name: 'f' }, 'x'),
      END,
    ),
    entries: [],
    err: ERR_HEADER,
  },
];

// ---------------------------------------------------------------------------------------------
// Writer vectors: Go 1.19's tar.Writer.WriteHeader(&tar.Header{Name, Mode: 0600, Size, ModTime}).
// Each block is hex with its trailing zero bytes omitted.

interface WriterVector {
  name: string;
  size: number | bigint;
  /** Nanoseconds since the Unix epoch (Go's time.Unix(sec, nsec)). */
  mtime: bigint;
  blocks: string[];
}

const ns = (sec: bigint | number, nsec = 0) => BigInt(sec) * 1_000_000_000n + BigInt(nsec);

export const writerVectors: WriterVector[] = [
  {
    // USTAR; ModTime rounds down
    name: 'meta.json',
    size: 201,
    mtime: ns(1700000000, 123456789),
    blocks: [
      '6d6574612e6a736f6e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303331310031343532343737303430300030313130353300203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // largest USTAR size (2^33-1); .5 s rounds up
    name: 'state.bin',
    size: 8589934591,
    mtime: ns(1700000000, 500000000),
    blocks: [
      '73746174652e62696e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300037373737373737373737370031343532343737303430310030313131353500203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // 8 GiB: PAX header PaxHeaders.0/state.bin with size=8589934592, USTAR size field 0
    name: 'state.bin',
    size: 8589934592,
    mtime: ns(1700000000),
    blocks: [
      '506178486561646572732e302f73746174652e62696e000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030003030303030303000303030303030303030323300303030303030303030303000303132303236002078000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007573746172003030',
      '31392073697a653d383538393933343539320a',
      '73746174652e62696e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030300031343532343737303430300030313130333700203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // 10 GiB
    name: 'state.bin',
    size: 10737418240n,
    mtime: ns(1700000000, 999999999),
    blocks: [
      '506178486561646572732e302f73746174652e62696e000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030003030303030303000303030303030303030323400303030303030303030303000303132303237002078000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007573746172003030',
      '32302073697a653d31303733373431383234300a',
      '73746174652e62696e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030300031343532343737303430310030313130343000203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // Go's zero time.Time: mtime 0, no PAX
    name: 'SHA256SUMS',
    size: 0,
    mtime: ns(-62135596800),
    blocks: [
      '53484132353653554d5300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030300030303030303030303030300030313034363600203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // USTAR prefix/name split
    name: `${'p'.repeat(60)}/${'n'.repeat(89)}`,
    size: 7,
    mtime: ns(1),
    blocks: [
      '6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e6e00000000000000000000003030303036303000303030303030300030303030303030003030303030303030303037003030303030303030303031003034373337330020300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000075737461720030300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030303030003030303030303000707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070',
    ],
  },
  {
    // non-ASCII: PAX path, toASCII name in the main block
    name: 'dir/sub/\u00e9tat.bin',
    size: 3,
    mtime: ns(1700000000),
    blocks: [
      '6469722f7375622f506178486561646572732e302f7461742e62696e000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030003030303030303000303030303030303030333200303030303030303030303000303133303435002078000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007573746172003030',
      '323620706174683d6469722f7375622fc3a97461742e62696e0a',
      '6469722f7375622f7461742e62696e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030330031343532343737303430300030313230363100203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // negative mtime: PAX mtime=-2
    name: 'neg',
    size: 1,
    mtime: ns(-2, 300000000),
    blocks: [
      '506178486561646572732e302f6e6567000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030003030303030303000303030303030303030313400303030303030303030303000303130373130002078000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007573746172003030',
      '3132206d74696d653d2d320a',
      '6e65670000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030310030303030303030303030300030303736363000203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // PAX header name is path.Join(dir, 'PaxHeaders.0', file), cleaned
    name: 'a/b/../c',
    size: 9n << 30n,
    mtime: ns(7),
    blocks: [
      '612f506178486561646572732e302f63000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030003030303030303000303030303030303030323300303030303030303030303000303130363031002078000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007573746172003030',
      '31392073697a653d393636333637363431360a',
      '612f622f2e2e2f63000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030300030303030303030303030370030313032313300203000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
  {
    // trailing slash: Go promotes TypeRegA to TypeDir
    name: 'dir/',
    size: 0,
    mtime: ns(5),
    blocks: [
      '6469722f00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030303030363030003030303030303000303030303030300030303030303030303030300030303030303030303030350030303737353500203500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000757374617200303000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000303030303030300030303030303030',
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// Tests

function expectEntries(out: Outcome, c: ReaderCase): void {
  const want = c.entries.map(([n, t, s, d]) => [n, t, BigInt(s), d ?? '']);
  const got = out.entries.map(([n, t, s, d]) => [n, t, s, c.mode === 'skip' ? '' : d]);
  assert.deepEqual(got, want);
  assert.equal(out.err, c.err);
}

describe('TarReader: Go 1.19 archive/tar outcomes', () => {
  for (const c of readerCases) {
    test(c.name, async () => {
      const out = await readArchive(c.tar, { mode: c.mode });
      expectEntries(out, c);
      c.check?.(out.headers);
      // The same outcome whatever the chunking of the input and the read sizes.
      for (const chunk of c.tar.length > 100000 ? [4093, 65536] : [1, 511, 513, 65536]) {
        const again = await readArchive(c.tar, { mode: c.mode, chunk, readSize: chunk });
        assert.deepEqual(again.entries, out.entries);
        assert.equal(again.err, out.err);
      }
    });
  }
});

describe('TarReader: API contract', () => {
  test('errors are sticky, with code and Go message', async () => {
    const tar = concat(hello, zeros(512), hello);
    const r = new TarReader(new ByteReader(chunked(tar, 100)));
    assert.ok(await r.next());
    const err1 = await r.next().catch((e: unknown) => e);
    assert.ok(isSnapshotError(err1));
    assert.equal(err1.code, 'TAR');
    assert.equal(err1.message, ERR_HEADER);
    await assert.rejects(r.next(), (e) => e === err1);
    await assert.rejects(r.read(10), (e) => e === err1);
  });

  test('truncation is code TRUNCATED', async () => {
    const r = new TarReader(new ByteReader(chunked(concat(header({ size: 10 }), 'abc'), 100)));
    await r.next();
    assert.equal(str((await r.read(100))!), 'abc');
    await assert.rejects(r.read(100), { code: 'TRUNCATED', message: 'unexpected EOF' });
    await assert.rejects(r.next(), { code: 'TRUNCATED' });
  });

  test('read() before next() and after the end returns null; next() stays null', async () => {
    const r = new TarReader(new ByteReader(chunked(concat(hello, END), 512)));
    assert.equal(await r.read(10), null);
    assert.ok(await r.next());
    assert.equal(str((await r.read(10))!), 'hello');
    assert.equal(await r.read(10), null);
    assert.equal(await r.next(), null);
    assert.equal(await r.next(), null);
    assert.equal(await r.read(10), null);
  });

  test('read(max) rejects max < 1', async () => {
    const r = new TarReader(new ByteReader(chunked(concat(hello, END), 512)));
    await r.next();
    await assert.rejects(r.read(0), { code: 'INVALID_ARGUMENT' });
  });

  test('the reader stops right after the end-of-archive marker', async () => {
    const tar = concat(hello, END, 'trailing garbage');
    const src = new ByteReader(chunked(tar, 700));
    const r = new TarReader(src);
    assert.ok(await r.next());
    assert.equal(await r.next(), null);
    assert.equal(src.position, 2048);
    assert.equal(str(await src.readFull(100)), 'trailing garbage');
  });

  test('regular data is handed out as views of the source chunks (no copy)', async () => {
    const tar = concat(file({ name: 'big' }, data(100000)), END);
    const chunks: Uint8Array[] = [];
    async function* source() {
      for (let i = 0; i < tar.length; i += 8192) {
        const c = tar.subarray(i, i + 8192);
        chunks.push(c);
        yield c;
      }
    }
    const r = new TarReader(new ByteReader(source()));
    await r.next();
    let total = 0;
    for (let c = await r.read(1 << 20); c !== null; c = await r.read(1 << 20)) {
      assert.equal(c.buffer, tar.buffer);
      total += c.length;
    }
    assert.equal(total, 100000);
  });

  // Go's readers can return an error together with the last bytes they hand over (the gzip
  // reader does; see ByteReader.errorWithLastChunk). Where those bytes end a sparse entry's
  // physical data, the reference (Go 1.19) fails that entry's read, before the hole after them;
  // where they end a block of a sparse map or a PAX header's records, which Go reads in Next,
  // Next fails.
  test('an error that comes with the last bytes of sparse data, a sparse map or PAX records', async () => {
    const fault = new Error('gzip: invalid checksum');
    markWithLastChunk(fault);
    async function* thenFault(prefix: Uint8Array) {
      yield prefix;
      throw fault;
    }
    const readAll = async (r: TarReader) => {
      let got = '';
      for (let c = await r.read(1000); c !== null; c = await r.read(1000)) got += str(c);
      return got;
    };
    const oldGnu = header({ ...sparseHdr([[0, 5]], 10), size: 5 });
    const pax10 = (map: string, data: string) =>
      concat(
        sparse10Pax(),
        header({ name: 'GNUSparseFile.0/sp10', size: 512 + data.length }),
        map.padEnd(512, '\0'),
        data,
      );
    for (const prefix of [concat(oldGnu, 'abcde'), pax10('1\n0\n5\n', 'abcde')]) {
      const r = new TarReader(new ByteReader(thenFault(prefix)));
      assert.ok(await r.next());
      assert.equal(str((await r.read(1000))!), 'abcde');
      await assert.rejects(r.read(1000), (e) => e === fault);
      // An unmarked error is not the read's: the hole follows, the next header fails.
      const plain = new Error('gzip: invalid checksum');
      const r2 = new TarReader(
        new ByteReader(
          (async function* () {
            yield prefix;
            throw plain;
          })(),
        ),
      );
      assert.ok(await r2.next());
      assert.equal(await readAll(r2), `abcde${zeros(5)}`);
      await assert.rejects(r2.next(), (e) => e === plain);
    }
    // After the last block of a PAX 1.0 map or of an old-GNU extension, whether or not data
    // follows, the error fails the entry's header (Go's mustReadFull keeps it).
    const entries: Array<[number, number]> = [];
    for (let i = 0; i < 5; i++) entries.push([i * 10, 1]);
    const maps = [
      pax10('0\n', ''),
      pax10('1\n0\n5\n', ''),
      concat(
        header({ ...sparseHdr(entries.slice(0, 4), 50, true), size: 5 }),
        sparseEntries(entries.slice(4)).padEnd(512, '\0'),
      ),
    ];
    for (const map of maps) {
      const r = new TarReader(new ByteReader(thenFault(map)));
      await assert.rejects(r.next(), (e) => e === fault);
    }
    // Go's readSpecialFile returns it before PAX records are parsed: malformed ones do not matter.
    const badPax = header({ name: 'PaxHeaders.0/file', typeflag: 'x', size: 7 });
    const r = new TarReader(new ByteReader(thenFault(concat(badPax, '9 bad=\n'))));
    await assert.rejects(r.next(), (e) => e === fault);
  });

  test('header fields: decoded strings, raw bytes, bigint numbers, format names', async () => {
    const name = utf8('dir/ünï.txt');
    const out = await readArchive(
      concat(pax(paxBody([['path', name]])), file({ name: 'x', uid: oct(42, 8) }, 'z'), END),
    );
    const [h] = out.headers;
    assert.equal(h.name, 'dir/ünï.txt');
    assert.equal(h.raw.name, name);
    assert.equal(h.uid, 42n);
    assert.equal(h.mode, 0o644n);
    assert.equal(formatName(h.format), 'PAX');
    assert.equal(formatName(FORMAT_USTAR | FORMAT_PAX), '(USTAR | PAX)');
    assert.equal(formatName(FORMAT_UNKNOWN), '<unknown>');
  });
});

describe('tar-header codec', () => {
  test('parseOctal trims spaces and NULs and cuts at a NUL', () => {
    assert.equal(parseOctal(bytes('  0755 \0'), 0, 8), 0o755);
    assert.equal(parseOctal(bytes('\0\0\0\0\0\0\0\0'), 0, 8), 0);
    assert.equal(parseOctal(bytes('7\x007 '), 0, 4), 7);
    assert.ok(Number.isNaN(parseOctal(bytes('0 7\0'), 0, 4)));
    assert.ok(Number.isNaN(parseOctal(bytes('+7\0\0'), 0, 4)));
  });

  test('parseNumeric: base-256 positive, negative and overflow', () => {
    assert.equal(parseNumeric(bytes(b256(0x1234n, 8)), 0, 8), 0x1234n);
    assert.equal(parseNumeric(bytes(b256(-2n, 8)), 0, 8), -2n);
    assert.equal(parseNumeric(bytes(b256(-(1n << 62n), 12)), 0, 12), -(1n << 62n));
    assert.equal(parseNumeric(bytes(`\xff${'\xff'.repeat(11)}`), 0, 12), -1n);
    assert.equal(parseNumeric(bytes(`\xc0${zeros(11)}`), 0, 12), null); // -2^94
    assert.equal(parseNumeric(bytes(`\x80\0\0\0\x7f${'\xff'.repeat(7)}`), 0, 12), (1n << 63n) - 1n);
  });

  test('getFormat detects each magic and rejects a bad checksum', () => {
    assert.equal(getFormat(header({ magic: 'ustar' })), FORMAT_USTAR | FORMAT_PAX);
    assert.equal(getFormat(header({ magic: 'gnu' })), FORMAT_GNU);
    assert.equal(getFormat(header({ magic: 'star' })), FORMAT_STAR);
    assert.equal(getFormat(header({ magic: 'v7' })), FORMAT_V7);
    assert.equal(getFormat(header({ chksum: '0000000\0' })), FORMAT_UNKNOWN);
    assert.equal(parseHeaderBlock(header({ chksum: '0000000\0' })), null);
  });

  test('PAX records: parse, format, GNU sparse 0.0 joining', () => {
    assert.equal(formatPaxRecord('path', 'abc'), '12 path=abc\n');
    // Go's length prefix counts itself (checked against Go's Writer output):
    assert.equal(formatPaxRecord('k', 'v'.repeat(4)), '9 k=vvvv\n');
    assert.equal(formatPaxRecord('k', 'v'.repeat(5)), '11 k=vvvvv\n');
    assert.equal(formatPaxRecord('k', 'v'.repeat(93)), `99 k=${'v'.repeat(93)}\n`);
    assert.equal(formatPaxRecord('k', 'v'.repeat(94)), `101 k=${'v'.repeat(94)}\n`);
    assert.equal(formatPaxRecord('path', 'a\0b'), null);
    const recs = parsePaxRecords(
      bytes(
        paxBody([
          ['GNU.sparse.offset', '0'],
          ['GNU.sparse.numbytes', '1'],
          ['a', '1'],
          ['a', '2'],
        ]),
      ),
    );
    assert.deepEqual(
      [...recs!],
      [
        ['a', '2'],
        ['GNU.sparse.map', '0,1'],
      ],
    );
    assert.equal(parsePaxRecords(bytes('5 a=\n1')), null);
  });

  test('PAX times and decimal parsing follow Go', () => {
    assert.deepEqual(parsePaxTime('1.5'), { sec: 1n, nsec: 500000000 });
    assert.deepEqual(parsePaxTime('-1.5'), { sec: -2n, nsec: 500000000 });
    assert.deepEqual(parsePaxTime('-0.000000001'), { sec: -1n, nsec: 999999999 });
    assert.deepEqual(parsePaxTime('1.'), { sec: 1n, nsec: 0 });
    assert.equal(parsePaxTime('.5'), null);
    assert.equal(parsePaxTime('1.5e'), null);
    assert.deepEqual(parsePaxTime('-9223372036854775808.5'), {
      sec: (1n << 63n) - 1n, // Go's int64 wrap-around in time.Unix
      nsec: 500000000,
    });
    assert.equal(formatPaxTime({ sec: -2n, nsec: 500000000 }), '-1.5');
    assert.equal(formatPaxTime({ sec: 3n, nsec: 100 }), '3.0000001');
    assert.equal(parseInt64('+007'), 7n);
    assert.equal(parseInt64('-9223372036854775808'), -(1n << 63n));
    assert.equal(parseInt64('9223372036854775808'), null);
    assert.equal(parseInt64('1_000'), null);
    assert.equal(parseInt64(`${'0'.repeat(100)}1`), 1n);
    const p = new DecimalInt64Parser();
    for (const c of bytes('-0042')) p.push(c);
    assert.equal(p.finish(), -42n);
  });

  test('splitUSTARPath and path.Clean follow Go', () => {
    assert.equal(splitUstarPath('short'), null);
    assert.deepEqual(splitUstarPath(`${'a'.repeat(50)}/${'b'.repeat(60)}`), [
      'a'.repeat(50),
      'b'.repeat(60),
    ]);
    assert.equal(splitUstarPath(`/${'b'.repeat(120)}`), null);
    assert.equal(cleanPath('a/b/../PaxHeaders.0/c'), 'a/PaxHeaders.0/c');
    assert.equal(cleanPath('/../x/./y//'), '/x/y');
    assert.equal(cleanPath('../../a/..'), '../..');
    assert.equal(cleanPath(''), '.');
  });
});

describe('TarWriter: Go 1.19 tar.Writer bytes', () => {
  const w = new TarWriter();
  const hexBlocks = (b: Uint8Array) => {
    const out: string[] = [];
    for (let i = 0; i < b.length; i += 512) {
      out.push(
        Buffer.from(b.subarray(i, i + 512))
          .toString('hex')
          .replace(/(00)+$/, ''),
      );
    }
    return out;
  };

  for (const v of writerVectors) {
    test(`${JSON.stringify(v.name)} size=${v.size}`, () => {
      assert.deepEqual(hexBlocks(w.header(v.name, v.size, v.mtime)), v.blocks);
    });
  }

  test('Date and millisecond mtimes equal the nanosecond form', () => {
    const t = 1700000000123n;
    const a = w.header('meta.json', 201, t * 1_000_000n);
    assert.deepEqual(w.header('meta.json', 201, new Date(Number(t))), a);
    assert.deepEqual(w.header('meta.json', 201, Number(t)), a);
  });

  test("Go's WriteHeader errors", () => {
    assert.throws(() => w.header('file', -1, 0n), {
      code: 'INVALID_ARGUMENT',
      message: 'archive/tar: cannot encode header: negative size on header-only type',
    });
    assert.throws(() => w.header('a\0b', 1, 0n), {
      message: 'archive/tar: cannot encode header: invalid PAX record: "path = a\\x00b"',
    });
    // Quoted as Go's %q quotes them: separators and unassigned code points escaped.
    assert.throws(() => w.header('a\u2028\0b', 1, 0n), {
      message: 'archive/tar: cannot encode header: invalid PAX record: "path = a\\u2028\\x00b"',
    });
    assert.throws(() => w.header('é\0\u{10ffff}', 1, 0n), {
      message: 'archive/tar: cannot encode header: invalid PAX record: "path = é\\x00\\U0010ffff"',
    });
    assert.throws(() => w.header('x'.repeat(MiB), 1, 0n), {
      message: 'archive/tar: header field too long',
    });
    assert.throws(() => w.header('x', 1.5, 0n), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => w.header('x', 1, new Date(Number.NaN)), { code: 'INVALID_ARGUMENT' });
  });

  test('padding and end-of-archive', () => {
    assert.equal(w.padding(0).length, 0);
    assert.equal(w.padding(1).length, 511);
    assert.equal(w.padding(512).length, 0);
    assert.equal(w.padding((9n << 30n) + 3n).length, 509);
    assert.deepEqual(w.end(), new Uint8Array(1024));
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests with tar-stream and round trips

async function tarStreamEntries(
  tar: Uint8Array,
): Promise<Array<{ name: string; size: number; type: string; mtime: number; data: string }>> {
  const ex = tarStream.extract();
  const out: Array<{ name: string; size: number; type: string; mtime: number; data: string }> = [];
  const done = (async () => {
    for await (const entry of ex) {
      let d = '';
      for await (const c of entry) d += str(c as Uint8Array);
      const h = entry.header;
      out.push({ name: h.name, size: h.size, type: h.type, mtime: h.mtime.getTime(), data: d });
    }
  })();
  ex.end(Buffer.from(tar));
  await done;
  return out;
}

/** The first header tar-stream's extract emits for `bytes` (data may be absent). */
function tarStreamFirstHeader(
  tar: Uint8Array,
): Promise<{ name: string; size: number; type: string }> {
  return new Promise((resolve, reject) => {
    const ex = tarStream.extract();
    ex.on('entry', (h: { name: string; size: number; type: string }) => {
      resolve(h);
      ex.destroy();
    });
    ex.on('error', reject);
    ex.write(Buffer.from(tar));
  });
}

interface PackEntry {
  name: string;
  data: string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
}

async function tarStreamPack(entries: PackEntry[]): Promise<Uint8Array> {
  const p = tarStream.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Uint8Array);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name,
        type: e.type ?? 'file',
        linkname: e.linkname,
        mtime: new Date(1e12),
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === undefined || e.type === 'file')
        p.entry(header, Buffer.from(bytes(e.data)), cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return concat(...chunks);
}

const segment = fc.stringMatching(/^[a-zA-Z0-9._-]{1,40}$/).filter((s) => s !== '.' && s !== '..');
const asciiName = fc.array(segment, { minLength: 1, maxLength: 6 }).map((a) => a.join('/'));
const unicodeName = fc
  .tuple(asciiName, fc.constantFrom('é', 'ü', '日本', '\u{1f600}'))
  .map(([a, u]) => `${a}${u}`);
const entryName = fc.oneof(asciiName, unicodeName);

describe('TarWriter and TarReader with tar-stream (property tests)', () => {
  test('TarWriter archives parse identically in tar-stream and in TarReader', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            name: entryName,
            size: fc.nat({ max: 3000 }),
            mtime: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (entries) => {
          const w = new TarWriter();
          const parts: Uint8Array[] = [];
          for (const e of entries) {
            parts.push(
              w.header(e.name, e.size, e.mtime * 1000),
              bytes(data(e.size, e.size)),
              w.padding(e.size),
            );
          }
          parts.push(w.end());
          const tar = concat(...parts);
          const viaTarStream = await tarStreamEntries(tar);
          const viaReader = await readArchive(tar);
          assert.equal(viaReader.err, EOF);
          assert.deepEqual(
            viaTarStream.map((e) => [e.name, e.size, e.mtime, e.data]),
            entries.map((e) => [e.name, e.size, e.mtime * 1000, data(e.size, e.size)]),
          );
          assert.deepEqual(
            viaReader.headers.map((h) => [
              h.name,
              Number(h.size),
              Number(h.mtime!.sec) * 1000,
              Number(h.mode),
            ]),
            entries.map((e) => [e.name, e.size, e.mtime * 1000, 0o600]),
          );
          assert.deepEqual(
            viaReader.entries.map((e) => e[3]),
            entries.map((e) => data(e.size, e.size)),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('TarWriter PAX headers for sizes beyond 8 GiB parse in tar-stream and TarReader', async () => {
    await fc.assert(
      fc.asyncProperty(
        entryName,
        fc.bigInt({ min: 1n << 33n, max: (1n << 53n) - 1n }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (name, size, mtime) => {
          const hdr = new TarWriter().header(name, size, mtime * 1000);
          const ts = await tarStreamFirstHeader(hdr);
          assert.equal(ts.name, name);
          assert.equal(ts.size, Number(size));
          const r = new TarReader(new ByteReader(chunked(hdr, 4096)));
          const h = await r.next();
          assert.equal(h?.name, name);
          assert.equal(h?.size, size);
          assert.equal(h?.format, FORMAT_PAX);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('tar-stream pack archives parse identically in TarReader', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array<PackEntry>(
          fc.oneof<fc.Arbitrary<PackEntry>[]>(
            fc.record({ name: entryName, data: fc.string({ maxLength: 2000 }).map(utf8) }),
            fc.record({
              name: asciiName,
              data: fc.constant(''),
              type: fc.constant('directory' as const),
            }),
            fc.record({
              name: asciiName,
              data: fc.constant(''),
              type: fc.constant('symlink' as const),
              linkname: asciiName,
            }),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        async (entries) => {
          const tar = await tarStreamPack(entries);
          const out = await readArchive(tar);
          assert.equal(out.err, EOF);
          assert.deepEqual(
            out.headers.map((h) => [
              h.name.replace(/\/$/, ''),
              String.fromCharCode(h.typeflag),
              h.linkname,
            ]),
            entries.map((e) => [
              e.name,
              e.type === 'directory' ? '5' : e.type === 'symlink' ? '2' : '0',
              e.type === 'symlink' ? e.linkname : '',
            ]),
          );
          assert.deepEqual(
            out.entries.map((e) => e[3]),
            entries.map((e) => e.data),
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  test('tar-stream base-256 sizes parse in TarReader', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2 ** 33, max: Number.MAX_SAFE_INTEGER }), async (size) => {
        // tar-stream writes the header before the data: capture just the header block.
        const p = tarStream.pack();
        const first = new Promise<Uint8Array>((resolve) => {
          p.once('data', (c: unknown) => resolve(c as Uint8Array));
        });
        p.entry({ name: 'state.bin', size, mtime: new Date(1e12) });
        const block = await first;
        p.destroy();
        assert.equal(block[124] & 0x80, 0x80);
        const r = new TarReader(new ByteReader(chunked(block, 512)));
        const h = await r.next();
        assert.equal(h?.size, BigInt(size));
        assert.equal(h?.name, 'state.bin');
      }),
      { numRuns: 50 },
    );
  });

  test('any chunking of the input gives the same entries', async () => {
    const tar = concat(
      pax(paxBody([['path', 'p'.repeat(200)]])),
      file({ name: 'x' }, data(3000)),
      file(sparseHdr([[5, 100]], 1000), data(100)),
      file({ typeflag: 'L', magic: 'gnu' }, 'long-name'),
      file({ name: 'y', magic: 'gnu' }, data(700)),
      END,
    );
    const ref = await readArchive(tar);
    assert.equal(ref.err, EOF);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 5000 }),
        async (chunk, readSize) => {
          const out = await readArchive(tar, { chunk, readSize });
          assert.deepEqual(out.entries, ref.entries);
          assert.equal(out.err, EOF);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("SparseHoles: Go's validateSparseEntries and invertSparseEntries, as entries arrive", () => {
  /** Go's two functions as written there: the whole map in memory. */
  function goHoles(sp: [bigint, bigint][], size: bigint): [bigint, bigint][] | null {
    const MAX = (1n << 63n) - 1n;
    if (size < 0n) return null;
    let preEnd = 0n;
    for (const [o, l] of sp) {
      if (o < 0n || l < 0n || o > MAX - l || o + l > size || preEnd > o) return null;
      preEnd = o + l;
    }
    const out: [bigint, bigint][] = [];
    let pre = 0n;
    for (const [o, l] of sp) {
      if (l === 0n) continue;
      if (o - pre > 0n) out.push([pre, o - pre]);
      pre = o + l;
    }
    out.push([pre, size - pre]);
    return out;
  }
  const built = (sp: [bigint, bigint][], size: bigint) => {
    const b = new SparseHoles(size);
    for (const [o, l] of sp) b.add(o, l);
    const h = b.finish();
    if (h === null) return null;
    return Array.from({ length: h.count }, (_, i): [bigint, bigint] => [h.offset(i), h.length(i)]);
  };

  test('the same verdict and holes as Go on any map (empty entries, overlaps, disorder, overflow)', () => {
    const n = fc.oneof(fc.bigInt(-3n, 60n), fc.constantFrom(0n, (1n << 63n) - 1n, 1n << 62n));
    fc.assert(
      fc.property(fc.array(fc.tuple(n, n), { maxLength: 12 }), fc.bigInt(-1n, 80n), (sp, size) => {
        assert.deepEqual(built(sp, size), goHoles(sp, size));
      }),
      { numRuns: 3000 },
    );
  });

  test('an empty entry out of order invalidates the map, as in Go, though it makes no hole', () => {
    assert.equal(
      built(
        [
          [10n, 0n],
          [5n, 5n],
        ],
        20n,
      ),
      null,
    );
    assert.deepEqual(
      built(
        [
          [5n, 0n],
          [5n, 5n],
        ],
        20n,
      ),
      [
        [0n, 5n],
        [10n, 10n],
      ],
    );
  });

  test('memory does not follow the map: a million empty entries keep one hole; an invalid map keeps none', () => {
    const b = new SparseHoles(10n);
    for (let i = 0; i < 1_000_000; i++) b.add(0n, 0n);
    assert.equal(b.finish()?.count, 1);
    // Holes beyond one storage block are read back in order.
    const many = new SparseHoles(100_000n);
    for (let i = 0; i < 10_000; i++) many.add(BigInt(i * 10 + 5), 1n);
    const h = many.finish()!;
    assert.equal(h.count, 10_001);
    assert.equal(h.offset(9_999), BigInt(9_999 * 10 - 4));
    assert.equal(h.length(10_000), 100_000n - 99_996n);
  });
});

describe('sparse reads gather short fragments', () => {
  /** PAX sparse 0.1: `n` one-byte fragments at even offsets, then `extra` bytes of data. */
  function manyFragments(n: number, dataBytes = n): Uint8Array {
    const map = Array.from({ length: n }, (_, i) => `${2 * i},1`).join(',');
    return concat(
      pax(
        paxBody([
          ['GNU.sparse.realsize', String(2 * n)],
          ['GNU.sparse.numblocks', String(n)],
          ['GNU.sparse.map', map],
        ]),
      ),
      file({ name: 'state.bin' }, 'x'.repeat(dataBytes)),
      END,
    );
  }

  test('20,000 one-byte fragments come in a few chunks, with every byte where the map puts it', async () => {
    const src = new ByteReader(chunked(manyFragments(20_000), 4096));
    const reader = new TarReader(src);
    const hdr = await reader.next();
    assert.equal(hdr?.size, 40_000n);
    const chunks: Uint8Array[] = [];
    for (let c = await reader.read(1 << 20); c !== null; c = await reader.read(1 << 20)) {
      chunks.push(c.slice());
    }
    assert.ok(chunks.length <= 2, `${chunks.length} chunks`);
    const all = concatAll(...chunks);
    assert.equal(all.length, 40_000);
    for (let i = 0; i < all.length; i++) assert.equal(all[i], i % 2 === 0 ? 0x78 : 0);
  });

  test('data that runs out mid-gather: the bytes so far, then the error on the next read (as Go returns both)', async () => {
    const reader = new TarReader(new ByteReader(chunked(manyFragments(1000, 600), 4096)));
    await reader.next();
    const first = await reader.read(1 << 20);
    assert.ok(first !== null && first.length > 0 && first.length < 2000);
    await assert.rejects(reader.read(1 << 20), /sparse file references non-existent data/);
  });
});

test('a GNU 1.0 sparse map of thousands of short fragments reads the same in any chunking and read size: its expansion, or the same error (missing or unreferenced data)', async () => {
  await fc.assert(
    fc.asyncProperty(
      // Each fragment: the hole before it, then its data length.
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 })), {
        minLength: 1,
        maxLength: 3000,
      }),
      fc.integer({ min: 0, max: 4 }),
      fc.constantFrom('exact', 'short', 'extra'),
      fc.integer({ min: 1, max: 700 }),
      fc.integer({ min: 1, max: 100_000 }),
      async (frags, tail, kind, chunk, readSize) => {
        const entries: Array<[number, number]> = [];
        let pos = 0;
        for (const [gap, len] of frags) {
          entries.push([pos + gap, len]);
          pos += gap + len;
        }
        const realSize = pos + tail;
        const physical = data(
          entries.reduce((n, [, len]) => n + len, 0),
          3,
        );
        const expanded: string[] = [];
        let at = 0;
        let p = 0;
        for (const [off, len] of entries) {
          expanded.push(zeros(off - at), physical.slice(p, p + len));
          at = off + len;
          p += len;
        }
        expanded.push(zeros(realSize - at));
        const map = `${entries.length}\n${entries.map(([o, l]) => `${o}\n${l}\n`).join('')}`;
        const body =
          map +
          padding(map.length) +
          (kind === 'short'
            ? physical.slice(0, -1)
            : kind === 'extra'
              ? `${physical}xyz`
              : physical);
        const tar = concat(
          pax(
            paxBody([
              ['GNU.sparse.major', '1'],
              ['GNU.sparse.minor', '0'],
              ['GNU.sparse.realsize', String(realSize)],
              ['GNU.sparse.name', 'sp'],
            ]),
          ),
          file({ name: 'GNUSparseFile.0/sp' }, body),
          END,
        );
        const got = await readArchive(tar, { chunk, readSize });
        // One whole chunk and 1 MiB reads take the gathering path for nearly every fragment;
        // one-byte chunks leave it almost nothing buffered, so nearly every fragment is awaited.
        const whole = await readArchive(tar, { chunk: tar.length, readSize: 1 << 20 });
        const bytewise = await readArchive(tar, { chunk: 1, readSize: 1 << 20 });
        for (const out of [got, whole, bytewise]) {
          assert.equal(out.entries[0]?.[0], 'sp');
          if (kind === 'exact') {
            assert.equal(out.err, EOF);
            assert.equal(out.entries[0][3], expanded.join(''));
          } else {
            assert.equal(out.err, kind === 'short' ? ERR_MISS_DATA : ERR_UNREF_DATA);
          }
        }
        assert.equal(got.entries[0][3], whole.entries[0][3]);
        assert.equal(bytewise.entries[0][3], whole.entries[0][3]);
      },
    ),
    { numRuns: 40 },
  );
});

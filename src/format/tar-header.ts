/**
 * Pure, synchronous tar header codec that reproduces Go 1.19's archive/tar byte for byte
 * (format.go, strconv.go, the header half of reader.go and writer.go). No I/O happens here:
 * the streaming reader (tar-reader.ts) and the writer (tar-writer.ts) are built on top.
 *
 * Conventions of this module:
 * - Go strings are raw bytes. They are carried here as *byte strings*: JS strings holding one
 *   UTF-16 code unit per byte (0–255), so they round-trip any byte sequence exactly. Use
 *   {@link bytesToByteString} / {@link byteStringToBytes} / {@link decodeByteString} to convert.
 * - Go's int64 fields are `bigint`. Field parsers report Go's `p.err = ErrHeader` as `null`
 *   (for {@link parseNumeric}) or `NaN` (for {@link parseOctal}); since every such error makes
 *   Go's reader fail with ErrHeader, callers only need to test for it.
 * - Nothing here throws on malformed input; invalid input is reported through return values.
 */

/** Size of a tar block; headers and data sections are aligned to it. */
export const BLOCK_SIZE = 512;
/** Go 1.19.8's limit on a PAX extended header or GNU long name/link body (1 MiB). */
export const MAX_SPECIAL_FILE_SIZE = 1 << 20;
/** Go's name field size (USTAR name suffix). */
export const NAME_SIZE = 100;
/** Go's USTAR prefix field size. */
export const PREFIX_SIZE = 155;

/** Typeflag bytes (Go's tar.Type* constants). */
export const TYPE_REG = 0x30; // '0'
export const TYPE_REGA = 0x00; // '\0' (legacy regular file)
export const TYPE_LINK = 0x31; // '1'
export const TYPE_SYMLINK = 0x32; // '2'
export const TYPE_CHAR = 0x33; // '3'
export const TYPE_BLOCK = 0x34; // '4'
export const TYPE_DIR = 0x35; // '5'
export const TYPE_FIFO = 0x36; // '6'
export const TYPE_CONT = 0x37; // '7'
export const TYPE_XHEADER = 0x78; // 'x'
export const TYPE_XGLOBAL_HEADER = 0x67; // 'g'
export const TYPE_GNU_SPARSE = 0x53; // 'S'
export const TYPE_GNU_LONGNAME = 0x4c; // 'L'
export const TYPE_GNU_LONGLINK = 0x4b; // 'K'

/** Format bits, with Go's values (tar.Format): a header's format is a set of these. */
export const FORMAT_UNKNOWN = 0;
export const FORMAT_V7 = 1;
export const FORMAT_USTAR = 2;
export const FORMAT_PAX = 4;
export const FORMAT_GNU = 8;
export const FORMAT_STAR = 16;

const FORMAT_NAMES: ReadonlyArray<readonly [number, string]> = [
  [FORMAT_V7, 'V7'],
  [FORMAT_USTAR, 'USTAR'],
  [FORMAT_PAX, 'PAX'],
  [FORMAT_GNU, 'GNU'],
  [FORMAT_STAR, 'STAR'],
];

/** Go's Format.String(): "<unknown>", "PAX", "(USTAR | PAX)", ... */
export function formatName(format: number): string {
  const names: string[] = [];
  for (const [bit, name] of FORMAT_NAMES) if (format & bit) names.push(name);
  if (names.length === 0) return '<unknown>';
  if (names.length === 1) return names[0];
  return `(${names.join(' | ')})`;
}

/** Go's isHeaderOnlyType: types whose data section is empty whatever the size field says. */
export function isHeaderOnlyType(flag: number): boolean {
  return flag >= TYPE_LINK && flag <= TYPE_FIFO;
}

/** Go's blockPadding: bytes of padding after `size` bytes of data (0..511). */
export function blockPadding(size: bigint | number): number {
  if (typeof size === 'number') return -size & (BLOCK_SIZE - 1);
  return Number(-size & 511n);
}

// Header field offsets and lengths (Go's headerV7/headerUSTAR/headerGNU/headerSTAR).
export const OFF_NAME = 0;
export const OFF_MODE = 100;
export const OFF_UID = 108;
export const OFF_GID = 116;
export const OFF_SIZE = 124;
export const OFF_MTIME = 136;
export const OFF_CHKSUM = 148;
export const OFF_TYPEFLAG = 156;
export const OFF_LINKNAME = 157;
export const OFF_MAGIC = 257;
export const OFF_VERSION = 263;
export const OFF_UNAME = 265;
export const OFF_GNAME = 297;
export const OFF_DEVMAJOR = 329;
export const OFF_DEVMINOR = 337;
export const OFF_PREFIX = 345; // USTAR prefix (155 bytes); STAR prefix (131 bytes)
export const OFF_GNU_ATIME = 345;
export const OFF_GNU_CTIME = 357;
export const OFF_GNU_SPARSE = 386; // 4 entries of 24 bytes, then the isExtended byte at 482
export const OFF_GNU_ISEXTENDED = 482;
export const OFF_GNU_REALSIZE = 483;
export const OFF_STAR_ATIME = 476;
export const OFF_STAR_CTIME = 488;
export const OFF_STAR_TRAILER = 508;
/** Entries in the GNU header's sparse array, and in an extension block's. */
export const GNU_SPARSE_HEADER_ENTRIES = 4;
export const GNU_SPARSE_EXT_ENTRIES = 21;
/** Offset of the isExtended byte in a GNU sparse extension block. */
export const OFF_GNU_EXT_ISEXTENDED = 504;

const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);

// ---------------------------------------------------------------------------------------------
// Byte strings

/** Bytes → byte string (one code unit per byte, lossless). */
export function bytesToByteString(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i += 8192) {
    s += String.fromCharCode.apply(
      null,
      b.subarray(i, Math.min(end, i + 8192)) as unknown as number[],
    );
  }
  return s;
}

/** Byte string → bytes (each code unit must be 0..255). */
export function byteStringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Byte string → JS string, decoding the bytes as UTF-8 (invalid sequences become U+FFFD). */
export function decodeByteString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return utf8Decoder.decode(byteStringToBytes(s));
  }
  return s;
}

/** JS string → byte string of its UTF-8 encoding (lone surrogates become U+FFFD). */
export function encodeByteString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) return bytesToByteString(utf8Encoder.encode(s));
  }
  return s;
}

/** Go's parseString: the field up to its first NUL, as a byte string. */
export function parseString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return bytesToByteString(b, off, end);
}

/** Go's isASCII: every byte is in 0x01..0x7f (NUL counts as non-ASCII). */
export function isASCII(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || c === 0) return false;
  }
  return true;
}

/** Go's toASCII: drops NULs and every byte >= 0x80 (Go drops whole non-ASCII runes). */
export function toASCII(s: string): string {
  if (isASCII(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80 && c !== 0) out += s[i];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Numbers

/**
 * Go's parser.parseOctal on `b[off, off+len)`: trims leading/trailing spaces and NULs, cuts at
 * the first remaining NUL, then parses base 8 (strconv.ParseUint). Returns NaN where Go sets
 * ErrHeader. Exact for `len` ≤ 17 (all tar fields are ≤ 12 bytes).
 */
export function parseOctal(b: Uint8Array, off: number, len: number): number {
  let start = off;
  let end = off + len;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  if (start === end) return 0;
  let x = 0;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c === 0) break; // parseString: cut at the first NUL
    if (c < 0x30 || c > 0x37) return Number.NaN;
    x = x * 8 + (c - 0x30);
  }
  return x;
}

/**
 * Go's parser.parseNumeric: base-256 (GNU binary, two's complement, first bit set) or octal.
 * Returns null where Go sets ErrHeader (bad octal digit, base-256 value beyond int64).
 */
export function parseNumeric(b: Uint8Array, off: number, len: number): bigint | null {
  if (len > 0 && (b[off] & 0x80) !== 0) {
    const inv = (b[off] & 0x40) !== 0 ? 0xff : 0;
    // Accumulate in a double while exact, then switch to bigint.
    let small = 0;
    let big: bigint | null = null;
    for (let i = 0; i < len; i++) {
      let c = b[off + i] ^ inv;
      if (i === 0) c &= 0x7f;
      if (big === null) {
        if (small < 2 ** 44) {
          small = small * 256 + c;
          continue;
        }
        big = BigInt(small);
      }
      if (big >> 56n > 0n) return null; // Go: integer overflow
      big = (big << 8n) | BigInt(c);
    }
    const x = big ?? BigInt(small);
    if (x >> 63n > 0n) return null;
    return inv === 0xff ? -x - 1n : x;
  }
  const v = parseOctal(b, off, len);
  return Number.isNaN(v) ? null : BigInt(v);
}

/** Go's fitsInOctal: x fits an n-byte field as octal digits plus a NUL terminator. */
export function fitsInOctal(n: number, x: bigint): boolean {
  return x >= 0n && (n >= 22 || x < 1n << BigInt((n - 1) * 3));
}

/** Go's fitsInBase256 (strict GNU binary: the first byte is 0x80 or 0xff). */
export function fitsInBase256(n: number, x: bigint): boolean {
  const bits = BigInt((n - 1) * 8);
  return n >= 9 || (x >= -(1n << bits) && x < 1n << bits);
}

/**
 * Go's formatter.formatString: copies `s` (a byte string) into the field, NUL-terminating if
 * there is room; a too-long value is truncated and, if the cut ends in '/', the trailing
 * slashes are replaced by a NUL (Go's work-around for readers that treat them as a directory).
 * Returns false where Go sets ErrFieldTooLong.
 */
export function formatString(b: Uint8Array, off: number, len: number, s: string): boolean {
  const n = Math.min(len, s.length);
  for (let i = 0; i < n; i++) b[off + i] = s.charCodeAt(i);
  if (s.length < len) b[off + s.length] = 0;
  if (s.length > len) {
    if (b[off + len - 1] === 0x2f) {
      let k = len;
      while (k > 0 && s.charCodeAt(k - 1) === 0x2f) k--;
      b[off + k] = 0;
    }
    return false;
  }
  return true;
}

/**
 * Go's formatter.formatOctal: zero-padded octal leaving room for a NUL; a value that does not
 * fit is written as zero. Returns false where Go sets ErrFieldTooLong.
 */
export function formatOctal(b: Uint8Array, off: number, len: number, x: bigint): boolean {
  let ok = true;
  if (!fitsInOctal(len, x)) {
    x = 0n;
    ok = false;
  }
  let s = x.toString(8);
  const pad = len - s.length - 1;
  if (pad > 0) s = '0'.repeat(pad) + s;
  formatString(b, off, len, s);
  return ok;
}

/**
 * Go's formatter.formatNumeric: octal if it fits, else base-256, else zero (returns false, Go's
 * ErrFieldTooLong).
 */
export function formatNumeric(b: Uint8Array, off: number, len: number, x: bigint): boolean {
  if (fitsInOctal(len, x)) return formatOctal(b, off, len, x);
  if (fitsInBase256(len, x)) {
    let v = x;
    for (let i = len - 1; i >= 0; i--) {
      b[off + i] = Number(v & 0xffn);
      v >>= 8n;
    }
    b[off] |= 0x80;
    return true;
  }
  formatOctal(b, off, len, 0n);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Blocks, checksum, format detection

/** True when the 512 bytes at `off` are all zero. */
export function isZeroBlock(b: Uint8Array, off = 0): boolean {
  for (let i = off; i < off + BLOCK_SIZE; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Go's computeChecksum: [unsigned, signed] sums of the block with the checksum field counted
 * as eight spaces (POSIX uses unsigned bytes, old Sun tar signed ones).
 */
export function computeChecksum(b: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= OFF_CHKSUM && i < OFF_CHKSUM + 8 ? 0x20 : b[i];
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return [unsigned, signed];
}

/** True when the checksum field parses and equals the signed or the unsigned sum. */
export function verifyChecksum(b: Uint8Array): boolean {
  const value = parseOctal(b, OFF_CHKSUM, 8);
  if (Number.isNaN(value)) return false;
  const [unsigned, signed] = computeChecksum(b);
  return value === unsigned || value === signed;
}

function matches(b: Uint8Array, off: number, bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) if (b[off + i] !== bytes[i]) return false;
  return true;
}

const MAGIC_USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]; // "ustar\0"
const VERSION_USTAR = [0x30, 0x30]; // "00"
const MAGIC_GNU = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20]; // "ustar "
const VERSION_GNU = [0x20, 0x00]; // " \0"
const TRAILER_STAR = [0x74, 0x61, 0x72, 0x00]; // "tar\0"

/**
 * Go's block.getFormat: FORMAT_UNKNOWN if the checksum is wrong, else the format the magic
 * values indicate: FORMAT_STAR, FORMAT_USTAR | FORMAT_PAX, FORMAT_GNU, or FORMAT_V7.
 */
export function getFormat(b: Uint8Array): number {
  if (!verifyChecksum(b)) return FORMAT_UNKNOWN;
  if (matches(b, OFF_MAGIC, MAGIC_USTAR)) {
    return matches(b, OFF_STAR_TRAILER, TRAILER_STAR) ? FORMAT_STAR : FORMAT_USTAR | FORMAT_PAX;
  }
  if (matches(b, OFF_MAGIC, MAGIC_GNU) && matches(b, OFF_VERSION, VERSION_GNU)) return FORMAT_GNU;
  return FORMAT_V7;
}

/**
 * Go's block.setFormat: writes the magic values of `format` and the checksum (six octal
 * digits, NUL, space).
 */
export function setFormat(b: Uint8Array, format: number): void {
  if (format & FORMAT_V7) {
    // Nothing to write.
  } else if (format & FORMAT_GNU) {
    b.set(MAGIC_GNU, OFF_MAGIC);
    b.set(VERSION_GNU, OFF_VERSION);
  } else if (format & FORMAT_STAR) {
    b.set(MAGIC_USTAR, OFF_MAGIC);
    b.set(VERSION_USTAR, OFF_VERSION);
    b.set(TRAILER_STAR, OFF_STAR_TRAILER);
  } else if (format & (FORMAT_USTAR | FORMAT_PAX)) {
    b.set(MAGIC_USTAR, OFF_MAGIC);
    b.set(VERSION_USTAR, OFF_VERSION);
  } else {
    throw new RangeError('setFormat: invalid format');
  }
  const [chksum] = computeChecksum(b);
  formatOctal(b, OFF_CHKSUM, 7, BigInt(chksum));
  b[OFF_CHKSUM + 7] = 0x20;
}

// ---------------------------------------------------------------------------------------------
// Header block parsing (Go's Reader.readHeader after the zero-block checks)

/** The fields Go's readHeader extracts from one header block, before PAX/GNU processing. */
export interface ParsedHeaderBlock {
  typeflag: number;
  /** Byte strings (see module doc). `name` includes the USTAR/STAR prefix when present. */
  name: string;
  linkname: string;
  uname: string;
  gname: string;
  size: bigint;
  mode: bigint;
  uid: bigint;
  gid: bigint;
  devmajor: bigint;
  devminor: bigint;
  /** Modification time in seconds since the Unix epoch. */
  mtime: bigint;
  /** Access/change time in seconds, or null where Go leaves the zero time.Time. */
  atime: bigint | null;
  ctime: bigint | null;
  /** Go's hdr.Format after readHeader: FORMAT_USTAR|FORMAT_PAX, FORMAT_GNU or FORMAT_UNKNOWN. */
  format: number;
  /** The raw block's format as {@link getFormat} detects it (FORMAT_V7 ... FORMAT_STAR). */
  blockFormat: number;
}

function numericFieldsEndInNUL(b: Uint8Array): boolean {
  return (
    b[OFF_SIZE + 11] === 0 &&
    b[OFF_MODE + 7] === 0 &&
    b[OFF_UID + 7] === 0 &&
    b[OFF_GID + 7] === 0 &&
    b[OFF_MTIME + 11] === 0 &&
    b[OFF_DEVMAJOR + 7] === 0 &&
    b[OFF_DEVMINOR + 7] === 0
  );
}

/**
 * Parses a non-zero 512-byte header block as Go 1.19's Reader.readHeader does, including format
 * detection, the USTAR/STAR prefix, the GNU atime/ctime fields and the pre-Go1.8 GNU fallback.
 * Returns null exactly where Go returns ErrHeader (bad checksum, unknown format, unparsable
 * numeric field). The caller handles zero blocks (end of archive) before calling this.
 */
export function parseHeaderBlock(b: Uint8Array): ParsedHeaderBlock | null {
  const blockFormat = getFormat(b);
  if (blockFormat === FORMAT_UNKNOWN) return null;

  const size = parseNumeric(b, OFF_SIZE, 12);
  const mode = parseNumeric(b, OFF_MODE, 8);
  const uid = parseNumeric(b, OFF_UID, 8);
  const gid = parseNumeric(b, OFF_GID, 8);
  const mtime = parseNumeric(b, OFF_MTIME, 12);
  if (size === null || mode === null || uid === null || gid === null || mtime === null) {
    return null;
  }
  const h: ParsedHeaderBlock = {
    typeflag: b[OFF_TYPEFLAG],
    name: parseString(b, OFF_NAME, 100),
    linkname: parseString(b, OFF_LINKNAME, 100),
    uname: '',
    gname: '',
    size,
    mode,
    uid,
    gid,
    devmajor: 0n,
    devminor: 0n,
    mtime,
    atime: null,
    ctime: null,
    format: FORMAT_UNKNOWN,
    blockFormat,
  };
  if (blockFormat === FORMAT_V7) return h;

  h.uname = parseString(b, OFF_UNAME, 32);
  h.gname = parseString(b, OFF_GNAME, 32);
  const devmajor = parseNumeric(b, OFF_DEVMAJOR, 8);
  const devminor = parseNumeric(b, OFF_DEVMINOR, 8);
  if (devmajor === null || devminor === null) return null;
  h.devmajor = devmajor;
  h.devminor = devminor;

  let prefix = '';
  if (blockFormat & (FORMAT_USTAR | FORMAT_PAX)) {
    h.format = blockFormat;
    prefix = parseString(b, OFF_PREFIX, 155);
    for (let i = 0; i < BLOCK_SIZE; i++) {
      if (b[i] >= 0x80) {
        h.format = FORMAT_UNKNOWN; // non-ASCII bytes in the block
        break;
      }
    }
    if (!numericFieldsEndInNUL(b)) h.format = FORMAT_UNKNOWN;
  } else if (blockFormat & FORMAT_STAR) {
    prefix = parseString(b, OFF_PREFIX, 131);
    const atime = parseNumeric(b, OFF_STAR_ATIME, 12);
    const ctime = parseNumeric(b, OFF_STAR_CTIME, 12);
    if (atime === null || ctime === null) return null;
    h.atime = atime;
    h.ctime = ctime;
  } else {
    // FORMAT_GNU
    h.format = FORMAT_GNU;
    let bad = false;
    if (b[OFF_GNU_ATIME] !== 0) {
      h.atime = parseNumeric(b, OFF_GNU_ATIME, 12);
      if (h.atime === null) bad = true;
    }
    if (b[OFF_GNU_CTIME] !== 0) {
      h.ctime = parseNumeric(b, OFF_GNU_CTIME, 12);
      if (h.ctime === null) bad = true;
    }
    if (bad) {
      // Files from pre-Go1.8 writers put a USTAR prefix here (golang.org/issue/12594).
      h.atime = null;
      h.ctime = null;
      const s = parseString(b, OFF_PREFIX, 155);
      if (isASCII(s)) prefix = s;
      h.format = FORMAT_UNKNOWN;
    }
  }
  if (prefix.length > 0) h.name = `${prefix}/${h.name}`;
  return h;
}

/**
 * Where a sparse map's entries (`length` bytes at `offset` of the logical file) go as they are
 * parsed.
 */
export interface SparseEntrySink {
  add(offset: bigint, length: bigint): void;
}

/**
 * Parses the entries of an old-GNU sparse array (`count` entries of 24 bytes at `off`) into
 * `out`, stopping at the first entry whose offset starts with NUL (GNU/BSD tar's rule).
 * Returns false where Go returns ErrHeader (unparsable number).
 */
export function parseGNUSparseArray(
  b: Uint8Array,
  off: number,
  count: number,
  out: SparseEntrySink,
): boolean {
  for (let i = 0; i < count; i++) {
    const e = off + i * 24;
    if (b[e] === 0) break;
    const offset = parseNumeric(b, e, 12);
    const length = parseNumeric(b, e + 12, 12);
    if (offset === null || length === null) return false;
    out.add(offset, length);
  }
  return true;
}

/** Holes are kept in blocks of 2^HOLE_BITS (16 bytes each): no block is copied to grow. */
const HOLE_BITS = 12;
const HOLE_BLOCK = 1 << HOLE_BITS;

/**
 * The holes of an expanded sparse file, in order, the last ending at its size (`count` of them,
 * read with {@link offset} and {@link length}), made from its sparse map by Go's
 * validateSparseEntries (the BSD tar checks) and invertSparseEntries (data fragments ⇄ holes,
 * coalesced; only the last hole may be empty), applied as the map's entries arrive so that
 * memory does not follow the map's length: empty entries (which take part in the checks, as in
 * Go, but make no hole) cost nothing, a hole 16 bytes (in blocks, never copied to grow), and a
 * map is known to be invalid from its first bad entry on (nothing more is kept). Give every
 * entry to {@link add}, then {@link finish}.
 */
export class SparseHoles implements SparseEntrySink {
  /** Blocks of HOLE_BLOCK (offset, length) pairs. */
  private blocks: BigInt64Array[] = [];
  count = 0;
  private valid: boolean;
  /** End of the previous entry (validation: entries in order, not overlapping). */
  private preEnd = 0n;
  /** End of the previous non-empty entry (inversion: where the next hole starts). */
  private preOffset = 0n;

  /** `size` is the expanded file's size (Go's hdr.Size when it validates the map). */
  constructor(private readonly size: bigint) {
    this.valid = size >= 0n;
  }

  add(offset: bigint, length: bigint): void {
    if (!this.valid) return;
    const end = offset + length;
    if (
      offset < 0n ||
      length < 0n ||
      offset > MAX_INT64 - length ||
      end > this.size ||
      this.preEnd > offset
    ) {
      this.valid = false;
      this.blocks = [];
      this.count = 0;
      return;
    }
    this.preEnd = end;
    if (length === 0n) return;
    if (offset > this.preOffset) this.push(this.preOffset, offset - this.preOffset);
    this.preOffset = end;
  }

  /** This, its last hole added; or null where Go's validateSparseEntries fails (ErrHeader). */
  finish(): SparseHoles | null {
    if (!this.valid) return null;
    this.push(this.preOffset, this.size - this.preOffset);
    return this;
  }

  offset(i: number): bigint {
    return this.blocks[i >> HOLE_BITS][(i & (HOLE_BLOCK - 1)) * 2];
  }

  length(i: number): bigint {
    return this.blocks[i >> HOLE_BITS][(i & (HOLE_BLOCK - 1)) * 2 + 1];
  }

  private push(offset: bigint, length: bigint): void {
    const at = (this.count++ & (HOLE_BLOCK - 1)) * 2;
    if (at === 0) this.blocks.push(new BigInt64Array(HOLE_BLOCK * 2));
    const b = this.blocks[this.blocks.length - 1];
    b[at] = offset;
    b[at + 1] = length;
  }
}

// ---------------------------------------------------------------------------------------------
// Decimal integers and PAX records

/** Decimal digits that a double holds exactly, whatever they are. */
const EXACT_DIGITS = 15;

/**
 * Incremental equivalent of Go's strconv.ParseInt(s, 10, 64): feed bytes with {@link push},
 * then {@link finish} returns the value or null (syntax or range error). Memory stays bounded
 * whatever the token length (leading zeros are allowed and not stored).
 */
export class DecimalInt64Parser {
  private n = 0;
  private neg = false;
  /** Significant digits seen (leading zeros are not). */
  private count = 0;
  /** Their value while there are at most {@link EXACT_DIGITS} of them. */
  private small = 0;
  /** Their text once there are more. */
  private digits = '';
  private any = false;
  private bad = false;
  private over = false;

  reset(): void {
    this.n = 0;
    this.neg = false;
    this.count = 0;
    this.small = 0;
    this.digits = '';
    this.any = false;
    this.bad = false;
    this.over = false;
  }

  push(c: number): void {
    if (this.n++ === 0 && (c === 0x2b || c === 0x2d)) {
      this.neg = c === 0x2d;
      return;
    }
    if (c < 0x30 || c > 0x39) {
      this.bad = true;
      return;
    }
    this.any = true;
    if (this.count === 0 && c === 0x30) return;
    if (this.count >= 20) {
      this.over = true;
      return;
    }
    if (this.count < EXACT_DIGITS) {
      this.small = this.small * 10 + (c - 0x30);
    } else {
      if (this.count === EXACT_DIGITS) this.digits = String(this.small);
      this.digits += String.fromCharCode(c);
    }
    this.count++;
  }

  finish(): bigint | null {
    if (this.bad || !this.any || this.over) return null;
    let v = this.count <= EXACT_DIGITS ? BigInt(this.small) : BigInt(this.digits);
    if (this.neg) v = -v;
    return v < MIN_INT64 || v > MAX_INT64 ? null : v;
  }
}

const decimalParser = new DecimalInt64Parser();

/** Go's strconv.ParseInt(s, 10, 64) on a byte string; null on syntax or range error. */
export function parseInt64(s: string): bigint | null {
  const len = s.length;
  // Fast path: short plain decimal.
  if (len > 0 && len <= 15) {
    let x = 0;
    let i = 0;
    const c0 = s.charCodeAt(0);
    const neg = c0 === 0x2d;
    if (neg || c0 === 0x2b) i = 1;
    if (i < len) {
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x30 || c > 0x39) return null;
        x = x * 10 + (c - 0x30);
      }
      return BigInt(neg ? -x : x);
    }
    return null;
  }
  decimalParser.reset();
  for (let i = 0; i < len; i++) decimalParser.push(s.charCodeAt(i));
  return decimalParser.finish();
}

/** A time as Go's time.Time exposes it: Unix() seconds and Nanosecond() in [0, 1e9). */
export interface TarTime {
  sec: bigint;
  nsec: number;
}

/** Go's time.Unix(sec, nsec) normalisation (int64 wrap-around included). */
export function unixTime(sec: bigint, nsec: number): TarTime {
  if (nsec < 0 || nsec >= 1e9) {
    const n = Math.trunc(nsec / 1e9);
    sec = BigInt.asIntN(64, sec + BigInt(n));
    nsec -= n * 1e9;
    if (nsec < 0) {
      nsec += 1e9;
      sec = BigInt.asIntN(64, sec - 1n);
    }
  }
  return { sec, nsec };
}

/** Go's parsePAXTime ("%d.%d", sub-second digits truncated to 9); null = ErrHeader. */
export function parsePaxTime(s: string): TarTime | null {
  const dot = s.indexOf('.');
  const ss = dot < 0 ? s : s.slice(0, dot);
  let sn = dot < 0 ? '' : s.slice(dot + 1);
  const secs = parseInt64(ss);
  if (secs === null) return null;
  if (sn.length === 0) return { sec: secs, nsec: 0 };
  for (let i = 0; i < sn.length; i++) {
    const c = sn.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  sn = sn.length < 9 ? sn + '0'.repeat(9 - sn.length) : sn.slice(0, 9);
  const nsecs = Number(sn);
  if (ss.length > 0 && ss.charCodeAt(0) === 0x2d) return unixTime(secs, -nsecs);
  return unixTime(secs, nsecs);
}

/** Go's formatPAXTime for a (sec, nsec) time. */
export function formatPaxTime(t: TarTime): string {
  if (t.nsec === 0) return t.sec.toString();
  let secs = t.sec;
  let nsecs = t.nsec;
  let sign = '';
  if (secs < 0n) {
    sign = '-';
    secs = -(secs + 1n);
    nsecs = -(nsecs - 1e9);
  }
  return `${sign}${secs}.${String(nsecs).padStart(9, '0')}`.replace(/0+$/, '');
}

/** PAX keywords Go understands. */
export const PAX_PATH = 'path';
export const PAX_LINKPATH = 'linkpath';
export const PAX_SIZE = 'size';
export const PAX_UID = 'uid';
export const PAX_GID = 'gid';
export const PAX_UNAME = 'uname';
export const PAX_GNAME = 'gname';
export const PAX_MTIME = 'mtime';
export const PAX_ATIME = 'atime';
export const PAX_CTIME = 'ctime';
export const PAX_SCHILY_XATTR = 'SCHILY.xattr.';
export const PAX_GNU_SPARSE_NUMBLOCKS = 'GNU.sparse.numblocks';
export const PAX_GNU_SPARSE_OFFSET = 'GNU.sparse.offset';
export const PAX_GNU_SPARSE_NUMBYTES = 'GNU.sparse.numbytes';
export const PAX_GNU_SPARSE_MAP = 'GNU.sparse.map';
export const PAX_GNU_SPARSE_NAME = 'GNU.sparse.name';
export const PAX_GNU_SPARSE_MAJOR = 'GNU.sparse.major';
export const PAX_GNU_SPARSE_MINOR = 'GNU.sparse.minor';
export const PAX_GNU_SPARSE_SIZE = 'GNU.sparse.size';
export const PAX_GNU_SPARSE_REALSIZE = 'GNU.sparse.realsize';

/** Go's validPAXRecord on byte strings. */
export function validPaxRecord(k: string, v: string): boolean {
  if (k === '' || k.includes('=')) return false;
  switch (k) {
    case PAX_PATH:
    case PAX_LINKPATH:
    case PAX_UNAME:
    case PAX_GNAME:
      return !v.includes('\0');
    default:
      return !k.includes('\0');
  }
}

/** One parsed PAX record; `next` is the index just after it. */
export interface PaxRecord {
  key: string;
  value: string;
  next: number;
}

/**
 * Go's parsePAXRecord on `data[start, end)`: "%d %s=%s\n" with the length in decimal
 * (strconv.ParseInt, so a sign is allowed). Key and value are byte strings. Returns null where
 * Go returns ErrHeader.
 */
export function parsePaxRecord(data: Uint8Array, start: number, end: number): PaxRecord | null {
  let sp = start;
  while (sp < end && data[sp] !== 0x20) sp++;
  if (sp === end) return null;
  const nStr = bytesToByteString(data, start, sp);
  const n64 = parseInt64(nStr);
  if (n64 === null || n64 < 5n || n64 > BigInt(end - start)) return null;
  const n = Number(n64);
  const rest = sp + 1;
  const recLen = n - (nStr.length + 1); // index in rest
  if (recLen <= 0) return null;
  const nl = rest + recLen - 1;
  if (data[nl] !== 0x0a) return null;
  let eq = rest;
  while (eq < nl && data[eq] !== 0x3d) eq++;
  if (eq === nl) return null;
  const key = bytesToByteString(data, rest, eq);
  const value = bytesToByteString(data, eq + 1, nl);
  if (!validPaxRecord(key, value)) return null;
  return { key, value, next: nl + 1 };
}

/**
 * Go's parsePAX on the body of an 'x' or 'g' header: all records into a map (later duplicates
 * win), with GNU sparse 0.0 offset/numbytes pairs joined into a GNU.sparse.map record. Returns
 * null where Go returns ErrHeader.
 */
export function parsePaxRecords(data: Uint8Array): Map<string, string> | null {
  const recs = new Map<string, string>();
  const sparseMap: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const r = parsePaxRecord(data, pos, data.length);
    if (r === null) return null;
    pos = r.next;
    if (r.key === PAX_GNU_SPARSE_OFFSET || r.key === PAX_GNU_SPARSE_NUMBYTES) {
      const even = sparseMap.length % 2 === 0;
      if (
        (even && r.key !== PAX_GNU_SPARSE_OFFSET) ||
        (!even && r.key !== PAX_GNU_SPARSE_NUMBYTES) ||
        r.value.includes(',')
      ) {
        return null;
      }
      sparseMap.push(r.value);
    } else {
      recs.set(r.key, r.value);
    }
  }
  if (sparseMap.length > 0) recs.set(PAX_GNU_SPARSE_MAP, sparseMap.join(','));
  return recs;
}

/** Go's formatPAXRecord on byte strings; null where Go returns ErrHeader (invalid record). */
export function formatPaxRecord(k: string, v: string): string | null {
  if (!validPaxRecord(k, v)) return null;
  let size = k.length + v.length + 3;
  size += String(size).length;
  let record = `${size} ${k}=${v}\n`;
  if (record.length !== size) {
    size = record.length;
    record = `${size} ${k}=${v}\n`;
  }
  return record;
}

// ---------------------------------------------------------------------------------------------
// Header block encoding (Go's Writer.templateV7Plus + setFormat)

/** Fields for {@link encodeHeader}. Strings are byte strings; numbers are Go int64 values. */
export interface HeaderFields {
  typeflag: number;
  name: string;
  linkname?: string;
  mode?: bigint;
  uid?: bigint;
  gid?: bigint;
  size?: bigint;
  /** Modification time in seconds since the Unix epoch (Go writes 0 for the zero time). */
  mtime?: bigint;
  uname?: string;
  gname?: string;
  devmajor?: bigint;
  devminor?: bigint;
  /** USTAR only: the prefix from Go's splitUSTARPath. */
  prefix?: string;
  /** GNU only: access and change times in seconds (omitted = Go's zero time). */
  atime?: bigint;
  ctime?: bigint;
}

/**
 * Encodes one header block exactly as Go 1.19's Writer does for the chosen format:
 * - FORMAT_USTAR: writeUSTARHeader (strings as given, numbers octal, prefix field);
 * - FORMAT_PAX: writePAXHeader's main block (strings reduced with toASCII and truncated,
 *   numbers that do not fit octal written as zero — the PAX records carry them);
 * - FORMAT_GNU: writeGNUHeader's block (octal or base-256 numbers, atime/ctime).
 * Field overflow is not reported (Go validates first; see tar-writer.ts).
 */
export function encodeHeader(h: HeaderFields, format: number): Uint8Array {
  const b = new Uint8Array(BLOCK_SIZE);
  const str =
    format === FORMAT_PAX
      ? (off: number, len: number, s: string) => formatString(b, off, len, toASCII(s))
      : (off: number, len: number, s: string) => formatString(b, off, len, s);
  const num =
    format === FORMAT_GNU
      ? (off: number, len: number, x: bigint) => formatNumeric(b, off, len, x)
      : (off: number, len: number, x: bigint) => formatOctal(b, off, len, x);
  b[OFF_TYPEFLAG] = h.typeflag;
  str(OFF_NAME, 100, h.name);
  str(OFF_LINKNAME, 100, h.linkname ?? '');
  num(OFF_MODE, 8, h.mode ?? 0n);
  num(OFF_UID, 8, h.uid ?? 0n);
  num(OFF_GID, 8, h.gid ?? 0n);
  num(OFF_SIZE, 12, h.size ?? 0n);
  num(OFF_MTIME, 12, h.mtime ?? 0n);
  str(OFF_UNAME, 32, h.uname ?? '');
  str(OFF_GNAME, 32, h.gname ?? '');
  num(OFF_DEVMAJOR, 8, h.devmajor ?? 0n);
  num(OFF_DEVMINOR, 8, h.devminor ?? 0n);
  if (format === FORMAT_USTAR) formatString(b, OFF_PREFIX, 155, h.prefix ?? '');
  if (format === FORMAT_GNU) {
    if (h.atime !== undefined) formatNumeric(b, OFF_GNU_ATIME, 12, h.atime);
    if (h.ctime !== undefined) formatNumeric(b, OFF_GNU_CTIME, 12, h.ctime);
  }
  setFormat(b, format);
  return b;
}

/**
 * Go's Writer.writeRawFile header: the minimal header of a PAX extended header ('x'/'g') or
 * GNU long name/link ('L'/'K') file. `name` is a byte string, reduced with toASCII, cut to
 * 100 bytes and stripped of trailing slashes; mode/uid/gid/mtime are zero.
 */
export function encodeRawFileHeader(
  name: string,
  size: number,
  typeflag: number,
  format: number,
): Uint8Array {
  const b = new Uint8Array(BLOCK_SIZE);
  let n = toASCII(name);
  if (n.length > NAME_SIZE) n = n.slice(0, NAME_SIZE);
  n = n.replace(/\/+$/, '');
  b[OFF_TYPEFLAG] = typeflag;
  formatString(b, OFF_NAME, 100, n);
  formatOctal(b, OFF_MODE, 8, 0n);
  formatOctal(b, OFF_UID, 8, 0n);
  formatOctal(b, OFF_GID, 8, 0n);
  formatOctal(b, OFF_SIZE, 12, BigInt(size));
  formatOctal(b, OFF_MTIME, 12, 0n);
  setFormat(b, format);
  return b;
}

/** Go's splitUSTARPath on a byte string: [prefix, suffix] or null when not splittable. */
export function splitUstarPath(name: string): [string, string] | null {
  let length = name.length;
  if (length <= NAME_SIZE || !isASCII(name)) return null;
  if (length > PREFIX_SIZE + 1) length = PREFIX_SIZE + 1;
  else if (name.charCodeAt(length - 1) === 0x2f) length--;
  const i = name.lastIndexOf('/', length - 1);
  const nlen = name.length - i - 1;
  const plen = i;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || plen > PREFIX_SIZE) return null;
  return [name.slice(0, i), name.slice(i + 1)];
}

// ---------------------------------------------------------------------------------------------
// Block framing through an optional kernel (the WebAssembly one, src/wasm/tar.ts)

/** What {@link scanHeaderBlock} returns for an all-zero block (end-of-archive marker). */
export const ZERO_BLOCK: unique symbol = Symbol('tar zero block');

/**
 * An implementation of the per-header framing work, installed with {@link installTarKernel}.
 * Contract: every method returns exactly what the pure functions of this module return for the
 * same input (the pure functions are the reference), or `undefined` where the method declines
 * an input (then the pure function is used). The kernel keeps no state between calls.
 */
export interface TarKernel {
  /** A short name for diagnostics ('wasm'). */
  readonly name: string;
  /**
   * `isZeroBlock(b) ? ZERO_BLOCK : parseHeaderBlock(b)` for the first 512 bytes of `b`
   * (b.length ≥ 512).
   */
  scanHeaderBlock(b: Uint8Array): ParsedHeaderBlock | null | typeof ZERO_BLOCK;
  /** `encodeHeader(h, format)`, or undefined when declined. */
  encodeHeader(h: HeaderFields, format: number): Uint8Array | undefined;
  /** `encodeRawFileHeader(name, size, typeflag, format)`, or undefined when declined. */
  encodeRawFileHeader(
    name: string,
    size: number,
    typeflag: number,
    format: number,
  ): Uint8Array | undefined;
}

let kernel: TarKernel | null = null;

/**
 * Makes {@link scanHeaderBlock}, {@link buildHeader} and {@link buildRawFileHeader} (the
 * reader's and the writer's per-header work) go through `k`, or back to the pure codec with
 * null. Process-wide; results do not change either way. The engines install the WebAssembly
 * kernel once it is loaded (src/wasm/tar.ts, installWasmTar).
 */
export function installTarKernel(k: TarKernel | null): void {
  kernel = k;
}

/** The installed kernel, or null when the pure codec is in use. */
export function installedTarKernel(): TarKernel | null {
  return kernel;
}

/**
 * The reader's work on one header block (Go's readHeader after reading it): ZERO_BLOCK when
 * its 512 bytes are zero, else {@link parseHeaderBlock}'s result (null = Go's ErrHeader).
 * Computed by the installed kernel when there is one.
 */
export function scanHeaderBlock(b: Uint8Array): ParsedHeaderBlock | null | typeof ZERO_BLOCK {
  if (kernel !== null && b.length >= BLOCK_SIZE) return kernel.scanHeaderBlock(b);
  return isZeroBlock(b) ? ZERO_BLOCK : parseHeaderBlock(b);
}

/** {@link encodeHeader}, computed by the installed kernel when there is one. */
export function buildHeader(h: HeaderFields, format: number): Uint8Array {
  return kernel?.encodeHeader(h, format) ?? encodeHeader(h, format);
}

/** {@link encodeRawFileHeader}, computed by the installed kernel when there is one. */
export function buildRawFileHeader(
  name: string,
  size: number,
  typeflag: number,
  format: number,
): Uint8Array {
  return (
    kernel?.encodeRawFileHeader(name, size, typeflag, format) ??
    encodeRawFileHeader(name, size, typeflag, format)
  );
}

/**
 * Tar block framing kernel for raftsnap: the per-header work of Go 1.19's archive/tar on one
 * 512-byte block in linear memory, with exactly the results of the pure TypeScript codec
 * (src/format/tar-header.ts), which stays the reference.
 *
 * Regions (static, fixed for the life of the instance; the memory never grows):
 * - the BLOCK (`blockPtr()`, 512 bytes): the header block to parse, or the block `encode` and
 *   `encodeRaw` write;
 * - the RESULT area (`resultPtr()`, 128 bytes): what `scan` (and `checksum`, `numeric`) found,
 *   as i64 values at byte offsets 0..71 and i32 values from byte 72 on (R_* below);
 * - five STRING slots (`stringPtr()`, `stringCap()` bytes each, one after another): the name,
 *   linkname, uname, gname and prefix that `encode`/`encodeRaw` read.
 *
 * Parsing follows Go's parser: octal fields trimmed of leading/trailing spaces and NULs, cut at
 * the first remaining NUL, digits 0-7 only (strconv.ParseUint base 8, a range error included);
 * base-256 fields in two's complement with Go's int64 overflow checks. Where Go sets
 * `p.err = ErrHeader` the error flag (R_ERR) is set. Checksums are Go's computeChecksum: the
 * unsigned and the signed (int8) byte sums with the checksum field counted as eight spaces.
 */

// Format bits (Go's tar.Format values).
const FORMAT_UNKNOWN: i32 = 0;
const FORMAT_V7: i32 = 1;
const FORMAT_USTAR: i32 = 2;
const FORMAT_PAX: i32 = 4;
const FORMAT_GNU: i32 = 8;
const FORMAT_STAR: i32 = 16;

// Header field offsets.
const OFF_NAME: usize = 0;
const OFF_MODE: usize = 100;
const OFF_UID: usize = 108;
const OFF_GID: usize = 116;
const OFF_SIZE: usize = 124;
const OFF_MTIME: usize = 136;
const OFF_CHKSUM: usize = 148;
const OFF_TYPEFLAG: usize = 156;
const OFF_LINKNAME: usize = 157;
const OFF_MAGIC: usize = 257;
const OFF_VERSION: usize = 263;
const OFF_UNAME: usize = 265;
const OFF_GNAME: usize = 297;
const OFF_DEVMAJOR: usize = 329;
const OFF_DEVMINOR: usize = 337;
const OFF_PREFIX: usize = 345;
const OFF_GNU_ATIME: usize = 345;
const OFF_GNU_CTIME: usize = 357;
const OFF_STAR_ATIME: usize = 476;
const OFF_STAR_CTIME: usize = 488;
const OFF_STAR_TRAILER: usize = 508;

/** Results of `scan`: i64 slots (byte offsets into RESULT). */
const R_SIZE: usize = 0;
const R_MODE: usize = 8;
const R_UID: usize = 16;
const R_GID: usize = 24;
const R_MTIME: usize = 32;
const R_DEVMAJOR: usize = 40;
const R_DEVMINOR: usize = 48;
const R_ATIME: usize = 56;
const R_CTIME: usize = 64;
/** i32 slots (byte offsets into RESULT). */
const R_BLOCK_FORMAT: usize = 72;
const R_FORMAT: usize = 76;
/** Bit 0: atime present; bit 1: ctime present. */
const R_TIMES: usize = 80;
const R_NAME_LEN: usize = 84;
const R_LINKNAME_LEN: usize = 88;
const R_UNAME_LEN: usize = 92;
const R_GNAME_LEN: usize = 96;
const R_PREFIX_LEN: usize = 100;
const R_CHK_UNSIGNED: usize = 104;
const R_CHK_SIGNED: usize = 108;
/** 1 when the last `numeric`/`scan` field parse hit Go's ErrHeader. */
const R_ERR: usize = 112;

/** `scan` verdicts. */
const SCAN_HEADER: i32 = 0;
const SCAN_ZERO: i32 = 1;
const SCAN_ERR_HEADER: i32 = 2;

const BLOCK: usize = memory.data(512, 16);
const RESULT: usize = memory.data(128, 16);
const STRING_CAP: usize = 4096;
const STRINGS: usize = memory.data(20480, 16); // 5 slots of STRING_CAP bytes
const S_NAME: usize = STRINGS;
const S_LINKNAME: usize = STRINGS + STRING_CAP;
const S_UNAME: usize = STRINGS + 2 * STRING_CAP;
const S_GNAME: usize = STRINGS + 3 * STRING_CAP;
const S_PREFIX: usize = STRINGS + 4 * STRING_CAP;

// Set by the field parsers where Go sets p.err = ErrHeader; cleared by their callers.
let err: bool = false;
// Computed by `sums`: the two checksums and the OR of all 512 bytes.
let sumUnsigned: i32 = 0;
let sumSigned: i32 = 0;
let orAll: v128 = i32x4.splat(0);

/** Address of the 512-byte block region. */
export function blockPtr(): usize {
  return BLOCK;
}

/** Address of the 128-byte result area. */
export function resultPtr(): usize {
  return RESULT;
}

/** Address of the first of the five string slots (name, linkname, uname, gname, prefix). */
export function stringPtr(): usize {
  return STRINGS;
}

/** Size in bytes of each string slot: the longest string `encode`/`encodeRaw` accept. */
export function stringCap(): usize {
  return STRING_CAP;
}

function byteAt(off: usize): u32 {
  return <u32>load<u8>(BLOCK + off);
}

// One pass over the block: the OR of all bytes (zero-block and non-ASCII tests) and Go's two
// checksums (field 148..155 counted as spaces). Lane sums stay in range: 32 vectors of pairs
// of bytes are at most 32 * 510 (unsigned) and within ±32 * 256 (signed).
function sums(): void {
  let or = i32x4.splat(0);
  let su = i32x4.splat(0);
  let ss = i32x4.splat(0);
  for (let p = BLOCK; p < BLOCK + 512; p += 16) {
    const v = v128.load(p);
    or = v128.or(or, v);
    su = i16x8.add(su, i16x8.extadd_pairwise_i8x16_u(v));
    ss = i16x8.add(ss, i16x8.extadd_pairwise_i8x16_s(v));
  }
  su = i32x4.extadd_pairwise_i16x8_u(su);
  ss = i32x4.extadd_pairwise_i16x8_s(ss);
  let u =
    i32x4.extract_lane(su, 0) +
    i32x4.extract_lane(su, 1) +
    i32x4.extract_lane(su, 2) +
    i32x4.extract_lane(su, 3);
  let s =
    i32x4.extract_lane(ss, 0) +
    i32x4.extract_lane(ss, 1) +
    i32x4.extract_lane(ss, 2) +
    i32x4.extract_lane(ss, 3);
  for (let i = OFF_CHKSUM; i < OFF_CHKSUM + 8; i++) {
    const c = load<u8>(BLOCK + i);
    u -= <i32>c;
    s -= <i32>(<i8>c);
  }
  sumUnsigned = u + 8 * 0x20;
  sumSigned = s + 8 * 0x20;
  orAll = or;
}

// Go's parseOctal on [p, p+len): trim spaces and NULs at both ends, cut at the first NUL,
// strconv.ParseUint(s, 8, 64). Sets `err` on a bad digit or a value beyond 2^64-1.
function octalAt(p: usize, len: usize): u64 {
  let start = p;
  let end = p + len;
  while (start < end) {
    const c = load<u8>(start);
    if (c !== 0x20 && c !== 0) break;
    start++;
  }
  while (end > start) {
    const c = load<u8>(end - 1);
    if (c !== 0x20 && c !== 0) break;
    end--;
  }
  let x: u64 = 0;
  for (let q = start; q < end; q++) {
    const c = <u32>load<u8>(q);
    if (c === 0) break; // parseString cuts at the first NUL
    const d = c - 0x30; // wraps around for c < '0'
    if (d > 7 || x >> 61 !== 0) {
      err = true;
      return 0;
    }
    x = (x << 3) | <u64>d;
  }
  return x;
}

// Go's parseNumeric on [p, p+len): base-256 when the first byte has its top bit, else octal.
function numericAt(p: usize, len: usize): i64 {
  if (len > 0) {
    const b0 = <u32>load<u8>(p);
    if (b0 & 0x80) {
      const inv: u32 = b0 & 0x40 ? 0xff : 0;
      let x: u64 = <u64>((b0 ^ inv) & 0x7f);
      for (let i: usize = 1; i < len; i++) {
        if (x >> 56 !== 0) {
          err = true; // integer overflow
          return 0;
        }
        x = (x << 8) | <u64>(<u32>load<u8>(p + i) ^ inv);
      }
      if (x >> 63 !== 0) {
        err = true;
        return 0;
      }
      return inv ? ~(<i64>x) : <i64>x;
    }
  }
  return <i64>octalAt(p, len);
}

// Go's parseString length: bytes before the first NUL of the field.
function strlen(off: usize, len: usize): i32 {
  let i: usize = 0;
  while (i < len && load<u8>(BLOCK + off + i) !== 0) i++;
  return <i32>i;
}

// Go's block.getFormat, given `sums()` of the block.
function detectFormat(): i32 {
  err = false;
  const value = <i64>octalAt(BLOCK + OFF_CHKSUM, 8);
  if (err || (value !== <i64>sumUnsigned && value !== <i64>sumSigned)) return FORMAT_UNKNOWN;
  // "ustar\0" at 257?
  if (load<u32>(BLOCK + OFF_MAGIC) === 0x61747375 && load<u16>(BLOCK + OFF_MAGIC + 4) === 0x0072) {
    // "tar\0" at 508?
    return load<u32>(BLOCK + OFF_STAR_TRAILER) === 0x00726174
      ? FORMAT_STAR
      : FORMAT_USTAR | FORMAT_PAX;
  }
  // "ustar " at 257 and " \0" at 263?
  if (
    load<u32>(BLOCK + OFF_MAGIC) === 0x61747375 &&
    load<u16>(BLOCK + OFF_MAGIC + 4) === 0x2072 &&
    load<u16>(BLOCK + OFF_VERSION) === 0x0020
  ) {
    return FORMAT_GNU;
  }
  return FORMAT_V7;
}

/** 1 when the 512 bytes of the block are all zero, else 0. */
export function isZero(): i32 {
  let or = i32x4.splat(0);
  for (let p = BLOCK; p < BLOCK + 512; p += 16) or = v128.or(or, v128.load(p));
  return v128.any_true(or) ? 0 : 1;
}

/**
 * Go's computeChecksum of the block: returns the unsigned sum and stores both sums at
 * R_CHK_UNSIGNED and R_CHK_SIGNED.
 */
export function checksum(): i32 {
  sums();
  store<i32>(RESULT + R_CHK_UNSIGNED, sumUnsigned);
  store<i32>(RESULT + R_CHK_SIGNED, sumSigned);
  return sumUnsigned;
}

/** verifyChecksum: 1 when the checksum field parses and equals either sum, else 0. */
export function verify(): i32 {
  sums();
  return detectFormat() !== FORMAT_UNKNOWN ? 1 : 0;
}

/** Go's block.getFormat: FORMAT_UNKNOWN (bad checksum), STAR, USTAR|PAX, GNU or V7. */
export function format(): i32 {
  sums();
  return detectFormat();
}

/**
 * parseOctal of the `len` bytes at `off` in the block: the value, or NaN where Go sets
 * ErrHeader. Exact as a double up to 2^53 (every tar field is at most 12 octal digits).
 */
export function octal(off: usize, len: usize): f64 {
  err = false;
  const x = octalAt(BLOCK + off, len);
  return err ? NaN : <f64>x;
}

/**
 * parseNumeric of the `len` bytes at `off` in the block: the int64 value; R_ERR is set to 1
 * (and 0 returned) where Go sets ErrHeader, else to 0.
 */
export function numeric(off: usize, len: usize): i64 {
  err = false;
  const x = numericAt(BLOCK + off, len);
  store<i32>(RESULT + R_ERR, err ? 1 : 0);
  return x;
}

// One parseNumeric of a header field into a RESULT slot.
function field(off: usize, len: usize, slot: usize): void {
  store<i64>(RESULT + slot, numericAt(BLOCK + off, len));
}

/**
 * The reader's per-header work on the block: the zero-block test, then Go's readHeader block
 * parse (tar-header.ts parseHeaderBlock) without the strings. Returns SCAN_ZERO for a zero
 * block, SCAN_ERR_HEADER where parseHeaderBlock returns null, else SCAN_HEADER with RESULT
 * holding: the numeric fields (R_SIZE..R_CTIME; devmajor/devminor 0 for V7), R_BLOCK_FORMAT
 * (getFormat), R_FORMAT (Go's hdr.Format), R_TIMES (which of atime/ctime are set), the lengths
 * of name, linkname, uname, gname up to their first NUL (uname/gname 0 for V7), and
 * R_PREFIX_LEN: the length of the prefix to join as `prefix + "/" + name` (0 = none; the
 * prefix starts at byte 345).
 */
export function scan(): i32 {
  sums();
  if (!v128.any_true(orAll)) return SCAN_ZERO;
  const blockFormat = detectFormat();
  if (blockFormat === FORMAT_UNKNOWN) return SCAN_ERR_HEADER;
  err = false;
  field(OFF_SIZE, 12, R_SIZE);
  field(OFF_MODE, 8, R_MODE);
  field(OFF_UID, 8, R_UID);
  field(OFF_GID, 8, R_GID);
  field(OFF_MTIME, 12, R_MTIME);
  if (err) return SCAN_ERR_HEADER;
  store<i32>(RESULT + R_BLOCK_FORMAT, blockFormat);
  store<i32>(RESULT + R_NAME_LEN, strlen(OFF_NAME, 100));
  store<i32>(RESULT + R_LINKNAME_LEN, strlen(OFF_LINKNAME, 100));
  let format = FORMAT_UNKNOWN;
  let times = 0;
  let prefixLen = 0;
  if (blockFormat === FORMAT_V7) {
    store<i64>(RESULT + R_DEVMAJOR, 0);
    store<i64>(RESULT + R_DEVMINOR, 0);
    store<i32>(RESULT + R_UNAME_LEN, 0);
    store<i32>(RESULT + R_GNAME_LEN, 0);
  } else {
    store<i32>(RESULT + R_UNAME_LEN, strlen(OFF_UNAME, 32));
    store<i32>(RESULT + R_GNAME_LEN, strlen(OFF_GNAME, 32));
    field(OFF_DEVMAJOR, 8, R_DEVMAJOR);
    field(OFF_DEVMINOR, 8, R_DEVMINOR);
    if (err) return SCAN_ERR_HEADER;
    if (blockFormat & (FORMAT_USTAR | FORMAT_PAX)) {
      format = blockFormat;
      prefixLen = strlen(OFF_PREFIX, 155);
      // Non-ASCII bytes anywhere, or numeric fields not ending in NUL: format unknown.
      if (i8x16.bitmask(orAll) !== 0) format = FORMAT_UNKNOWN;
      if (
        byteAt(OFF_SIZE + 11) |
        byteAt(OFF_MODE + 7) |
        byteAt(OFF_UID + 7) |
        byteAt(OFF_GID + 7) |
        byteAt(OFF_MTIME + 11) |
        byteAt(OFF_DEVMAJOR + 7) |
        byteAt(OFF_DEVMINOR + 7)
      ) {
        format = FORMAT_UNKNOWN;
      }
    } else if (blockFormat & FORMAT_STAR) {
      prefixLen = strlen(OFF_PREFIX, 131);
      field(OFF_STAR_ATIME, 12, R_ATIME);
      field(OFF_STAR_CTIME, 12, R_CTIME);
      if (err) return SCAN_ERR_HEADER;
      times = 3;
    } else {
      // FORMAT_GNU: atime/ctime when their first byte is not NUL.
      format = FORMAT_GNU;
      if (byteAt(OFF_GNU_ATIME) !== 0) {
        field(OFF_GNU_ATIME, 12, R_ATIME);
        times |= 1;
      }
      if (byteAt(OFF_GNU_CTIME) !== 0) {
        field(OFF_GNU_CTIME, 12, R_CTIME);
        times |= 2;
      }
      if (err) {
        // Pre-Go1.8 writers put a USTAR prefix here: keep it when it is ASCII.
        times = 0;
        format = FORMAT_UNKNOWN;
        prefixLen = strlen(OFF_PREFIX, 155);
        for (let i: usize = 0; i < <usize>prefixLen; i++) {
          if (byteAt(OFF_PREFIX + i) >= 0x80) {
            prefixLen = 0;
            break;
          }
        }
      }
    }
  }
  store<i32>(RESULT + R_FORMAT, format);
  store<i32>(RESULT + R_TIMES, times);
  store<i32>(RESULT + R_PREFIX_LEN, prefixLen);
  return SCAN_HEADER;
}

/** Go's blockPadding: the zero bytes (0..511) that follow `size` bytes of entry data. */
export function padding(size: i64): i32 {
  return <i32>(-size & 511);
}

// ---------------------------------------------------------------------------------------------
// Encoding (Go's Writer.templateV7Plus / writeRawFile + block.setFormat)

// Go's formatter.formatString of the `n` bytes at `src` into the field [off, off+len).
function putString(off: usize, len: usize, src: usize, n: usize): void {
  const dst = BLOCK + off;
  memory.copy(dst, src, n < len ? n : len);
  if (n < len) store<u8>(dst + n, 0);
  if (n > len && load<u8>(dst + len - 1) === 0x2f) {
    // Truncated at a '/': replace the trailing slashes of the cut by a NUL.
    let k = len;
    while (k > 0 && load<u8>(src + k - 1) === 0x2f) k--;
    store<u8>(dst + k, 0);
  }
}

// Go's toASCII in place on the `n` bytes at `src` (drops NULs and bytes >= 0x80); the new
// length.
function toASCII(src: usize, n: usize): usize {
  let w: usize = 0;
  for (let r: usize = 0; r < n; r++) {
    const c = load<u8>(src + r);
    if (c !== 0 && c < 0x80) store<u8>(src + w++, c);
  }
  return w;
}

// Go's fitsInOctal for an n-byte field.
function fitsOctal(len: usize, x: i64): bool {
  return x >= 0 && (len >= 22 || <u64>x < (<u64>1) << (<u64>(len - 1) * 3));
}

// Go's formatter.formatOctal: len-1 zero-padded octal digits and a NUL; 0 when x does not fit.
function putOctal(off: usize, len: usize, x: i64): void {
  let v: u64 = fitsOctal(len, x) ? <u64>x : 0;
  const dst = BLOCK + off;
  store<u8>(dst + len - 1, 0);
  for (let i = len - 1; i > 0; i--) {
    store<u8>(dst + i - 1, 0x30 + <u32>(v & 7));
    v >>= 3;
  }
}

// Go's formatter.formatNumeric: octal if it fits, else base-256 if it fits, else zero.
function putNumeric(off: usize, len: usize, x: i64): void {
  if (fitsOctal(len, x)) {
    putOctal(off, len, x);
    return;
  }
  const bits = <i64>(len - 1) * 8;
  if (len >= 9 || (x >= -((<i64>1) << bits) && x < (<i64>1) << bits)) {
    let v = x;
    const dst = BLOCK + off;
    for (let i = <isize>len - 1; i >= 0; i--) {
      store<u8>(dst + <usize>i, <u8>v);
      v >>= 8;
    }
    store<u8>(dst, load<u8>(dst) | 0x80);
    return;
  }
  putOctal(off, len, 0);
}

// Go's block.setFormat: magic values, then the checksum (six octal digits, NUL, space). The
// caller has checked that `format` has one of the five bits.
function setFormat(format: i32): void {
  if (format & FORMAT_V7) {
    // Nothing to write.
  } else if (format & FORMAT_GNU) {
    store<u32>(BLOCK + OFF_MAGIC, 0x61747375); // "usta"
    store<u16>(BLOCK + OFF_MAGIC + 4, 0x2072); // "r "
    store<u16>(BLOCK + OFF_VERSION, 0x0020); // " \0"
  } else {
    // FORMAT_STAR, FORMAT_USTAR, FORMAT_PAX: "ustar\0" "00".
    store<u32>(BLOCK + OFF_MAGIC, 0x61747375);
    store<u16>(BLOCK + OFF_MAGIC + 4, 0x0072);
    store<u16>(BLOCK + OFF_VERSION, 0x3030);
    if (format & FORMAT_STAR) store<u32>(BLOCK + OFF_STAR_TRAILER, 0x00726174); // "tar\0"
  }
  sums();
  putOctal(OFF_CHKSUM, 7, <i64>sumUnsigned);
  store<u8>(BLOCK + OFF_CHKSUM + 7, 0x20);
}

/**
 * tar-header.ts encodeHeader(h, format) into the block. The strings are in the string slots
 * (name, linkname, uname, gname, prefix) with the given lengths (each ≤ `stringCap()`; the
 * slots are modified). `format` must have at least one of the five format bits. Strings are
 * reduced with toASCII when format === FORMAT_PAX; numbers are base-256-capable only when
 * format === FORMAT_GNU (else octal, zero when they do not fit); the prefix is written only when
 * format === FORMAT_USTAR; atime/ctime (bit 0/1 of `times`) only when format === FORMAT_GNU.
 */
export function encode(
  format: i32,
  typeflag: i32,
  nameLen: usize,
  linknameLen: usize,
  unameLen: usize,
  gnameLen: usize,
  prefixLen: usize,
  mode: i64,
  uid: i64,
  gid: i64,
  size: i64,
  mtime: i64,
  devmajor: i64,
  devminor: i64,
  times: i32,
  atime: i64,
  ctime: i64,
): void {
  memory.fill(BLOCK, 0, 512);
  store<u8>(BLOCK + OFF_TYPEFLAG, <u8>typeflag);
  if (format === FORMAT_PAX) {
    nameLen = toASCII(S_NAME, nameLen);
    linknameLen = toASCII(S_LINKNAME, linknameLen);
    unameLen = toASCII(S_UNAME, unameLen);
    gnameLen = toASCII(S_GNAME, gnameLen);
  }
  putString(OFF_NAME, 100, S_NAME, nameLen);
  putString(OFF_LINKNAME, 100, S_LINKNAME, linknameLen);
  if (format === FORMAT_GNU) {
    putNumeric(OFF_MODE, 8, mode);
    putNumeric(OFF_UID, 8, uid);
    putNumeric(OFF_GID, 8, gid);
    putNumeric(OFF_SIZE, 12, size);
    putNumeric(OFF_MTIME, 12, mtime);
  } else {
    putOctal(OFF_MODE, 8, mode);
    putOctal(OFF_UID, 8, uid);
    putOctal(OFF_GID, 8, gid);
    putOctal(OFF_SIZE, 12, size);
    putOctal(OFF_MTIME, 12, mtime);
  }
  putString(OFF_UNAME, 32, S_UNAME, unameLen);
  putString(OFF_GNAME, 32, S_GNAME, gnameLen);
  if (format === FORMAT_GNU) {
    putNumeric(OFF_DEVMAJOR, 8, devmajor);
    putNumeric(OFF_DEVMINOR, 8, devminor);
  } else {
    putOctal(OFF_DEVMAJOR, 8, devmajor);
    putOctal(OFF_DEVMINOR, 8, devminor);
  }
  if (format === FORMAT_USTAR) putString(OFF_PREFIX, 155, S_PREFIX, prefixLen);
  if (format === FORMAT_GNU) {
    if (times & 1) putNumeric(OFF_GNU_ATIME, 12, atime);
    if (times & 2) putNumeric(OFF_GNU_CTIME, 12, ctime);
  }
  setFormat(format);
}

/**
 * tar-header.ts encodeRawFileHeader(name, size, typeflag, format) into the block: the name
 * (in the name slot, `nameLen` ≤ `stringCap()` bytes; modified) reduced with toASCII, cut to
 * 100 bytes and stripped of trailing slashes; mode, uid, gid and mtime zero; `size` octal.
 * `format` must have at least one of the five format bits.
 */
export function encodeRaw(typeflag: i32, nameLen: usize, size: i64, format: i32): void {
  memory.fill(BLOCK, 0, 512);
  let n = toASCII(S_NAME, nameLen);
  if (n > 100) n = 100;
  while (n > 0 && load<u8>(S_NAME + n - 1) === 0x2f) n--;
  store<u8>(BLOCK + OFF_TYPEFLAG, <u8>typeflag);
  putString(OFF_NAME, 100, S_NAME, n);
  putOctal(OFF_MODE, 8, 0);
  putOctal(OFF_UID, 8, 0);
  putOctal(OFF_GID, 8, 0);
  putOctal(OFF_SIZE, 12, size);
  putOctal(OFF_MTIME, 12, 0);
  setFormat(format);
}

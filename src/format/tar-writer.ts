/**
 * Tar writer producing exactly the bytes Go 1.19's archive/tar Writer produces for the headers
 * hashicorp/raft-snapshot writes: `&tar.Header{Name: name, Mode: 0600, Size: size, ModTime: t}`
 * (format unspecified), followed by the data, the block padding and, at Close, two zero blocks.
 *
 * The writer is stateless: it only builds byte chunks. The caller emits, for each entry,
 * `header(...)`, then exactly the entry's data bytes, then `padding(dataSize)`; and `end()` once
 * after the last entry. The header never needs the data, so sizes beyond 8 GiB are fine.
 * Header blocks are encoded by buildHeader/buildRawFileHeader: the installed tar kernel
 * (WebAssembly) when there is one, else the pure codec, with the same bytes.
 */
import { SnapshotError } from '../errors.js';
import { goQuote } from './go-quote.js';
import {
  BLOCK_SIZE,
  blockPadding,
  buildHeader,
  buildRawFileHeader,
  byteStringToBytes,
  bytesToByteString,
  encodeByteString,
  FORMAT_PAX,
  FORMAT_USTAR,
  fitsInOctal,
  formatPaxRecord,
  formatPaxTime,
  isASCII,
  isHeaderOnlyType,
  MAX_SPECIAL_FILE_SIZE,
  NAME_SIZE,
  PAX_MTIME,
  PAX_PATH,
  PAX_SIZE,
  splitUstarPath,
  TYPE_DIR,
  TYPE_REG,
  TYPE_XHEADER,
} from './tar-header.js';

/**
 * A modification time: a Date, milliseconds since the Unix epoch (integer), or nanoseconds
 * since the Unix epoch as a bigint (Go's full time.Time resolution).
 */
export type TarMtime = Date | number | bigint;

/** Seconds from Go's zero time (January 1, year 1, UTC) to the Unix epoch. */
const ZERO_TIME_UNIX = -62135596800n;
const NS = 1_000_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
/** The mode raft-snapshot writes (0600). */
const MODE = 0o600n;

function invalid(message: string): SnapshotError {
  return new SnapshotError('INVALID_ARGUMENT', message);
}

/** Nanoseconds since the epoch of a TarMtime; throws INVALID_ARGUMENT when not a valid time. */
function mtimeNanos(t: TarMtime): bigint {
  if (typeof t === 'bigint') return t;
  const ms = t instanceof Date ? t.getTime() : t;
  if (!Number.isInteger(ms))
    throw invalid('tar: mtime must be a valid Date or integer milliseconds');
  return BigInt(ms) * 1_000_000n;
}

/**
 * Go's ModTime.Round(time.Second) as Unix seconds (halfway rounds up), or null for Go's zero
 * time (which the writer encodes as 0 and never needs PAX for).
 */
function roundedSeconds(t: TarMtime): bigint | null {
  const ns = mtimeNanos(t);
  let sec = ns / NS;
  let r = ns - sec * NS;
  if (r < 0n) {
    sec -= 1n;
    r += NS;
  }
  if (2n * r >= NS) sec += 1n;
  if (sec < MIN_INT64 || sec > MAX_INT64) throw invalid('tar: mtime out of range');
  return sec === ZERO_TIME_UNIX ? null : sec;
}

/** Go's path.Clean on a byte string. */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path[0] === '/';
  const n = path.length;
  const out: string[] = [];
  let r = 0;
  let dotdot = 0;
  if (rooted) {
    out.push('/');
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (path[r] === '/') {
      r++;
    } else if (path[r] === '.' && (r + 1 === n || path[r + 1] === '/')) {
      r++;
    } else if (path[r] === '.' && path[r + 1] === '.' && (r + 2 === n || path[r + 2] === '/')) {
      r += 2;
      if (out.length > dotdot) {
        // Drop the last element and the slash before it.
        let w = out.length - 1;
        while (w > dotdot && out[w] !== '/') w--;
        out.length = w;
      } else if (!rooted) {
        if (out.length > 0) out.push('/');
        out.push('.', '.');
        dotdot = out.length;
      }
    } else {
      if ((rooted && out.length !== 1) || (!rooted && out.length !== 0)) out.push('/');
      for (; r < n && path[r] !== '/'; r++) out.push(path[r]);
    }
  }
  return out.length === 0 ? '.' : out.join('');
}

/** Go's path.Join on byte strings. */
export function joinPath(...elems: string[]): string {
  let buf = '';
  for (const e of elems) {
    if (buf.length > 0 || e !== '') {
      if (buf.length > 0) buf += '/';
      buf += e;
    }
  }
  return buf === '' ? '' : cleanPath(buf);
}

function headerError(why: string): SnapshotError {
  return invalid(`archive/tar: cannot encode header: ${why}`);
}

/**
 * Builds the byte chunks of a tar archive as Go 1.19's tar.Writer writes them for
 * raft-snapshot's headers (Mode 0600, uid/gid 0, empty uname/gname, typeflag from Go's
 * TypeRegA promotion, ModTime rounded to the second, format chosen by Go: USTAR when it can
 * encode the header, else PAX).
 */
export class TarWriter {
  /**
   * The bytes Go's WriteHeader writes for `&tar.Header{Name: name, Mode: 0600, Size: size,
   * ModTime: mtime}`: one USTAR block, or (size ≥ 8 GiB, a name USTAR cannot hold, or an mtime
   * outside 0..2^33-1 s) a PAX extended header — block, records, padding — and then the PAX
   * main block. A name ending in '/' becomes a directory (Go's promotion of TypeRegA), whose
   * data section is empty whatever `size` says.
   *
   * `name` is a string (written as UTF-8) or raw bytes; `size` the data size in bytes.
   * @throws SnapshotError 'INVALID_ARGUMENT' with Go's message where Go's WriteHeader fails
   *   (negative size on a regular file, a NUL in a name that needs a PAX record, PAX records
   *   over 1 MiB), or if size/mtime are not integers in Go's range.
   */
  header(name: string | Uint8Array, size: number | bigint, mtime: TarMtime): Uint8Array {
    const nameBS = typeof name === 'string' ? encodeByteString(name) : bytesToByteString(name);
    if (typeof size === 'number' && !Number.isSafeInteger(size)) {
      throw invalid('tar: size must be a safe integer');
    }
    const sz = BigInt(size);
    if (sz < MIN_INT64 || sz > MAX_INT64) throw invalid('tar: size out of range');
    const sec = roundedSeconds(mtime);
    const typeflag = nameBS.endsWith('/') ? TYPE_DIR : TYPE_REG;

    // Go's Header.allowedFormats for these fields (PAX can always encode them; GNU is never
    // reached).
    let ustar = true;
    const pax = new Map<string, string>();
    if (!isASCII(nameBS) || nameBS.length > NAME_SIZE) {
      if (splitUstarPath(nameBS) === null) ustar = false;
      pax.set(PAX_PATH, nameBS);
    }
    if (!fitsInOctal(12, sz)) {
      ustar = false;
      pax.set(PAX_SIZE, sz.toString());
    }
    if (sec !== null && !fitsInOctal(12, sec)) {
      ustar = false;
      pax.set(PAX_MTIME, formatPaxTime({ sec, nsec: 0 }));
    }
    if (!isHeaderOnlyType(typeflag) && sz < 0n) {
      throw headerError('negative size on header-only type');
    }
    const path = pax.get(PAX_PATH);
    if (path?.includes('\0')) {
      throw headerError(
        `invalid PAX record: ${goQuote(byteStringToBytes(`${PAX_PATH} = ${path}`))}`,
      );
    }

    const fields = { typeflag, name: nameBS, mode: MODE, size: sz, mtime: sec ?? 0n };
    if (ustar) {
      const split = splitUstarPath(nameBS);
      if (split === null) return buildHeader(fields, FORMAT_USTAR);
      return buildHeader({ ...fields, name: split[1], prefix: split[0] }, FORMAT_USTAR);
    }

    // Go's writePAXHeader: records sorted by key, in a file named dir/PaxHeaders.0/file.
    let records = '';
    for (const k of [...pax.keys()].sort()) records += formatPaxRecord(k, pax.get(k)!)!;
    if (records.length > MAX_SPECIAL_FILE_SIZE) {
      throw invalid('archive/tar: header field too long');
    }
    const slash = nameBS.lastIndexOf('/');
    const paxName = joinPath(nameBS.slice(0, slash + 1), 'PaxHeaders.0', nameBS.slice(slash + 1));
    const paxBlock = buildRawFileHeader(paxName, records.length, TYPE_XHEADER, FORMAT_PAX);
    const main = buildHeader(fields, FORMAT_PAX);
    const dataLen = records.length + blockPadding(records.length);
    const out = new Uint8Array(2 * BLOCK_SIZE + dataLen);
    out.set(paxBlock, 0);
    for (let i = 0; i < records.length; i++) out[BLOCK_SIZE + i] = records.charCodeAt(i);
    out.set(main, BLOCK_SIZE + dataLen);
    return out;
  }

  /**
   * The zero bytes Go writes after `dataSize` bytes of entry data (0..511 bytes). Pass the
   * number of data bytes actually written (0 for a directory).
   */
  padding(dataSize: number | bigint): Uint8Array {
    return new Uint8Array(blockPadding(dataSize));
  }

  /** Go's Close: two zero blocks (no padding to a record size). */
  end(): Uint8Array {
    return new Uint8Array(2 * BLOCK_SIZE);
  }
}

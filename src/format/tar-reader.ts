/**
 * Streaming tar reader that behaves exactly like Go 1.19's archive/tar Reader: the same headers
 * accepted and rejected, the same errors at the same points, the same bytes for every entry
 * (PAX and GNU extensions, old-GNU and PAX sparse files included).
 *
 * Differences in form, not in outcome:
 * - `next()` returns null where Go's Next returns io.EOF; errors are thrown as SnapshotError
 *   with Go's message (code 'TRUNCATED' for io.ErrUnexpectedEOF, 'TAR' for the archive/tar
 *   errors). Errors are sticky, as in Go: once thrown, every later call throws the same error.
 * - `read(max)` returns the bytes Go's Read would produce, but as chunks of at most `max`
 *   bytes (views of the source's chunks for regular data, no copy); null replaces io.EOF. When
 *   Go would return data together with an error, the data is returned first and the error is
 *   thrown by the following call (`read` or `next`).
 * - Where Go seeks on an io.Seeker, this reader reads (a stream cannot seek).
 * - Go applies the records of a 'g' (global) header in random map order and stops at the first
 *   invalid value, so its Name/Xattrs for such a header vary from run to run; here the order is
 *   the records' order. (Either way the header's PAXRecords are absent: null.)
 * - For a sparse entry whose data runs out before its map does, Go reports errMissData in the
 *   Read call that needs the missing bytes, which depends on the caller's buffer sizes; here it
 *   is the `read` call that needs them. A caller that reads each entry to its end (or skips it
 *   with `next`) sees exactly Go's bytes and errors.
 */
import { SnapshotError } from '../errors.js';
import type { ByteReader } from '../io/byte-reader.js';
import {
  BLOCK_SIZE,
  blockPadding,
  DecimalInt64Parser,
  decodeByteString,
  FORMAT_GNU,
  FORMAT_PAX,
  FORMAT_USTAR,
  GNU_SPARSE_EXT_ENTRIES,
  GNU_SPARSE_HEADER_ENTRIES,
  getFormat,
  isHeaderOnlyType,
  MAX_SPECIAL_FILE_SIZE,
  OFF_GNU_EXT_ISEXTENDED,
  OFF_GNU_ISEXTENDED,
  OFF_GNU_REALSIZE,
  OFF_GNU_SPARSE,
  PAX_ATIME,
  PAX_CTIME,
  PAX_GID,
  PAX_GNAME,
  PAX_GNU_SPARSE_MAJOR,
  PAX_GNU_SPARSE_MAP,
  PAX_GNU_SPARSE_MINOR,
  PAX_GNU_SPARSE_NAME,
  PAX_GNU_SPARSE_NUMBLOCKS,
  PAX_GNU_SPARSE_REALSIZE,
  PAX_GNU_SPARSE_SIZE,
  PAX_LINKPATH,
  PAX_MTIME,
  PAX_PATH,
  PAX_SCHILY_XATTR,
  PAX_SIZE,
  PAX_UID,
  PAX_UNAME,
  type ParsedHeaderBlock,
  parseGNUSparseArray,
  parseInt64,
  parseNumeric,
  parsePaxRecords,
  parsePaxTime,
  parseString,
  SparseHoles,
  scanHeaderBlock,
  type TarTime,
  TYPE_DIR,
  TYPE_GNU_LONGLINK,
  TYPE_GNU_LONGNAME,
  TYPE_GNU_SPARSE,
  TYPE_REG,
  TYPE_REGA,
  TYPE_XGLOBAL_HEADER,
  TYPE_XHEADER,
  ZERO_BLOCK,
} from './tar-header.js';

export type { TarTime } from './tar-header.js';

/** Go's error strings. */
export const ERR_HEADER = 'archive/tar: invalid tar header';
export const ERR_FIELD_TOO_LONG = 'archive/tar: header field too long';
export const ERR_MISS_DATA = 'archive/tar: sparse file references non-existent data';
export const ERR_UNREF_DATA = 'archive/tar: sparse file contains unreferenced data';
export const ERR_UNEXPECTED_EOF = 'unexpected EOF';

const errHeader = () => new SnapshotError('TAR', ERR_HEADER);
const errUnexpectedEOF = () => new SnapshotError('TRUNCATED', ERR_UNEXPECTED_EOF);

/** Exact Go strings (raw bytes as byte strings: one UTF-16 code unit per byte, 0–255). */
export interface TarRawStrings {
  name: string;
  linkname: string;
  uname: string;
  gname: string;
  paxRecords: ReadonlyMap<string, string> | null;
  xattrs: ReadonlyMap<string, string> | null;
}

/**
 * One entry, as Go's Reader.Next returns its *tar.Header. Strings are the header bytes decoded
 * as UTF-8 (invalid sequences become U+FFFD); the exact bytes are in `raw`.
 *
 * Numeric fields are `bigint` because Go's are int64 and PAX/base-256 values reach 2^63-1;
 * `size` is the logical size (for sparse files, the expanded size), which is what `read`
 * yields in total for a regular file.
 */
export interface TarEntryHeader {
  /** Typeflag byte (TYPE_* in tar-header.ts); '\0' is already promoted to '0' or '5' as Go does. */
  typeflag: number;
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
  /** Go's ModTime/AccessTime/ChangeTime; null is Go's zero time.Time (field not present). */
  mtime: TarTime | null;
  atime: TarTime | null;
  ctime: TarTime | null;
  /** Go's best-guess Format bits (FORMAT_* in tar-header.ts; see formatName). */
  format: number;
  /** PAX records of the preceding 'x' header (or of this 'g' header); null when none. */
  paxRecords: ReadonlyMap<string, string> | null;
  /** Go's Xattrs: the SCHILY.xattr.* PAX records with non-empty values, prefix removed. */
  xattrs: ReadonlyMap<string, string> | null;
  raw: TarRawStrings;
}

/** Go's *tar.Header while it is being built (strings are byte strings). */
type GoHeader = Omit<TarEntryHeader, 'paxRecords' | 'xattrs' | 'raw'> & {
  paxRecords: Map<string, string> | null;
  xattrs: Map<string, string> | null;
};

function fromBlock(p: ParsedHeaderBlock): GoHeader {
  return {
    typeflag: p.typeflag,
    name: p.name,
    linkname: p.linkname,
    uname: p.uname,
    gname: p.gname,
    size: p.size,
    mode: p.mode,
    uid: p.uid,
    gid: p.gid,
    devmajor: p.devmajor,
    devminor: p.devminor,
    mtime: { sec: p.mtime, nsec: 0 },
    atime: p.atime === null ? null : { sec: p.atime, nsec: 0 },
    ctime: p.ctime === null ? null : { sec: p.ctime, nsec: 0 },
    format: p.format,
    paxRecords: null,
    xattrs: null,
  };
}

function decodeMap(m: Map<string, string> | null): Map<string, string> | null {
  if (m === null) return null;
  const out = new Map<string, string>();
  for (const [k, v] of m) out.set(decodeByteString(k), decodeByteString(v));
  return out;
}

function toEntryHeader(h: GoHeader): TarEntryHeader {
  return {
    typeflag: h.typeflag,
    name: decodeByteString(h.name),
    linkname: decodeByteString(h.linkname),
    uname: decodeByteString(h.uname),
    gname: decodeByteString(h.gname),
    size: h.size,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    devmajor: h.devmajor,
    devminor: h.devminor,
    mtime: h.mtime,
    atime: h.atime,
    ctime: h.ctime,
    format: h.format,
    paxRecords: decodeMap(h.paxRecords),
    xattrs: decodeMap(h.xattrs),
    raw: {
      name: h.name,
      linkname: h.linkname,
      uname: h.uname,
      gname: h.gname,
      paxRecords: h.paxRecords,
      xattrs: h.xattrs,
    },
  };
}

/**
 * Go's mergePAX: applies the records to `hdr`. Returns false where Go returns ErrHeader; as Go
 * does, it then stops early and leaves `paxRecords` unset (Go's order is its random map order;
 * here it is the records' order).
 */
function mergePax(hdr: GoHeader, pax: Map<string, string> | null): boolean {
  if (pax !== null) {
    for (const [k, v] of pax) {
      if (v === '') continue; // keep the original USTAR value
      switch (k) {
        case PAX_PATH:
          hdr.name = v;
          break;
        case PAX_LINKPATH:
          hdr.linkname = v;
          break;
        case PAX_UNAME:
          hdr.uname = v;
          break;
        case PAX_GNAME:
          hdr.gname = v;
          break;
        case PAX_UID:
        case PAX_GID:
        case PAX_SIZE: {
          const n = parseInt64(v);
          if (n === null) return false;
          if (k === PAX_UID) hdr.uid = n;
          else if (k === PAX_GID) hdr.gid = n;
          else hdr.size = n;
          break;
        }
        case PAX_ATIME:
        case PAX_MTIME:
        case PAX_CTIME: {
          const t = parsePaxTime(v);
          if (t === null) return false;
          if (k === PAX_ATIME) hdr.atime = t;
          else if (k === PAX_MTIME) hdr.mtime = t;
          else hdr.ctime = t;
          break;
        }
        default:
          if (k.startsWith(PAX_SCHILY_XATTR)) {
            hdr.xattrs ??= new Map();
            hdr.xattrs.set(k.slice(PAX_SCHILY_XATTR.length), v);
          }
      }
    }
  }
  hdr.paxRecords = pax;
  return true;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
/** Largest zero-filled chunk returned for a sparse hole (holes can be many GiB). */
const MAX_HOLE_CHUNK = 256 * 1024;
/** Short sparse fragments are gathered into chunks of up to this many bytes. */
const SPARSE_GATHER = 64 * 1024;
const END = Symbol('end');

/** Position in an expanded sparse file: the hole list and where reading is. */
interface SparseState {
  holes: SparseHoles;
  /** Where the last hole ends: the expanded size. */
  end: bigint;
  idx: number;
  pos: bigint;
}

/**
 * Reads a tar archive from a {@link ByteReader}, one entry at a time.
 *
 * Contract: call `next()` to advance to each entry (the unread rest of the previous entry and
 * its padding are skipped), then optionally `read()` its data until it returns null. Calls must
 * not overlap (await each one). The reader consumes exactly the bytes Go's Reader would (for
 * a well-formed archive: up to and including the two zero blocks, nothing after them), so the
 * caller can inspect what follows in the ByteReader.
 */
export class TarReader {
  private readonly src: ByteReader;
  /** Sticky state: END after Go's io.EOF, or the error thrown. */
  private err: SnapshotError | Error | typeof END | null = null;
  /** Padding after the current entry's data. */
  private pad = 0;
  /** Physical bytes left in the current entry (exact while `remBig` is null). */
  private rem = 0;
  /** Physical bytes left when beyond 2^53 (then `rem` is unused). */
  private remBig: bigint | null = null;
  private sparse: SparseState | null = null;
  /**
   * The current entry has data whose end `read` has not reported yet: Go's Read of its last
   * bytes may have brought an error with them (see ByteReader.errorWithLastChunk).
   */
  private endUnchecked = false;
  private readonly blk = new Uint8Array(BLOCK_SIZE);

  constructor(src: ByteReader) {
    this.src = src;
  }

  /**
   * Advances to the next entry and returns its header, or null at the end of the archive
   * (Go's io.EOF: two zero blocks; one zero block or no block at all before a clean end of
   * input; or an end of input inside the previous entry's padding).
   * @throws SnapshotError 'TAR' (invalid header, field too long, sparse errors) or 'TRUNCATED'
   *   (input ended inside a header or an entry); also whatever the ByteReader throws.
   */
  async next(): Promise<TarEntryHeader | null> {
    if (this.err !== null) {
      if (this.err === END) return null;
      throw this.err;
    }
    try {
      const h = await this.nextHeader();
      if (h === null) {
        this.err = END;
        return null;
      }
      return toEntryHeader(h);
    } catch (e) {
      this.err = e as Error;
      throw e;
    }
  }

  /**
   * Returns the next bytes (1..max) of the current entry's data, or null at its end. Regular
   * data is returned as views of the ByteReader's chunks (valid as long as the source does not
   * reuse them); sparse holes are fresh zero-filled arrays of at most 256 KiB. Header-only
   * types (links, directories, devices, FIFOs) and 'g' entries have no data.
   * @throws SnapshotError 'TRUNCATED' if the input ends inside the data; 'TAR' for sparse
   *   entries whose map and data disagree; the sticky error of an earlier failure;
   *   'INVALID_ARGUMENT' if max < 1; whatever the ByteReader throws (then sticky too).
   */
  async read(max: number): Promise<Uint8Array | null> {
    if (!(max >= 1)) throw new SnapshotError('INVALID_ARGUMENT', 'read: max must be >= 1');
    max = max >= MAX_SAFE ? MAX_SAFE : Math.floor(max);
    if (this.err !== null) {
      if (this.err === END) return null;
      throw this.err;
    }
    try {
      if (this.sparse !== null) return await this.readSparse(max);
      const chunk = await this.readPhysical(max);
      // Go's regFileReader returns whatever error came with the entry's last bytes.
      if (chunk === null) await this.checkDataEnd();
      return chunk;
    } catch (e) {
      this.err = e as Error;
      throw e;
    }
  }

  /**
   * Once the current entry's physical data has all been read (and only the first time): throws
   * the error that came with its last bytes, if any (see ByteReader.errorWithLastChunk).
   */
  private async checkDataEnd(): Promise<void> {
    if (!this.endUnchecked || this.remBig !== null || this.rem !== 0) return;
    this.endUnchecked = false;
    await this.throwErrorWithLastChunk();
  }

  /** Throws the error that came with the bytes just read, if the source says one did. */
  private async throwErrorWithLastChunk(): Promise<void> {
    const err = await this.src.errorWithLastChunk();
    if (err !== undefined) throw err;
  }

  /** Go's regFileReader.Read: up to `max` bytes of the physical data, null when exhausted. */
  private async readPhysical(max: number): Promise<Uint8Array | null> {
    let n: number;
    if (this.remBig === null) {
      if (this.rem === 0) return null;
      n = Math.min(max, this.rem);
    } else {
      n = max;
    }
    const chunk = await this.src.read(n);
    if (chunk === null) throw errUnexpectedEOF();
    if (this.remBig === null) {
      this.rem -= chunk.length;
    } else {
      this.remBig -= BigInt(chunk.length);
      if (this.remBig <= BigInt(MAX_SAFE)) {
        this.rem = Number(this.remBig);
        this.remBig = null;
      }
    }
    return chunk;
  }

  /**
   * Go's sparseFileReader.Read, which fills the caller's buffer across fragments: a first
   * fragment of {@link SPARSE_GATHER} bytes or more is returned alone; smaller ones (a map of
   * many short fragments) are gathered into one chunk of up to that size, so that the work per
   * chunk downstream does not follow the number of fragments. An error met after some bytes were
   * gathered is kept for the next read, as Go returns the bytes and the error together.
   */
  private async readSparse(max: number): Promise<Uint8Array | null> {
    const first = await this.readSparseFragment(max);
    const cap = Math.min(max, SPARSE_GATHER);
    if (first === null || first.length >= cap) return first;
    const out = new Uint8Array(cap);
    out.set(first);
    let n = first.length;
    while (n < cap && this.err === null) {
      n = this.gatherSparseNow(out, n, cap);
      if (n >= cap || this.err !== null) break;
      let c: Uint8Array | null;
      try {
        c = await this.readSparseFragment(cap - n);
      } catch (e) {
        this.err = e as Error;
        break;
      }
      if (c === null) break;
      out.set(c, n);
      n += c.length;
    }
    return out.subarray(0, n);
  }

  /** One data or hole fragment (or the part of it that `max` allows). */
  private async readSparseFragment(max: number): Promise<Uint8Array | null> {
    const sp = this.sparse!;
    // When the last data fragment ended the physical data, Go's tryReadFull returns the error
    // that came with those bytes, and the read stops there (no hole after them is returned).
    await this.checkDataEnd();
    const h = sp.holes;
    const lastEnd = sp.end;
    const logicalRemaining = lastEnd - sp.pos;
    if (logicalRemaining === 0n) {
      if (this.remBig !== null || this.rem > 0) throw new SnapshotError('TAR', ERR_UNREF_DATA);
      return null;
    }
    let want = BigInt(max) < logicalRemaining ? max : Number(logicalRemaining);
    const holeOffset = h.offset(sp.idx);
    const holeEnd = holeOffset + h.length(sp.idx);
    let chunk: Uint8Array;
    if (sp.pos < holeOffset) {
      // Data fragment.
      const left = holeOffset - sp.pos;
      if (left < BigInt(want)) want = Number(left);
      const c = await this.readPhysical(want);
      if (c === null) throw new SnapshotError('TAR', ERR_MISS_DATA);
      chunk = c;
    } else {
      const left = holeEnd - sp.pos;
      if (left < BigInt(want)) want = Number(left);
      chunk = new Uint8Array(Math.min(want, MAX_HOLE_CHUNK));
    }
    sp.pos += BigInt(chunk.length);
    if (sp.pos >= holeEnd && sp.idx < h.count - 1) sp.idx++;
    // Go reports unreferenced data with the last logical bytes; surface it on the next call.
    if (sp.pos === lastEnd && (this.remBig !== null || this.rem > 0)) {
      this.err = new SnapshotError('TAR', ERR_UNREF_DATA);
    }
    return chunk;
  }

  /**
   * {@link readSparseFragment} repeated for as long as it needs no waiting, into `out` (zeros
   * where it writes nothing) from `at` up to `cap`: holes are left as the zeros already there,
   * data comes from the bytes the ByteReader holds. Returns where it stopped: at `cap`, after
   * setting the error of unreferenced data, or before a fragment that needs what only
   * readSparseFragment does (more input, the check at the data's end, an error, the end of the
   * entry, sizes beyond 2^53). One synchronous loop, so that a map of millions of short
   * fragments costs a few operations per fragment, not several awaited calls and an allocation.
   */
  private gatherSparseNow(out: Uint8Array, at: number, cap: number): number {
    const sp = this.sparse!;
    if (sp.end > BigInt(MAX_SAFE) || this.remBig !== null) return at;
    const h = sp.holes;
    const end = Number(sp.end);
    const unchecked = this.endUnchecked;
    let pos = Number(sp.pos);
    let idx = sp.idx;
    let holeOff = Number(h.offset(idx));
    let holeEnd = holeOff + Number(h.length(idx));
    let rem = this.rem;
    let n = at;
    while (n < cap && pos < end && !(unchecked && rem === 0)) {
      let k = Math.min(cap - n, end - pos);
      if (pos < holeOff) {
        k = this.src.copyBuffered(out, n, Math.min(k, holeOff - pos, rem));
        rem -= k;
      } else {
        k = Math.min(k, holeEnd - pos);
      }
      if (k === 0) break;
      n += k;
      pos += k;
      if (pos >= holeEnd && idx < h.count - 1) {
        idx++;
        holeOff = Number(h.offset(idx));
        holeEnd = holeOff + Number(h.length(idx));
      }
      if (pos === end && rem > 0) {
        this.err = new SnapshotError('TAR', ERR_UNREF_DATA);
        break;
      }
    }
    sp.pos = BigInt(pos);
    sp.idx = idx;
    this.rem = rem;
    return n;
  }

  /** Go's handleRegularFile: sets up the data section and padding for `hdr`. */
  private handleRegularFile(hdr: GoHeader): void {
    const nb = isHeaderOnlyType(hdr.typeflag) ? 0n : hdr.size;
    if (nb < 0n) throw errHeader();
    this.pad = blockPadding(nb);
    this.endUnchecked = nb > 0n;
    if (nb <= BigInt(MAX_SAFE)) {
      this.rem = Number(nb);
      this.remBig = null;
    } else {
      this.rem = 0;
      this.remBig = nb;
    }
    this.sparse = null;
  }

  /** Go's Reader.next. */
  private async nextHeader(): Promise<GoHeader | null> {
    let paxHdrs: Map<string, string> | null = null;
    let gnuLongName = '';
    let gnuLongLink = '';
    let format = FORMAT_USTAR | FORMAT_PAX | FORMAT_GNU;
    for (;;) {
      // Discard the rest of the current entry, then its padding.
      const phys = this.remBig === null ? this.rem : Number(this.remBig);
      if (phys > 0) {
        this.rem = 0;
        this.remBig = null;
        if ((await this.src.discard(phys)) < phys) throw errUnexpectedEOF();
      }
      if (this.pad > 0) {
        const pad = this.pad;
        if ((await this.src.discard(pad)) < pad) return null; // Go's tryReadFull: io.EOF
      }
      this.pad = 0;

      const parsed = await this.readHeader();
      if (parsed === null) return null;
      const hdr = fromBlock(parsed);
      this.handleRegularFile(hdr);
      format &= hdr.format;

      switch (hdr.typeflag) {
        case TYPE_XHEADER:
        case TYPE_XGLOBAL_HEADER: {
          format &= FORMAT_PAX;
          paxHdrs = parsePaxRecords(await this.readSpecialFile());
          if (paxHdrs === null) throw errHeader();
          if (hdr.typeflag === TYPE_XGLOBAL_HEADER) {
            mergePax(hdr, paxHdrs); // Go ignores the error here
            return {
              typeflag: hdr.typeflag,
              name: hdr.name,
              linkname: '',
              uname: '',
              gname: '',
              size: 0n,
              mode: 0n,
              uid: 0n,
              gid: 0n,
              devmajor: 0n,
              devminor: 0n,
              mtime: null,
              atime: null,
              ctime: null,
              format,
              paxRecords: hdr.paxRecords,
              xattrs: hdr.xattrs,
            };
          }
          continue;
        }
        case TYPE_GNU_LONGNAME:
        case TYPE_GNU_LONGLINK: {
          format &= FORMAT_GNU;
          const data = await this.readSpecialFile();
          const s = parseString(data, 0, data.length);
          if (hdr.typeflag === TYPE_GNU_LONGNAME) gnuLongName = s;
          else gnuLongLink = s;
          continue;
        }
        default: {
          if (!mergePax(hdr, paxHdrs)) throw errHeader();
          if (gnuLongName !== '') hdr.name = gnuLongName;
          if (gnuLongLink !== '') hdr.linkname = gnuLongLink;
          if (hdr.typeflag === TYPE_REGA) {
            hdr.typeflag = hdr.name.endsWith('/') ? TYPE_DIR : TYPE_REG;
          }
          this.handleRegularFile(hdr);
          await this.handleSparseFile(hdr);
          if (format & FORMAT_USTAR && format & FORMAT_PAX) format &= FORMAT_USTAR;
          hdr.format = format;
          return hdr;
        }
      }
    }
  }

  /**
   * Go's readHeader: null for io.EOF (clean end before a header, after one zero block, or two
   * zero blocks); throws ErrHeader / ErrUnexpectedEOF. The block is left in `this.blk`. The
   * block work (zero test, checksum, numeric fields) is scanHeaderBlock's: the installed tar
   * kernel's (WebAssembly) when there is one, else the pure codec's, with the same results.
   */
  private async readHeader(): Promise<ParsedHeaderBlock | null> {
    if (!(await this.readBlock())) return null;
    const parsed = scanHeaderBlock(this.blk);
    if (parsed === ZERO_BLOCK) {
      if (!(await this.readBlock())) return null;
      if (scanHeaderBlock(this.blk) === ZERO_BLOCK) return null;
      throw errHeader();
    }
    if (parsed === null) throw errHeader();
    return parsed;
  }

  /** io.ReadFull of one block into `this.blk`: false on a clean end, throws if partial. */
  private async readBlock(): Promise<boolean> {
    const b = await this.src.readFull(BLOCK_SIZE);
    if (b.length === 0) return false;
    if (b.length < BLOCK_SIZE) throw errUnexpectedEOF();
    this.blk.set(b);
    return true;
  }

  /**
   * Go's readSpecialFile: the current entry's data (PAX records, GNU long name), at most
   * MAX_SPECIAL_FILE_SIZE bytes, else ErrFieldTooLong.
   */
  private async readSpecialFile(): Promise<Uint8Array> {
    const limit = MAX_SPECIAL_FILE_SIZE + 1;
    const want = this.remBig !== null ? limit : Math.min(this.rem, limit);
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      const chunk = await this.readPhysical(want - got);
      if (chunk === null) break;
      buf.set(chunk, got);
      got += chunk.length;
    }
    if (got > MAX_SPECIAL_FILE_SIZE) throw new SnapshotError('TAR', ERR_FIELD_TOO_LONG);
    // Go's io.ReadAll returns an error that came with the last bytes, before they are parsed.
    await this.checkDataEnd();
    return buf;
  }

  /**
   * Go's handleSparseFile. The map is checked and inverted as it is read (see
   * {@link SparseHoles}), but judged only once all of it was read, where Go validates it:
   * an error in reading the rest of the map still comes first.
   */
  private async handleSparseFile(hdr: GoHeader): Promise<void> {
    const map =
      hdr.typeflag === TYPE_GNU_SPARSE
        ? await this.readOldGNUSparseMap(hdr)
        : await this.readGNUSparsePaxHeaders(hdr);
    if (map === null) return;
    const holes = map.finish();
    if (isHeaderOnlyType(hdr.typeflag) || holes === null) throw errHeader();
    const last = holes.count - 1;
    this.sparse = { holes, end: holes.offset(last) + holes.length(last), idx: 0, pos: 0n };
  }

  /** Go's readOldGNUSparseMap: the map in the header block and its extension blocks. */
  private async readOldGNUSparseMap(hdr: GoHeader): Promise<SparseHoles> {
    const blk = this.blk;
    if (getFormat(blk) !== FORMAT_GNU) throw errHeader();
    const realSize = parseNumeric(blk, OFF_GNU_REALSIZE, 12);
    if (realSize === null) throw errHeader();
    hdr.size = realSize;
    const spd = new SparseHoles(realSize);
    if (!parseGNUSparseArray(blk, OFF_GNU_SPARSE, GNU_SPARSE_HEADER_ENTRIES, spd)) {
      throw errHeader();
    }
    let extended = blk[OFF_GNU_ISEXTENDED] > 0;
    while (extended) {
      // Extension blocks are not part of the entry's size: read them from the stream.
      const b = await this.src.readFull(BLOCK_SIZE);
      if (b.length < BLOCK_SIZE) throw errUnexpectedEOF();
      blk.set(b);
      // Go's mustReadFull keeps an error that came with the block's last bytes: it fails Next.
      await this.throwErrorWithLastChunk();
      if (!parseGNUSparseArray(blk, 0, GNU_SPARSE_EXT_ENTRIES, spd)) throw errHeader();
      extended = blk[OFF_GNU_EXT_ISEXTENDED] > 0;
    }
    return spd;
  }

  /** Go's readGNUSparsePAXHeaders: GNU sparse formats 0.0, 0.1 and 1.0 in PAX records. */
  private async readGNUSparsePaxHeaders(hdr: GoHeader): Promise<SparseHoles | null> {
    const recs = hdr.paxRecords;
    const get = (k: string) => recs?.get(k) ?? '';
    const major = get(PAX_GNU_SPARSE_MAJOR);
    const minor = get(PAX_GNU_SPARSE_MINOR);
    let is1x0: boolean;
    if (major === '0' && (minor === '0' || minor === '1')) is1x0 = false;
    else if (major === '1' && minor === '0') is1x0 = true;
    else if (major !== '' || minor !== '')
      return null; // unknown version
    else if (get(PAX_GNU_SPARSE_MAP) !== '') is1x0 = false;
    else return null;

    const name = get(PAX_GNU_SPARSE_NAME);
    if (name !== '') hdr.name = name;
    const size = get(PAX_GNU_SPARSE_SIZE) || get(PAX_GNU_SPARSE_REALSIZE);
    if (size !== '') {
      const n = parseInt64(size);
      if (n === null) throw errHeader();
      hdr.size = n;
    }
    return is1x0
      ? this.readGNUSparseMap1x0(new SparseHoles(hdr.size))
      : readGNUSparseMap0x1(get, new SparseHoles(hdr.size));
  }

  /**
   * Go's readGNUSparseMap1x0: newline-terminated decimals at the start of the data section,
   * read a block at a time (counted in the entry's physical size).
   */
  private async readGNUSparseMap1x0(spd: SparseHoles): Promise<SparseHoles> {
    const tok = new DecimalInt64Parser();
    let tokens = 0; // completed tokens
    let needed = 1; // tokens required: 1, then 1 + 2*numEntries
    let bad = false; // an entry token failed to parse (reported after reading, as Go does)
    let offset: bigint | null = null;
    while (tokens < needed) {
      // mustReadFull of one block from the entry's data.
      if (this.remBig === null && this.rem < BLOCK_SIZE) throw errUnexpectedEOF();
      // A copy: checking for an error below pulls the source's next chunk.
      const b = (await this.src.readFull(BLOCK_SIZE)).slice();
      if (b.length < BLOCK_SIZE) throw errUnexpectedEOF();
      // Go's mustReadFull keeps an error that came with the block's last bytes: it fails Next.
      await this.throwErrorWithLastChunk();
      if (this.remBig === null) this.rem -= BLOCK_SIZE;
      else this.remBig -= BigInt(BLOCK_SIZE);
      for (let i = 0; i < BLOCK_SIZE && tokens < needed; i++) {
        const c = b[i];
        if (c !== 0x0a) {
          tok.push(c);
          continue;
        }
        const v = tok.finish();
        tok.reset();
        const k = tokens++;
        if (k === 0) {
          // numEntries: checked as soon as the block holding the first newline is read.
          if (v === null || v < 0n || v >= 1n << 62n) throw errHeader();
          needed = 1 + 2 * Number(v);
        } else if (k % 2 === 1) {
          offset = v;
        } else if (offset === null || v === null) {
          bad = true;
        } else {
          spd.add(offset, v);
        }
      }
    }
    if (this.remBig !== null && this.remBig <= BigInt(MAX_SAFE)) {
      this.rem = Number(this.remBig);
      this.remBig = null;
    }
    // Each block's error was checked as it was read: a map that ends the physical data leaves
    // nothing for the entry's reads to check.
    if (this.remBig === null && this.rem === 0) this.endUnchecked = false;
    if (bad) throw errHeader();
    return spd;
  }
}

/** Go's readGNUSparseMap0x1: the map in GNU.sparse.numblocks and GNU.sparse.map. */
function readGNUSparseMap0x1(get: (k: string) => string, spd: SparseHoles): SparseHoles {
  const n = parseInt64(get(PAX_GNU_SPARSE_NUMBLOCKS));
  if (n === null || n < 0n || n >= 1n << 62n) throw errHeader();
  let parts = get(PAX_GNU_SPARSE_MAP).split(',');
  if (parts.length === 1 && parts[0] === '') parts = [];
  if (BigInt(parts.length) !== 2n * n) throw errHeader();
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const offset = parseInt64(parts[i]);
    const length = parseInt64(parts[i + 1]);
    if (offset === null || length === null) throw errHeader();
    spd.add(offset, length);
  }
  return spd;
}

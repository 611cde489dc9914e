/**
 * Gzip (RFC 1952) decoding with the acceptance rules of Go's compress/gzip Reader, which is what
 * the reference uses: every member is read (multi-member streams are one stream), each member's
 * CRC-32 and length are checked, a clean end is allowed only between members, and anything after
 * the last member must itself be a whole gzip member. The DEFLATE data inside each member is
 * decoded by a pluggable {@link InflateEngine}. Writers frame their members with
 * {@link gzipHeader} and {@link gzipTrailer}.
 */
import type { Crc32 } from '../engines/crc32.js';
import type { InflateEngine, RawInflater } from '../engines/inflate.js';
import { SnapshotError, wrapError } from '../errors.js';
import { type ByteReader, markWithLastChunk } from '../io/byte-reader.js';
import { CrcLedger } from './crc-ledger.js';

const FLAG_HCRC = 1 << 1;
const FLAG_EXTRA = 1 << 2;
const FLAG_NAME = 1 << 3;
const FLAG_COMMENT = 1 << 4;
/** Go reads FNAME/FCOMMENT into a 512-byte buffer: a longer string (with its NUL) is invalid. */
const MAX_STRING = 512;
/** Go's flate window: its reader hands its output over each time the window fills. */
const GO_WINDOW = 32 * 1024;
/** Compressed bytes handed to the inflater per step; bounds the output of one step. */
const INFLATE_SLICE = 64 * 1024;

/**
 * The 10-byte member header raftsnap writes, as Go's gzip.Writer does for the reference: no
 * flags, no modification time, OS unknown. A fresh array each call.
 */
export function gzipHeader(): Uint8Array {
  return new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
}

/** The 8-byte member trailer: CRC-32 and length (modulo 2^32) of the member's data. */
export function gzipTrailer(crc: number, size: number): Uint8Array {
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  view.setUint32(4, size >>> 0, true);
  return trailer;
}

const invalidHeader = () => new SnapshotError('GZIP', 'gzip: invalid header');
const unexpectedEOF = () => new SnapshotError('TRUNCATED', 'unexpected EOF');

export interface GunzipOptions {
  inflate: InflateEngine;
  crc32: Crc32;
  /**
   * The consumer is done with each yielded array when it asks for the next one, so an engine
   * that lends its output may yield views of its own memory (see InflateEngine.lender).
   * Default false: every yielded array is the consumer's.
   */
  reuseOutput?: boolean;
  /**
   * Keeps each member's CRC-32; the consumer may claim bytes in it whose CRC someone else
   * computes (see CrcLedger). Default: a ledger of its own, so every byte is CRC'd here.
   */
  ledger?: CrcLedger;
}

/**
 * Reads the first gzip member header from `src` (as Go's gzip.NewReader does; errors then read
 * "failed to decompress snapshot: …") and returns a generator of the decompressed bytes of every
 * member in order.
 *
 * The generator completes only when the whole input has been consumed and found valid; it
 * throws SnapshotError otherwise: code 'GZIP' for an invalid header ("gzip: invalid header"),
 * corrupt DEFLATE data (after yielding what was decoded before it, with engines that decode
 * on the calling thread) or a trailer mismatch ("gzip: invalid checksum"), 'TRUNCATED' when the
 * input ends inside a member ("unexpected EOF") or is empty ("EOF", as Go's gzip.NewReader, with a word that the input is empty).
 * An error that Go's Read would return together with the last bytes yielded is marked as such
 * ({@link markWithLastChunk}), with engines that report their sync points. Yielded arrays are
 * owned by the consumer, unless `reuseOutput` is set.
 */
export async function openGunzip(
  src: ByteReader,
  opts: GunzipOptions,
): Promise<AsyncGenerator<Uint8Array>> {
  try {
    if (!(await readHeader(src, opts.crc32)))
      throw new SnapshotError('TRUNCATED', 'EOF (the input is empty)');
  } catch (err) {
    throw wrapError(err, 'failed to decompress snapshot');
  }
  return members(src, opts);
}

/**
 * Reads one member header with Go's rules; false at a clean end of input (no byte left).
 * Throws SnapshotError as described for {@link openGunzip}.
 */
async function readHeader(src: ByteReader, crc32: Crc32): Promise<boolean> {
  const head = await src.readFull(10);
  if (head.length === 0) return false;
  if (head.length < 10) throw unexpectedEOF();
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8) throw invalidHeader();
  const flags = head[3];
  let hcrc = crc32(0, head);
  if (flags & FLAG_EXTRA) {
    const xlen = await src.readFull(2);
    if (xlen.length < 2) throw unexpectedEOF();
    hcrc = crc32(hcrc, xlen);
    const n = xlen[0] | (xlen[1] << 8);
    const extra = await src.readFull(n);
    if (extra.length < n) throw unexpectedEOF();
    hcrc = crc32(hcrc, extra);
  }
  if (flags & FLAG_NAME) hcrc = await skipString(src, hcrc, crc32);
  if (flags & FLAG_COMMENT) hcrc = await skipString(src, hcrc, crc32);
  if (flags & FLAG_HCRC) {
    const sum = await src.readFull(2);
    if (sum.length < 2) throw unexpectedEOF();
    if ((sum[0] | (sum[1] << 8)) !== (hcrc & 0xffff)) throw invalidHeader();
  }
  return true;
}

async function* members(src: ByteReader, opts: GunzipOptions): AsyncGenerator<Uint8Array> {
  const { crc32 } = opts;
  const ledger = opts.ledger ?? new CrcLedger(crc32);
  // When the consumer is done with each array as it asks for the next, an engine that lends
  // its output hands out views of the memory it decoded into: no copy. Where it cannot set a
  // lender up (no memory for another instance), its own inflaters copy instead.
  const lender =
    opts.reuseOutput && opts.inflate.lender
      ? await opts.inflate.lender().catch(() => undefined)
      : undefined;
  try {
    // The previous member's length, as a guess at this one's: writers that cut the stream into
    // members (raftsnap's own libdeflate create, pigz -i) cut it into equal blocks.
    let previous: number | undefined;
    for (;;) {
      const inflater: RawInflater = lender ? lender.create() : opts.inflate.create();
      ledger.beginMember(previous);
      let total = 0;
      try {
        try {
          for await (const out of memberOutput(src, inflater)) {
            if (out.length === 0) continue;
            total += out.length;
            ledger.offer(out);
            yield out;
            ledger.release();
          }
        } finally {
          try {
            inflater.close();
          } catch {
            // The stream is incomplete only on the error paths of memberOutput, which already threw.
          }
        }

        const trailer = await src.readFull(8);
        if (trailer.length < 8) throw unexpectedEOF();
        const crc = await ledger.endMember();
        const wantCrc =
          (trailer[0] | (trailer[1] << 8) | (trailer[2] << 16) | (trailer[3] << 24)) >>> 0;
        const wantSize =
          (trailer[4] | (trailer[5] << 8) | (trailer[6] << 16) | (trailer[7] << 24)) >>> 0;
        // The trailer holds the length modulo 2^32, as `>>> 0` takes it.
        if (wantCrc !== crc >>> 0 || wantSize !== total >>> 0) {
          throw new SnapshotError('GZIP', 'gzip: invalid checksum');
        }
        previous = total;
        if (!(await readHeader(src, crc32))) return;
      } catch (err) {
        // Go's Read returns such an error together with the output its flate reader still held;
        // a tar entry whose data ends there then fails with it. Engines that cannot say where
        // the stream was sync-flushed leave it to surface at the next read.
        if (inflater.syncOutput && heldByGo(total, inflater.syncOutput())) markWithLastChunk(err);
        throw err;
      }
    }
  } finally {
    lender?.release();
  }
}

/**
 * Whether Go's flate reader still holds some of the `total` bytes a member decoded when it
 * meets an error or the member's end: it hands its output over whenever its 32 KiB window fills
 * and at each non-final empty stored block (the last after `sync` bytes), and returns what it
 * holds together with the error (or with io.EOF, and compress/gzip then with a trailer or next
 * header error).
 */
function heldByGo(total: number, sync: number): boolean {
  return total > Math.max(sync, total - (total % GO_WINDOW));
}

/**
 * The decoded bytes of one member's DEFLATE data, in order (possibly with empty arrays); when it
 * completes, the bytes read past the member's end are back in `src`. Throws SnapshotError
 * 'TRUNCATED' when `src` ends first, and the engine's error for corrupt data. The caller closes
 * `inflater`.
 */
function memberOutput(src: ByteReader, inflater: RawInflater): AsyncGenerator<Uint8Array> {
  return inflater.decode ? pulledOutput(src, inflater) : pushedOutput(src, inflater);
}

/**
 * Pull-style, for engines that decode on the calling thread: each output is decoded when the
 * consumer asks for it, and the output decoded before corrupt data reaches the consumer before
 * the error (as from Go's reader, so that a tar error in it is reported first, as the reference
 * does).
 */
async function* pulledOutput(src: ByteReader, inflater: RawInflater): AsyncGenerator<Uint8Array> {
  for (;;) {
    const slice = await src.read(INFLATE_SLICE);
    if (slice === null) throw unexpectedEOF();
    const it = inflater.decode!(slice);
    let r = it.next();
    for (; !r.done; r = it.next()) yield r.value;
    if (r.value.done) {
      src.unread(r.value.unused);
      return;
    }
  }
}

/**
 * Push-style: the next slice is handed to the engine before this one's output is yielded, so
 * that an engine working off the main thread decodes while the consumer hashes.
 */
async function* pushedOutput(src: ByteReader, inflater: RawInflater): AsyncGenerator<Uint8Array> {
  let slice = await src.read(INFLATE_SLICE);
  if (slice === null) throw unexpectedEOF();
  let pending = inflater.write(slice);
  try {
    for (;;) {
      const step = await pending;
      let ended = false;
      if (!step.done) {
        slice = await src.read(INFLATE_SLICE);
        if (slice === null) ended = true;
        else pending = inflater.write(slice);
      }
      yield* step.output;
      if (step.done) {
        src.unread(step.unused);
        return;
      }
      if (ended) throw unexpectedEOF();
    }
  } finally {
    // A write still in flight when the consumer stops early must not surface as unhandled.
    Promise.resolve(pending).catch(() => {});
  }
}

/** Skips a NUL-terminated header string (FNAME or FCOMMENT) as Go reads it. */
async function skipString(src: ByteReader, hcrc: number, crc32: Crc32): Promise<number> {
  let len = 0;
  for (;;) {
    const part = await src.read(MAX_STRING - len);
    if (part === null) throw unexpectedEOF();
    const nul = part.indexOf(0);
    if (nul >= 0) {
      src.unread(part.length - nul - 1);
      return crc32(hcrc, part.subarray(0, nul + 1));
    }
    hcrc = crc32(hcrc, part);
    len += part.length;
    if (len >= MAX_STRING) throw invalidHeader();
  }
}

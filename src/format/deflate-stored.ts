/**
 * DEFLATE stored blocks (RFC 1951 §3.2.4): data kept as it is, in blocks of at most 65535 bytes,
 * each framed by one header byte (BFINAL, BTYPE=00, padding), LEN and its one's complement NLEN.
 *
 * The encoding starts and ends on a byte boundary, so it can sit between DEFLATE blocks that end
 * with a sync flush (as parallel gzip writes them): every inflater, Go's compress/flate included,
 * reads the joined stream as one.
 */

/** Largest payload of one stored block. */
export const STORED_BLOCK_MAX = 0xffff;

/** Framing bytes per stored block (header byte, LEN, NLEN). */
const FRAME = 5;

/** Size of the stored encoding of `length` bytes (an empty input still takes one block). */
export function storedSize(length: number): number {
  return length + FRAME * Math.max(1, Math.ceil(length / STORED_BLOCK_MAX));
}

/**
 * Encodes `data` as stored blocks; the last one carries BFINAL when `final` is set (it must be
 * set only on the last block of the whole DEFLATE stream). Writes into `out` when given (it must
 * hold {@link storedSize}(data.length) bytes; throws RangeError otherwise), else into a new
 * array; returns the {@link storedSize}(data.length) bytes written. `data` is not kept.
 */
export function encodeStored(data: Uint8Array, final: boolean, out?: Uint8Array): Uint8Array {
  const size = storedSize(data.length);
  if (out && out.length < size) throw new RangeError(`stored encoding needs ${size} bytes`);
  out = out ? out.subarray(0, size) : new Uint8Array(size);
  let at = 0;
  let off = 0;
  do {
    const n = Math.min(STORED_BLOCK_MAX, data.length - off);
    const last = off + n === data.length;
    out[at] = final && last ? 1 : 0;
    out[at + 1] = n & 0xff;
    out[at + 2] = n >>> 8;
    out[at + 3] = ~n & 0xff;
    out[at + 4] = (~n >>> 8) & 0xff;
    out.set(data.subarray(off, off + n), at + FRAME);
    at += FRAME + n;
    off += n;
  } while (off < data.length);
  return out;
}

/**
 * CRC-32 (ISO-HDLC, the gzip polynomial 0xEDB88320), used for gzip member trailers and the
 * optional gzip header CRC. This is the portable table-driven version (slicing by 8); runtimes
 * with a native or WebAssembly CRC register a faster one through the engine registry.
 */
export type Crc32 = (crc: number, data: Uint8Array) => number;

let tables: Uint32Array[] | undefined;

function makeTables(): Uint32Array[] {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let i = 0; i < 8; i++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0][n];
    for (let k = 1; k < 8; k++) {
      c = t[0][c & 0xff] ^ (c >>> 8);
      t[k][n] = c >>> 0;
    }
  }
  return t;
}

/** Returns the CRC-32 of `data` continued from `crc` (0 to start). */
export const crc32: Crc32 = (crc, data) => {
  tables ??= makeTables();
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables;
  let c = ~crc;
  let i = 0;
  const n8 = data.length - (data.length & 7);
  for (; i < n8; i += 8) {
    const a =
      (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]];
  }
  for (; i < data.length; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
};

/** The gzip polynomial, bit-reversed: bit 31 is x^0 and bit 0 is x^31. */
const POLY = 0xedb88320;
const POLY_I32 = POLY | 0;

/** Product of two polynomials modulo the CRC polynomial (both bit-reversed, as CRCs are). */
function mulModP(a: number, b: number): number {
  // Every value stays a 32-bit integer (a's bits are taken from the sign), so the loop runs on
  // small integers rather than on heap numbers.
  let x = a | 0;
  let y = b | 0;
  let product = 0;
  for (let i = 0; i < 32; i++) {
    if (x < 0) product ^= y;
    x <<= 1;
    y = (y >>> 1) ^ (-(y & 1) & POLY_I32);
  }
  return product >>> 0;
}

/** x^(2^k) modulo the CRC polynomial for k = 0..63: enough for any length below 2^60 bytes. */
let squares: Uint32Array | undefined;

function makeSquares(): Uint32Array {
  const t = new Uint32Array(64);
  t[0] = 0x40000000; // x^1
  for (let k = 1; k < 64; k++) t[k] = mulModP(t[k - 1], t[k - 1]);
  return t;
}

/**
 * Returns the CRC-32 of A followed by B, given `crcA`, `crcB` and B's length in bytes (any
 * integer up to 2^53), without the bytes: crcA times x^(8·lenB) modulo the polynomial, plus crcB.
 */
export function crc32Combine(crcA: number, crcB: number, lenB: number): number {
  squares ??= makeSquares();
  // x^(8·lenB) = product of x^(2^k) over the set bits k of 8·lenB, i.e. the bits of lenB from k = 3.
  let factor = 0x80000000; // x^0
  let k = 3;
  for (let n = lenB; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) factor = mulModP(squares[k], factor);
  }
  return (mulModP(factor, crcA) ^ crcB) >>> 0;
}

/**
 * A CRC-32 that someone else can keep over bytes it is fed anyway (a hashing thread that holds
 * state.bin's bytes, for one), in runs: `cut(keep)` ends the current run, its ticket gives the
 * CRC-32 of the run's bytes (when the run was kept), and `keep` says whether to CRC the next
 * run. A source starts with a run that is not kept. See CrcLedger (src/format/crc-ledger.ts).
 */
export interface CrcSource {
  /** Bytes fed since the last cut (or since the start). */
  readonly runBytes: number;
  /** Whether the current run is being CRC'd. */
  readonly keeping: boolean;
  /** Bytes fed that the source has not got to yet: how far behind the feeder it is. */
  backlog(): number;
  /** How many cuts can be made now (0 when none can be tracked until earlier ones finish). */
  freeCuts(): number;
  /**
   * Ends the current run at what has been fed so far and starts the next, CRC'd if `keep`. The
   * caller must have made sure `freeCuts()` is positive, and no update may be in progress.
   * @throws Error when either is not so (a caller's mistake, not bad input).
   */
  cut(keep: boolean): CrcTicket;
}

/** The CRC-32 of one run of a {@link CrcSource} (meaningless for a run not kept). */
export interface CrcTicket {
  /** The CRC-32 when it is known already, else undefined (never blocks). */
  peek(): number | undefined;
  /** The CRC-32, once the source has seen the whole run. Rejects if the source fails. */
  wait(): Promise<number>;
}

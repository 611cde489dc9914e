/**
 * Hand-built DEFLATE dynamic blocks (RFC 1951 3.2.7) for decoder tests: random complete Huffman
 * codes of up to 15 bits, their code lengths written with the repeat codes 16, 17 and 18 (runs
 * may cross from the literal/length lengths into the distance lengths), and literals and matches
 * coded with them; or a header with one of the flaws a decoder must reject where Go does.
 */
import { rng } from './bytes.js';

/** How the header is broken ('none': a valid final block that ends the stream). */
export type HeaderFlaw =
  | 'none'
  | 'repeat-past-end'
  | 'repeat-first'
  | 'length-missing'
  | 'bit-flip';

export interface DynamicBlock {
  stream: Uint8Array;
  flaw: HeaderFlaw;
  /** Bytes holding the header (up to and including its last bit). */
  headerBytes: number;
  /** What the block decodes to (meaningful when `flaw` is 'none'). */
  data: Uint8Array;
}

const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const LBASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
];
const LEXT = [
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

/** DEFLATE's bit order: fields least significant bit first, Huffman codes most significant first. */
class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  bits(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.bit((value >>> i) & 1);
  }

  code(code: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bit((code >>> i) & 1);
  }

  /** Bytes written so far, counting a partly written last byte. */
  get length(): number {
    return this.bytes.length + (this.n > 0 ? 1 : 0);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.n > 0 ? [...this.bytes, this.acc] : this.bytes);
  }

  private bit(b: number): void {
    this.acc |= b << this.n;
    if (++this.n === 8) {
      this.bytes.push(this.acc);
      this.acc = 0;
      this.n = 0;
    }
  }
}

/** The canonical codes (RFC 1951 3.2.2) of code lengths `lens` (-1 for unused symbols). */
function canonical(lens: number[]): number[] {
  const count = new Array<number>(16).fill(0);
  for (const l of lens) if (l > 0) count[l]++;
  const next = new Array<number>(16).fill(0);
  for (let l = 1, code = 0; l < 16; l++) {
    code = (code + count[l - 1]) << 1;
    next[l] = code;
  }
  return lens.map((l) => (l > 0 ? next[l]++ : -1));
}

/**
 * Code lengths of a random complete prefix code over exactly `symbols` (of `n`), none longer
 * than `maxLen` bits; a single symbol gets one bit (the one incomplete code Go accepts).
 */
function completeCode(
  int: (n: number) => number,
  n: number,
  symbols: number[],
  maxLen: number,
): number[] {
  const lens = new Array<number>(n).fill(0);
  if (symbols.length === 1) {
    lens[symbols[0]] = 1;
    return lens;
  }
  // Split random leaves of a two-leaf tree until there is one per symbol: lopsided trees, so
  // long codes (and the decoder's subtables) come up often.
  const leaves = [1, 1];
  while (leaves.length < symbols.length) {
    const open = leaves.flatMap((l, i) => (l < maxLen ? [i] : []));
    const i = open[int(open.length)];
    leaves.splice(i, 1, leaves[i] + 1, leaves[i] + 1);
  }
  shuffle(int, symbols).forEach((s, i) => {
    lens[s] = leaves[i];
  });
  return lens;
}

function shuffle<T>(int: (n: number) => number, items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** `k` distinct random numbers below `n`, plus `always` if given. */
function pick(int: (n: number) => number, n: number, k: number, always?: number): number[] {
  const chosen = shuffle(int, [...Array(n).keys()]).slice(0, k);
  if (always !== undefined && !chosen.includes(always)) chosen[0] = always;
  return chosen;
}

/** Code-length symbols [symbol, extra bits' value, number of extra bits] spelling `lens`. */
function codeLengthSymbols(int: (n: number) => number, lens: number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < lens.length; ) {
    const v = lens[i];
    let run = 1;
    while (i + run < lens.length && lens[i + run] === v) run++;
    if (v === 0 && run >= 3) {
      const k = Math.min(run, 138);
      out.push(k >= 11 ? [18, k - 11, 7] : [17, k - 3, 3]);
      i += k;
    } else if (v !== 0 && run >= 4 && int(2) === 0) {
      const k = Math.min(run - 1, 6);
      out.push([v, 0, 0], [16, k - 3, 2]);
      i += 1 + k;
    } else {
      out.push([v, 0, 0]);
      i++;
    }
  }
  return out;
}

/**
 * A final dynamic block made from `seed`: about a third of them with a flawed header (the flaw
 * is chosen by the seed too), the rest valid and followed by up to 400 coded symbols.
 */
export function dynamicBlock(seed: number): DynamicBlock {
  // Neighbouring seeds start xorshift32 off alike: spread them first.
  const { int } = rng(Math.imul(seed, 0x9e3779b1) ^ 0x2545f491);
  const flaws: HeaderFlaw[] = ['repeat-past-end', 'repeat-first', 'length-missing', 'bit-flip'];
  const flaw = int(3) === 0 ? flaws[int(flaws.length)] : 'none';

  const nlit = 257 + int(30);
  const ndist = 1 + int(30);
  const litSymbols = pick(int, nlit, 1 + int(int(2) === 0 ? 24 : nlit), 256);
  const litLens = completeCode(int, nlit, litSymbols, 15);
  const distLens =
    int(5) === 0
      ? new Array<number>(ndist).fill(0) // an empty distance code: Go accepts it
      : completeCode(int, ndist, pick(int, ndist, 1 + int(ndist)), 15);

  const seq = codeLengthSymbols(int, [...litLens, ...distLens]);
  if (flaw === 'repeat-past-end') {
    const last = seq[seq.length - 1];
    // One more repeated length than there are lengths, or zeros from the last length on.
    if (last[2] > 0 && last[1] + 1 < 1 << last[2]) last[1]++;
    else seq[seq.length - 1] = [17, int(8), 3];
  } else if (flaw === 'repeat-first') {
    seq.unshift([16, int(4), 2]);
  } else if (flaw === 'length-missing') {
    seq.pop();
  }
  const clLens = completeCode(int, 19, [...new Set(seq.map((s) => s[0]))], 7);
  let hclen = 19;
  while (hclen > 4 && clLens[ORDER[hclen - 1]] === 0) hclen--;

  const w = new BitWriter();
  w.bits(1, 1); // final
  w.bits(2, 2); // dynamic
  w.bits(nlit - 257, 5);
  w.bits(ndist - 1, 5);
  w.bits(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) w.bits(clLens[ORDER[i]], 3);
  const clCodes = canonical(clLens);
  for (const [sym, extra, nb] of seq) {
    w.code(clCodes[sym], clLens[sym]);
    w.bits(extra, nb);
  }
  const headerBytes = w.length;

  // Literals and matches (a match only reaches back into what was written), then end-of-block.
  const litCodes = canonical(litLens);
  const distCodes = canonical(distLens);
  const literals = litSymbols.filter((s) => s < 256);
  const lengths = litSymbols.filter((s) => s > 256);
  const dists = distLens.flatMap((l, s) => (l > 0 ? [s] : []));
  const data: number[] = [];
  for (let k = int(400); k > 0; k--) {
    const far = dists.filter((d) => DBASE[d] <= data.length);
    if (lengths.length > 0 && far.length > 0 && (literals.length === 0 || int(3) === 0)) {
      const ls = lengths[int(lengths.length)];
      const lextra = int(1 << LEXT[ls - 257]);
      const ds = far[int(far.length)];
      const dextra = int(Math.min(1 << DEXT[ds], data.length - DBASE[ds] + 1));
      w.code(litCodes[ls], litLens[ls]);
      w.bits(lextra, LEXT[ls - 257]);
      w.code(distCodes[ds], distLens[ds]);
      w.bits(dextra, DEXT[ds]);
      const length = LBASE[ls - 257] + lextra;
      const dist = DBASE[ds] + dextra;
      for (let j = 0; j < length; j++) data.push(data[data.length - dist]);
    } else if (literals.length > 0) {
      const s = literals[int(literals.length)];
      w.code(litCodes[s], litLens[s]);
      data.push(s);
    }
  }
  w.code(litCodes[256], litLens[256]);
  const stream = w.finish();
  if (flaw === 'bit-flip') {
    const bit = int(headerBytes * 8);
    stream[bit >> 3] ^= 1 << (bit & 7);
  }
  return { stream, flaw, headerBytes, data: Uint8Array.from(data) };
}

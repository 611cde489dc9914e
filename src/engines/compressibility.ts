/**
 * A cheap guess whether a block of data is worth deflating, for the default compression level.
 * Ciphertext (Vault's AES-GCM storage entries), compressed media and random bytes gain 1-2 %
 * from DEFLATE at any level, yet cost zlib about as long at level 1 as at level 6, some twenty
 * times longer than storing them.
 */

/** Bytes sampled at three places of a block. */
const SAMPLE = 4096;
/**
 * Bits of entropy per byte above which a sample counts as random (uniform bytes give ≈ 7.95 in
 * a 4 KiB sample). Vault's storage entries (ciphertext with keys and framing in between) sample
 * at 7.85-7.95 and deflate to 98-99 % at level 6; record-like data samples near 5.6.
 */
const RANDOM_BITS = 7.8;
/** Bytes before a sample in which its repeats are looked for: DEFLATE's window. */
const WINDOW = 32 * 1024;
/**
 * Positions of the window remembered: one in 16, so that a repeat of 24 bytes or more, at any
 * distance within the window, starts at a remembered position for one of its first 16 bytes.
 */
const STRIDE = 16;
/**
 * 16-byte stretches of the sample that hold the start of a repeat, from which on the sample
 * counts as repeating: 32 of 256, an eighth of it. Random bytes give none; the keys and framing
 * between Vault's ciphertexts up to about 20 (deflate saves some 2 % there); 40-byte keys every
 * 256 bytes about 48 (14 %); records drawn from a small set, from 50 up to all 256.
 */
const REPEATS = 32;
/** Entries of the table of remembered positions (a power of two, some seven times their number). */
const TABLE_BITS = 14;
/** The search's table, kept between calls (64 KiB; every block of ciphertext is searched). */
const scratch = new Int32Array(1 << TABLE_BITS);

/**
 * True when every one of three samples of `block` (start, middle, end) has a byte entropy above
 * 7.8 bits, so that order-0 coding could save at most about 2.5 %, and the middle one repeats
 * little of the 32 KiB before it (less than about an eighth of it found there), so that matches
 * could save little more: random records drawn from a small set, say, are deflated. Blocks
 * shorter than three samples are never judged incompressible.
 *
 * A guess from samples: repeats elsewhere in the block, or more sparse than the sample catches,
 * would still compress, and are stored by whoever trusts this guess. Callers use it only for
 * the default level; an explicit level deflates every block.
 */
export function looksIncompressible(block: Uint8Array): boolean {
  if (block.length < 3 * SAMPLE) return false;
  const counts = new Uint32Array(256);
  for (const start of [0, (block.length - SAMPLE) >> 1, block.length - SAMPLE]) {
    counts.fill(0);
    for (let i = start; i < start + SAMPLE; i++) counts[block[i]]++;
    let bits = 0;
    for (const c of counts) {
      if (c) {
        const p = c / SAMPLE;
        bits -= p * Math.log2(p);
      }
    }
    if (bits < RANDOM_BITS) return false;
  }
  // Random-looking bytes everywhere; are they copies of one another? Looked at in the middle only:
  // the search costs about what the three counts above cost, and every block of ciphertext pays it.
  scratch.fill(0);
  return repeats(block, (block.length - SAMPLE) >> 1, scratch) < REPEATS;
}

/**
 * How many 16-byte stretches of the sample at `start` hold the start of eight bytes also found
 * at a remembered earlier position (one in {@link STRIDE} of the window before the sample and of
 * the sample itself): about the sample's bytes that repeat the window, over 16, however often and
 * at whatever spacing they do. `table` must be all zeros. Written out in one loop, without calls:
 * the command line runs its JavaScript unoptimized.
 */
function repeats(b: Uint8Array, start: number, table: Int32Array): number {
  const shift = 32 - TABLE_BITS;
  const end = Math.min(start + SAMPLE, b.length - 7);
  // Positions stored plus one: zero is an empty slot.
  for (let p = Math.max(0, start - WINDOW); p < start; p += STRIDE) {
    const w = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    table[Math.imul(w, 0x9e3779b1) >>> shift] = p + 1;
  }
  let found = 0;
  // One match counts per STRIDE bytes: a run seen many times before would otherwise count at
  // every one of its positions, and one seen once at one in STRIDE.
  let counted = start;
  for (let i = start; i < end; i++) {
    const w = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
    const s = Math.imul(w, 0x9e3779b1) >>> shift;
    const e = table[s] - 1;
    if (
      i >= counted &&
      e >= 0 &&
      b[e] === b[i] &&
      b[e + 1] === b[i + 1] &&
      b[e + 2] === b[i + 2] &&
      b[e + 3] === b[i + 3] &&
      b[e + 4] === b[i + 4] &&
      b[e + 5] === b[i + 5] &&
      b[e + 6] === b[i + 6] &&
      b[e + 7] === b[i + 7]
    ) {
      found++;
      counted = i + STRIDE;
    }
    if ((i - start) % STRIDE === 0) table[s] = i + 1;
  }
  return found;
}

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

/**
 * True when every one of three samples of `block` (start, middle, end) has a byte entropy above
 * 7.8 bits, so that order-0 coding could save at most about 2.5 %. Blocks shorter than three
 * samples are never judged incompressible.
 *
 * A guess from samples: random-looking bytes that repeat within DEFLATE's 32 KiB window would
 * still compress, and are stored by whoever trusts this guess. Callers use it only for the
 * default level; an explicit level deflates every block.
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
  return true;
}

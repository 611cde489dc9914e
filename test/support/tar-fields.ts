/**
 * Byte-string and tar-field helpers for the tar tests. A byte string holds one byte per char
 * (0-255), the way header fields are laid out.
 */

/** The bytes of a byte string. */
export function byteStringBytes(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The byte string of `b`. */
export function byteString(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) {
    s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 4096)));
  }
  return s;
}

/** A JS string's UTF-8 bytes as a byte string, as TarWriter lays names out. */
export const utf8ByteString = (s: string): string => byteString(new TextEncoder().encode(s));

/** A numeric field of `width` bytes as Go writes it in octal: zero-padded digits and a NUL. */
export const octalField = (n: number | bigint, width: number): string =>
  `${n.toString(8).padStart(width - 1, '0')}\0`;

/** A base-256 (GNU binary) field of `width` bytes: two's complement with the 0x80 marker bit. */
export function base256Field(n: bigint, width: number): number[] {
  let x = BigInt.asUintN(width * 8, n);
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    out.unshift(Number(x & 0xffn));
    x >>= 8n;
  }
  out[0] |= 0x80;
  return out;
}

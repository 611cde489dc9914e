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

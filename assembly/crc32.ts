// CRC-32 (ISO-HDLC / gzip: reflected polynomial 0xEDB88320, pre- and post-inverted), as in
// zlib's crc32(crc, buf, len). Slicing-by-16 tables.
//
// JS copies data to buffer() (up to BUFFER_SIZE bytes at a time) and calls update().

const T: usize = memory.data(16 * 1024, 64); // u32[16][256]
const BUF: usize = (__heap_base + 63) & ~63;
const BUFFER_SIZE: u32 = 256 * 1024;

function init(): void {
  const end = BUF + BUFFER_SIZE + 64;
  const have = usize(memory.size()) << 16;
  if (end > have) {
    if (memory.grow(i32((end - have + 65535) >> 16)) < 0) unreachable();
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(T + (i << 2), c);
  }
  for (let i: u32 = 0; i < 256; i++) {
    let c = load<u32>(T + (i << 2));
    for (let k: u32 = 1; k < 16; k++) {
      c = load<u32>(T + ((c & 255) << 2)) ^ (c >>> 8);
      store<u32>(T + (k << 10) + (i << 2), c);
    }
  }
}

init();

/** Address of the input buffer (BUFFER_SIZE bytes). */
export function buffer(): usize {
  return BUF;
}

/** Size of the input buffer. */
export function bufferSize(): u32 {
  return BUFFER_SIZE;
}

/** Returns the CRC-32 of the `n` bytes at buffer() continuing from `crc`. */
export function update(crc: u32, n: u32): u32 {
  let c = ~crc;
  let p = BUF;
  const end = BUF + n;
  while (p + 16 <= end) {
    const a = load<u32>(p) ^ c;
    const b = load<u32>(p, 4);
    const d = load<u32>(p, 8);
    const e = load<u32>(p, 12);
    // The 12 lookups that do not depend on the running CRC first (shorter critical path).
    const x =
      load<u32>((e & 255) << 2, T + (3 << 10)) ^
      load<u32>((e >>> 6) & 0x3fc, T + (2 << 10)) ^
      load<u32>((e >>> 14) & 0x3fc, T + (1 << 10)) ^
      load<u32>((e >>> 22) & 0x3fc, T) ^
      load<u32>((d & 255) << 2, T + (7 << 10)) ^
      load<u32>((d >>> 6) & 0x3fc, T + (6 << 10)) ^
      load<u32>((d >>> 14) & 0x3fc, T + (5 << 10)) ^
      load<u32>((d >>> 22) & 0x3fc, T + (4 << 10)) ^
      load<u32>((b & 255) << 2, T + (11 << 10)) ^
      load<u32>((b >>> 6) & 0x3fc, T + (10 << 10)) ^
      load<u32>((b >>> 14) & 0x3fc, T + (9 << 10)) ^
      load<u32>((b >>> 22) & 0x3fc, T + (8 << 10));
    c =
      x ^
      load<u32>((a & 255) << 2, T + (15 << 10)) ^
      load<u32>((a >>> 6) & 0x3fc, T + (14 << 10)) ^
      load<u32>((a >>> 14) & 0x3fc, T + (13 << 10)) ^
      load<u32>((a >>> 22) & 0x3fc, T + (12 << 10));
    p += 16;
  }
  while (p < end) {
    c = load<u32>(((c ^ u32(load<u8>(p))) & 255) << 2, T) ^ (c >>> 8);
    p++;
  }
  return ~c;
}

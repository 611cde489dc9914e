/**
 * Tar block framing by raftsnap's WebAssembly kernel (assembly/tar.ts): header checksums,
 * numeric fields (octal and base-256), zero-block and format detection for the reader, and
 * header block encoding for the writer — with exactly the results of the pure TypeScript codec
 * (src/format/tar-header.ts), which stays the reference and the fallback.
 *
 * Runs in every runtime: no Node built-ins, the module's bytes are embedded as base64 and
 * instantiated once per process ({@link loadWasmTar}); after that every method is synchronous.
 * The module's memory is fixed (one page): a 512-byte block region, a result area and five
 * 4 KiB string slots. Calls must not interleave (JavaScript is single-threaded per instance:
 * nothing to do).
 *
 * Usage: `await installWasmTar()` once (the engines do it); from then on TarReader and
 * TarWriter frame their headers through the kernel.
 */
import {
  BLOCK_SIZE,
  bytesToByteString,
  FORMAT_GNU,
  FORMAT_USTAR,
  type HeaderFields,
  installTarKernel,
  type ParsedHeaderBlock,
  type TarKernel,
  ZERO_BLOCK,
} from '../format/tar-header.js';
import { instantiateKernel } from './load.js';

/** The kernel's exports (see assembly/tar.ts). Addresses and lengths are byte offsets. */
interface TarExports {
  readonly memory: WebAssembly.Memory;
  blockPtr(): number;
  resultPtr(): number;
  stringPtr(): number;
  stringCap(): number;
  isZero(): number;
  checksum(): number;
  verify(): number;
  format(): number;
  octal(off: number, len: number): number;
  numeric(off: number, len: number): bigint;
  scan(): number;
  padding(size: bigint): number;
  encode(
    format: number,
    typeflag: number,
    nameLen: number,
    linknameLen: number,
    unameLen: number,
    gnameLen: number,
    prefixLen: number,
    mode: bigint,
    uid: bigint,
    gid: bigint,
    size: bigint,
    mtime: bigint,
    devmajor: bigint,
    devminor: bigint,
    times: number,
    atime: bigint,
    ctime: bigint,
  ): void;
  encodeRaw(typeflag: number, nameLen: number, size: bigint, format: number): void;
}

/**
 * The WebAssembly tar kernel: the {@link TarKernel} hooks plus the primitives they are made of,
 * each equal to the pure function of tar-header.ts with the same name.
 */
export interface WasmTarKernel extends TarKernel {
  readonly name: 'wasm';
  /** isZeroBlock: the first 512 bytes of `b` (b.length ≥ 512) are all zero. */
  isZeroBlock(b: Uint8Array): boolean;
  /** computeChecksum: Go's [unsigned, signed] sums of the first 512 bytes of `b`. */
  computeChecksum(b: Uint8Array): [number, number];
  /** verifyChecksum of the first 512 bytes of `b`. */
  verifyChecksum(b: Uint8Array): boolean;
  /** getFormat of the first 512 bytes of `b`. */
  getFormat(b: Uint8Array): number;
  /**
   * parseOctal of `b[off, off+len)` (NaN = Go's ErrHeader); `len` ≤ 17, the range over which
   * the pure function is exact (tar fields are at most 12 bytes).
   * @throws RangeError if the range is outside `b` or longer than 17 bytes.
   */
  parseOctal(b: Uint8Array, off: number, len: number): number;
  /**
   * parseNumeric of `b[off, off+len)` (null = Go's ErrHeader); base-256 fields up to 512
   * bytes, octal ones up to 17.
   * @throws RangeError if the range is outside `b` or longer than 512 bytes.
   */
  parseNumeric(b: Uint8Array, off: number, len: number): bigint | null;
  /** blockPadding: the zero bytes (0..511) after `size` bytes of entry data. */
  blockPadding(size: bigint | number): number;
}

const MIN_INT64 = -(1n << 63n);
const MAX_INT64 = (1n << 63n) - 1n;

// RESULT layout (assembly/tar.ts): i64 slots, then i32 slots (as indexes into typed views).
const R64_SIZE = 0;
const R64_MODE = 1;
const R64_UID = 2;
const R64_GID = 3;
const R64_MTIME = 4;
const R64_DEVMAJOR = 5;
const R64_DEVMINOR = 6;
const R64_ATIME = 7;
const R64_CTIME = 8;
const R32_BLOCK_FORMAT = 18;
const R32_FORMAT = 19;
const R32_TIMES = 20;
const R32_NAME_LEN = 21;
const R32_LINKNAME_LEN = 22;
const R32_UNAME_LEN = 23;
const R32_GNAME_LEN = 24;
const R32_PREFIX_LEN = 25;
const R32_CHK_SIGNED = 27;
const R32_ERR = 28;

const SCAN_ZERO = 1;
const SCAN_ERR_HEADER = 2;

const OFF_LINKNAME = 157;
const OFF_UNAME = 265;
const OFF_GNAME = 297;
const OFF_PREFIX = 345;
const OFF_TYPEFLAG = 156;

function isInt64(x: bigint): boolean {
  return typeof x === 'bigint' && x >= MIN_INT64 && x <= MAX_INT64;
}

/** A NUL-free field of `b` as a byte string. */
function text(b: Uint8Array, off: number, len: number): string {
  return len === 0 ? '' : bytesToByteString(b, off, off + len);
}

class Kernel implements WasmTarKernel {
  readonly name = 'wasm' as const;
  readonly #ex: TarExports;
  readonly #block: number;
  readonly #strings: number;
  readonly #cap: number;
  readonly #resultPtr: number;
  #u8: Uint8Array;
  #i32: Int32Array;
  #i64: BigInt64Array;

  constructor(ex: TarExports) {
    this.#ex = ex;
    this.#block = ex.blockPtr();
    this.#strings = ex.stringPtr();
    this.#cap = ex.stringCap();
    this.#resultPtr = ex.resultPtr();
    this.#u8 = new Uint8Array(0);
    this.#i32 = new Int32Array(0);
    this.#i64 = new BigInt64Array(0);
    this.#views();
  }

  /** The memory as bytes; views re-created if growth replaced the buffer (it never grows). */
  #views(): Uint8Array {
    if (this.#u8.byteLength === 0) {
      const buf = this.#ex.memory.buffer;
      this.#u8 = new Uint8Array(buf);
      this.#i32 = new Int32Array(buf, this.#resultPtr, 32);
      this.#i64 = new BigInt64Array(buf, this.#resultPtr, 16);
    }
    return this.#u8;
  }

  /** Copies the first 512 bytes of `b` into the block region. */
  #load(b: Uint8Array): void {
    if (b.length < BLOCK_SIZE) throw new RangeError('tar kernel: a block is 512 bytes');
    this.#views().set(b.length === BLOCK_SIZE ? b : b.subarray(0, BLOCK_SIZE), this.#block);
  }

  /** Copies `b[off, off+len)` to the start of the block region. */
  #loadRange(b: Uint8Array, off: number, len: number, max: number): void {
    if (!(Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0)) {
      throw new RangeError('tar kernel: invalid field range');
    }
    if (off + len > b.length || len > max) throw new RangeError('tar kernel: invalid field range');
    this.#views().set(b.subarray(off, off + len), this.#block);
  }

  /** Writes byte string `s` to string slot `slot`; -1 when it is not a short byte string. */
  #string(slot: number, s: string): number {
    const n = s.length;
    if (n > this.#cap) return -1;
    const mem = this.#u8;
    const at = this.#strings + slot * this.#cap;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) return -1;
      mem[at + i] = c;
    }
    return n;
  }

  #blockCopy(): Uint8Array {
    return this.#u8.slice(this.#block, this.#block + BLOCK_SIZE);
  }

  scanHeaderBlock(b: Uint8Array): ParsedHeaderBlock | null | typeof ZERO_BLOCK {
    this.#load(b);
    const r = this.#ex.scan();
    if (r === SCAN_ZERO) return ZERO_BLOCK;
    if (r === SCAN_ERR_HEADER) return null;
    const i32 = this.#i32;
    const i64 = this.#i64;
    let name = text(b, 0, i32[R32_NAME_LEN]);
    const prefixLen = i32[R32_PREFIX_LEN];
    if (prefixLen > 0) name = `${bytesToByteString(b, OFF_PREFIX, OFF_PREFIX + prefixLen)}/${name}`;
    const times = i32[R32_TIMES];
    return {
      typeflag: b[OFF_TYPEFLAG],
      name,
      linkname: text(b, OFF_LINKNAME, i32[R32_LINKNAME_LEN]),
      uname: text(b, OFF_UNAME, i32[R32_UNAME_LEN]),
      gname: text(b, OFF_GNAME, i32[R32_GNAME_LEN]),
      size: i64[R64_SIZE],
      mode: i64[R64_MODE],
      uid: i64[R64_UID],
      gid: i64[R64_GID],
      devmajor: i64[R64_DEVMAJOR],
      devminor: i64[R64_DEVMINOR],
      mtime: i64[R64_MTIME],
      atime: times & 1 ? i64[R64_ATIME] : null,
      ctime: times & 2 ? i64[R64_CTIME] : null,
      format: i32[R32_FORMAT],
      blockFormat: i32[R32_BLOCK_FORMAT],
    };
  }

  encodeHeader(h: HeaderFields, format: number): Uint8Array | undefined {
    // Formats without any of the five bits make the pure codec throw: leave them to it.
    if ((format | 0) !== format || (format & 31) === 0) return undefined;
    const mode = h.mode ?? 0n;
    const uid = h.uid ?? 0n;
    const gid = h.gid ?? 0n;
    const size = h.size ?? 0n;
    const mtime = h.mtime ?? 0n;
    const devmajor = h.devmajor ?? 0n;
    const devminor = h.devminor ?? 0n;
    if (
      !isInt64(mode) ||
      !isInt64(uid) ||
      !isInt64(gid) ||
      !isInt64(size) ||
      !isInt64(mtime) ||
      !isInt64(devmajor) ||
      !isInt64(devminor)
    ) {
      return undefined;
    }
    let times = 0;
    let atime = 0n;
    let ctime = 0n;
    if (format === FORMAT_GNU) {
      if (h.atime !== undefined) {
        if (!isInt64(h.atime)) return undefined;
        atime = h.atime;
        times |= 1;
      }
      if (h.ctime !== undefined) {
        if (!isInt64(h.ctime)) return undefined;
        ctime = h.ctime;
        times |= 2;
      }
    }
    this.#views();
    const nameLen = this.#string(0, h.name);
    const linknameLen = this.#string(1, h.linkname ?? '');
    const unameLen = this.#string(2, h.uname ?? '');
    const gnameLen = this.#string(3, h.gname ?? '');
    const prefixLen = format === FORMAT_USTAR ? this.#string(4, h.prefix ?? '') : 0;
    if ((nameLen | linknameLen | unameLen | gnameLen | prefixLen) < 0) return undefined;
    this.#ex.encode(
      format,
      h.typeflag,
      nameLen,
      linknameLen,
      unameLen,
      gnameLen,
      prefixLen,
      mode,
      uid,
      gid,
      size,
      mtime,
      devmajor,
      devminor,
      times,
      atime,
      ctime,
    );
    return this.#blockCopy();
  }

  encodeRawFileHeader(
    name: string,
    size: number,
    typeflag: number,
    format: number,
  ): Uint8Array | undefined {
    if ((format | 0) !== format || (format & 31) === 0) return undefined;
    if (!Number.isSafeInteger(size)) return undefined;
    this.#views();
    const nameLen = this.#string(0, name);
    if (nameLen < 0) return undefined;
    this.#ex.encodeRaw(typeflag, nameLen, BigInt(size), format);
    return this.#blockCopy();
  }

  isZeroBlock(b: Uint8Array): boolean {
    this.#load(b);
    return this.#ex.isZero() !== 0;
  }

  computeChecksum(b: Uint8Array): [number, number] {
    this.#load(b);
    const unsigned = this.#ex.checksum();
    return [unsigned, this.#i32[R32_CHK_SIGNED]];
  }

  verifyChecksum(b: Uint8Array): boolean {
    this.#load(b);
    return this.#ex.verify() !== 0;
  }

  getFormat(b: Uint8Array): number {
    this.#load(b);
    return this.#ex.format();
  }

  parseOctal(b: Uint8Array, off: number, len: number): number {
    this.#loadRange(b, off, len, 17);
    return this.#ex.octal(0, len);
  }

  parseNumeric(b: Uint8Array, off: number, len: number): bigint | null {
    this.#loadRange(b, off, len, BLOCK_SIZE);
    const x = this.#ex.numeric(0, len);
    return this.#i32[R32_ERR] !== 0 ? null : x;
  }

  blockPadding(size: bigint | number): number {
    if (typeof size === 'number') {
      // The pure function's ToInt32 arithmetic for what BigInt cannot take.
      if (!Number.isInteger(size)) return -size & (BLOCK_SIZE - 1);
      return this.#ex.padding(BigInt(size));
    }
    return this.#ex.padding(size); // ToBigInt64 keeps the low bits, which are all that count
  }
}

let loading: Promise<WasmTarKernel> | undefined;

/**
 * Loads the kernel (once per process; a failed attempt is retried by the next call) and
 * returns it. It is not installed: see {@link installWasmTar}.
 */
export function loadWasmTar(): Promise<WasmTarKernel> {
  loading ??= instantiateKernel<TarExports>('tar').then(
    (ex) => new Kernel(ex),
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}

/**
 * Loads the kernel and installs it as the tar framing of TarReader and TarWriter
 * (installTarKernel). Never rejects: resolves to false, leaving the pure TypeScript codec in
 * place, where the runtime cannot compile or instantiate the module.
 */
export async function installWasmTar(): Promise<boolean> {
  try {
    installTarKernel(await loadWasmTar());
    return true;
  } catch {
    return false;
  }
}

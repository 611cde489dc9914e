/**
 * raftsnap's Node-API addon over libdeflate (native/libdeflate-gzip.c), built by `npm run build`
 * where a C compiler and libdeflate's headers are present: create's gzip members
 * (src/node/libdeflate-gzip.ts) and a CRC-32 with the CPU's carry-less multiply
 * (src/node/libdeflate-crc32.ts). Everything here is optional: where the addon is missing or
 * does not load, callers use node:zlib.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { denoWouldAsk } from './deno-permissions.js';

/**
 * The addon's exports (see native/libdeflate-gzip.c for the whole contract). `gzipMember` reads
 * and writes the views' memory on another thread until its promise settles: the caller must not
 * touch, detach or resize either buffer before then.
 */
export interface LibdeflateAddon {
  gzipMember(input: Uint8Array, level: number, output: Uint8Array): Promise<number>;
  gzipBound(length: number): number;
  checkLevels(): boolean;
  /** CRC-32 of `data` continued from `crc` (taken modulo 2^32); returns it unsigned. */
  crc32(crc: number, data: Uint8Array): number;
  version: string;
}

/** The addon's file name, in dist/native/ of the package. */
const ADDON_FILE = 'libdeflate-gzip.node';

let file: string | null | undefined;
let loaded: LibdeflateAddon | null | undefined;

/**
 * The addon's path, or undefined when there is none to load: not built, cut short
 * ({@link wholeElf}), or hidden by RAFTSNAP_LIBDEFLATE=0, or Deno without `--allow-ffi`, `--allow-read` and `--allow-env` (which
 * would otherwise prompt). Looked up in the `native` folder of the nearest enclosing `dist`, so
 * it is found from the library's modules and from the bundled command line alike. Never throws.
 */
export function libdeflateAddonFile(): string | undefined {
  if (file !== undefined) return file ?? undefined;
  file = null;
  try {
    const variable = 'RAFTSNAP_LIBDEFLATE';
    if (denoWouldAsk({ name: 'env', variable }) || process.env[variable] === '0') return undefined;
    let dir = dirname(fileURLToPath(import.meta.url));
    for (let up = 0; up < 4; up++, dir = dirname(dir)) {
      const candidate = join(dir, 'native', ADDON_FILE);
      if (denoWouldAsk({ name: 'read', path: candidate })) break;
      if (existsSync(candidate)) {
        if (!denoWouldAsk({ name: 'ffi', path: candidate }) && wholeElf(candidate)) {
          file = candidate;
        }
        break;
      }
    }
  } catch {
    file = null;
  }
  return file ?? undefined;
}

/**
 * False when the file at `path` is an ELF object cut short: one of its loadable segments or its
 * section header table reaches past the file's end. The dynamic loader maps such a file as its
 * headers say, and the process then dies of SIGBUS (no exception to catch) when it touches the
 * missing pages: a damaged install must cost the accelerator, never the command. True for a
 * whole ELF file and for anything that is not ELF (other platforms' formats; a file that is not
 * an object at all fails to load with an exception, which callers catch).
 */
export function wholeElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const read = (at: number, length: number): DataView | undefined => {
      if (at < 0 || at + length > size) return undefined;
      const bytes = new Uint8Array(length);
      return readSync(fd, bytes, 0, length, at) === length ? new DataView(bytes.buffer) : undefined;
    };
    const ident = read(0, 6);
    if (ident?.getUint32(0) !== 0x7f454c46) return true;
    const wide = ident.getUint8(4) === 2;
    const le = ident.getUint8(5) === 1;
    const header = read(0, wide ? 64 : 52);
    if (!header) return false;
    const word = (v: DataView, at: number) =>
      wide ? Number(v.getBigUint64(at, le)) : v.getUint32(at, le);
    const phoff = word(header, wide ? 0x20 : 0x1c);
    const shoff = word(header, wide ? 0x28 : 0x20);
    const phentsize = header.getUint16(wide ? 0x36 : 0x2a, le);
    const phnum = header.getUint16(wide ? 0x38 : 0x2c, le);
    const shentsize = header.getUint16(wide ? 0x3a : 0x2e, le);
    const shnum = header.getUint16(wide ? 0x3c : 0x30, le);
    if (shoff + shentsize * shnum > size) return false;
    for (let i = 0; i < phnum; i++) {
      const ph = read(phoff + i * phentsize, wide ? 56 : 32);
      if (!ph) return false;
      const offset = word(ph, wide ? 8 : 4);
      const fileSize = word(ph, wide ? 32 : 16);
      if (offset + fileSize > size) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * The addon, loaded once; undefined when {@link libdeflateAddonFile} finds none or it does not
 * load here (another platform, a runtime without Node-API, libdeflate's shared library missing).
 * Never throws.
 */
export function loadLibdeflateAddon(): LibdeflateAddon | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  const path = libdeflateAddonFile();
  try {
    if (path) loaded = createRequire(import.meta.url)(path) as LibdeflateAddon;
  } catch {
    // Present but not loadable here: node:zlib serves.
    loaded = null;
  }
  return loaded ?? undefined;
}

/**
 * CRC-32 (the gzip/zlib polynomial) in WebAssembly: raftsnap's AssemblyScript kernel
 * (assembly/crc32.ts, slicing-by-16) embedded as base64, for runtimes without zlib.
 */
import type { Crc32 } from '../engines/crc32.js';
import { instantiateKernel } from './load.js';

interface Crc32Exports {
  memory: WebAssembly.Memory;
  buffer(): number;
  bufferSize(): number;
  update(crc: number, n: number): number;
}

let loading: Promise<Crc32> | undefined;

/**
 * Loads the WebAssembly CRC-32 once; later calls return the same function. It returns the
 * CRC-32 of `data` continuing from `crc` (0 to start), as zlib's crc32(crc, data):
 * crc32(crc32(0, a), b) equals crc32(0, a followed by b); the result is an unsigned 32-bit
 * integer. Data of any length is fed to the module 256 KiB at a time.
 */
export function loadWasmCrc32(): Promise<Crc32> {
  loading ??= instantiateKernel<Crc32Exports>('crc32').then(
    (ex) => {
      const buf = ex.buffer() >>> 0;
      const cap = ex.bufferSize() >>> 0;
      let view = new Uint8Array(ex.memory.buffer);
      return (crc: number, data: Uint8Array): number => {
        if (view.buffer !== ex.memory.buffer) view = new Uint8Array(ex.memory.buffer);
        let c = crc >>> 0;
        for (let off = 0; off < data.length; off += cap) {
          const part = data.subarray(off, off + cap);
          view.set(part, buf);
          c = ex.update(c, part.length) >>> 0;
        }
        return c;
      };
    },
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}

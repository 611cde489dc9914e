/**
 * Engines for runtimes with Node's built-ins (Node, Deno and Bun): node:crypto SHA-256,
 * node:zlib inflate and CRC-32, and gzip deflated across worker threads. `wasm` forces raftsnap's WebAssembly kernels where they
 * exist, for comparison and for runtimes whose node:crypto is slow.
 */
import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import { crc32 as jsCrc32 } from '../engines/crc32.js';
import type { EngineChoice, Engines } from '../engines/registry.js';
import type { HashEngine, Sha256 } from '../engines/sha256.js';
import { parallelGzip } from './parallel-gzip.js';
import { zlibInflate } from './zlib-inflate.js';

/** SHA-256 by node:crypto (OpenSSL, with SHA extensions where the CPU has them). */
export const nodeHash: HashEngine = {
  name: 'native',
  create(): Sha256 {
    const h = createHash('sha256');
    const self: Sha256 = {
      update(data) {
        h.update(data);
        return self;
      },
      digest: () => new Uint8Array(h.digest()),
    };
    return self;
  },
};

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

export async function nodeEngines(choice: EngineChoice): Promise<Engines> {
  let hash: HashEngine = nodeHash;
  if (choice === 'wasm') {
    const { loadWasmSha256 } = await import('../wasm/sha256.js');
    hash = await loadWasmSha256();
  }
  return {
    hash,
    inflate: zlibInflate,
    crc32: nativeCrc32 ? (crc, data) => nativeCrc32(data, crc) : jsCrc32,
    gzip: parallelGzip,
  };
}

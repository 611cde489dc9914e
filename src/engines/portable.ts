/**
 * Engines for any JavaScript runtime, without Node built-ins: raftsnap's WebAssembly SHA-256
 * (or Workers' native DigestStream), inflate and CRC-32, and gzip compression by the runtime's
 * CompressionStream in parallel members (or fflate where it is missing or a specific level is
 * asked for).
 */
import { Gzip } from 'fflate';
import { loadWasmCrc32 } from '../wasm/crc32.js';
import { loadWasmInflate } from '../wasm/inflate.js';
import { loadWasmSha256 } from '../wasm/sha256.js';
import { installWasmTar } from '../wasm/tar.js';
import type { Crc32 } from './crc32.js';
import { memberGzip } from './member-gzip.js';
import type { EngineChoice, Engines, GzipCompressor } from './registry.js';
import type { HashEngine } from './sha256.js';

/**
 * gzip for the portable engines: at the default level, independent members compressed by
 * CompressionStream several at once ({@link memberGzip}); at an explicit level, or where there
 * is no CompressionStream, one fflate stream at that level (6 by default).
 */
export function portableGzip(crc32: Crc32): GzipCompressor {
  return (input, level) => {
    if (level === -1 && typeof CompressionStream !== 'undefined') return memberGzip(input, crc32);
    return fflateGzip(input, level === -1 ? 6 : level);
  };
}

async function* fflateGzip(
  input: AsyncIterable<Uint8Array>,
  level: number,
): AsyncGenerator<Uint8Array> {
  let out: Uint8Array[] = [];
  const gz = new Gzip(
    { level: level as 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9, mtime: 0 },
    (data) => {
      out.push(data);
    },
  );
  for await (const chunk of input) {
    gz.push(chunk, false);
    if (out.length) {
      const ready = out;
      out = [];
      yield* ready;
    }
  }
  gz.push(new Uint8Array(0), true);
  yield* out;
}

interface DigestStreamLike extends WritableStream<Uint8Array> {
  readonly digest: Promise<ArrayBuffer>;
}
type DigestStreamCtor = new (algorithm: string) => DigestStreamLike;

/**
 * SHA-256 by Cloudflare Workers' native streaming digest (`crypto.DigestStream`), where the
 * runtime has one; undefined elsewhere (browsers' WebCrypto digests only whole buffers).
 */
export function digestStreamHash(): HashEngine | undefined {
  const DS = (globalThis.crypto as { DigestStream?: DigestStreamCtor } | undefined)?.DigestStream;
  if (typeof DS !== 'function') return undefined;
  return {
    name: 'native',
    create() {
      const stream = new DS('SHA-256');
      const writer = stream.getWriter();
      return {
        async update(data: Uint8Array) {
          await writer.ready;
          await writer.write(data);
        },
        async digest() {
          await writer.close();
          return new Uint8Array(await stream.digest);
        },
      };
    },
  };
}

/**
 * The portable engines: raftsnap's WebAssembly kernels, except SHA-256 by the runtime's native
 * streaming digest where there is one (Workers), unless `wasm` is asked for.
 */
export async function portableEngines(choice: EngineChoice): Promise<Engines> {
  const [wasmHash, inflate, crc32] = await Promise.all([
    loadWasmSha256(),
    loadWasmInflate(),
    loadWasmCrc32(),
    installWasmTar(),
  ]);
  const hash = (choice !== 'wasm' && digestStreamHash()) || wasmHash;
  return { hash, inflate, crc32, gzip: portableGzip(crc32) };
}

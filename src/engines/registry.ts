/**
 * The engines a runtime provides for the hot paths — SHA-256, raw inflate, CRC-32 and gzip
 * compression — and how one is chosen. Entry points register the engines of their runtime
 * (src/node/engines.ts for Node, Deno and Bun; src/engines/portable.ts everywhere); the format
 * code only ever sees this interface.
 */
import { SnapshotError } from '../errors.js';
import type { Crc32 } from './crc32.js';
import type { InflateEngine } from './inflate.js';
import type { HashEngine } from './sha256.js';

/**
 * Compresses a byte stream into one gzip stream at `level` (0-9, -1 for the default). The
 * compressor is done with each input chunk when it asks for the next. With `reuse`, the caller
 * promises to be done with each output chunk when it asks for the next, and the compressor may
 * then write later output into the same memory; without it, every output chunk is the caller's.
 */
export type GzipCompressor = (
  input: AsyncIterable<Uint8Array>,
  level: number,
  reuse?: boolean,
) => AsyncIterable<Uint8Array>;

export interface Engines {
  hash: HashEngine;
  inflate: InflateEngine;
  crc32: Crc32;
  gzip: GzipCompressor;
}

/**
 * `auto` picks the fastest engine the runtime has; `wasm` forces the WebAssembly kernels;
 * `native` asks for the runtime's own where it has them (in the portable entry only Workers'
 * streaming digest; elsewhere it gets WebAssembly). `auto` and `wasm` read exactly as the
 * reference does; `native`'s zlib inflate drops what it decoded before corrupt data, so parse
 * and restore with it can refuse a file whose DEFLATE stream is corrupt only after the archive,
 * which the reference's Parse and Restore accept (verify's verdict is the same).
 */
export type EngineChoice = 'auto' | 'wasm' | 'native';

export type EngineProvider = (choice: EngineChoice) => Promise<Engines>;

let provider: EngineProvider | undefined;
let providerRank = -1;
const cache = new Map<EngineChoice, Promise<Engines>>();

/**
 * Installs the engine provider of the current runtime (entry points do this on import). Both
 * entries share this registry, and a process may load both (an application imports `raftsnap`,
 * a dependency `raftsnap/portable`): the provider of higher `rank` stays, whichever loaded last,
 * so that the Node entry's engines (rank 1) are not swapped for the portable ones (rank 0). One
 * of equal rank replaces the one before.
 */
export function registerEngines(p: EngineProvider, rank = 0): void {
  if (rank < providerRank) return;
  provider = p;
  providerRank = rank;
  cache.clear();
}

/** The engine choice named by RAFTSNAP_ENGINE in the environment, when the runtime has one. */
function envChoice(): EngineChoice | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: {
      permissions?: { querySync?(d: { name: 'env'; variable: string }): { state: string } };
    };
  };
  // Deno asks on a terminal (and waits) for a variable it was not allowed to read, and throws
  // elsewhere: only one already granted is read.
  let v: string | undefined;
  try {
    const state = g.Deno?.permissions?.querySync?.({
      name: 'env',
      variable: 'RAFTSNAP_ENGINE',
    }).state;
    if (state && state !== 'granted') return undefined;
    v = g.process?.env?.RAFTSNAP_ENGINE;
  } catch {
    // A runtime that refuses to read the environment: no choice made there.
    return undefined;
  }
  return v === '' ? undefined : checkChoice(v, 'RAFTSNAP_ENGINE');
}

/** `v` as an engine choice (undefined stays so); else SnapshotError naming `what`. */
function checkChoice(v: unknown, what: string): EngineChoice | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'auto' || v === 'wasm' || v === 'native') return v;
  throw new SnapshotError(
    'INVALID_ARGUMENT',
    `${what} must be auto, wasm or native, not ${JSON.stringify(v)}`,
  );
}

/**
 * Resolves the engines for `choice` (default: RAFTSNAP_ENGINE, else `auto`); throws
 * SnapshotError('INVALID_ARGUMENT') for a choice that is none of auto, wasm and native. Engines are
 * created once per choice and reused; a choice whose creation failed (a WebAssembly module that
 * did not instantiate, say) is tried afresh by the next call.
 */
export function getEngines(choice?: EngineChoice): Promise<Engines> {
  const c = checkChoice(choice, 'engine') ?? envChoice() ?? 'auto';
  if (!provider)
    throw new SnapshotError('INVALID_ARGUMENT', 'no engines registered for this runtime');
  let e = cache.get(c);
  if (!e) {
    e = provider(c);
    cache.set(c, e);
    e.catch(() => {
      if (cache.get(c) === e) cache.delete(c);
    });
  }
  return e;
}

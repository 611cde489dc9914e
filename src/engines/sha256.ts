import type { CrcSource } from './crc32.js';

/**
 * SHA-256 engines. Every hash raftsnap computes (entries of the archive, the archive checksum)
 * goes through a {@link HashState} made by one of these engines.
 */

/** raftsnap's public streaming SHA-256 (see `createSha256`): synchronous. */
export interface Sha256 {
  /** Adds `data` to the hash. `data` may be reused by the caller once this returns. */
  update(data: Uint8Array): this;
  /** Returns the 32-byte digest. The hash must not be used afterwards. */
  digest(): Uint8Array;
}

/**
 * A running hash as an engine provides it. Native digests of some runtimes are asynchronous
 * (Cloudflare Workers' `crypto.DigestStream`), so callers await both methods: `data` must stay
 * unchanged until the value `update` returns has settled.
 */
export interface HashState {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array | Promise<Uint8Array>;
  /**
   * Present when the hash also keeps a CRC-32 of what it is fed (a hashing thread does, since it
   * holds the bytes anyway): a gzip reader can then take the CRC of those bytes from it.
   */
  readonly crc?: CrcSource;
}

export interface HashEngine {
  /** `wasm` (raftsnap's AssemblyScript kernel) or `native` (the runtime's own crypto). */
  readonly name: 'wasm' | 'native';
  /**
   * Starts a hash. `expectedBytes`, when the caller knows it, is how much will be hashed: an
   * engine may use it to choose where to hash (the result is the same either way).
   */
  create(expectedBytes?: number): HashState;
}

/**
 * SHA-256 engines. Every hash raftsnap computes (entries of the archive, the archive checksum)
 * goes through a `Sha256` made by one of these engines.
 */
export interface Sha256 {
  /** Adds `data` to the hash. `data` may be reused by the caller once this returns. */
  update(data: Uint8Array): this;
  /** Returns the 32-byte digest. The hash must not be used afterwards. */
  digest(): Uint8Array;
}

export interface HashEngine {
  /** `wasm` (raftsnap's AssemblyScript kernel) or `native` (the runtime's own crypto). */
  readonly name: 'wasm' | 'native';
  create(): Sha256;
}

/**
 * The shared-memory layout between a hashing thread and the thread that feeds it
 * (src/node/hash-thread.ts and src/node/hash-thread-worker.ts): a control block of 32-bit
 * counters, the 32-byte digest, then a byte ring.
 *
 * The feeder copies bytes into the ring and advances WRITTEN; the hashing thread hashes them and
 * advances READ. Both counters count bytes modulo 2^32, so `(WRITTEN - READ) | 0` is the fill
 * level. Every change the feeder makes bumps SIGNAL, which the hashing thread sleeps on.
 */

export const HASH_RING = {
  /** Bytes fed into the ring (modulo 2^32). */
  WRITTEN: 0,
  /** Bytes hashed out of the ring (modulo 2^32). */
  READ: 1,
  /** Bumped by the feeder after every change; the hashing thread waits on it. */
  SIGNAL: 2,
  /** Digests requested so far: the hashing thread finishes a hash when it has hashed every byte. */
  REQUESTED: 3,
  /** Digests written to the digest area so far. */
  FINISHED: 4,
  /** Set to 1 by the hashing thread when it cannot go on (its hash threw). */
  FAILED: 5,
  /**
   * Set to 1 by the hashing thread before it sleeps; the feeder wakes it (clearing the flag) only
   * once WAKE_AT bytes wait or a digest is requested, so that a fast hashing thread is not
   * woken for every chunk.
   */
  SLEEPING: 6,
  /** Int32 slots of the control block. */
  CONTROL_SLOTS: 8,
  /** Byte offset of the 32-byte digest: after the control block. */
  DIGEST_OFFSET: 8 * 4,
  /** Byte offset of the ring: after the digest. */
  RING_OFFSET: 8 * 4 + 32,
  /** Bytes in the ring. */
  RING_BYTES: 2 * 1024 * 1024,
  /** Bytes waiting in the ring that make the feeder wake a sleeping hashing thread. */
  WAKE_AT: 256 * 1024,
  /** Size of the whole shared buffer: control block, digest and ring. */
  SHARED_BYTES: 8 * 4 + 32 + 2 * 1024 * 1024,
} as const;

export type HashRingLayout = typeof HASH_RING;

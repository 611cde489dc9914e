/**
 * The shared-memory layout between a hashing thread and the thread that feeds it
 * (src/node/hash-thread.ts and src/node/hash-thread-worker.ts): a control block of 32-bit
 * counters, the 32-byte digest, then a byte ring.
 *
 * The feeder copies bytes into the ring and advances WRITTEN; the hashing thread hashes them and
 * advances READ. Both counters count bytes modulo 2^32, so `(WRITTEN - READ) | 0` is the fill
 * level. Every change the feeder makes bumps SIGNAL, which the hashing thread sleeps on.
 */

/** Bytes fed into the ring (modulo 2^32). */
export const WRITTEN = 0;
/** Bytes hashed out of the ring (modulo 2^32). */
export const READ = 1;
/** Bumped by the feeder after every change; the hashing thread waits on it. */
export const SIGNAL = 2;
/** Digests requested so far: the hashing thread finishes a hash when it has hashed every byte. */
export const REQUESTED = 3;
/** Digests written to the digest area so far. */
export const FINISHED = 4;
/** Set to 1 by the hashing thread when it cannot go on (its hash threw). */
export const FAILED = 5;
/**
 * Set to 1 by the hashing thread before it sleeps; the feeder wakes it (clearing the flag) only
 * once {@link WAKE_AT} bytes wait or a digest is requested, so that a fast hashing thread is not
 * woken for every chunk.
 */
export const SLEEPING = 6;
/** Int32 slots of the control block. */
export const CONTROL_SLOTS = 8;
/** Byte offset of the 32-byte digest. */
export const DIGEST_OFFSET = CONTROL_SLOTS * 4;
/** Byte offset of the ring. */
export const RING_OFFSET = DIGEST_OFFSET + 32;
/** Bytes in the ring. */
export const RING_BYTES = 2 * 1024 * 1024;
/** Bytes waiting in the ring that make the feeder wake a sleeping hashing thread. */
export const WAKE_AT = 256 * 1024;
/** Size of the whole shared buffer. */
export const SHARED_BYTES = RING_OFFSET + RING_BYTES;

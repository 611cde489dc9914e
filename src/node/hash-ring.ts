/**
 * The shared-memory layout between a hashing thread and the thread that feeds it
 * (src/node/hash-thread.ts and src/node/hash-thread-worker.ts): a control block of 32-bit
 * counters, the 32-byte digest, then a byte ring.
 *
 * The feeder copies bytes into the ring and advances WRITTEN; the hashing thread hashes them and
 * advances READ. Both counters count bytes modulo 2^32, so `(WRITTEN - READ) | 0` is the fill
 * level. The hashing thread sleeps on SIGNAL when it has nothing to do; the feeder bumps it to
 * wake the thread (see SLEEPING for when).
 *
 * The hashing thread can also keep a CRC-32 of the bytes, in runs: the feeder asks for a cut at
 * a byte count by writing it to the next CUT_AT slot, whether to CRC the run after it to the same
 * CUT_KEEP slot, and advancing CUTS_REQUESTED; when the thread has hashed up to that count, it
 * writes the ended run's CRC-32 to the same CUT_CRC slot, starts the next run and advances
 * CUTS_DONE. A hash starts with a run that is not CRC'd. The feeder never has more than
 * CUT_SLOTS cuts outstanding.
 */

const CONTROL_SLOTS = 10;
const CUT_SLOTS = 64;
const RING_BYTES = 2 * 1024 * 1024;
const DIGEST_OFFSET = CONTROL_SLOTS * 4;
const CUT_AT_OFFSET = DIGEST_OFFSET + 32;
const CUT_KEEP_OFFSET = CUT_AT_OFFSET + CUT_SLOTS * 4;
const CUT_CRC_OFFSET = CUT_KEEP_OFFSET + CUT_SLOTS * 4;
const RING_OFFSET = CUT_CRC_OFFSET + CUT_SLOTS * 4;

export const HASH_RING = {
  /** Bytes fed into the ring (modulo 2^32). */
  WRITTEN: 0,
  /** Bytes hashed out of the ring (modulo 2^32). */
  READ: 1,
  /** Bumped by the feeder to wake the hashing thread, which waits on it while it sleeps. */
  SIGNAL: 2,
  /** Digests requested so far: the hashing thread finishes a hash when it has hashed every byte. */
  REQUESTED: 3,
  /** Digests written to the digest area so far. */
  FINISHED: 4,
  /** Set to 1 by the hashing thread when it cannot go on (its hash threw). */
  FAILED: 5,
  /**
   * Set to 1 by the hashing thread before it sleeps; the feeder wakes it (clearing the flag) only
   * once WAKE_AT bytes wait, a digest is requested or a cut is awaited, so that a fast hashing
   * thread is not woken for every chunk.
   */
  SLEEPING: 6,
  /** CRC-32 cuts asked for so far (modulo 2^32). */
  CUTS_REQUESTED: 7,
  /** CRC-32 cuts made so far (modulo 2^32). */
  CUTS_DONE: 8,
  /** CRC-32 of the run that the last digest ended (a digest ends the hash's last run too). */
  DIGEST_CRC: 9,
  /** Int32 slots of the control block. */
  CONTROL_SLOTS,
  /** Byte offset of the 32-byte digest: after the control block. */
  DIGEST_OFFSET,
  /** Outstanding cuts at most. */
  CUT_SLOTS,
  /** Byte offset of CUT_SLOTS Int32 byte counts (modulo 2^32) at which to cut. */
  CUT_AT_OFFSET,
  /** Byte offset of CUT_SLOTS Int32 flags: 1 when the run after that cut is to be CRC'd. */
  CUT_KEEP_OFFSET,
  /** Byte offset of CUT_SLOTS Int32 CRC-32s of the runs that those cuts ended. */
  CUT_CRC_OFFSET,
  /** Byte offset of the ring: after the cut slots. */
  RING_OFFSET,
  /** Bytes in the ring. */
  RING_BYTES,
  /** Bytes waiting in the ring that make the feeder wake a sleeping hashing thread. */
  WAKE_AT: 256 * 1024,
  /** Size of the whole shared buffer: control block, digest, cut slots and ring. */
  SHARED_BYTES: RING_OFFSET + RING_BYTES,
} as const;

export type HashRingLayout = typeof HASH_RING;

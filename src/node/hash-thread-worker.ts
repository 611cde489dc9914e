/**
 * The body of a hashing thread of src/node/hash-thread.ts: hashes with node:crypto whatever its
 * feeder copies into the shared ring (layout in src/node/hash-ring.ts), one hash after another,
 * keeps a CRC-32 of the same bytes in the runs its feeder asks for, and writes each digest and
 * run CRC back when it gets there. It sleeps while there is nothing to do.
 *
 * The thread runs this function's source text (`new Worker(source, { eval: true })`), so that it
 * needs no file of its own wherever raftsnap is installed or bundled: the function must use
 * nothing but its parameters.
 */
import type { createHash as CreateHash } from 'node:crypto';
import type { HashRingLayout } from './hash-ring.js';
import type { ZlibCrc32 } from './zlib-crc32.js';

/** What the thread is given: the shared buffer, its layout, and the libdeflate addon's path. */
export interface HashThreadData {
  shared: SharedArrayBuffer;
  slots: HashRingLayout;
  /** The addon whose CRC-32 the thread uses (src/node/libdeflate-addon.ts), if there is one. */
  addon?: string;
}

export function hashThreadMain(
  createHash: typeof CreateHash,
  /** A CRC-32 in zlib's form (undefined where there is none; the feeder then asks for no kept run). */
  crc32: ZlibCrc32 | undefined,
  data: HashThreadData,
): void {
  const { shared, slots: L } = data;
  /** Most bytes hashed before the read position advances, so that the feeder can refill early. */
  const STEP = 256 * 1024;
  const control = new Int32Array(shared, 0, L.CONTROL_SLOTS);
  const digestArea = new Uint8Array(shared, L.DIGEST_OFFSET, 32);
  const cutAt = new Int32Array(shared, L.CUT_AT_OFFSET, L.CUT_SLOTS);
  const cutKeep = new Int32Array(shared, L.CUT_KEEP_OFFSET, L.CUT_SLOTS);
  const cutCrc = new Int32Array(shared, L.CUT_CRC_OFFSET, L.CUT_SLOTS);
  const ring = new Uint8Array(shared, L.RING_OFFSET, L.RING_BYTES);
  let hash = createHash('sha256');
  let crc = 0;
  /** Whether the current run is CRC'd. */
  let keep = false;
  let finished = Atomics.load(control, L.FINISHED);
  let cutsDone = Atomics.load(control, L.CUTS_DONE);
  /** Bytes from `read` to the next cut (Infinity when no cut is outstanding). */
  const toCut = (read: number): number => {
    if (Atomics.load(control, L.CUTS_REQUESTED) === cutsDone) return Number.POSITIVE_INFINITY;
    const n = (Atomics.load(cutAt, (cutsDone >>> 0) % L.CUT_SLOTS) - read) | 0;
    if (n < 0) throw new RangeError('a cut behind the bytes already hashed');
    return n;
  };
  try {
    for (;;) {
      const signal = Atomics.load(control, L.SIGNAL);
      const read = Atomics.load(control, L.READ);
      let pending = (Atomics.load(control, L.WRITTEN) - read) | 0;
      const cut = toCut(read);
      if (cut === 0) {
        const slot = (cutsDone >>> 0) % L.CUT_SLOTS;
        Atomics.store(cutCrc, slot, crc | 0);
        crc = 0;
        keep = Atomics.load(cutKeep, slot) !== 0 && crc32 !== undefined;
        cutsDone = (cutsDone + 1) | 0;
        Atomics.store(control, L.CUTS_DONE, cutsDone);
        Atomics.notify(control, L.CUTS_DONE);
        continue;
      }
      if (cut < pending) pending = cut;
      if (pending > 0) {
        const at = (read >>> 0) % L.RING_BYTES;
        const bytes = ring.subarray(at, at + Math.min(pending, L.RING_BYTES - at, STEP));
        hash.update(bytes);
        if (keep) crc = crc32!(bytes, crc);
        Atomics.store(control, L.READ, (read + bytes.length) | 0);
        Atomics.notify(control, L.READ);
        continue;
      }
      if (Atomics.load(control, L.REQUESTED) !== finished) {
        // The feeder writes its last bytes (and cuts) before it asks for the digest, but they may
        // have come after WRITTEN was read above: look again, now that the request is seen.
        if (
          Atomics.load(control, L.WRITTEN) !== read ||
          Atomics.load(control, L.CUTS_REQUESTED) !== cutsDone
        ) {
          continue;
        }
        digestArea.set(hash.digest());
        Atomics.store(control, L.DIGEST_CRC, crc | 0);
        hash = createHash('sha256');
        crc = 0;
        keep = false;
        finished = (finished + 1) | 0;
        Atomics.store(control, L.FINISHED, finished);
        Atomics.notify(control, L.FINISHED);
        continue;
      }
      // Sleep: say so, then look once more, since the feeder may have written before it saw
      // the flag.
      Atomics.store(control, L.SLEEPING, 1);
      if (
        Atomics.load(control, L.WRITTEN) !== Atomics.load(control, L.READ) ||
        Atomics.load(control, L.REQUESTED) !== finished ||
        toCut(Atomics.load(control, L.READ)) === 0
      ) {
        Atomics.store(control, L.SLEEPING, 0);
        continue;
      }
      Atomics.wait(control, L.SIGNAL, signal);
    }
  } catch (err) {
    Atomics.store(control, L.FAILED, 1);
    Atomics.notify(control, L.READ);
    Atomics.notify(control, L.FINISHED);
    Atomics.notify(control, L.CUTS_DONE);
    // Ends the thread with an 'error' event that carries the reason to the feeder's message.
    throw err;
  }
}

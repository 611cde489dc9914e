/**
 * The body of a hashing thread of src/node/hash-thread.ts: hashes with node:crypto whatever its
 * feeder copies into the shared ring (layout in src/node/hash-ring.ts), one hash after another,
 * and writes each digest back when the feeder asks for it. It sleeps while there is nothing to do.
 *
 * The thread runs this function's source text (`new Worker(source, { eval: true })`), so that it
 * needs no file of its own wherever raftsnap is installed or bundled: the function must use
 * nothing but its parameters.
 */
import type { createHash as CreateHash } from 'node:crypto';
import type { HashRingLayout } from './hash-ring.js';

/** What the thread is given: the shared buffer and its layout. */
export interface HashThreadData {
  shared: SharedArrayBuffer;
  slots: HashRingLayout;
}

export function hashThreadMain(createHash: typeof CreateHash, data: HashThreadData): void {
  const { shared, slots: L } = data;
  /** Most bytes hashed before the read position advances, so that the feeder can refill early. */
  const STEP = 256 * 1024;
  const control = new Int32Array(shared, 0, L.CONTROL_SLOTS);
  const digestArea = new Uint8Array(shared, L.DIGEST_OFFSET, 32);
  const ring = new Uint8Array(shared, L.RING_OFFSET, L.RING_BYTES);
  let hash = createHash('sha256');
  let finished = Atomics.load(control, L.FINISHED);
  try {
    for (;;) {
      const signal = Atomics.load(control, L.SIGNAL);
      const read = Atomics.load(control, L.READ);
      const pending = (Atomics.load(control, L.WRITTEN) - read) | 0;
      if (pending > 0) {
        const at = (read >>> 0) % L.RING_BYTES;
        const n = Math.min(pending, L.RING_BYTES - at, STEP);
        hash.update(ring.subarray(at, at + n));
        Atomics.store(control, L.READ, (read + n) | 0);
        Atomics.notify(control, L.READ);
        continue;
      }
      if (Atomics.load(control, L.REQUESTED) !== finished) {
        digestArea.set(hash.digest());
        hash = createHash('sha256');
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
        Atomics.load(control, L.REQUESTED) !== finished
      ) {
        Atomics.store(control, L.SLEEPING, 0);
        continue;
      }
      Atomics.wait(control, L.SIGNAL, signal);
    }
  } catch {
    Atomics.store(control, L.FAILED, 1);
    Atomics.notify(control, L.READ);
    Atomics.notify(control, L.FINISHED);
  }
}

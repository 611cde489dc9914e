/**
 * The hashing thread of src/node/hash-thread.ts: hashes with node:crypto whatever its feeder
 * copies into the shared ring (layout in src/node/hash-ring.ts), one hash after another, and
 * writes each digest back when the feeder asks for it. It sleeps while there is nothing to do.
 */
import { createHash, type Hash } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import {
  CONTROL_SLOTS,
  DIGEST_OFFSET,
  FAILED,
  FINISHED,
  READ,
  REQUESTED,
  RING_BYTES,
  RING_OFFSET,
  SIGNAL,
  SLEEPING,
  WRITTEN,
} from './hash-ring.js';

/** Most bytes hashed before the read position advances, so that the feeder can refill early. */
const STEP = 256 * 1024;

const shared = workerData as SharedArrayBuffer;
const control = new Int32Array(shared, 0, CONTROL_SLOTS);
const digestArea = new Uint8Array(shared, DIGEST_OFFSET, 32);
const ring = new Uint8Array(shared, RING_OFFSET, RING_BYTES);

let hash: Hash = createHash('sha256');
let finished = Atomics.load(control, FINISHED);

try {
  for (;;) {
    const signal = Atomics.load(control, SIGNAL);
    const read = Atomics.load(control, READ);
    const pending = (Atomics.load(control, WRITTEN) - read) | 0;
    if (pending > 0) {
      const at = (read >>> 0) % RING_BYTES;
      const n = Math.min(pending, RING_BYTES - at, STEP);
      hash.update(ring.subarray(at, at + n));
      Atomics.store(control, READ, (read + n) | 0);
      Atomics.notify(control, READ);
      continue;
    }
    if (Atomics.load(control, REQUESTED) !== finished) {
      digestArea.set(hash.digest());
      hash = createHash('sha256');
      finished = (finished + 1) | 0;
      Atomics.store(control, FINISHED, finished);
      Atomics.notify(control, FINISHED);
      continue;
    }
    // Sleep: say so, then look once more, since the feeder may have written before it saw the flag.
    Atomics.store(control, SLEEPING, 1);
    if (
      Atomics.load(control, WRITTEN) !== Atomics.load(control, READ) ||
      Atomics.load(control, REQUESTED) !== finished
    ) {
      Atomics.store(control, SLEEPING, 0);
      continue;
    }
    Atomics.wait(control, SIGNAL, signal);
  }
} catch {
  Atomics.store(control, FAILED, 1);
  Atomics.notify(control, READ);
  Atomics.notify(control, FINISHED);
}

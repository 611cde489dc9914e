/**
 * SHA-256 by node:crypto (OpenSSL, with SHA extensions where the CPU has them), on the calling
 * thread.
 */
import { createHash } from 'node:crypto';
import type { HashEngine, HashState } from '../engines/sha256.js';

export const nodeHash: HashEngine = {
  name: 'native',
  create(): HashState {
    const h = createHash('sha256');
    const self: HashState = {
      update(data) {
        h.update(data);
        return self;
      },
      digest: () => new Uint8Array(h.digest()),
    };
    return self;
  },
};

/**
 * libdeflate's CRC-32 through raftsnap's addon (src/node/libdeflate-addon.ts): it folds with the
 * CPU's carry-less multiply, 256 MiB in some 28 ms on this project's machine against 72 ms for
 * node:zlib's `crc32`. Every gzip reader CRCs all it inflates, so on a large verify this is tens
 * of milliseconds off the busiest thread.
 */
import type { Crc32 } from '../engines/crc32.js';
import { type LibdeflateAddon, loadLibdeflateAddon } from './libdeflate-addon.js';

/**
 * Bytes CRC'd by the fallback before the addon is loaded: loading takes a few milliseconds, which
 * this many bytes repay (a small archive never loads it).
 */
export const ADDON_AFTER = 16 * 1024 * 1024;

/**
 * A CRC-32 that calls `fallback` until that has CRC'd {@link ADDON_AFTER} bytes, then
 * libdeflate's where the addon loads (else `fallback` still). Either gives the same value.
 */
export function libdeflateCrc32(fallback: Crc32): Crc32 {
  let before = 0;
  let addon: LibdeflateAddon | null | undefined;
  return (crc, data) => {
    if (addon === undefined) {
      if (before < ADDON_AFTER) {
        before += data.length;
        return fallback(crc, data);
      }
      const loaded = loadLibdeflateAddon();
      // An addon from an older build has no crc32.
      addon = typeof loaded?.crc32 === 'function' ? loaded : null;
    }
    return addon ? addon.crc32(crc, data) : fallback(crc, data);
  };
}

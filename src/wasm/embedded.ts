/**
 * Supplies every WebAssembly kernel as base64 bytes embedded in the bundle (made by the build in
 * src/wasm/generated/). Imported for its effect by every entry except the workerd one. The
 * inflate kernel is embedded as it is; the others as raw DEFLATE, inflated by that kernel when
 * they are first compiled.
 */

import { concatBytes } from '../io/bytes.js';
import { wasmDeflatedBase64 as crc32 } from './generated/crc32.js';
import { wasmBase64 as inflate } from './generated/inflate.js';
import { wasmDeflatedBase64 as sha256 } from './generated/sha256.js';
import { wasmDeflatedBase64 as tar } from './generated/tar.js';
import { loadWasmInflate } from './inflate.js';
import { provideEmbedded } from './load.js';

provideEmbedded({ inflate });
provideEmbedded({ crc32, sha256, tar }, async (deflated) => {
  const inflater = (await loadWasmInflate()).create();
  const { output, done } = inflater.write(deflated);
  inflater.close();
  if (!done) throw new Error('its embedded bytes are cut short');
  return concatBytes(output);
});

/**
 * Supplies every WebAssembly kernel as base64 bytes embedded in the bundle (made by the build in
 * src/wasm/generated/). Imported for its effect by every entry except the workerd one.
 */
import { wasmBase64 as crc32 } from './generated/crc32.js';
import { wasmBase64 as inflate } from './generated/inflate.js';
import { wasmBase64 as sha256 } from './generated/sha256.js';
import { wasmBase64 as tar } from './generated/tar.js';
import { provideEmbedded } from './load.js';

provideEmbedded({ crc32, inflate, sha256, tar });

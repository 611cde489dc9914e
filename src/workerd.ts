/// <reference path="./wasm/modules.d.ts" />
/**
 * raftsnap for Cloudflare Workers (workerd), which compiles WebAssembly only from `.wasm`
 * modules: the kernels are imported as modules and handed over before the portable entry loads
 * them (the base64 copies other entries embed are left out). Everything else is the portable
 * entry.
 */
import crc32 from './wasm/crc32.wasm';
import inflate from './wasm/inflate.wasm';
import { providePrecompiled } from './wasm/load.js';
import sha256 from './wasm/sha256.wasm';
import tar from './wasm/tar.wasm';

providePrecompiled({ crc32, inflate, sha256, tar });

export * from './portable.js';

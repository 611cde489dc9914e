/**
 * create's libdeflate path on Node: the addon (native/libdeflate-gzip.c, built by `npm run
 * build`), its contract, and the member gzip over it (one member per block, the default level's
 * stored blocks, bounded read-ahead, reuse), plus which engine choice uses it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { gunzipSync, crc32 as zlibCrc32 } from 'node:zlib';
import type { Crc32 } from '../src/engines/crc32.js';
import { nodeEngines } from '../src/node/engines.js';
import { libdeflateAddonFile, wholeElf } from '../src/node/libdeflate-addon.js';
import { ADDON_AFTER, libdeflateCrc32 } from '../src/node/libdeflate-crc32.js';
import { libdeflateGzip, loadLibdeflate } from '../src/node/libdeflate-gzip.js';
import { deflateBlockSize, deflateLanes, parallelGzip } from '../src/node/parallel-gzip.js';
import {
  chunked,
  concat,
  gzipMemberLengths,
  pseudoRandom,
  records,
  sha256hex,
} from './support/bytes.js';

const addon = loadLibdeflate();

/**
 * Lines of a child process's script: CRC 20 MiB (past the 16 MiB after which the auto engine
 * takes the addon's CRC-32) with the auto engine of the engines module at `url` and with
 * node:zlib, leaving `sameCrc` true when the two agree.
 */
const crcPast16MiB = (url: string) => `
  const { crc32: zlibCrc } = await import('node:zlib');
  const autoCrc = (await (await import(${JSON.stringify(url)})).nodeEngines('auto')).crc32;
  const mib = new Uint8Array(1 << 20).map((_, i) => i % 251);
  let c = 0;
  let z = 0;
  for (let i = 0; i < 20; i++) { c = autoCrc(c, mib); z = zlibCrc(mib, z); }
  const sameCrc = c === z;`;

/** `data` compressed by `gzip` at level 6, in one array. */
async function gzipWith(
  gzip: (input: AsyncIterable<Uint8Array>, level: number) => AsyncIterable<Uint8Array>,
  data: Uint8Array,
): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  for await (const c of gzip(chunked(data, 65536), 6)) out.push(c.slice());
  return concat(...out);
}

describe('libdeflate addon', () => {
  test('the build made it and it loads (CI installs a C compiler and libdeflate-dev)', () => {
    assert.ok(addon, 'dist/native/libdeflate-gzip.node was not built or does not load');
    assert.match(addon.version, /^1\.\d+/);
  });

  test('the auto engine compresses with it; native and wasm keep node:zlib', async () => {
    assert.ok(addon);
    const data = records(300_000);
    const byAddon = await gzipWith(libdeflateGzip(addon), data);
    assert.notDeepEqual(byAddon, await gzipWith(parallelGzip, data));
    assert.deepEqual(await gzipWith((await nodeEngines('auto')).gzip, data), byAddon);
    assert.equal((await nodeEngines('native')).gzip, parallelGzip);
    assert.equal((await nodeEngines('wasm')).gzip, parallelGzip);
  });

  test('the auto engine loads it at its first compression, or once its CRC-32 has seen 16 MiB; not before', () => {
    const run = (steps: string) => {
      const script = `
        const { nodeEngines } = await import(${JSON.stringify(new URL('../src/node/engines.js', import.meta.url).href)});
        const { createRequire } = await import('node:module');
        const cache = createRequire(process.cwd() + '/').cache;
        const loaded = () => Object.keys(cache).some((f) => f.endsWith('.node'));
        const seen = [];
        const { gzip, crc32 } = await nodeEngines('auto');
        seen.push(loaded());
        ${steps}
        console.log(seen.join(' '));`;
      return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      }).trim();
    };
    const compress = `
      for await (const _ of gzip((async function* () { yield new Uint8Array(10); })(), 6)) {}
      seen.push(loaded());`;
    assert.equal(run(compress), 'false true');
    const crc = `
      const mib = new Uint8Array(1 << 20);
      let c = 0;
      for (let i = 0; i < 16; i++) c = crc32(c, mib);
      seen.push(loaded());
      c = crc32(c, mib);
      seen.push(loaded());`;
    assert.equal(run(crc), 'false false true');
  });

  test("crc32 is gzip's CRC-32 (zlib's value), continues from any earlier value, reads shared memory, and refuses arguments of the wrong kind", () => {
    assert.ok(addon);
    const data = concat(records(200_000), pseudoRandom(100_003, 3));
    assert.equal(addon.crc32(0, data), zlibCrc32(data));
    assert.equal(addon.crc32(0, new Uint8Array(0)), 0);
    for (const cut of [0, 1, 4095, 150_000]) {
      const first = addon.crc32(0, data.subarray(0, cut));
      assert.equal(addon.crc32(first, data.subarray(cut)), zlibCrc32(data), `cut at ${cut}`);
      // A value in int32 form (crc | 0) continues the same.
      assert.equal(addon.crc32(first | 0, data.subarray(cut)), zlibCrc32(data), `cut at ${cut}`);
    }
    const shared = new Uint8Array(new SharedArrayBuffer(data.length + 7), 7);
    shared.set(data);
    assert.equal(addon.crc32(0, shared), zlibCrc32(data));
    assert.throws(() => addon.crc32('0' as never, data), TypeError);
    assert.throws(() => addon.crc32(0, [1, 2] as never), TypeError);
    assert.throws(() => addon.crc32(0, new Uint32Array(4) as never), TypeError);
    assert.throws(() => (addon.crc32 as (...a: unknown[]) => unknown)(0), TypeError);
  });

  test('the CRC-32 over it calls its fallback for the first 16 MiB, then the addon; the values are the same throughout', () => {
    let fallbackBytes = 0;
    const counted: Crc32 = (crc, data) => {
      fallbackBytes += data.length;
      return zlibCrc32(data, crc);
    };
    const crc32 = libdeflateCrc32(counted);
    const data = records(3 << 20);
    let c = 0;
    let z = 0;
    for (let i = 0; i < 7; i++) {
      c = crc32(c, data);
      z = zlibCrc32(data, z);
      assert.equal(c, z, `after ${i + 1} arrays`);
    }
    assert.equal(ADDON_AFTER, 16 << 20);
    assert.equal(fallbackBytes, 6 * data.length, 'the fallback stopped once it had done 16 MiB');
  });

  test('a hashing thread loads it for the CRC-32 of what it hashes (the calling thread does not)', () => {
    const script = (hidden: boolean) => `
      const { prewarmHashThread, firstHashThreadStarted } = await import(${JSON.stringify(new URL('../src/node/hash-thread.js', import.meta.url).href)});
      const { readFileSync } = await import('node:fs');
      const { createRequire } = await import('node:module');
      prewarmHashThread();
      // The thread is unreferenced: a timer keeps the process alive until it has started.
      const alive = setTimeout(() => {}, 60_000);
      await firstHashThreadStarted;
      clearTimeout(alive);
      const cache = createRequire(process.cwd() + '/').cache;
      const mapped = readFileSync('/proc/self/maps', 'utf8').includes('libdeflate-gzip.node');
      console.log(Object.keys(cache).some((f) => f.endsWith('.node')), mapped, ${hidden});`;
    for (const hidden of [false, true]) {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script(hidden)], {
        env: { ...process.env, RAFTSNAP_LIBDEFLATE: hidden ? '0' : '1' },
        encoding: 'utf8',
      });
      assert.equal(out.trim(), `false ${!hidden} ${hidden}`);
    }
  });

  test('RAFTSNAP_LIBDEFLATE=0 hides it, and the auto engine then uses node:zlib for gzip and CRC-32', () => {
    const script = `
      const { loadLibdeflate } = await import(${JSON.stringify(new URL('../src/node/libdeflate-gzip.js', import.meta.url).href)});
      const { nodeEngines } = await import(${JSON.stringify(new URL('../src/node/engines.js', import.meta.url).href)});
      const { parallelGzip } = await import(${JSON.stringify(new URL('../src/node/parallel-gzip.js', import.meta.url).href)});
      const gz = async (c) => { const out = []; for await (const x of c((async function* () { yield new Uint8Array(300000).map((_, i) => i % 251); })(), 6)) out.push(Buffer.from(x)); return Buffer.concat(out).toString('hex'); };
      ${crcPast16MiB(new URL('../src/node/engines.js', import.meta.url).href)}
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(process.cwd() + '/').cache).some((f) => f.endsWith('.node'));
      console.log(loadLibdeflate() === undefined, (await gz((await nodeEngines('auto')).gzip)) === (await gz(parallelGzip)), sameCrc, loaded);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, RAFTSNAP_LIBDEFLATE: '0' },
      encoding: 'utf8',
    });
    assert.equal(out.trim(), 'true true true false');
  });

  test('an addon file cut short is not loaded: wholeElf says so, and a large CRC-32 or a hashing thread then uses node:zlib (loading it would kill the process with SIGBUS)', () => {
    const file = libdeflateAddonFile();
    assert.ok(file, 'the addon was not built');
    const whole = readFileSync(file);
    assert.equal(wholeElf(file), true);
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const copy = join(root, 'build', `test-cut-addon-${process.pid}`);
    try {
      mkdirSync(join(copy, 'dist', 'native'), { recursive: true });
      cpSync(join(root, 'dist', 'src'), join(copy, 'dist', 'src'), { recursive: true });
      const cut = join(copy, 'dist', 'native', 'libdeflate-gzip.node');
      for (const length of [64, 3000, whole.length >> 1, whole.length - 1]) {
        writeFileSync(cut, whole.subarray(0, length));
        assert.equal(wholeElf(cut), false, `cut at ${length}`);
      }
      writeFileSync(cut, 'not an object file');
      assert.equal(wholeElf(cut), true, 'not ELF: left to the loader, which throws');
      writeFileSync(cut, whole.subarray(0, 3000));
      const script = `
        ${crcPast16MiB(pathToFileURL(join(copy, 'dist', 'src', 'node', 'engines.js')).href)}
        const { prewarmHashThread, firstHashThreadStarted } = await import(${JSON.stringify(pathToFileURL(join(copy, 'dist', 'src', 'node', 'hash-thread.js')).href)});
        const { readFileSync } = await import('node:fs');
        const alive = setTimeout(() => {}, 60_000);
        prewarmHashThread();
        await firstHashThreadStarted;
        clearTimeout(alive);
        console.log(sameCrc, readFileSync('/proc/self/maps', 'utf8').includes('libdeflate-gzip.node'));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      assert.equal(out.trim(), 'true false');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('one call is one whole gzip member of its input, at levels 0 to 12', async () => {
    assert.ok(addon);
    const data = concat(records(300_000), pseudoRandom(50_000, 5));
    for (const level of [0, 1, 6, 9, 12]) {
      const out: Uint8Array = new Uint8Array(addon.gzipBound(data.length));
      const n = await addon.gzipMember(data, level, out);
      assert.ok(n > 18 && n <= out.length, `level ${level}: ${n}`);
      assert.deepEqual(gzipMemberLengths(out.subarray(0, n)), [n]);
      assert.equal(sha256hex(new Uint8Array(gunzipSync(out.subarray(0, n)))), sha256hex(data));
    }
  });

  test('overlapping input and output are refused; adjacent views of one buffer are not', async () => {
    assert.ok(addon);
    const buffer = new Uint8Array(200_000);
    buffer.set(records(100_000));
    const input = buffer.subarray(0, 100_000);
    assert.throws(() => addon.gzipMember(input, 6, input), RangeError);
    assert.throws(() => addon.gzipMember(input, 6, buffer.subarray(99_999)), RangeError);
    assert.throws(() => addon.gzipMember(buffer.subarray(50_000, 150_000), 6, buffer), RangeError);
    const n = await addon.gzipMember(input, 6, buffer.subarray(100_000));
    assert.ok(n > 0);
    assert.deepEqual(new Uint8Array(gunzipSync(buffer.subarray(100_000, 100_000 + n))), input);
  });

  test('loads and compresses in a worker thread too (a second Node-API environment)', async () => {
    const url = new URL('../src/node/libdeflate-gzip.js', import.meta.url).href;
    const source = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then(async ({ loadLibdeflate }) => {
        const addon = loadLibdeflate();
        const data = new Uint8Array(100000).fill(7);
        const out = new Uint8Array(addon.gzipBound(data.length));
        const n = await addon.gzipMember(data, 6, out);
        parentPort.postMessage(require('node:zlib').gunzipSync(out.subarray(0, n)).length);
      });`;
    const worker = new Worker(source, { eval: true });
    const [length] = (await once(worker, 'message')) as [number];
    await worker.terminate();
    assert.equal(length, 100_000);
  });

  test('the library loaded here makes a compressor for every level create uses', () => {
    assert.ok(addon);
    assert.equal(addon.checkLevels(), true);
  });

  test('empty input is a valid empty member; an output too small resolves to 0', async () => {
    assert.ok(addon);
    const out = new Uint8Array(addon.gzipBound(0));
    const n = await addon.gzipMember(new Uint8Array(0), 6, out);
    assert.equal(gunzipSync(out.subarray(0, n)).length, 0);
    assert.equal(await addon.gzipMember(records(100_000), 6, new Uint8Array(100)), 0);
  });

  test('wrong arguments throw at the call: level not an integer 0-12, not a Uint8Array, missing', () => {
    assert.ok(addon);
    const out = new Uint8Array(100);
    for (const level of [13, -1, Number.NaN, Infinity, -0.5, 12.5, 2 ** 32 + 6]) {
      assert.throws(() => addon.gzipMember(new Uint8Array(1), level, out), RangeError, `${level}`);
    }
    assert.throws(() => addon.gzipMember('abc' as never, 6, out), TypeError);
    assert.throws(
      () => addon.gzipMember(new Uint8Array(1), 6, new Uint16Array(4) as never),
      TypeError,
    );
    assert.throws(
      () => (addon.gzipMember as (...a: unknown[]) => unknown)(new Uint8Array(1)),
      TypeError,
    );
    assert.throws(() => addon.gzipBound(-1), TypeError);
    assert.ok(addon.gzipBound(1 << 21) >= (1 << 21) + 18);
  });
});

describe('libdeflate member gzip', () => {
  const block = deflateBlockSize(deflateLanes());
  const gzip = addon ? libdeflateGzip(addon) : undefined;

  /** Each chunk the compressor yields, copied when taken. */
  async function chunksOf(data: Uint8Array, level: number, reuse = false): Promise<Uint8Array[]> {
    assert.ok(gzip, 'the addon is not built');
    const chunks: Uint8Array[] = [];
    for await (const c of gzip(chunked(data, 100_000), level, reuse)) chunks.push(c.slice());
    return chunks;
  }

  test('every block becomes one member that gunzips alone; all of them read as one stream', async () => {
    const data = concat(records(block + 5), pseudoRandom(block, 9), records(block / 2));
    for (const level of [-1, 0, 1, 6, 9]) {
      const chunks = await chunksOf(data, level);
      assert.equal(chunks.length, Math.ceil(data.length / block), `level ${level}`);
      chunks.forEach((c, i) => {
        const plain = new Uint8Array(gunzipSync(c));
        assert.deepEqual(plain, data.subarray(i * block, (i + 1) * block), `member ${i}`);
      });
      assert.equal(sha256hex(new Uint8Array(gunzipSync(concat(...chunks)))), sha256hex(data));
    }
  });

  test('input of whole blocks gets no empty member at its end; empty input gets one', async () => {
    assert.equal((await chunksOf(records(2 * block), -1)).length, 2);
    const empty = await chunksOf(new Uint8Array(0), -1);
    assert.equal(empty.length, 1);
    assert.equal(gunzipSync(empty[0]!).length, 0);
  });

  test('the default level stores random-looking blocks that do not repeat and deflates the rest; level 6 deflates all', async () => {
    const random = pseudoRandom(2 * block, 3);
    const stored = concat(...(await chunksOf(random, -1)));
    assert.ok(stored.length > random.length && stored.length < random.length * 1.001 + 100);
    // 16 KiB of random bytes over and over: random by its bytes, but it repeats, and the default
    // level deflates it as level 6 does.
    const tile = pseudoRandom(16 * 1024, 4);
    const repeated = concat(...Array.from({ length: 128 }, () => tile));
    assert.ok(concat(...(await chunksOf(repeated, -1))).length < repeated.length / 20);
    assert.ok(concat(...(await chunksOf(repeated, 6))).length < repeated.length / 20);
    const text = records(2 * block);
    assert.ok(concat(...(await chunksOf(text, -1))).length < text.length / 10);
  });

  test('with reuse, output memory is recycled and every chunk is right when taken', async () => {
    assert.ok(gzip);
    const data = concat(records(2 * block), pseudoRandom(2 * block + 7, 6), records(block));
    const buffers = new Set<ArrayBufferLike>();
    const parts: Uint8Array[] = [];
    for await (const c of gzip(chunked(data, 65_536), -1, true)) {
      buffers.add(c.buffer);
      parts.push(c.slice());
    }
    assert.deepEqual(new Uint8Array(gunzipSync(concat(...parts))), data);
    assert.ok(buffers.size < parts.length, `${buffers.size} buffers for ${parts.length} chunks`);
  });

  test('reads at most its queue ahead of the consumer, and stops the input when the consumer does', async () => {
    assert.ok(gzip);
    let pulled = 0;
    let closed = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      const chunk = records(256 * 1024);
      try {
        for (;;) {
          pulled += chunk.length;
          yield chunk;
        }
      } finally {
        closed = true;
      }
    }
    const it = gzip(endless(), -1)[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false);
    // 10 MiB of queued blocks, the block being filled, and one chunk beyond.
    const bound = Math.max(10 * 1024 * 1024, (deflateLanes() + 1) * block) + block + 256 * 1024;
    assert.ok(pulled <= bound, `pulled ${pulled} > ${bound}`);
    await it.return?.(undefined);
    assert.ok(closed, 'the input was told to stop');
  });

  test('an input that fails rejects the iteration with its error', async () => {
    assert.ok(gzip);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield records(3 * block);
      throw new Error('disk gone');
    }
    await assert.rejects(async () => {
      for await (const _ of gzip(failing(), -1)) {
        // drain
      }
    }, /disk gone/);
  });
});

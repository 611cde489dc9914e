import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Sha256 } from '../src/engines/sha256.js';
import { isSnapshotError } from '../src/errors.js';
import '../src/wasm/embedded.js';
import { createSha256, loadWasmSha256, type WasmSha256Engine } from '../src/wasm/sha256.js';
import { xorshift32 } from './support/bytes.js';

const MiB = 1 << 20;
/** The kernel's input region is 1 MiB; chunks above it are fed in pieces. */
const INPUT_REGION = MiB;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const reference = (chunks: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

/** Integers below `n` from a xorshift32 sequence, so that failures can be reproduced. */
function rng(seed: number): (n: number) => number {
  const next = xorshift32(seed);
  return (n) => next() % n;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/** Splits data into chunks of the given sizes (the last one takes the rest). */
function split(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  for (const size of sizes) {
    out.push(data.subarray(off, Math.min(off + size, data.length)));
    off = Math.min(off + size, data.length);
  }
  out.push(data.subarray(off));
  return out;
}

/** The engine's gc() when it can be exposed at run time (V8), so finalizers get to run. */
function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function wasmHex(engine: WasmSha256Engine, chunks: Uint8Array[]): string {
  const h = engine.create();
  for (const c of chunks) assert.equal(h.update(c), h);
  return hex(h.digest());
}

const engine = await loadWasmSha256();

describe('WebAssembly SHA-256', () => {
  it('is the wasm engine', () => {
    assert.equal(engine.name, 'wasm');
  });

  describe('FIPS 180-4 / NIST vectors', () => {
    const vectors: [string, Uint8Array, string][] = [
      [
        'empty',
        new Uint8Array(0),
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      ],
      ['abc', ascii('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [
        '448-bit message',
        ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
        '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
      ],
      [
        '896-bit message',
        ascii(
          'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
        ),
        'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
      ],
      [
        "one million 'a'",
        new Uint8Array(1_000_000).fill(0x61),
        'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
      ],
    ];
    for (const [name, msg, want] of vectors) {
      it(`${name} in one update`, () => {
        assert.equal(wasmHex(engine, [msg]), want);
      });
      it(`${name} byte by byte and in odd pieces`, () => {
        if (msg.length <= 1000) {
          assert.equal(
            wasmHex(
              engine,
              Array.from(msg, (_, i) => msg.subarray(i, i + 1)),
            ),
            want,
          );
        }
        assert.equal(wasmHex(engine, split(msg, [0, 3, 0, 61, 1, 55, 9, 64, 1000])), want);
      });
    }

    it('createSha256() hashes too', async () => {
      const h: Sha256 = await createSha256();
      assert.equal(
        hex(h.update(ascii('a')).update(ascii('bc')).digest()),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
    });
  });

  describe('against node:crypto', () => {
    it('every length 0..300 in one update', () => {
      const data = randomBytes(300, 1);
      for (let n = 0; n <= 300; n++) {
        const msg = data.subarray(0, n);
        assert.equal(wasmHex(engine, [msg]), reference([msg]), `length ${n}`);
      }
    });

    it('every two-update split of every length 0..160', () => {
      const data = randomBytes(160, 2);
      for (let n = 0; n <= 160; n++) {
        const msg = data.subarray(0, n);
        const want = reference([msg]);
        for (let cut = 0; cut <= n; cut++) {
          assert.equal(wasmHex(engine, split(msg, [cut])), want, `length ${n} cut ${cut}`);
        }
      }
    });

    it('chunks that leave 55, 56, 63, 64 or 65 bytes buffered, and empty updates', () => {
      const data = randomBytes(4096, 3);
      const patterns = [
        [55, 1, 8, 0, 55, 9],
        [56, 0, 8, 56],
        [63, 1, 63, 2, 63],
        [64, 0, 0, 64, 64],
        [65, 63, 65, 127, 129],
        [1, 54, 1, 7, 120, 200],
        [0, 0, 0],
        [119, 8, 55, 200, 63, 64, 65],
      ];
      for (const pattern of patterns) {
        for (const total of [55, 56, 63, 64, 65, 119, 120, 128, 1000, 4096]) {
          const msg = data.subarray(0, total);
          assert.equal(
            wasmHex(engine, split(msg, pattern)),
            reference([msg]),
            `pattern ${pattern} total ${total}`,
          );
        }
      }
    });

    it('random inputs with random chunkings', () => {
      for (let seed = 1; seed <= 200; seed++) {
        const r = rng(seed);
        const msg = randomBytes(r(seed % 10 === 0 ? 300_000 : 5000), seed);
        const sizes: number[] = [];
        for (let left = msg.length; left > 0; ) {
          const kind = r(4);
          const size =
            kind === 0 ? 0 : kind === 1 ? r(70) : kind === 2 ? 64 * r(4) + r(3) - 1 : r(9000);
          sizes.push(Math.max(0, size));
          left -= Math.max(0, size);
        }
        const chunks = split(msg, sizes);
        assert.equal(wasmHex(engine, chunks), reference([msg]), `seed ${seed}`);
      }
    });

    it('chunks larger than the input region, aligned and not', () => {
      const msg = randomBytes(3 * INPUT_REGION + 1234, 4);
      const want = reference([msg]);
      assert.equal(wasmHex(engine, [msg]), want);
      assert.equal(wasmHex(engine, split(msg, [5, INPUT_REGION, 2 * INPUT_REGION + 1])), want);
      assert.equal(wasmHex(engine, split(msg, [INPUT_REGION - 1, INPUT_REGION + 2, 63])), want);
      assert.equal(wasmHex(engine, split(msg, [INPUT_REGION + 64, 1, INPUT_REGION * 2])), want);
    });

    it('inputs of several MiB in random chunks', () => {
      const msg = randomBytes(9 * MiB + 77, 5);
      const want = reference([msg]);
      for (let seed = 1; seed <= 3; seed++) {
        const r = rng(seed * 7919);
        const sizes: number[] = [];
        for (let left = msg.length; left > 0; ) {
          const size = r(2) === 0 ? r(3 * MiB) : r(100_000);
          sizes.push(size);
          left -= size;
        }
        assert.equal(wasmHex(engine, split(msg, sizes)), want, `seed ${seed}`);
      }
    });

    it('views into larger buffers (non-zero byteOffset)', () => {
      const backing = randomBytes(10_000, 6);
      const msg = backing.subarray(13, 9_013);
      assert.equal(wasmHex(engine, split(msg, [7, 100, 3000])), reference([msg]));
    });
  });

  describe('several contexts', () => {
    it('interleaved hashes do not disturb each other', () => {
      const r = rng(99);
      const inputs = Array.from({ length: 7 }, (_, i) => randomBytes(200_000 + 977 * i, 100 + i));
      const hashes = inputs.map(() => engine.create());
      const offsets = inputs.map(() => 0);
      for (let active = inputs.length; active > 0; ) {
        const i = r(inputs.length);
        if (offsets[i] >= inputs[i].length) continue;
        const size = r(4) === 0 ? r(70_000) : r(200);
        const end = Math.min(inputs[i].length, offsets[i] + size);
        hashes[i].update(inputs[i].subarray(offsets[i], end));
        offsets[i] = end;
        if (end === inputs[i].length) active--;
      }
      hashes.forEach((h, i) => {
        assert.equal(hex(h.digest()), reference([inputs[i]]), `hash ${i}`);
      });
    });

    it('thousands of live contexts (memory growth) and context reuse', () => {
      const count = 3000;
      const msgs = Array.from({ length: count }, (_, i) => randomBytes(i % 150, 1000 + i));
      const hashes = msgs.map(() => engine.create());
      for (let i = count - 1; i >= 0; i--) hashes[i].update(msgs[i].subarray(0, i % 70));
      // A big update after the memory grew.
      const big = randomBytes(2 * INPUT_REGION + 5, 7);
      const bigHash = engine.create().update(big);
      for (let i = 0; i < count; i++) hashes[i].update(msgs[i].subarray(i % 70));
      for (let i = 0; i < count; i += 2)
        assert.equal(hex(hashes[i].digest()), reference([msgs[i]]));
      // Freed contexts are reused by new hashes, which must start from a clean state.
      const again = msgs.slice(0, 1500).map((m) => engine.create().update(m));
      for (let i = 1; i < count; i += 2)
        assert.equal(hex(hashes[i].digest()), reference([msgs[i]]));
      again.forEach((h, i) => {
        assert.equal(hex(h.digest()), reference([msgs[i]]));
      });
      assert.equal(hex(bigHash.digest()), reference([big]));
    });

    it('abandoned hashes are reclaimed without corrupting live ones', async () => {
      const gc = exposeGc();
      assert.ok(gc, 'gc() could not be exposed: nothing would be collected here');
      const live = Array.from({ length: 50 }, (_, i) => engine.create().update(randomBytes(i, i)));
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 2000; i++) engine.create().update(randomBytes(i % 100, i));
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const fresh = Array.from({ length: 3000 }, (_, i) =>
        engine.create().update(randomBytes(i % 90, i)),
      );
      live.forEach((h, i) => {
        assert.equal(hex(h.digest()), reference([randomBytes(i, i)]));
      });
      fresh.forEach((h, i) => {
        assert.equal(hex(h.digest()), reference([randomBytes(i % 90, i)]));
      });
    });
  });

  describe('misuse', () => {
    it('update after digest throws', () => {
      const h = engine.create().update(ascii('abc'));
      h.digest();
      assert.throws(() => h.update(ascii('x')), isSnapshotError);
      assert.throws(() => h.update(new Uint8Array(0)), isSnapshotError);
    });

    it('digest twice throws', () => {
      const h = engine.create();
      h.digest();
      assert.throws(() => h.digest(), isSnapshotError);
    });

    it('a used-up hash does not affect later hashes', () => {
      const h = engine.create().update(ascii('abc'));
      h.digest();
      assert.throws(() => h.update(ascii('more')));
      assert.equal(
        wasmHex(engine, [ascii('abc')]),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
    });
  });
});

describe('createSha256().update', () => {
  it('refuses what is not bytes (TypedArray.set would hash a string as zeros) and takes the bytes of another realm', async () => {
    const h = await createSha256();
    assert.throws(
      () => h.update('abc' as never),
      (err: unknown) =>
        isSnapshotError(err) &&
        err.code === 'INVALID_ARGUMENT' &&
        /takes a Uint8Array, got string$/.test(err.message),
    );
    assert.throws(() => h.update([1, 2, 3] as never), { code: 'INVALID_ARGUMENT' });
    const foreign = runInNewContext('new Uint8Array([97, 98, 99])') as Uint8Array;
    assert.equal(foreign instanceof Uint8Array, false, 'the array is of another realm');
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    assert.equal(hex(h.update(foreign).digest()), createHash('sha256').update('abc').digest('hex'));
  });
});

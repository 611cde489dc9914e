/**
 * The writing side's building blocks in Node: DEFLATE stored blocks, the compressibility guess,
 * parallel gzip (default level vs an explicit one, reused output), and the file reader and
 * writer that feed it (read-ahead, write-behind).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import { looksIncompressible } from '../src/engines/compressibility.js';
import { crc32 } from '../src/engines/crc32.js';
import { memberGzip } from '../src/engines/member-gzip.js';
import { encodeStored, STORED_BLOCK_MAX, storedSize } from '../src/format/deflate-stored.js';
import {
  createAtomicFile,
  fileChunksReused,
  onLocalFileSystem,
  readBuffers,
} from '../src/node/files.js';
import { deflateBlockSize, deflateLanes, parallelGzip } from '../src/node/parallel-gzip.js';
import { chunked, concat, pseudoRandom, records, sha256hex } from './support/bytes.js';
import { withTempDir } from './support/temp.js';

/** Gzips `data` with parallelGzip; with `reuse`, copies each chunk before asking for the next. */
async function pgzip(data: Uint8Array, level: number, reuse = false): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of parallelGzip(chunked(data, 100_000), level, reuse)) {
    parts.push(reuse ? c.slice() : c);
  }
  return concat(...parts);
}

describe('DEFLATE stored blocks', () => {
  test('inflate to the input at every size around the 65535-byte block limit', () => {
    for (const n of [
      0,
      1,
      100,
      STORED_BLOCK_MAX - 1,
      STORED_BLOCK_MAX,
      STORED_BLOCK_MAX + 1,
      200_000,
    ]) {
      const data = pseudoRandom(n, n + 1);
      const enc = encodeStored(data, true);
      assert.equal(enc.length, storedSize(n), `size of ${n}`);
      assert.deepEqual(new Uint8Array(inflateRawSync(enc)), data, `round trip of ${n}`);
    }
  });

  test('only the last block of a final encoding has BFINAL; a non-final one needs more data', () => {
    const data = pseudoRandom(STORED_BLOCK_MAX * 2 + 10);
    const fin = encodeStored(data, true);
    assert.equal(fin[0], 0);
    assert.equal(fin[5 + STORED_BLOCK_MAX], 0);
    assert.equal(fin[2 * (5 + STORED_BLOCK_MAX)], 1);
    const open = encodeStored(data, false);
    assert.throws(() => inflateRawSync(open), /unexpected end/);
    assert.deepEqual(
      new Uint8Array(inflateRawSync(concat(open, encodeStored(new Uint8Array(0), true)))),
      data,
    );
  });

  test('writes into a given buffer, and refuses one too small', () => {
    const data = pseudoRandom(1000);
    const out = new Uint8Array(2000);
    const enc = encodeStored(data, true, out);
    assert.equal(enc.buffer, out.buffer);
    assert.deepEqual(new Uint8Array(inflateRawSync(enc)), data);
    assert.throws(() => encodeStored(data, true, new Uint8Array(1004)), RangeError);
  });
});

describe('compressibility guess', () => {
  test('random bytes look incompressible; text, zeros and short blocks do not', () => {
    assert.equal(looksIncompressible(pseudoRandom(512 * 1024)), true);
    assert.equal(looksIncompressible(records(512 * 1024)), false);
    assert.equal(looksIncompressible(new Uint8Array(512 * 1024)), false);
    assert.equal(looksIncompressible(pseudoRandom(12 * 1024 - 1)), false);
  });

  test('random records drawn from a small set are deflated: their bytes look random, but repeat within the window', () => {
    const pool = Array.from({ length: 64 }, (_, i) => pseudoRandom(97, 100 + i));
    const pick = pseudoRandom(8000, 5);
    const block = concat(...Array.from(pick, (r) => pool[r & 63]));
    assert.equal(looksIncompressible(block), false);
    // The same records each written once: nothing repeats, and it is stored.
    assert.equal(looksIncompressible(pseudoRandom(block.length, 6)), true);
  });

  test('random records behind the same 40-byte key are deflated, however the records line up', () => {
    const key = pseudoRandom(40, 77);
    for (const size of [216, 233]) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 2500; i++) parts.push(key, pseudoRandom(size, 3000 + i));
      assert.equal(looksIncompressible(concat(...parts)), false, `records of ${size} bytes`);
    }
  });

  test("ciphertext between short repeated framing (Vault's keys and lengths) is still stored", () => {
    const key = new TextEncoder().encode('logical/6f1c');
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 1300; i++) parts.push(key, pseudoRandom(400, 1000 + i));
    assert.equal(looksIncompressible(concat(...parts)), true);
  });

  test('a block that is random only at its start is deflated', () => {
    const block = concat(pseudoRandom(8192), records(512 * 1024 - 8192));
    assert.equal(looksIncompressible(block), false);
  });
});

describe('parallel gzip', () => {
  // Two and a half blocks and some: whole blocks, a short last one, and dictionaries between.
  const block = deflateBlockSize(deflateLanes());
  const random = pseudoRandom(Math.floor(2.5 * block) + 12_345, 7);
  const text = records(Math.floor(2.5 * block) + 777);

  test('blocks are 2 MiB up to 2 cores, 1 MiB up to 4 and 512 KiB beyond', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 64].map(deflateBlockSize),
      [2, 2, 1, 1, 0.5, 0.5].map((m) => m * 1024 * 1024),
    );
  });

  test('one gzip member that any gzip reader reads back, at every level', async () => {
    for (const level of [-1, 0, 1, 6, 9]) {
      for (const data of [random, text, concat(text, random, text)]) {
        const gz = await pgzip(data, level);
        assert.equal(sha256hex(new Uint8Array(gunzipSync(gz))), sha256hex(data), `level ${level}`);
      }
    }
  });

  test('the default level stores random-looking blocks: the archive is the input plus framing', async () => {
    const gz = await pgzip(random, -1);
    // 10-byte header, 8-byte trailer; 65535-byte stored blocks (+5 bytes each) per whole block,
    // and the short last block deflated by zlib (which stores random data, + 5 bytes per block).
    assert.ok(gz.length > random.length, `${gz.length} > ${random.length}`);
    assert.ok(gz.length < random.length * 1.001 + 100, `${gz.length} within 0.1 % of the input`);
    assert.ok((await pgzip(text, -1)).length < text.length / 10, 'text is deflated');
  });

  test('an explicit level deflates every block, even random-looking data that repeats where the guess does not look', async () => {
    // 16 KiB of random bytes over and over, but for unrepeated bytes around the middle, where the
    // guess looks for repeats: high byte entropy everywhere, yet DEFLATE finds the repeats.
    const tile = pseudoRandom(16 * 1024, 3);
    const repeated = new Uint8Array(block);
    for (let at = 0; at < block; at += tile.length) repeated.set(tile.subarray(0, block - at), at);
    repeated.set(pseudoRandom(80 * 1024, 9), (block >> 1) - 40 * 1024);
    const byDefault = await pgzip(repeated, -1);
    const level6 = await pgzip(repeated, 6);
    assert.ok(
      byDefault.length > repeated.length,
      'the default level stored it (the documented guess)',
    );
    assert.ok(level6.length < repeated.length / 5, `level 6 deflated it: ${level6.length}`);
    assert.deepEqual(new Uint8Array(gunzipSync(level6)), repeated);
  });

  test('with reuse, output memory is recycled and every chunk is right when taken', async () => {
    const data = concat(random, text, random);
    const buffers = new Set<ArrayBufferLike>();
    let chunks = 0;
    const parts: Uint8Array[] = [];
    for await (const c of parallelGzip(chunked(data, 65_536), -1, true)) {
      buffers.add(c.buffer);
      chunks++;
      parts.push(c.slice());
    }
    assert.deepEqual(new Uint8Array(gunzipSync(concat(...parts))), data);
    assert.ok(buffers.size < chunks, `${buffers.size} buffers for ${chunks} chunks`);
  });

  test('without reuse, every chunk stays intact after later ones are produced', async () => {
    const data = concat(random, random);
    const kept: Uint8Array[] = [];
    for await (const c of parallelGzip(chunked(data, 65_536), -1)) kept.push(c);
    assert.deepEqual(new Uint8Array(gunzipSync(concat(...kept))), data);
  });
});

describe('portable member gzip', () => {
  async function members(data: Uint8Array): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const c of memberGzip(chunked(data, 100_000), crc32)) parts.push(c);
    return concat(...parts);
  }

  /** True when a gzip member header starts at `at`. */
  const startsWithMagic = (gz: Uint8Array, at: number) => gz[at] === 0x1f && gz[at + 1] === 0x8b;

  test('2 MiB blocks become members that gunzip reads back as one stream, in order', async () => {
    const data = concat(records(3 * 1024 * 1024), pseudoRandom(2 * 1024 * 1024 + 5, 4));
    const gz = await members(data);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), data);
    assert.ok(startsWithMagic(gz, 0));
    // Blocks: records; records then random (deflated: its start is not random); random (stored,
    // the last member, 1 MiB + 5 bytes).
    const last = 10 + storedSize(1024 * 1024 + 5) + 8;
    assert.ok(startsWithMagic(gz, gz.length - last), 'the last member is stored');
    assert.ok(gz.length < data.length, 'the records are deflated');
  });

  test('stored members go out as soon as their block is read: random input is not read ahead of the consumer', async () => {
    const block = 2 * 1024 * 1024;
    let read = 0;
    async function* random(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 8; i++) {
        read += block;
        yield pseudoRandom(block, 40 + i);
      }
    }
    const it = memberGzip(random(), crc32)[Symbol.asyncIterator]();
    try {
      const first = await it.next();
      assert.equal(first.done, false);
      // The first member is out while the second block is at most being read, not five queued.
      assert.ok(read <= 2 * block, `${read / block} blocks read for the first member`);
    } finally {
      await it.return(undefined);
    }
  });

  test('blocks are reused once their member is out: a long mixed input comes back intact', async () => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 9; i++) {
      parts.push(i % 3 === 2 ? pseudoRandom(1_500_000, 20 + i) : records(1_700_000 + i));
    }
    const data = concat(...parts);
    const back = new Uint8Array(gunzipSync(await members(data)));
    assert.equal(back.length, data.length);
    assert.equal(sha256hex(back), sha256hex(data));
  });

  test('a random-looking block is one stored member with the right CRC-32 and length', async () => {
    const data = pseudoRandom(2 * 1024 * 1024, 11);
    const gz = await members(data);
    assert.equal(gz.length, 10 + storedSize(data.length) + 8);
    assert.deepEqual(new Uint8Array(gunzipSync(gz)), data);
  });

  test('empty input is one valid empty member', async () => {
    const gz = await members(new Uint8Array(0));
    assert.ok(startsWithMagic(gz, 0));
    assert.equal(gunzipSync(gz).length, 0);
  });
});

describe('file reading and writing', () => {
  test('a file is yielded exactly, at sizes around its chunk size, read synchronously, through the pool, or first one then the other', async () => {
    await withTempDir(async (dir) => {
      const sizes = [0, 1, 256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1, 3 * 256 * 1024 + 5];
      for (const n of [...sizes, 14 * 256 * 1024, 14 * 256 * 1024 + 7]) {
        const data = pseudoRandom(n, n + 3);
        const path = join(dir, `f${n}`);
        await writeFile(path, data);
        // The default reads a cached file synchronously; -1 ms per read switches to the pool
        // after at most 11 reads (the slack), -Infinity reads everything through the pool.
        for (const syncReadMs of [undefined, -1, Number.NEGATIVE_INFINITY]) {
          const parts: Uint8Array[] = [];
          for await (const c of fileChunksReused(path, syncReadMs)) parts.push(c.slice());
          assert.deepEqual(concat(...parts), data, `size ${n}, ${syncReadMs} ms`);
        }
      }
    });
  });

  test('a file in the page cache is read synchronously; slow reads move the rest to the thread pool', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'state.bin');
      await writeFile(path, pseudoRandom(16 * 256 * 1024, 4));
      // Reads through the thread pool are FileHandle.read calls (synchronous ones are readSync):
      // count them while the file is read, by wrapping the method on FileHandle's prototype.
      const probe = await open(path, 'r');
      const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => unknown };
      await probe.close();
      const read = proto.read;
      let poolReads = 0;
      /** Chunks taken before the first read through the thread pool (-1: there was none). */
      const poolFrom = async (syncReadMs?: number) => {
        poolReads = 0;
        proto.read = function (this: unknown, ...args: unknown[]) {
          poolReads++;
          return read.apply(this, args);
        };
        try {
          let i = 0;
          for await (const _ of fileChunksReused(path, syncReadMs)) {
            if (poolReads > 0) return i;
            i++;
          }
          return -1;
        } finally {
          proto.read = read;
        }
      };
      if (!(await onLocalFileSystem(path))) {
        // Not a local file system: everything goes through the pool from the first chunk.
        assert.equal(await poolFrom(), 0);
        return;
      }
      assert.equal(await poolFrom(), -1);
      assert.equal(await poolFrom(Number.NEGATIVE_INFINITY), 0);
      const switched = await poolFrom(-1);
      assert.ok(switched >= 1 && switched <= 12, `switched at chunk ${switched}`);
    });
  });

  test('only local file systems are read synchronously: what stat -f calls ext, xfs, btrfs, tmpfs, overlayfs, zfs, f2fs, ramfs, bcachefs; not proc, sysfs or a missing path', async () => {
    const local = /^(ext2\/ext3|xfs|btrfs|tmpfs|overlayfs|zfs|f2fs|ramfs|bcachefs)$/;
    const paths = [tmpdir(), '/dev/shm', '/proc/self/status', '/sys'].filter((p) => existsSync(p));
    const seen = new Set<boolean>();
    for (const p of paths) {
      const type = execFileSync('stat', ['-f', '-c', '%T', p], { encoding: 'utf8' }).trim();
      seen.add(local.test(type));
      assert.equal(await onLocalFileSystem(p), local.test(type), `${p}: ${type}`);
    }
    assert.deepEqual([...seen].sort(), [false, true], 'both kinds were among the paths');
    assert.equal(await onLocalFileSystem('/no/such/path'), false);
  });

  test('read buffers start on 64-byte boundaries of one WebAssembly memory, do not overlap, and are handed back for the next reader', () => {
    const held = Array.from({ length: 8 }, () => readBuffers());
    const memory = held[0].buffers[0].buffer;
    const starts = new Set<number>();
    for (const { buffers } of held) {
      assert.equal(buffers.length, 4);
      for (const b of buffers) {
        assert.equal(b.buffer, memory, 'one memory for all readers');
        assert.equal(b.length, 256 * 1024);
        assert.equal(b.byteOffset % 64, 0);
        starts.add(b.byteOffset);
      }
    }
    assert.equal(starts.size, 32, 'no two buffers share memory');
    // A ninth reader at once gets plain buffers, which read all the same.
    const ninth = readBuffers();
    assert.notEqual(ninth.buffers[0].buffer, memory);
    const offset = held[3].buffers[0].byteOffset;
    held[3].release();
    held[3].release();
    const next = readBuffers();
    assert.equal(next.buffers[0].buffer, memory);
    assert.equal(next.buffers[0].byteOffset, offset, 'the slot handed back is reused');
    const another = readBuffers();
    assert.notEqual(
      another.buffers[0].buffer,
      memory,
      'a slot released twice is not handed out twice',
    );
    for (const r of [...held, ninth, next, another]) r.release();
  });

  test('reading many files one after another reserves no more address space than reading one', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'f');
      await writeFile(path, pseudoRandom(300_000, 8));
      const vmPeak = async () =>
        Number(/VmPeak:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'))?.[1]);
      const drain = async () => {
        for await (const _ of fileChunksReused(path)) {
        }
      };
      await drain();
      const before = await vmPeak();
      for (let i = 0; i < 20; i++) await drain();
      // One WebAssembly memory reserves some 10 GiB of address space: twenty would show.
      const grew = (await vmPeak()) - before;
      assert.ok(grew < 1024 * 1024, `VmPeak grew by ${grew} kB`);
    });
  });

  test('a FIFO is read in order, one chunk at a time', async () => {
    await withTempDir(async (dir) => {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const data = pseudoRandom(700_000, 9);
      const writer = writeFile(fifo, data);
      const parts: Uint8Array[] = [];
      for await (const c of fileChunksReused(fifo)) parts.push(c.slice());
      await writer;
      assert.deepEqual(concat(...parts), data);
    });
  });

  test('write-behind: a chunk may be overwritten once write resolves; close leaves the bytes', async () => {
    await withTempDir(async (dir) => {
      const dest = join(dir, 'out.bin');
      const w = await createAtomicFile(dest);
      assert.equal(w.releasesChunks, true);
      const expected: Uint8Array[] = [];
      const chunk = new Uint8Array(300_000);
      for (let i = 0; i < 20; i++) {
        chunk.set(pseudoRandom(chunk.length, i + 1));
        expected.push(chunk.slice());
        await w.write(chunk);
        chunk.fill(0xee); // the writer must have copied or written it already
      }
      assert.equal(w.bytes, 20 * 300_000);
      await w.close();
      assert.deepEqual(new Uint8Array(await readFile(dest)), concat(...expected));
    });
  });

  test('a file of several sync intervals (64 MiB) closes with every byte in place', async () => {
    await withTempDir(async (dir) => {
      const dest = join(dir, 'big.bin');
      const w = await createAtomicFile(dest);
      const n = 150 * 1024 * 1024 + 12_345;
      const block = pseudoRandom(1_000_003, 9);
      const hash = createHash('sha256');
      for (let done = 0; done < n; ) {
        const part = block.subarray(0, Math.min(block.length, n - done));
        hash.update(part);
        await w.write(part);
        done += part.length;
      }
      await w.close();
      const file = await readFile(dest);
      assert.equal(file.length, n);
      assert.equal(createHash('sha256').update(file).digest('hex'), hash.digest('hex'));
    });
  });
});

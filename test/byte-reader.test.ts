/**
 * ByteReader: what it does when its source fails, and how it tells a consumer that an error
 * belongs with the bytes just read (the way a Go reader returns data and an error together).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteReader, markWithLastChunk } from '../src/io/byte-reader.js';

/** A source that yields `chunks` and then throws `error`, counting the pulls. */
function failing(chunks: number[][], error: Error) {
  const counter = { pulls: 0 };
  async function* gen() {
    for (const c of chunks) {
      counter.pulls++;
      yield new Uint8Array(c);
    }
    counter.pulls++;
    throw error;
  }
  return { source: gen(), counter };
}

test('an error the source throws is thrown again by every later call that needs bytes', async () => {
  const boom = new Error('disk gone');
  const r = new ByteReader(failing([[1, 2, 3]], boom).source);
  assert.deepEqual(await r.read(10), new Uint8Array([1, 2, 3]));
  await assert.rejects(r.read(1), boom);
  // A finished generator would now report a clean end; the reader must not.
  await assert.rejects(r.read(1), boom);
  await assert.rejects(r.readFull(4), boom);
  await assert.rejects(r.atEnd(), boom);
});

test('errorWithLastChunk returns an error marked as belonging with the chunk just finished', async () => {
  const marked = new Error('gzip: invalid checksum');
  markWithLastChunk(marked);
  const { source, counter } = failing([[1, 2, 3, 4]], marked);
  const r = new ByteReader(source);
  assert.deepEqual(await r.read(2), new Uint8Array([1, 2]));
  // Inside a chunk it does not pull.
  assert.equal(await r.errorWithLastChunk(), undefined);
  assert.equal(counter.pulls, 1);
  assert.deepEqual(await r.read(2), new Uint8Array([3, 4]));
  assert.equal(await r.errorWithLastChunk(), marked);
  await assert.rejects(r.read(1), marked);
});

test('errorWithLastChunk leaves any other error, or the next chunk, for the next read', async () => {
  const plain = new Error('unexpected EOF');
  const r = new ByteReader(failing([[1]], plain).source);
  await r.read(1);
  assert.equal(await r.errorWithLastChunk(), undefined);
  await assert.rejects(r.read(1), plain);

  const fine = new ByteReader(failing([[1], [2, 3]], new Error('later')).source);
  await fine.read(1);
  assert.equal(await fine.errorWithLastChunk(), undefined);
  assert.deepEqual(await fine.read(5), new Uint8Array([2, 3]));
});

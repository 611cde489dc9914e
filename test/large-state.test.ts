/**
 * A state larger than 8 GiB — past the 8 GiB - 1 limit of the tar size field, where such tools
 * break — round-trips through the writer and the reader with its exact size and digest. The
 * state is generated on the fly and the archive is verified as it is written: neither is ever
 * stored whole, in memory or on disk.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { archiveBytes, parse, type SnapshotMeta, zeroMeta } from 'raftsnap';

const MiB = 1 << 20;
const SIZE = 8 * 1024 * MiB + MiB + 3;

/** Deterministic, compressible chunks (so that the test stays fast), each stamped with its offset. */
function* state(hash: ReturnType<typeof createHash>): Generator<Uint8Array> {
  const base = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i++) base[i] = (i * 31) & 0xff;
  let off = 0;
  while (off < SIZE) {
    const n = Math.min(MiB, SIZE - off);
    const chunk = base.slice(0, n);
    if (n >= 8) new DataView(chunk.buffer).setFloat64(0, off);
    hash.update(chunk);
    off += n;
    yield chunk;
  }
}

test('a state of 8 GiB + 1 MiB + 3 bytes round-trips with its exact size and SHA-256', {
  timeout: 600_000,
}, async () => {
  const meta: SnapshotMeta = {
    ...zeroMeta(),
    version: 1,
    id: 'big',
    index: 1n << 40n,
    term: 7n,
    size: BigInt(SIZE),
  };
  const written = createHash('sha256');
  const read = createHash('sha256');
  let readBytes = 0;
  let archiveSize = 0;
  const archive = archiveBytes(meta, state(written), { level: 1 }, (r) => {
    archiveSize = r.bytes;
  });
  // strict: the gzip trailer, whose ISIZE wraps past 4 GiB, is checked as verify checks it.
  const back = await parse(
    archive,
    {
      write(chunk: Uint8Array) {
        read.update(chunk);
        readBytes += chunk.length;
      },
    },
    { strict: true },
  );
  assert.equal(back.size, BigInt(SIZE));
  assert.equal(back.index, 1n << 40n);
  assert.equal(readBytes, SIZE);
  assert.equal(read.digest('hex'), written.digest('hex'));
  assert.ok(archiveSize > 0 && archiveSize < SIZE / 10, `archive of ${archiveSize} bytes`);
});

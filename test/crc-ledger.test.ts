/**
 * A gzip member's CRC-32 taken partly from a hashing thread (src/format/crc-ledger.ts with the
 * CrcSource of src/node/hash-thread.ts): the joined CRC is the member's whatever bytes are
 * claimed, so a wrong trailer is still "gzip: invalid checksum"; claims that cannot be honoured
 * are refused and the bytes CRC'd locally. The thread is real; its hashes are fed small data.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { gzipSync, crc32 as zlibCrc32 } from 'node:zlib';
import { isSnapshotError, verify } from 'raftsnap';
import { type CrcSource, type CrcTicket, crc32Combine } from '../src/engines/crc32.js';
import { type EngineChoice, getEngines } from '../src/engines/registry.js';
import { writeArchive } from '../src/format/archive.js';
import { CrcLedger, MEMBER_TAIL } from '../src/format/crc-ledger.js';
import { openGunzip } from '../src/format/gzip.js';
import { zeroMeta } from '../src/format/meta.js';
import { ByteReader } from '../src/io/byte-reader.js';
import { bytesOf } from '../src/io/input.js';
import { nodeHash } from '../src/node/node-hash.js';
import '../src/node/index.js';
import { OFFLOAD_MIN, offloadedHashCount, threadedHash } from '../src/node/hash-thread.js';
import { collect, concat, pseudoRandom, records } from './support/bytes.js';

const crc = (b: Uint8Array, c = 0) => zlibCrc32(b, c) >>> 0;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Flips one bit of the CRC-32 in the trailer that ends at `end` (default: the last one). */
function flipTrailerCrc(gz: Uint8Array, end = gz.length): Uint8Array {
  const bad = gz.slice();
  bad[end - 8] ^= 1;
  return bad;
}

/** A gunzip of `gz` in 64 KiB input chunks with a ledger, and a hash on a thread to claim for. */
async function open(gz: Uint8Array, engine: EngineChoice) {
  const e = await getEngines(engine);
  const ledger = new CrcLedger(e.crc32);
  const hash = threadedHash.create(OFFLOAD_MIN);
  const source = hash.crc;
  assert.ok(source, 'the hash did not run on a thread that keeps CRC-32s');
  const chunks = [];
  for (let i = 0; i < gz.length; i += 65_536) chunks.push(gz.slice(i, i + 65_536));
  const gen = await openGunzip(new ByteReader(bytesOf(chunks)), {
    inflate: e.inflate,
    crc32: e.crc32,
    ledger,
  });
  return { ledger, hash, source, gen };
}

/**
 * Decompresses `gz` with a ledger, claiming for a hashing thread's CRC source the parts of each
 * array that `pick` chooses (as [start, end) pairs, in order) and feeding them to its hash.
 * Returns the output, the bytes fed, the digest and how many claims were accepted.
 */
async function run(
  gz: Uint8Array,
  pick: (out: Uint8Array, index: number) => [number, number][],
  opts: { engine: EngineChoice; digestEarly?: boolean },
) {
  const { ledger, hash, source, gen } = await open(gz, opts.engine);
  const out: Uint8Array[] = [];
  const fed: Uint8Array[] = [];
  let accepted = 0;
  let digest: Uint8Array | undefined;
  let index = 0;
  let feeding = true;
  try {
    await drive();
  } finally {
    // Also when the stream is rejected: the digest hands the thread back to the pool.
    digest ??= await hash.digest();
  }
  return { out: concat(...out), fed: concat(...fed), digest, accepted };

  async function drive() {
    let next = await gen.next();
    while (!next.done) {
      const array = next.value;
      for (const [a, b] of feeding ? pick(array, index) : []) {
        const view = array.subarray(a, b);
        if (ledger.claim(view, source)) accepted++;
        await hash.update(view);
        fed.push(new Uint8Array(view)); // a copy (Buffer#slice would be a view)
      }
      index++;
      out.push(new Uint8Array(array));
      // The archive reader takes its digest before the gzip member ends: then nothing more is fed.
      if (opts.digestEarly && index === 3) {
        digest = await hash.digest();
        feeding = false;
      }
      next = await gen.next();
    }
  }
}

const all = (out: Uint8Array): [number, number][] => [[0, out.length]];

describe('CRC-32 joining', () => {
  test('crc32Combine(crc(A), crc(B), |B|) is crc(A B) for any split', () => {
    const data = pseudoRandom(70_000, 5);
    for (const at of [0, 1, 7, 8, 9, 1000, 65_536, 69_999, 70_000]) {
      const a = data.subarray(0, at);
      const b = data.subarray(at);
      assert.equal(crc32Combine(crc(a), crc(b), b.length), crc(data), `split at ${at}`);
    }
  });

  test('lengths beyond 2^32 join consistently (associativity over huge runs)', () => {
    const [a, b, c] = [0x12345678, 0x9abcdef0, 0x0badf00d];
    for (const [lb, lc] of [
      [2 ** 32 + 3, 5],
      [3_000_000_000, 2 ** 40 + 17],
      [2 ** 52, 2 ** 33],
    ]) {
      assert.equal(
        crc32Combine(crc32Combine(a, b, lb), c, lc),
        crc32Combine(a, crc32Combine(b, c, lc), lb + lc),
        `lengths ${lb}, ${lc}`,
      );
    }
  });
});

// auto inflates with WebAssembly into 256 KiB arrays, native with node:zlib.
for (const engine of ['auto', 'native'] as const)
  describe(`CRC ledger with a hashing thread (${engine} inflate)`, () => {
    const data = records(3_000_000);
    const gz = new Uint8Array(gzipSync(data));

    before(async () => {
      // A thread that is up already, so that the claims below are not all refused while it starts.
      const h = threadedHash.create(OFFLOAD_MIN);
      await h.update(new Uint8Array(1));
      await h.digest();
    });

    test('every byte claimed: the member checks out and the thread hashed exactly the claims', async () => {
      const r = await run(gz, all, { engine });
      assert.deepEqual(r.out, data);
      // At least the first: a thread slowed by a busy machine falls more than its allowed lead
      // behind, and the reader then CRCs the rest itself (as it must).
      assert.ok(r.accepted > 0, 'no claim was taken');
      assert.equal(hex(r.digest), sha(data));
    });

    test('claims with gaps between and within arrays, digest taken before the member ends', async () => {
      const pick = (out: Uint8Array, i: number): [number, number][] =>
        i % 3 === 2
          ? []
          : ([
              [5, Math.min(out.length, 20_000)],
              [Math.min(out.length, 20_000), Math.min(out.length, 40_000)],
              [Math.min(out.length, 45_000), out.length - 3],
            ].filter(([a, b]) => b > a) as [number, number][]);
      for (const digestEarly of [false, true]) {
        const r = await run(gz, pick, { engine, digestEarly });
        assert.deepEqual(r.out, data);
        assert.ok(r.accepted > 0);
        assert.equal(hex(r.digest), sha(r.fed));
      }
    });

    test('a wrong trailer CRC is "gzip: invalid checksum" though the thread CRC\'d the bytes', async () => {
      await assert.rejects(run(flipTrailerCrc(gz), all, { engine }), /gzip: invalid checksum/);
    });

    test('claims across member boundaries; a bad CRC in the first member is caught', async () => {
      const parts = [
        data.subarray(0, 1_000_001),
        data.subarray(1_000_001, 1_000_002),
        data.subarray(1_000_002),
      ];
      const members = parts.map((p) => new Uint8Array(gzipSync(p)));
      const multi = concat(...members);
      const r = await run(multi, all, { engine });
      assert.deepEqual(r.out, data);
      assert.equal(hex(r.digest), sha(data));
      await assert.rejects(
        run(flipTrailerCrc(multi, members[0].length), all, { engine }),
        /gzip: invalid checksum/,
      );
    });

    test("copies are refused and CRC'd here; later claims still count", async () => {
      const { ledger, hash, source, gen } = await open(gz, engine);
      const verdicts: boolean[] = [];
      for await (const out of gen) {
        // A copy of the array on offer, then the array itself: the first is refused, the
        // second taken (after a cut that drops the refused bytes from the source's run).
        const copy = new Uint8Array(out.subarray(0, 20_000));
        verdicts.push(ledger.claim(copy, source));
        await hash.update(copy);
        verdicts.push(ledger.claim(out.subarray(20_000), source));
        await hash.update(out.subarray(20_000));
      }
      await hash.digest();
      assert.equal(verdicts[0], false);
      assert.ok(verdicts.filter((v, i) => i % 2 === 1 && v).length > 0, 'no claim was taken');
      assert.ok(verdicts.filter((v, i) => i % 2 === 0 && v).length === 0, 'a copy was taken');
    });

    test('a claim behind the cursor, outside the array or shorter than 16 KiB is refused', async () => {
      const { ledger, hash, source, gen } = await open(gz, engine);
      const first = await gen.next();
      assert.ok(!first.done);
      const out = first.value;
      assert.ok(out.length >= 100_000, `arrays of ${out.length} bytes are too short for this test`);
      assert.equal(ledger.claim(out.subarray(10, 20_010), source), true);
      await hash.update(out.subarray(10, 20_010));
      const overlapping = out.subarray(5, 40_000);
      assert.equal(ledger.claim(overlapping, source), false, 'overlapping an earlier claim');
      await hash.update(overlapping);
      assert.equal(ledger.claim(new Uint8Array(20_000), source), false, 'not from the array');
      await hash.update(new Uint8Array(20_000));
      const short = out.subarray(50_000, 50_000 + 16 * 1024 - 1);
      assert.equal(ledger.claim(short, source), false, 'shorter than 16 KiB');
      await hash.update(short);
      const enough = out.subarray(60_000, 60_000 + 16 * 1024);
      assert.equal(ledger.claim(enough, source), true, 'a later claim of 16 KiB');
      await hash.update(enough);
      for (let n = await gen.next(); !n.done; n = await gen.next()) {}
      await hash.digest();
    });
  });

/**
 * A CrcSource that CRCs what it is fed at once (zlib's CRC-32), so it is never behind: a stand-in
 * for the hashing thread where a test needs the ledger's own rules to be the only reason a claim
 * is refused (the thread's lead varies with the machine's timing).
 */
class ImmediateSource implements CrcSource {
  runBytes = 0;
  keeping = false;
  private crc = 0;
  backlog(): number {
    return 0;
  }
  freeCuts(): number {
    return 64;
  }
  feed(bytes: Uint8Array): void {
    if (this.keeping) this.crc = zlibCrc32(bytes, this.crc);
    this.runBytes += bytes.length;
  }
  cut(keep: boolean): CrcTicket {
    const value = this.keeping ? this.crc >>> 0 : 0;
    this.crc = 0;
    this.runBytes = 0;
    this.keeping = keep;
    return { peek: () => value, wait: async () => value };
  }
}

describe('CRC ledger: member tails', () => {
  const data = records(5_000_000);
  const ends = [2_000_000, 4_000_000, data.length];
  const parts = ends.map((end, i) => data.subarray(i === 0 ? 0 : ends[i - 1], end));
  const members = parts.map((p) => new Uint8Array(gzipSync(p)));

  /**
   * Gunzips `gz`, claiming every array for an ImmediateSource: for each, [the stream offset where
   * it ends, its length, whether it was taken].
   */
  async function claimAll(gz: Uint8Array): Promise<[number, number, boolean][]> {
    const e = await getEngines('auto');
    const ledger = new CrcLedger(e.crc32);
    const source = new ImmediateSource();
    const gen = await openGunzip(new ByteReader(bytesOf([gz])), {
      inflate: e.inflate,
      crc32: e.crc32,
      ledger,
    });
    const claims: [number, number, boolean][] = [];
    let at = 0;
    for await (const out of gen) {
      claims.push([at + out.length, out.length, ledger.claim(out, source)]);
      source.feed(out);
      at += out.length;
    }
    return claims;
  }

  test('a member after one of length L is not claimed in its last 512 KiB as reckoned from L; the first member is claimed to its end', async () => {
    const claims = await claimAll(concat(...members));
    assert.equal(MEMBER_TAIL, 512 * 1024);
    for (const [end, length, taken] of claims) {
      // The member this claim ends in, and where its tail starts by the previous member's length.
      // (Arrays under 16 KiB are never claimed.)
      const m = ends.findIndex((e) => end <= e);
      const tailFrom =
        m === 0 ? Number.POSITIVE_INFINITY : ends[m - 1] + parts[m - 1].length - MEMBER_TAIL;
      assert.equal(taken, end <= tailFrom && length >= 16 * 1024, `the claim ending at ${end}`);
    }
    assert.ok(
      claims.some(([end, length, t]) => !t && length >= 16 * 1024 && end > ends[0]),
      'no claim fell in a tail',
    );
  });

  test('a wrong CRC in any member is still "gzip: invalid checksum", in a tail or not', async () => {
    for (let m = 0; m < members.length; m++) {
      const end = members.slice(0, m + 1).reduce((n, x) => n + x.length, 0);
      await assert.rejects(
        claimAll(flipTrailerCrc(concat(...members), end)),
        /gzip: invalid checksum/,
        `member ${m}`,
      );
    }
  });
});

describe('verify with state.bin CRC on the hashing thread', () => {
  const state = records(OFFLOAD_MIN + 70_000);
  const meta = { ...zeroMeta(), index: 77n, term: 3n, size: BigInt(state.length) };
  async function* once() {
    yield state;
  }
  const tarPromise = collect(writeArchive(meta, once(), { hash: nodeHash }));

  test('a large archive verifies; with its trailer CRC changed it is "gzip: invalid checksum"', async () => {
    const tar = await tarPromise;
    const gz = new Uint8Array(gzipSync(tar));
    const offloaded = offloadedHashCount();
    assert.equal((await verify(gz)).index, 77n);
    assert.equal(offloadedHashCount(), offloaded + 1, 'state.bin was hashed on a thread');
    await assert.rejects(verify(flipTrailerCrc(gz)), (err: unknown) => {
      assert.ok(isSnapshotError(err));
      assert.equal(err.code, 'GZIP');
      assert.match(err.message, /gzip: invalid checksum/);
      return true;
    });
  });

  test('state.bin split across gzip members verifies; a bad first-member CRC is caught', async () => {
    const tar = await tarPromise;
    const cuts = [0, 4_000_000, 4_000_001, 20_000_000, tar.length];
    const members = cuts
      .slice(1)
      .map((end, i) => new Uint8Array(gzipSync(tar.subarray(cuts[i], end))));
    const gz = concat(...members);
    const offloaded = offloadedHashCount();
    assert.equal((await verify(gz)).index, 77n);
    assert.equal(offloadedHashCount(), offloaded + 1, 'state.bin was hashed on a thread');
    await assert.rejects(
      verify(flipTrailerCrc(gz, members[0].length + members[1].length)),
      /gzip: invalid checksum/,
    );
    // The last member starts past 16 MiB of output, where the auto engine's CRC-32 is the
    // libdeflate addon's (src/node/libdeflate-crc32.ts).
    await assert.rejects(verify(flipTrailerCrc(gz)), /gzip: invalid checksum/);
  });
});

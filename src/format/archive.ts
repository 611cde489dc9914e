/**
 * The archive (tar) level of a snapshot, as the reference's archive.go: which entries exist,
 * how each is read, and how the hash lists are checked. Gzip is the layer above (snapshot.ts).
 */
import type { HashEngine, HashState } from '../engines/sha256.js';
import { isSnapshotError, messageOf, SnapshotError, wrapError as wrap } from '../errors.js';
import { concatBytes } from '../io/bytes.js';
import { byteView } from '../io/input.js';
import type { Sealer } from '../sealer.js';
import type { CrcLedger } from './crc-ledger.js';
import { goQuote } from './go-quote.js';
import { decodeMeta, encodeMeta, type SnapshotMeta, zeroMeta } from './meta.js';
import { encodeSums, SumsCheck, verifySums } from './sums.js';
import { byteStringToBytes } from './tar-header.js';
import type { TarReader } from './tar-reader.js';
import { TarWriter } from './tar-writer.js';

/** meta.json, SHA256SUMS and SHA256SUMS.sealed are read up to this many bytes; reaching it is an error. */
export const MAX_SMALL_FILE = 8192;

export interface ReadArchiveOptions {
  hash: HashEngine;
  /** When given, SHA256SUMS.sealed is opened with it and its list must verify too. */
  sealer?: Sealer;
  /** Receives state.bin's bytes in order, awaited (backpressure). Called before verification ends. */
  onState?: (chunk: Uint8Array) => Promise<void> | void;
  /**
   * The ledger of the gzip stream the tar is read from: state.bin bytes whose hash keeps a CRC-32
   * are claimed in it, so that the gzip reader need not CRC them again.
   */
  crcLedger?: CrcLedger;
}

/** What reading an archive found besides the metadata. */
export interface ArchiveInfo {
  meta: SnapshotMeta;
  /** Bytes of state.bin (all state.bin entries together, as the reference hashes them). */
  stateSize: bigint;
  /**
   * Whether the archive has sealed sums: a SHA256SUMS.sealed entry that is not empty (an empty
   * one seals nothing, and Vault's own client calls such a snapshot incomplete).
   */
  sealed: boolean;
}

/**
 * Reads a snapshot tar with the reference's rules and returns its metadata. Throws
 * SnapshotError: 'UNEXPECTED_FILE' for any other entry name; 'TOO_LARGE' when meta.json or a
 * sums file reaches 8192 bytes; 'META' when meta.json does not decode; 'SEAL' when the sealed
 * sums do not open; 'INTEGRITY' when a hash list is malformed, lists an unknown file, misses a
 * file or disagrees; 'TAR'/'TRUNCATED'/'GZIP' (or 'ABORTED') from the layers below. An error
 * thrown by `onState` keeps its code when it is a SnapshotError and becomes 'IO' otherwise.
 * Messages follow the reference ("failed to read snapshot metadata: ...", "failed checking
 * integrity of snapshot: ...", "failed to read or write snapshot data: ...").
 */
export async function readArchive(tar: TarReader, opts: ReadArchiveOptions): Promise<ArchiveInfo> {
  const metaHash = opts.hash.create();
  // Created at the first state.bin entry, whose size tells the engine how much is coming.
  let stateHash: HashState | undefined;
  let meta = zeroMeta();
  // After a top-level `null` the reference decodes further meta.json entries into a detached
  // struct: they must still decode, but no longer change the result.
  let detached = false;
  // The lists are checked once the digests are known. The plain one is read line by line as it
  // arrives, so that an archive of many SHA256SUMS entries cannot make memory grow; the sealed
  // one is kept whole only when there is a sealer to open it (AES-GCM needs all of it).
  const sums = new SumsCheck(['meta.json', 'state.bin']);
  const sealedSums: Uint8Array[] = [];
  let stateSize = 0n;
  let sealed = false;

  try {
    for (;;) {
      let hdr: Awaited<ReturnType<TarReader['next']>>;
      try {
        hdr = await tar.next();
      } catch (err) {
        throw wrap(err, 'failed reading snapshot');
      }
      if (hdr === null) break;
      switch (hdr.name) {
        case 'meta.json': {
          const bytes = await readSmall(tar, 'failed to read snapshot metadata', metaHash);
          try {
            if (isJsonNull(bytes)) {
              decodeMeta(bytes);
              detached = true;
            } else if (detached) {
              decodeMeta(bytes);
            } else {
              meta = decodeMeta(bytes, meta);
            }
          } catch (err) {
            throw wrap(err, 'failed to decode snapshot metadata');
          }
          break;
        }
        case 'state.bin':
          stateHash ??= opts.hash.create(Number(hdr.size));
          try {
            const crcSource = opts.crcLedger && stateHash.crc;
            for (;;) {
              const chunk = await tar.read(1 << 20);
              if (chunk === null) break;
              if (crcSource) opts.crcLedger!.claim(chunk, crcSource);
              await stateHash.update(chunk);
              stateSize += BigInt(chunk.length);
              if (opts.onState) await opts.onState(chunk);
            }
          } catch (err) {
            throw wrap(err, 'failed to read or write snapshot data');
          }
          break;
        case 'SHA256SUMS':
          sums.push(await readSmall(tar, 'failed to read snapshot hashes'));
          break;
        case 'SHA256SUMS.sealed': {
          const bytes = await readSmall(tar, 'failed to read snapshot hashes');
          if (bytes.length > 0) sealed = true;
          if (opts.sealer) sealedSums.push(bytes);
          break;
        }
        default:
          throw new SnapshotError(
            'UNEXPECTED_FILE',
            `unexpected file ${goQuote(byteStringToBytes(hdr.raw.name))} in snapshot`,
          );
      }
    }
  } catch (err) {
    // Finish the state hash anyway: one on a hashing thread would hold the thread until it is
    // collected.
    if (stateHash) await Promise.resolve(stateHash.digest()).catch(() => {});
    throw err;
  }

  const digests = new Map<string, Uint8Array>([
    ['meta.json', await metaHash.digest()],
    ['state.bin', await (stateHash ?? opts.hash.create()).digest()],
  ]);
  if (opts.sealer) {
    let opened: Uint8Array;
    try {
      opened = await opts.sealer.open(concatBytes(sealedSums));
    } catch (err) {
      // The sealer's own SnapshotErrors keep their code ('SEAL' for a tag that does not match,
      // 'IO' where it cannot try); anything else a sealer throws is the seal's failure.
      if (isSnapshotError(err)) throw wrap(err, 'failed to open the sealed hashes');
      throw new SnapshotError('SEAL', `failed to open the sealed hashes: ${messageOf(err)}`, {
        cause: err,
      });
    }
    try {
      verifySums(opened, digests);
    } catch (err) {
      throw wrap(err, 'failed checking integrity of snapshot');
    }
  }
  try {
    sums.finish(digests);
  } catch (err) {
    throw wrap(err, 'failed checking integrity of snapshot');
  }
  return { meta, stateSize, sealed };
}

/** The reference's copyEOFOrN(…, 8192): the whole entry, which must be shorter than 8192 bytes. */
async function readSmall(tar: TarReader, context: string, hash?: HashState): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < MAX_SMALL_FILE) {
      const chunk = await tar.read(MAX_SMALL_FILE - total);
      if (chunk === null) {
        const all = concatBytes(parts);
        await hash?.update(all);
        return all;
      }
      parts.push(chunk.slice());
      total += chunk.length;
    }
  } catch (err) {
    throw wrap(err, context);
  }
  throw new SnapshotError(
    'TOO_LARGE',
    `${context}: read max specified bytes (${MAX_SMALL_FILE}) without EOF - possible truncation`,
  );
}

/** True when the JSON text is the literal null (with JSON whitespace around it). */
function isJsonNull(b: Uint8Array): boolean {
  let i = 0;
  let j = b.length;
  const ws = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  while (i < j && ws(b[i])) i++;
  while (j > i && ws(b[j - 1])) j--;
  return (
    j - i === 4 && b[i] === 0x6e && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c
  );
}

export interface WriteArchiveOptions {
  hash: HashEngine;
  sealer?: Sealer;
  /** Modification time written in every header (default: now). */
  mtime?: Date;
}

/**
 * Throws SnapshotError('TOO_LARGE') for an entry that every reader would refuse: the reference
 * reads meta.json and the sums files only while they stay under 8192 bytes.
 */
function checkReadable(name: string, bytes: Uint8Array): void {
  if (bytes.length >= MAX_SMALL_FILE) {
    throw new SnapshotError(
      'TOO_LARGE',
      `${name} would be ${bytes.length} bytes, and readers (the reference, Consul, Vault, Nomad, OpenBao) refuse ${MAX_SMALL_FILE} or more`,
    );
  }
}

/**
 * Yields the tar bytes of a snapshot archive as the reference's write() produces them:
 * meta.json (Go's JSON encoding), state.bin (exactly `meta.size` bytes taken from `state`),
 * SHA256SUMS and, with a sealer, SHA256SUMS.sealed; mode 0600; then the end-of-archive blocks.
 * Throws SnapshotError('INVALID_ARGUMENT') for a negative size, SnapshotError('TOO_LARGE') when
 * meta.json or the sealed sums would reach 8192 bytes (which the reference writes, but no reader
 * takes), and SnapshotError('TRUNCATED') when `state` ends before `meta.size` bytes (bytes
 * beyond it are not read, as the reference).
 */
export async function* writeArchive(
  meta: SnapshotMeta,
  state: AsyncIterable<Uint8Array>,
  opts: WriteArchiveOptions,
): AsyncGenerator<Uint8Array> {
  if (meta.size < 0n)
    throw new SnapshotError('INVALID_ARGUMENT', 'snapshot size must not be negative');
  const tw = new TarWriter();
  const mtime = opts.mtime ?? new Date();
  const metaBytes = encodeMeta(meta);
  checkReadable('meta.json', metaBytes);
  const metaHash = opts.hash.create();
  await metaHash.update(metaBytes);
  yield tw.header('meta.json', BigInt(metaBytes.length), mtime);
  yield metaBytes;
  yield tw.padding(BigInt(metaBytes.length));

  // No size hint: while writing, every core is busy compressing, so a hashing thread would only
  // add its memory (a second isolate) without taking time off.
  const stateHash = opts.hash.create();
  yield tw.header('state.bin', meta.size, mtime);
  let left = meta.size;
  if (left > 0n) {
    const it = state[Symbol.asyncIterator]();
    try {
      while (left > 0n) {
        const next = await it.next();
        if (next.done) {
          throw new SnapshotError(
            'TRUNCATED',
            `failed to write snapshot data: state ended ${left} bytes before its size ${meta.size}`,
          );
        }
        let chunk = next.value;
        if (BigInt(chunk.length) > left) chunk = chunk.subarray(0, Number(left));
        left -= BigInt(chunk.length);
        await stateHash.update(chunk);
        yield chunk;
      }
    } finally {
      await it.return?.();
    }
  }
  yield tw.padding(meta.size);

  const sums = encodeSums(
    new Map([
      ['meta.json', await metaHash.digest()],
      ['state.bin', await stateHash.digest()],
    ]),
  );
  yield tw.header('SHA256SUMS', BigInt(sums.length), mtime);
  yield sums;
  yield tw.padding(BigInt(sums.length));
  if (opts.sealer) {
    const failed = 'failed to seal snapshot hashes';
    let sealed: Uint8Array;
    try {
      // Bytes of another realm, or an ArrayBuffer (what WebCrypto gives), are bytes too.
      const bytes = byteView(await opts.sealer.seal(sums));
      if (!bytes) throw new Error('the sealer returned no Uint8Array');
      sealed = bytes;
    } catch (err) {
      // As on the reading side: the sealer's own SnapshotErrors keep their code; anything else
      // it throws is the seal's failure.
      if (isSnapshotError(err)) throw wrap(err, failed);
      throw new SnapshotError('SEAL', `${failed}: ${messageOf(err)}`, { cause: err });
    }
    checkReadable('SHA256SUMS.sealed', sealed);
    yield tw.header('SHA256SUMS.sealed', BigInt(sealed.length), mtime);
    yield sealed;
    yield tw.padding(BigInt(sealed.length));
  }
  yield tw.end();
}

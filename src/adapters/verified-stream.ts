/**
 * Verification inline with a download: the archive's bytes go to the caller and, at the same
 * time, through raftsnap's full verification (the reference's Verify rules, plus the sealed sums
 * with a sealer, plus the server's `Digest: sha-256=` when it sent one). The caller's stream
 * closes cleanly only when the whole archive verified; otherwise it errors.
 */
import { isSnapshotError, SnapshotError } from '../errors.js';
import { inspect } from '../node/snapshot.js';
import type { ReadOptions, SnapshotInfo } from '../snapshot.js';

/** How far (in bytes) the verifier may lag behind the caller before the download waits for it. */
const MAX_LAG = 4 << 20;

/**
 * An async iterable fed by pushes, with bounded buffering: `push` waits while more than
 * MAX_LAG bytes are queued, and returns at once when the reader has stopped.
 */
class Feed implements AsyncIterable<Uint8Array> {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private failure: { err: unknown } | undefined;
  private stopped = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  async push(chunk: Uint8Array): Promise<void> {
    if (this.stopped) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.wake();
    while (this.queued > MAX_LAG && !this.stopped) {
      await new Promise<void>((r) => {
        this.wakeWriter = r;
      });
    }
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(err: unknown): void {
    this.failure ??= { err };
    this.wake();
  }

  private wake(): void {
    const r = this.wakeReader;
    this.wakeReader = undefined;
    r?.();
  }

  private wakeW(): void {
    const w = this.wakeWriter;
    this.wakeWriter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const chunk = this.queue.shift();
        if (chunk !== undefined) {
          this.queued -= chunk.length;
          this.wakeW();
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure.err;
        if (this.ended) return;
        await new Promise<void>((r) => {
          this.wakeReader = r;
        });
      }
    } finally {
      this.stopped = true;
      this.queue = [];
      this.wakeW();
    }
  }
}

export interface VerifiedStreamOptions extends ReadOptions {
  /** A `Digest` header value; its `sha-256=` entry, when present, must match the bytes. */
  digest?: string;
  /** Names the source in messages, e.g. "Nomad at http://127.0.0.1:4646". */
  source?: string;
  /** The response's Content-Type, named when what came is not a snapshot (an HTML page). */
  contentType?: string;
  /**
   * A last check of what verification found (e.g. Vault's sealed sums): throwing fails the
   * stream with that error, as a failed verification does.
   */
  check?: (info: SnapshotInfo) => void;
}

/** The result of {@link verifiedStream}. */
export interface VerifiedStream {
  /**
   * The archive's bytes, as they arrive. It closes only after the whole archive verified (and
   * matched the digest); otherwise it errors with the SnapshotError saying why, after the bytes
   * received so far. Chunks are shared with the verifier: do not modify them. Cancelling it
   * cancels the source.
   */
  stream: ReadableStream<Uint8Array>;
  /** Resolves with what verification found once the stream has closed; rejects when it errors. */
  info: Promise<SnapshotInfo>;
}

/** The base64 SHA-256 of a `Digest` header (`sha-256=<b64>`, possibly among others), if any. */
export function sha256OfDigest(digest: string | undefined): string | undefined {
  if (!digest) return undefined;
  for (const part of digest.split(',')) {
    const m = /^\s*sha-256=(\S+)\s*$/i.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * A verification failure of a download, saying where the bytes came from (and, for what is not
 * a snapshot at all, what the server said it sent); aborts and the transport's own errors pass
 * as they are.
 */
function invalidFrom(err: unknown, from: string, contentType: string | undefined): unknown {
  if (!isSnapshotError(err) || err.code === 'ABORTED' || err.code === 'IO') return err;
  const sent =
    contentType && !/octet-stream|gzip|tar/i.test(contentType)
      ? ` (its Content-Type is ${contentType}: not a snapshot)`
      : '';
  return err.wrap(`the snapshot ${from} sent is invalid${sent}`);
}

/**
 * Tees `source` into raftsnap's verification (see {@link VerifiedStream}). Verification starts
 * at once and runs as the caller reads; the caller's reads drive the download.
 */
export function verifiedStream(
  source: ReadableStream<Uint8Array>,
  opts: VerifiedStreamOptions = {},
): VerifiedStream {
  const reader = source.getReader();
  const feed = new Feed();
  const { digest, source: from, contentType, check, ...readOpts } = opts;
  const expected = sha256OfDigest(digest);
  let early: unknown;
  let failed = false;
  const verdict = inspect(feed, readOpts).then(
    (info) => {
      if (expected !== undefined && info.checksum !== `sha-256=${expected}`) {
        throw new SnapshotError(
          'INTEGRITY',
          `snapshot checksum mismatch: ${from ?? 'the server'} sent Digest sha-256=${expected} but the bytes received hash to ${info.checksum}`,
        );
      }
      check?.(info);
      return info;
    },
    (err) => {
      throw from === undefined ? err : invalidFrom(err, from, contentType);
    },
  );
  verdict.catch((err) => {
    failed = true;
    early = err;
  });
  let settle: { resolve: (i: SnapshotInfo) => void; reject: (e: unknown) => void };
  const info = new Promise<SnapshotInfo>((resolve, reject) => {
    settle = { resolve, reject };
  });
  info.catch(() => {});

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(ctl) {
        if (failed) {
          await reader.cancel(early).catch(() => {});
          settle.reject(early);
          ctl.error(early);
          return;
        }
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (err) {
          feed.fail(err);
          await verdict.catch(() => {});
          settle.reject(err);
          ctl.error(err);
          return;
        }
        if (next.done) {
          feed.end();
          try {
            const result = await verdict;
            settle.resolve(result);
            ctl.close();
          } catch (err) {
            settle.reject(err);
            ctl.error(err);
          }
          return;
        }
        await feed.push(next.value);
        ctl.enqueue(next.value);
      },
      async cancel(reason) {
        feed.fail(new SnapshotError('ABORTED', 'download cancelled', { cause: reason }));
        await reader.cancel(reason).catch(() => {});
        settle.reject(new SnapshotError('ABORTED', 'download cancelled', { cause: reason }));
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, info };
}

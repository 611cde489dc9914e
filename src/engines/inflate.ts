/**
 * Raw DEFLATE (RFC 1951) decompression engines, below the gzip framing in src/format/gzip.ts.
 *
 * An engine decodes exactly one DEFLATE stream and then reports how many of the bytes it was
 * given lie beyond the end of that stream, so that the gzip layer can check the member trailer
 * and read the next member with Go's compress/gzip rules.
 */
export interface InflateStep {
  /** Decompressed bytes produced by this call, in order. The caller owns them. */
  output: Uint8Array[];
  /** True once the final DEFLATE block has been decoded completely. */
  done: boolean;
  /**
   * Valid when `done`: the number of bytes at the end of the chunk passed to this call that
   * were not part of the DEFLATE stream (they belong to the gzip trailer and what follows).
   */
  unused: number;
}

/** The end of one pull-style `decode()` call: `done` and `unused` as in {@link InflateStep}. */
export interface InflateEnd {
  done: boolean;
  unused: number;
}

export interface RawInflater {
  /**
   * Decodes `chunk`. Must not be called again after a step reported `done`.
   * Throws SnapshotError('GZIP') on corrupt DEFLATE data, dropping the output of this call.
   */
  write(chunk: Uint8Array): Promise<InflateStep> | InflateStep;
  /**
   * Optional pull-style decoding, for engines that decode on the calling thread: returns a
   * generator that decodes `chunk` as it is resumed, yields the output in order and returns
   * `{ done, unused }`. On corrupt data it yields all the output decoded before the corruption
   * and then throws SnapshotError('GZIP'), as Go's reader returns that output before the error.
   * Yielded arrays are the caller's, except from an {@link InflateLender}'s inflaters. The
   * generator must be run to completion (or the inflater closed) before the next call.
   */
  decode?(chunk: Uint8Array): Generator<Uint8Array, InflateEnd, void>;
  /**
   * Optional: the output bytes decoded before the stream's last non-final empty stored block
   * (a sync flush), 0 when there was none; still valid after close(). Go's reader hands over the
   * output it holds at such a block and whenever its 32 KiB window fills; an error found later
   * comes with the output held since then (see src/format/gzip.ts).
   */
  syncOutput?(): number;
  /**
   * The input has ended. Throws SnapshotError('TRUNCATED') when the stream is not done.
   * Releases the engine's resources in every case; safe to call more than once.
   */
  close(): void;
}

export interface InflateEngine {
  readonly name: string;
  create(): RawInflater;
  /**
   * Optional: a lender of inflaters that decode without copying their output out (see
   * {@link InflateLender}). Rejects when the engine cannot set one up.
   */
  lender?(): Promise<InflateLender>;
}

/**
 * Inflaters for one stream of DEFLATE streams (the members of one gzip stream), decoding in
 * memory of their own: their `decode` yields views of that memory, each valid until the
 * generator is resumed, and nothing else writes to it or resizes it meanwhile.
 *
 * The caller creates one inflater at a time (closing the previous one first; `create` throws
 * Error otherwise) and calls `release()` once after the last, after which the lender must not
 * be used.
 */
export interface InflateLender {
  create(): RawInflater & Required<Pick<RawInflater, 'decode'>>;
  release(): void;
}

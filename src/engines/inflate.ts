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

export interface RawInflater {
  /**
   * Decodes `chunk`. Must not be called again after a step reported `done`.
   * Throws SnapshotError('GZIP') on corrupt DEFLATE data.
   */
  write(chunk: Uint8Array): Promise<InflateStep> | InflateStep;
  /**
   * The input has ended. Throws SnapshotError('TRUNCATED') when the stream is not done.
   * Releases the engine's resources in every case; safe to call more than once.
   */
  close(): void;
}

export interface InflateOptions {
  /**
   * The caller is done with the output of each `write` by the time it calls `write` twice more,
   * so the engine may decode into memory it reuses from then on (no allocation per output).
   * Engines without reusable output ignore it.
   */
  reuseOutput?: boolean;
}

export interface InflateEngine {
  readonly name: string;
  create(opts?: InflateOptions): RawInflater;
}

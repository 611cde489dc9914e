/**
 * Errors that a source throws the way a Go reader returns data and an error from one Read: the
 * error belongs with the last chunk the source yielded, so a consumer whose read took the end of
 * that chunk sees the error there (see {@link ByteReader.errorWithLastChunk}).
 */
const withLastChunk = new WeakSet<object>();

/** Marks `err`, thrown by a source, as belonging with the last chunk it yielded. */
export function markWithLastChunk(err: unknown): void {
  if (typeof err === 'object' && err !== null) withLastChunk.add(err);
}

/**
 * A pull-based reader over an async sequence of byte chunks, with the few primitives the gzip
 * and tar layers need. It never holds more than the current chunk plus what a `readFull` call
 * asks for, so memory stays bounded whatever the size of the stream. An error the source
 * throws is thrown again by every later call that needs more bytes.
 */
export class ByteReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private chunk: Uint8Array = new Uint8Array(0);
  private offset = 0;
  private ended = false;
  /** The source's error, once it threw. */
  private failure: { error: unknown } | undefined;
  /** Total bytes handed out by read/readFull/skip so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array> | AsyncIterator<Uint8Array>) {
    this.source =
      Symbol.asyncIterator in source
        ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
        : (source as AsyncIterator<Uint8Array>);
  }

  /** Ensures some unread bytes are buffered; false when the source has ended. */
  private async fill(): Promise<boolean> {
    while (this.offset >= this.chunk.length) {
      if (this.failure) throw this.failure.error;
      if (this.ended) return false;
      let next: IteratorResult<Uint8Array>;
      try {
        next = await this.source.next();
      } catch (err) {
        this.failure = { error: err };
        throw err;
      }
      if (next.done) {
        this.ended = true;
        return false;
      }
      this.chunk = next.value;
      this.offset = 0;
    }
    return true;
  }

  /**
   * Returns up to `max` bytes (at least one), or null at the end of the stream. The result may
   * be a view of the source's chunk: the caller must not keep it past the next source chunk
   * if the source reuses its buffers.
   */
  async read(max: number): Promise<Uint8Array | null> {
    if (max <= 0) return new Uint8Array(0);
    if (!(await this.fill())) return null;
    const n = Math.min(max, this.chunk.length - this.offset);
    const out = this.chunk.subarray(this.offset, this.offset + n);
    this.offset += n;
    this.position += n;
    return out;
  }

  /**
   * Like {@link read} without waiting, into `out` at `at`: copies up to `max` of the bytes
   * already buffered and returns how many (0 when none are; {@link read} pulls the next chunk).
   */
  copyBuffered(out: Uint8Array, at: number, max: number): number {
    const n = Math.min(max, this.chunk.length - this.offset);
    if (n <= 0) return 0;
    const from = this.offset;
    // A few bytes (a sparse map's short fragments) are cheaper copied than viewed.
    if (n <= 16) for (let i = 0; i < n; i++) out[at + i] = this.chunk[from + i];
    else out.set(this.chunk.subarray(from, from + n), at);
    this.offset += n;
    this.position += n;
    return n;
  }

  /**
   * Reads exactly `n` bytes, or fewer only when the stream ends first (then the result is
   * shorter than `n`; callers decide whether that is an error). The result is a fresh copy
   * unless it can be a view of a single source chunk.
   */
  async readFull(n: number): Promise<Uint8Array> {
    if (!(await this.fill()) || n === 0) return new Uint8Array(0);
    if (this.chunk.length - this.offset >= n) {
      const out = this.chunk.subarray(this.offset, this.offset + n);
      this.offset += n;
      this.position += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const part = await this.read(n - got);
      if (part === null) return out.subarray(0, got);
      out.set(part, got);
      got += part.length;
    }
    return out;
  }

  /** Discards up to `n` bytes; returns how many were discarded (fewer only at the end). */
  async discard(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const part = await this.read(Math.min(left, 1 << 30));
      if (part === null) break;
      left -= part.length;
    }
    return n - left;
  }

  /**
   * Gives back the last `n` bytes handed out by the most recent `read`/`readFull`, so that the
   * next read returns them again. `n` must not exceed what that call returned from the current
   * chunk (true for the bytes at the end of a `read` result).
   */
  unread(n: number): void {
    if (n > this.offset) throw new RangeError('unread beyond the current chunk');
    this.offset -= n;
    this.position -= n;
  }

  /**
   * For a reader whose last read took the end of the current chunk: asks the source for its next
   * chunk now and returns the error it throws if that error belongs with the chunk just finished
   * ({@link markWithLastChunk}), as Go's reader would have returned it with those bytes; returns
   * undefined otherwise (any other error is thrown by the next call that needs bytes). Bytes
   * returned earlier may be invalid afterwards if the source reuses its buffers.
   */
  async errorWithLastChunk(): Promise<unknown> {
    if (this.offset < this.chunk.length) return undefined;
    try {
      await this.fill();
    } catch (err) {
      // WeakSet.has is false for anything not an object.
      if (withLastChunk.has(err as object)) return err;
    }
    return undefined;
  }

  /** True when no byte remains (pulls from the source to find out). */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  /** Stops the source early (e.g. on error), letting it release resources. */
  async cancel(): Promise<void> {
    this.ended = true;
    await this.source.return?.();
  }
}

/**
 * Raw DEFLATE decoding by Node's native zlib (on the libuv thread pool, off the main thread).
 *
 * Node's inflater stops consuming input at the end of the DEFLATE stream; its `bytesWritten`
 * then counts the bytes zlib consumed, which tells the gzip layer where the member trailer starts.
 *
 * Unlike Go's reader, zlib hands over nothing of a write that meets corrupt data (and rejects a
 * block without an end-of-block code before decoding it): an archive whose last bytes share a
 * write with corruption after them is cut short here, where the reference reads it whole. The
 * verdict of a verify is the same (the corruption fails it); a parse or restore can differ,
 * which is why this engine is never the default.
 */
import { constants, createInflateRaw, type InflateRaw } from 'node:zlib';
import type { InflateEngine, InflateStep, RawInflater } from '../engines/inflate.js';
import { SnapshotError } from '../errors.js';

class ZlibRawInflater implements RawInflater {
  private readonly z: InflateRaw;
  private output: Uint8Array[] = [];
  private fed = 0;
  private ended = false;
  private endWaiters: (() => void)[] = [];
  private error: Error | undefined;
  private done = false;
  /** Rejects the write in flight, if any (zlib reports corrupt data by an 'error' event). */
  private failInFlight: ((err: SnapshotError) => void) | undefined;

  constructor() {
    this.z = createInflateRaw({ chunkSize: 256 * 1024 });
    this.z.on('data', (b: Uint8Array) => this.output.push(b));
    this.z.on('end', () => {
      this.ended = true;
      for (const w of this.endWaiters.splice(0)) w();
    });
    this.z.on('error', (e: Error) => {
      this.error = e;
      this.failInFlight?.(this.fail(e));
      for (const w of this.endWaiters.splice(0)) w();
    });
  }

  write(chunk: Uint8Array): Promise<InflateStep> {
    if (this.done) throw new Error('write after the end of the DEFLATE stream');
    if (this.error) throw this.fail(this.error);
    return new Promise<InflateStep>((resolve, reject) => {
      this.failInFlight = reject;
      this.fed += chunk.length;
      this.z.write(chunk, (err) => {
        this.failInFlight = undefined;
        if (err || this.error) return reject(this.fail(err ?? this.error));
        const unused = this.fed - this.z.bytesWritten;
        if (unused === 0) {
          resolve({ output: this.take(), done: false, unused: 0 });
          return;
        }
        // zlib stopped before the end of its input: the stream ended inside this chunk.
        this.done = true;
        const finish = () => {
          if (this.error) reject(this.fail(this.error));
          else resolve({ output: this.take(), done: true, unused });
        };
        if (this.ended) finish();
        else this.endWaiters.push(finish);
      });
    });
  }

  private take(): Uint8Array[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  private fail(err: Error | null | undefined): SnapshotError {
    const code = (err as { code?: string } | undefined)?.code;
    if (code === 'Z_BUF_ERROR')
      return new SnapshotError('TRUNCATED', 'unexpected EOF', { cause: err });
    return new SnapshotError('GZIP', `flate: corrupt input (${err?.message ?? 'unknown error'})`, {
      cause: err,
    });
  }

  close(): void {
    if (!this.z.destroyed) this.z.destroy();
    if (!this.done) throw new SnapshotError('TRUNCATED', 'unexpected EOF');
  }
}

/** The Node zlib engine (name 'native'). */
export const zlibInflate: InflateEngine = {
  name: 'native',
  create: () => new ZlibRawInflater(),
};

export { constants as zlibConstants };

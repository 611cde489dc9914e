/**
 * Node.js Writables (fs.WriteStream, a socket, process.stdout) as raftsnap outputs: registered by
 * the Node entry and the CLI with {@link registerOutputAdapter}, so that the portable core knows
 * nothing of them.
 */
import { SnapshotError } from '../errors.js';
import type { ByteSink } from '../io/input.js';

/** The part of a Node.js Writable (fs.WriteStream, a socket, process.stdout) a sink uses. */
interface NodeWritable {
  write(chunk: Uint8Array): boolean;
  end(callback: (err?: Error | null) => void): unknown;
  destroy(err?: Error): unknown;
  on(event: 'error', listener: (err?: Error) => void): unknown;
  once(event: 'drain' | 'error' | 'close', listener: (err?: Error) => void): unknown;
  off(event: 'drain' | 'error' | 'close', listener: (err?: Error) => void): unknown;
  readonly destroyed?: boolean;
}

function isNodeWritable(o: object): o is NodeWritable {
  const w = o as Partial<NodeWritable>;
  return (
    typeof w.end === 'function' &&
    typeof w.on === 'function' &&
    typeof w.once === 'function' &&
    typeof w.off === 'function'
  );
}

/** A guarded Writable's first failure, and the listener that keeps it. */
interface Guard {
  failed?: Error;
  listener: (err?: Error) => void;
}

const guarded = new WeakMap<NodeWritable, Guard>();

/** Keeps `w`'s first 'error' from now on (an 'error' with no listener ends the process). */
function guard(w: NodeWritable): Guard {
  const known = guarded.get(w);
  if (known) return known;
  const kept: Guard = {
    listener: (err?: Error) => {
      kept.failed ??= err ?? new Error('output stream failed');
    },
  };
  w.on('error', kept.listener);
  guarded.set(w, kept);
  return kept;
}

/**
 * A Node.js Writable as a sink: `write` waits for 'drain' when the stream's buffer is full (its
 * `write()` answers false rather than a promise), `close` ends it and waits for it to finish,
 * `abort` destroys it (without an error: the operation's rejection says what went wrong). The
 * stream's 'error' is listened to from the first check of the output (see
 * {@link guardNodeWritable}) to the sink's end, so that one coming before or between writes
 * fails the next write or the close instead of the process. The stream keeps each chunk until
 * written, so chunks are not released.
 */
function writableSink(w: NodeWritable): ByteSink {
  const kept = guard(w);
  const onFailure = kept.listener;
  const drained = () =>
    new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        w.off('drain', onDrain);
        w.off('error', onError);
        w.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => settle();
      const onError = (err?: Error) => settle(err ?? new Error('output stream failed'));
      const onClose = () => settle(kept.failed ?? new Error('output stream closed'));
      w.once('drain', onDrain);
      w.once('error', onError);
      w.once('close', onClose);
    });
  return {
    async write(chunk) {
      if (kept.failed) throw kept.failed;
      if (w.destroyed) throw new SnapshotError('IO', 'output stream closed');
      if (!w.write(chunk)) await drained();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (kept.failed) {
          reject(kept.failed);
          return;
        }
        w.end((err) => {
          // The stream is the caller's again: its later errors are theirs.
          if (!err) {
            w.off('error', onFailure);
            guarded.delete(w);
          }
          return err ? reject(err) : resolve();
        });
      }),
    async abort() {
      w.destroy();
    },
  };
}

/** The sink for `output` when it is a Node.js Writable, else undefined. */
export function nodeWritableSink(output: object): ByteSink | undefined {
  return isNodeWritable(output) ? writableSink(output) : undefined;
}

/**
 * Keeps a Node Writable's failures from now on, for the sink {@link nodeWritableSink} opens on
 * it later; anything else is left alone.
 */
export function guardNodeWritable(output: object): void {
  if (isNodeWritable(output)) guard(output);
}

/**
 * The one error class raftsnap throws for anything wrong with a snapshot or its handling.
 *
 * `code` names the rule that failed, so callers can branch on it; `message` reads like the
 * reference implementation's error (hashicorp/raft-snapshot) and names the file and the rule.
 */
export type SnapshotErrorCode =
  /** The gzip layer is invalid: bad header, corrupt deflate data, CRC or length mismatch. */
  | 'GZIP'
  /** The tar layer is invalid: bad header, truncated entry, malformed PAX/GNU records. */
  | 'TAR'
  /** An entry other than meta.json, state.bin, SHA256SUMS, SHA256SUMS.sealed. */
  | 'UNEXPECTED_FILE'
  /** meta.json, SHA256SUMS or SHA256SUMS.sealed reached the 8192-byte limit. */
  | 'TOO_LARGE'
  /** meta.json is not what Go's encoding/json accepts as raft.SnapshotMeta. */
  | 'META'
  /** SHA256SUMS (or the opened sealed sums) is malformed or disagrees with the contents. */
  | 'INTEGRITY'
  /** The sealed sums could not be opened (wrong key, tampering, missing file). */
  | 'SEAL'
  /** Decompressed bytes remain after the end of the tar archive. */
  | 'TRAILING_DATA'
  /** The input ended before the snapshot did. */
  | 'TRUNCATED'
  /** Raft refused or failed an operation (snapshot or restore). */
  | 'RAFT'
  /** The operation was aborted by its AbortSignal or timed out. */
  | 'ABORTED'
  /** An argument is not of the documented form. */
  | 'INVALID_ARGUMENT'
  /** Reading input or writing output failed. */
  | 'IO';

export class SnapshotError extends Error {
  readonly code: SnapshotErrorCode;

  constructor(code: SnapshotErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SnapshotError';
    this.code = code;
  }

  /** Returns a copy whose message is prefixed with `context: `, keeping code and cause. */
  wrap(context: string): SnapshotError {
    return new SnapshotError(this.code, `${context}: ${this.message}`, {
      cause: this.cause ?? this,
    });
  }
}

/** True when `err` is a SnapshotError (also across bundle copies of the class). */
export function isSnapshotError(err: unknown): err is SnapshotError {
  return (
    err instanceof Error &&
    err.name === 'SnapshotError' &&
    typeof (err as SnapshotError).code === 'string'
  );
}

/**
 * Prefixes `err` with `context` as the reference wraps errors ("context: cause"), keeping a
 * SnapshotError's code; anything else (an I/O failure of the caller's input or output) becomes
 * SnapshotError('IO').
 */
export function wrapError(err: unknown, context: string): SnapshotError {
  if (isSnapshotError(err)) return err.wrap(context);
  const msg = err instanceof Error ? err.message : String(err);
  return new SnapshotError('IO', `${context}: ${msg}`, { cause: err });
}

/** The message of an Error, or the string form of anything else thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

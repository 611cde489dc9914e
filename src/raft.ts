/**
 * How raftsnap reaches a Raft, modelled on hashicorp/raft: `snapshot()` is
 * `raft.Snapshot().Open()`, `restore()` is `raft.Restore(meta, reader, timeout)`.
 */
import type { SnapshotMeta } from './format/meta.js';

/** An open Raft snapshot. `close()` is called exactly once by raftsnap, on every path. */
export interface RaftSnapshot {
  meta: SnapshotMeta;
  /** The FSM state: exactly `meta.size` bytes. */
  data: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
  close(): Promise<void> | void;
}

export interface RaftRestoreOptions {
  /**
   * The caller's deadline in milliseconds (0 or absent: none). raftsnap aborts `signal` when it
   * passes; an implementation over hashicorp/raft may also pass it as Restore's timeout, which
   * bounds only the wait for Raft to take the restore.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Raft {
  /** Takes a snapshot and opens it. */
  snapshot(): Promise<RaftSnapshot>;
  /** Replaces the FSM state with `data` (exactly `meta.size` bytes), as Raft's user restore. */
  restore(
    meta: SnapshotMeta,
    data: ReadableStream<Uint8Array>,
    opts?: RaftRestoreOptions,
  ): Promise<void>;
}

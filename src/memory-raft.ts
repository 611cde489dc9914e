/**
 * A Raft whose replicated state is held in memory as one byte array: the smallest faithful
 * implementation of the {@link Raft} interface, for demos and for testing integrations. Every
 * applied command advances the index like a Raft log; `snapshot()` and `restore()` behave as
 * hashicorp/raft's user snapshot and restore (restore installs the state and moves the index
 * past the snapshot's). The real Raft is hashicorp/raft, which raftsnap's tests drive too.
 */
import { SnapshotError } from './errors.js';
import { type SnapshotMeta, zeroMeta } from './format/meta.js';
import { bytesOf } from './io/input.js';
import type { Raft, RaftRestoreOptions, RaftSnapshot } from './raft.js';

export interface MemoryRaftOptions {
  id?: string;
  address?: string;
  term?: bigint;
}

export class MemoryRaft implements Raft {
  /** The FSM state. */
  state: Uint8Array;
  index: bigint;
  term: bigint;
  readonly id: string;
  readonly address: string;
  /** How many snapshots are open (taken and not yet closed). */
  openSnapshots = 0;
  /** How many restores Raft has accepted. */
  restores = 0;

  constructor(state: Uint8Array = new Uint8Array(0), index = 1n, opts: MemoryRaftOptions = {}) {
    this.state = state;
    this.index = index;
    this.term = opts.term ?? 1n;
    this.id = opts.id ?? 'node-1';
    this.address = opts.address ?? '127.0.0.1:8300';
  }

  /** Applies a command that replaces the state (advancing the index). */
  apply(state: Uint8Array): bigint {
    this.state = state;
    this.index += 1n;
    return this.index;
  }

  async snapshot(): Promise<RaftSnapshot> {
    const meta: SnapshotMeta = {
      ...zeroMeta(),
      version: 1,
      id: `${this.term}-${this.index}-${Date.now()}`,
      index: this.index,
      term: this.term,
      configuration: { servers: [{ suffrage: 0, id: this.id, address: this.address }] },
      configurationIndex: 1n,
      size: BigInt(this.state.length),
    };
    const data = this.state.slice();
    this.openSnapshots++;
    let closed = false;
    return {
      meta,
      data: bytesOf(data),
      close: () => {
        if (closed) throw new Error('raft snapshot closed twice');
        closed = true;
        this.openSnapshots--;
      },
    };
  }

  async restore(
    meta: SnapshotMeta,
    data: ReadableStream<Uint8Array>,
    opts: RaftRestoreOptions = {},
  ): Promise<void> {
    // As hashicorp/raft: snapshot versions 0 (SnapshotVersionMin) to 1 (SnapshotVersionMax).
    if (meta.version < 0 || meta.version > 1) {
      await data.cancel().catch(() => {});
      throw new Error(`unsupported snapshot version ${meta.version}`);
    }
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of bytesOf(data)) {
      if (opts.signal?.aborted) throw new SnapshotError('ABORTED', 'restore aborted');
      parts.push(chunk.slice());
      n += chunk.length;
    }
    if (opts.signal?.aborted) throw new SnapshotError('ABORTED', 'restore aborted');
    if (BigInt(n) !== meta.size) {
      throw new Error(`restore: state has ${n} bytes, metadata says ${meta.size}`);
    }
    const state = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
      state.set(p, off);
      off += p.length;
    }
    this.state = state;
    // hashicorp/raft moves the index past both its own and the snapshot's after a user restore.
    if (meta.index > this.index) this.index = meta.index;
    // A uint64, as Go's lastIndex++ wraps.
    this.index = (this.index + 1n) & 0xffff_ffff_ffff_ffffn;
    this.restores++;
  }
}

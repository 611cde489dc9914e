/**
 * A real hashicorp/raft cluster for tests: builds the Go peer in test/peers/hashicorp-raft once
 * (cached by a hash of its sources and the Go version), starts 3-node clusters on loopback,
 * talks to their control and node endpoints, and adapts the raw snapshot bridge to raftsnap's
 * `Raft` interface. See test/peers/README.md.
 *
 * Every cluster is a child process that exits when its stdin closes; clusters still running when
 * this process exits are killed.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeMeta, encodeMeta, type Raft, type SnapshotMeta } from 'raftsnap';
import { HttpClient } from '../../src/adapters/http.js';

const execFileP = promisify(execFile);

/** The repository root (dist/test/support → ../../..). */
const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
/** The Go peer's sources. */
export const peerSourceDir = join(repoRoot, 'test', 'peers', 'hashicorp-raft');
/** Build output (gitignored): node_modules/.cache/raftsnap-peer, or RAFTSNAP_PEER_CACHE. */
const cacheDir =
  process.env.RAFTSNAP_PEER_CACHE ?? join(repoRoot, 'node_modules', '.cache', 'raftsnap-peer');
/** Where Debian installs Go sources (golang-github-hashicorp-raft-dev and its dependencies). */
const systemGopath = process.env.RAFTSNAP_PEER_GOPATH ?? '/usr/share/gocode';

/** The Debian packages the peer needs. */
export const PEER_PACKAGES = 'golang-go golang-github-hashicorp-raft-dev';

let built: Promise<string> | undefined;

/**
 * Throws, saying what to install, when the peer cannot be built here (no `go`, no hashicorp/raft
 * sources). The tests that use the real cluster are never skipped: .ci/run installs both.
 */
export async function requirePeer(): Promise<void> {
  let reason: string | undefined;
  try {
    await execFileP('go', ['version']);
  } catch {
    reason = `go is not installed (apt-get install ${PEER_PACKAGES})`;
  }
  if (!reason && !existsSync(join(systemGopath, 'src', 'github.com', 'hashicorp', 'raft'))) {
    reason = `hashicorp/raft sources not found in ${systemGopath} (apt-get install ${PEER_PACKAGES})`;
  }
  if (reason) throw new Error(reason);
}

/**
 * Builds the peer (once per process, and once per source hash across processes: concurrent test
 * files wait on a lock directory) and returns the binary's path.
 */
export function peerBinary(): Promise<string> {
  built ??= buildPeer();
  return built;
}

async function buildPeer(): Promise<string> {
  const files = (await readdir(peerSourceDir)).filter((f) => f.endsWith('.go')).sort();
  const h = createHash('sha256');
  h.update((await execFileP('go', ['version'])).stdout);
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(await readFile(join(peerSourceDir, f)));
  }
  const key = h.digest('hex').slice(0, 16);
  const out = join(cacheDir, `peer-${key}`);
  if (existsSync(out)) return out;
  await mkdir(cacheDir, { recursive: true });
  const lock = `${out}.lock`;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (existsSync(out)) return out;
      const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > 180_000) await rm(lock, { recursive: true, force: true });
      else await sleep(200);
    }
  }
  try {
    if (existsSync(out)) return out;
    const tmp = `${out}.${process.pid}.tmp`;
    const env = {
      ...process.env,
      GO111MODULE: 'off',
      GOFLAGS: '',
      GOPATH: `${join(cacheDir, 'gopath')}:${systemGopath}`,
      GOCACHE: process.env.GOCACHE ?? join(cacheDir, 'gocache'),
    };
    try {
      await execFileP('go', ['build', '-o', tmp, '.'], {
        cwd: peerSourceDir,
        env,
        maxBuffer: 16 << 20,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`building the Go peer failed:\n${e.stderr ?? e.message}`);
    }
    await rename(tmp, out);
    // Binaries of older sources are of no further use (a running one keeps its inode).
    for (const f of await readdir(cacheDir)) {
      if (/^peer-[0-9a-f]{16}$/.test(f) && join(cacheDir, f) !== out)
        await rm(join(cacheDir, f), { force: true });
    }
    return out;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** One node as the peer announces it. */
export interface ClusterNode {
  id: string;
  raftAddr: string;
  httpUrl: string;
}

/** A node's entry in GET /status. */
export interface NodeStatus {
  id: string;
  up: boolean;
  /** Leader, Follower, Candidate, Shutdown or Down. */
  state: string;
  lastIndex: number;
  appliedIndex: number;
  keys: number;
  /** HTTP restore requests received (bridge and product endpoints), whatever their outcome. */
  restoreRequests: number;
  /** Successful raft.Restore calls. */
  restores: number;
  lastRequest: { method: string; path: string; query: string; namespace?: string } | null;
}

export interface ClusterStatus {
  /** The settled leader's id, or '' when there is none. */
  leader: string;
  nodes: NodeStatus[];
}

export interface StartOptions {
  /** The token the product endpoints require ('' or absent: no check). */
  token?: string;
  /** 64 hex characters: Vault-shaped archives are sealed with this AES-256-GCM key. */
  sealKeyHex?: string;
  /** Raft's log level on the peer's stderr (default 'error'). */
  logLevel?: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A running cluster; `stop()` ends it (call it in a `finally` or `after`). */
export class RaftCluster {
  private constructor(
    private readonly child: ChildProcess,
    /** The peer's data directory (removed by the peer at exit; again by stop() to be sure). */
    private readonly dataDir: string,
    readonly nodes: ClusterNode[],
    readonly controlUrl: string,
    private readonly stderr: () => string,
  ) {}

  /** Builds the peer if needed and starts a 3-node cluster with a settled leader. */
  static async start(opts: StartOptions = {}): Promise<RaftCluster> {
    const bin = await peerBinary();
    // The peer makes its own data directory and removes it when it exits (also when its stdin
    // closes because this process died).
    const args = ['-token', opts.token ?? '', '-log-level', opts.logLevel ?? 'error'];
    if (opts.sealKeyHex) args.push('-seal-key', opts.sealKeyHex);
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    live.add(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8192);
    });
    const lines = createInterface({ input: child.stdout! });
    try {
      const first = await new Promise<string>((resolveLine, reject) => {
        const timer = setTimeout(
          () => reject(new Error('the cluster did not start within 30 s')),
          30_000,
        );
        lines.once('line', (l) => {
          clearTimeout(timer);
          resolveLine(l);
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`the peer exited with ${code} before it was ready`));
        });
      });
      const ready = JSON.parse(first) as {
        nodes: ClusterNode[];
        controlUrl: string;
        dataDir: string;
      };
      return new RaftCluster(child, ready.dataDir, ready.nodes, ready.controlUrl, () => err);
    } catch (e) {
      child.kill('SIGKILL');
      live.delete(child);
      throw new Error(`${(e as Error).message}\n${err}`);
    }
  }

  /** The node with this id. */
  node(id: string): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** The peer's recent stderr (for failure messages). */
  logs(): string {
    return this.stderr();
  }

  private async control<T>(method: 'GET' | 'POST', path: string): Promise<T> {
    const res = await fetch(`${this.controlUrl}${path}`, { method });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.trim()}`);
    return JSON.parse(text) as T;
  }

  status(): Promise<ClusterStatus> {
    return this.control('GET', '/status');
  }

  /** Waits (up to `timeoutMs`) for a leader that every up node follows, and returns it. */
  async waitLeader(timeoutMs = 15_000): Promise<ClusterNode> {
    const r = await this.control<{ leader: string }>(
      'POST',
      `/wait-leader?timeout_ms=${timeoutMs}`,
    );
    return this.node(r.leader);
  }

  /** The up nodes other than the leader. */
  async followers(): Promise<ClusterNode[]> {
    const leader = await this.waitLeader();
    const s = await this.status();
    return s.nodes.filter((n) => n.up && n.id !== leader.id).map((n) => this.node(n.id));
  }

  /** Shuts a node down (HTTP and raft); its connections are cut. */
  async stopNode(id: string): Promise<void> {
    await this.control('POST', `/stop?node=${encodeURIComponent(id)}`);
  }

  /** Starts a stopped node again (same addresses and data). */
  async startNode(id: string): Promise<void> {
    await this.control('POST', `/start?node=${encodeURIComponent(id)}`);
  }

  /** Shuts the current leader down abruptly; returns its id. */
  async killLeader(): Promise<string> {
    return (await this.control<{ killed: string }>('POST', '/kill-leader')).killed;
  }

  /** Writes keys through the leader, in batches of `batch` keys (one raft entry each). */
  async putKeys(kv: Record<string, string>, batch = 5000): Promise<void> {
    const leader = await this.waitLeader();
    const entries = Object.entries(kv);
    for (let i = 0; i < entries.length; i += batch) {
      const res = await fetch(`${leader.httpUrl}/kv-batch`, {
        method: 'POST',
        body: JSON.stringify(Object.fromEntries(entries.slice(i, i + batch))),
      });
      if (!res.ok) throw new Error(`POST /kv-batch: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  }

  /** A node's whole state (keys sorted). */
  async dump(id: string): Promise<Record<string, string>> {
    const res = await fetch(`${this.node(id).httpUrl}/kv`);
    if (!res.ok) throw new Error(`GET /kv on ${id}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, string>;
  }

  /**
   * Waits until every node in `ids` (default: all up nodes) holds exactly `expected`; throws with
   * a summary of the differences after `timeoutMs`.
   */
  async waitForState(
    expected: Record<string, string>,
    ids?: string[],
    timeoutMs = 15_000,
  ): Promise<void> {
    const want = Object.keys(expected).length;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const s = await this.status();
      const targets = ids ?? s.nodes.filter((n) => n.up).map((n) => n.id);
      const pending = targets.filter((id) => s.nodes.find((n) => n.id === id)?.keys !== want);
      if (pending.length === 0) {
        const diffs: string[] = [];
        for (const id of targets) {
          const d = diffSummary(expected, await this.dump(id));
          if (d) diffs.push(`${id}: ${d}`);
        }
        if (diffs.length === 0) return;
        last = diffs.join('; ');
      } else {
        last = pending
          .map((id) => `${id} has ${s.nodes.find((n) => n.id === id)?.keys} keys, want ${want}`)
          .join('; ');
      }
      if (Date.now() > deadline) throw new Error(`cluster state did not converge: ${last}`);
      await sleep(50);
    }
  }

  /**
   * Ends the cluster: closes the peer's stdin and sends SIGTERM, SIGKILL after 5 s; removes its
   * data directory. Safe to call more than once.
   */
  async stop(): Promise<void> {
    const child = this.child;
    if (live.has(child)) {
      live.delete(child);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.stdin?.end();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts a cluster; see RaftCluster.start. */
export function startCluster(opts: StartOptions = {}): Promise<RaftCluster> {
  return RaftCluster.start(opts);
}

/** A short description of how `got` differs from `want` ('' when equal). */
export function diffSummary(want: Record<string, string>, got: Record<string, string>): string {
  const missing = Object.keys(want).filter((k) => !(k in got));
  const extra = Object.keys(got).filter((k) => !(k in want));
  const changed = Object.keys(want).filter((k) => k in got && got[k] !== want[k]);
  if (!missing.length && !extra.length && !changed.length) return '';
  const few = (ks: string[]) => ks.slice(0, 3).join(', ') + (ks.length > 3 ? ', …' : '');
  return [
    missing.length ? `${missing.length} missing (${few(missing)})` : '',
    extra.length ? `${extra.length} unexpected (${few(extra)})` : '',
    changed.length ? `${changed.length} different (${few(changed)})` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** `count` keys `key00000…` with distinct values, deterministic for a `seed`. */
export function makeKeys(count: number, seed = 'v'): Record<string, string> {
  const kv: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    kv[`key${String(i).padStart(5, '0')}`] = `${seed}-${i}-${(i * 2654435761) % 4294967296}`;
  }
  return kv;
}

/** Hooks of the raw bridge, for tests. */
export interface BridgeOptions {
  /** Query parameters of GET /raft/snapshot (throttle, drop_after). */
  snapshotQuery?: Record<string, string>;
  /** Sleep this long on the server before raft.Restore (delay_ms). */
  restoreDelayMs?: number;
  /** Called once for every close() of a snapshot (to check "exactly once"). */
  onClose?: () => void;
}

/**
 * raftsnap's `Raft` over the peer's raw bridge on `nodeUrl`:
 * - `snapshot()`: GET /raft/snapshot; the meta is decoded from X-Raft-Snapshot-Meta with
 *   raftsnap's decodeMeta; `data` is the response body, streamed; `close()` releases the
 *   connection (cancelling an unread body), once however often it is called.
 * - `restore(meta, data, { timeoutMs, signal })`: POST /raft/restore with encodeMeta(meta) in
 *   X-Raft-Snapshot-Meta and `data` streamed as the body; `timeoutMs` becomes raft.Restore's
 *   timeout on the server; `signal` aborts the request. Rejects with the server's error.
 */
export function raftOverBridge(nodeUrl: string, opts: BridgeOptions = {}): Raft {
  const client = new HttpClient({ addr: nodeUrl, service: 'the raft bridge', timeoutMs: 30_000 });
  return {
    async snapshot() {
      const q = new URLSearchParams(opts.snapshotQuery).toString();
      const res = await client.request({
        method: 'GET',
        path: `/raft/snapshot${q ? `?${q}` : ''}`,
        what: 'taking a snapshot',
      });
      const header = res.header('x-raft-snapshot-meta');
      if (header === undefined) {
        await res.body.cancel();
        throw new Error('the bridge sent no X-Raft-Snapshot-Meta header');
      }
      let meta: SnapshotMeta;
      try {
        meta = decodeMeta(Buffer.from(header, 'latin1'));
      } catch (err) {
        await res.body.cancel();
        throw err;
      }
      let closed = false;
      return {
        meta,
        data: res.body,
        async close() {
          if (closed) return;
          closed = true;
          opts.onClose?.();
          // Releases the connection when the body was not read to its end (locked or not).
          res.abort();
        },
      };
    },
    async restore(meta, data, o = {}) {
      const q = new URLSearchParams();
      if (o.timeoutMs) q.set('timeout_ms', String(o.timeoutMs));
      if (opts.restoreDelayMs) q.set('delay_ms', String(opts.restoreDelayMs));
      let opened = false;
      const res = await client.request({
        method: 'POST',
        path: `/raft/restore?${q}`,
        headers: {
          'X-Raft-Snapshot-Meta': Buffer.from(encodeMeta(meta)).toString('latin1').trimEnd(),
        },
        body: {
          length: Number(meta.size),
          open() {
            if (opened) throw new Error('the snapshot data cannot be sent twice');
            opened = true;
            return data;
          },
        },
        signal: o.signal,
        what: 'restoring the snapshot',
      });
      await res.text();
    },
  };
}

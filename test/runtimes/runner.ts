/**
 * The conformance runner: runs the cases built by ./cases.ts against a raftsnap API object and
 * reports what each call returned, for the host to compare with the expected verdicts.
 *
 * Portable: no Node built-ins and no runtime-specific API beyond what every target has (fetch,
 * Blob, Web streams, WebCrypto, atob/btoa, performance.now), so the same code runs in Node
 * (imported from dist with the portable entry), and bundled by ./bundle.ts in Deno, Bun, workerd
 * and Chromium.
 */
import type * as Raftsnap from 'raftsnap/portable';

/** The part of raftsnap's public API the runner exercises. */
export type Api = Pick<
  typeof Raftsnap,
  | 'verify'
  | 'inspect'
  | 'parse'
  | 'writeSnapshot'
  | 'decodeMeta'
  | 'encodeMeta'
  | 'aesGcmSealer'
  | 'parseKeyHex'
  | 'createSha256'
  | 'isSnapshotError'
  | 'getEngines'
>;

/** What a valid snapshot must yield (every field compared exactly). */
export interface ValidSnapshot {
  valid: true;
  id: string;
  /** uint64 as a decimal string: compared exactly, also past 2^53. */
  index: string;
  term: string;
  version: number;
  configurationIndex: string;
  /** Number of servers in the configuration (-1 for `null`). */
  servers: number;
  /** Bytes of state.bin. */
  stateSize: number;
  /** SHA-256 (hex) of state.bin. */
  stateSha256: string;
  /** Whether the archive has SHA256SUMS.sealed. */
  sealed: boolean;
  /** `sha-256=` + base64 SHA-256 of the archive, as the reference's Snapshot.Checksum(). */
  checksum: string;
  /** encodeMeta(meta) as text: meta.json exactly as Go's encoding/json writes it. */
  metaJson: string;
}

/** What an invalid snapshot must yield. */
export interface InvalidSnapshot {
  valid: false;
  /** The SnapshotError code. */
  code: string;
  /** A regular expression (source) the message must match. */
  message: string;
  /**
   * Only the gzip stream after the end of the archive is wrong: verify (the reference's Verify)
   * rejects the file, parse stops at the end of the tar (as the reference's Parse) and accepts it.
   */
  parseValid?: true;
}

/** verify, inspect and parse of one archive, optionally with an AES-256-GCM key. */
export interface SnapshotCase {
  kind: 'snapshot';
  name: string;
  /** The archive, base64. */
  data: string;
  /** The sealer key, 64 hex characters. */
  key?: string;
  expect: ValidSnapshot | InvalidSnapshot;
}

/** createSha256 over `data` fed in `chunk`-byte pieces. */
export interface Sha256Case {
  kind: 'sha256';
  name: string;
  /** The data, base64, or `gen`: {@link stateBytes}(size, seed) (large inputs are not shipped). */
  data?: string;
  gen?: { size: number; seed: number };
  chunk: number;
  /** The digest, hex. */
  expect: string;
}

/** decodeMeta then encodeMeta of one meta.json document (expectations observed from Go 1.19). */
export interface MetaCase {
  kind: 'meta';
  name: string;
  /** The document, base64. */
  doc: string;
  expect: { valid: true; encoded: string } | { valid: false; code: string; message: string };
}

/**
 * writeSnapshot in the runtime, then verify of what it wrote; the archive goes back to the
 * host, which checks it independently of raftsnap (node:zlib, its own tar reader, node:crypto).
 */
export interface WriteCase {
  kind: 'write';
  name: string;
  /** meta.json as Go writes it; decoded with decodeMeta and must be written back identically. */
  meta: string;
  /** state.bin is {@link stateBytes}(stateSize, stateSeed). */
  stateSize: number;
  stateSeed: number;
  /** gzip level; absent: the default (CompressionStream where the runtime has it). */
  level?: number;
  key?: string;
  /** Modification time of the tar entries, ms since the epoch. */
  mtime: number;
}

export type Case = SnapshotCase | Sha256Case | MetaCase | WriteCase;

/** What the runtime did with one case. */
export interface CaseResult {
  name: string;
  kind: Case['kind'];
  valid: boolean;
  /** The SnapshotError's code and message when not valid. */
  error?: { code: string; message: string };
  /** Facts of a valid result, compared field by field with the expectation. */
  facts?: Record<string, string | number | boolean>;
  /** Inconsistencies noticed inside the runtime (verify, inspect and parse disagreeing, ...). */
  problems: string[];
  /** Write cases: the archive written, base64. */
  archive?: string;
}

/** The result of running every case in one runtime. */
export interface RunReport {
  runtime: string;
  ms: number;
  results: CaseResult[];
  /** The engines raftsnap chose in this runtime (`auto`). */
  engines: { hash: string; inflate: string };
}

/** The result of one streaming verify (benchmarks). */
export interface BenchReport {
  runtime: string;
  /** Milliseconds from the first read to the verdict, measured inside the runtime. */
  ms: number;
  archiveSize: number;
  stateSize: number;
  index: string;
  /** Resident memory after the verify, MiB, where the runtime tells (process.memoryUsage). */
  rssMiB?: number;
}

// ---------------------------------------------------------------------------------------------
// Bytes

/** Standard base64 of `bytes` (btoa, in slices). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** Bytes of standard base64 text (atob). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** The arrays joined. */
export function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Deterministic state bytes: 4 KiB blocks alternating between a compressible pattern (byte i
 * = 7i + 3 mod 256, with the block number mixed in) and xorshift32 noise, so that deflate emits
 * long matches, literals and stored-looking runs.
 */
export function stateBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    const block = i >>> 12;
    if (block % 3 === 2) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    } else {
      out[i] = (7 * i + 3 + block) & 0xff;
    }
  }
  return out;
}

/** A ReadableStream over `bytes` in `chunk`-byte pieces (copies, as a real source yields). */
function chunkedStream(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (off >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

// ---------------------------------------------------------------------------------------------
// Cases

type Attempt<T> =
  | { ok: true; value: T }
  | { ok: false; code: string; message: string; foreign: boolean };

/** Runs `fn`, catching a SnapshotError as a verdict (anything else is marked foreign). */
async function attempt<T>(api: Api, fn: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (api.isSnapshotError(err)) {
      return { ok: false, code: err.code, message: err.message, foreign: false };
    }
    const e = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { ok: false, code: 'NOT_A_SNAPSHOT_ERROR', message: e, foreign: true };
  }
}

function errorOf(a: Attempt<unknown>): { code: string; message: string } | undefined {
  return a.ok ? undefined : { code: a.code, message: a.message };
}

function verdictOf(a: Attempt<unknown>): string {
  return a.ok ? 'valid' : `${a.code}: ${a.message}`;
}

async function snapshotCase(api: Api, c: SnapshotCase): Promise<CaseResult> {
  const bytes = fromBase64(c.data);
  const sealer = () => (c.key ? api.aesGcmSealer(api.parseKeyHex(c.key)) : undefined);
  const problems: string[] = [];

  // 1. verify over bytes.
  const v = await attempt(api, () => api.verify(bytes, { sealer: sealer() }));

  // 2. inspect over a Blob, with progress.
  let last: { bytes: number; total?: number } | undefined;
  const i = await attempt(api, () =>
    api.inspect(new Blob([bytes]), {
      sealer: sealer(),
      onProgress: (p) => {
        last = p;
      },
    }),
  );

  // 3. parse over a stream of odd-sized chunks into a WritableStream.
  const parts: Uint8Array[] = [];
  let closed = false;
  let aborted = false;
  const hash = await api.createSha256();
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      parts.push(chunk.slice());
      hash.update(chunk);
    },
    close() {
      closed = true;
    },
    abort() {
      aborted = true;
    },
  });
  const p = await attempt(api, () =>
    api.parse(chunkedStream(bytes, 7919), sink, { sealer: sealer() }),
  );
  const wasmDigest = toHex(hash.digest());

  if (verdictOf(i) !== verdictOf(v)) {
    problems.push(`inspect(Blob) gave ${verdictOf(i)} but verify(Uint8Array) gave ${verdictOf(v)}`);
  }
  const parseValid = !c.expect.valid && c.expect.parseValid === true;
  const parseWant = parseValid ? 'valid' : verdictOf(v);
  if (verdictOf(p) !== parseWant) {
    problems.push(`parse(ReadableStream) gave ${verdictOf(p)}, expected ${parseWant}`);
  }
  if (parseValid && p.ok && !closed) problems.push('parse did not close its output');
  for (const a of [v, i, p]) {
    if (!a.ok && a.foreign) problems.push(`threw something other than SnapshotError: ${a.message}`);
  }

  if (!v.ok || !i.ok || !p.ok) {
    if (!p.ok && !aborted) problems.push('parse did not abort its output on an invalid archive');
    return {
      name: c.name,
      kind: c.kind,
      valid: false,
      error: errorOf(v) ?? errorOf(i) ?? errorOf(p),
      problems,
    };
  }

  const info = i.value;
  const meta = v.value;
  if (!closed) problems.push('parse did not close its output on a valid archive');
  if (last?.bytes !== bytes.length || last.total !== bytes.length) {
    problems.push(
      `last progress ${JSON.stringify(last)}, expected ${bytes.length} of ${bytes.length}`,
    );
  }
  if (p.value.index !== meta.index || info.meta.index !== meta.index) {
    problems.push('verify, inspect and parse returned different indexes');
  }
  const state = concat(parts);
  const stateSha256 = await sha256Hex(state);
  if (wasmDigest !== stateSha256) {
    problems.push(`createSha256 gave ${wasmDigest}, WebCrypto ${stateSha256} over state.bin`);
  }
  if (info.stateSize !== BigInt(state.length)) {
    problems.push(`inspect stateSize ${info.stateSize}, parse wrote ${state.length} bytes`);
  }
  if (info.archiveSize !== bytes.length) {
    problems.push(`inspect archiveSize ${info.archiveSize}, archive has ${bytes.length} bytes`);
  }
  return {
    name: c.name,
    kind: c.kind,
    valid: true,
    facts: {
      id: meta.id,
      index: meta.index.toString(),
      term: meta.term.toString(),
      version: meta.version,
      configurationIndex: meta.configurationIndex.toString(),
      servers: meta.configuration.servers?.length ?? -1,
      stateSize: state.length,
      stateSha256,
      sealed: info.sealed,
      checksum: info.checksum,
      metaJson: new TextDecoder().decode(api.encodeMeta(meta)),
    },
    problems,
  };
}

async function sha256Case(api: Api, c: Sha256Case): Promise<CaseResult> {
  const data = c.gen ? stateBytes(c.gen.size, c.gen.seed) : fromBase64(c.data ?? '');
  const h = await api.createSha256();
  for (let off = 0; off < data.length; off += c.chunk) h.update(data.subarray(off, off + c.chunk));
  return {
    name: c.name,
    kind: c.kind,
    valid: true,
    facts: { digest: toHex(h.digest()) },
    problems: [],
  };
}

async function metaCase(api: Api, c: MetaCase): Promise<CaseResult> {
  const a = await attempt(api, async () =>
    new TextDecoder().decode(api.encodeMeta(api.decodeMeta(fromBase64(c.doc)))),
  );
  if (!a.ok) {
    return { name: c.name, kind: c.kind, valid: false, error: errorOf(a), problems: [] };
  }
  return { name: c.name, kind: c.kind, valid: true, facts: { encoded: a.value }, problems: [] };
}

async function writeCase(api: Api, c: WriteCase): Promise<CaseResult> {
  const sealer = () => (c.key ? api.aesGcmSealer(api.parseKeyHex(c.key)) : undefined);
  const out: Uint8Array[] = [];
  const w = await attempt(api, async () => {
    const meta = api.decodeMeta(new TextEncoder().encode(c.meta));
    return api.writeSnapshot(
      meta,
      chunkedStream(stateBytes(c.stateSize, c.stateSeed), 65536),
      new WritableStream<Uint8Array>({
        write(chunk) {
          out.push(chunk.slice());
        },
      }),
      { level: c.level, sealer: sealer(), mtime: new Date(c.mtime) },
    );
  });
  if (!w.ok) return { name: c.name, kind: c.kind, valid: false, error: errorOf(w), problems: [] };
  const archive = concat(out);
  const problems: string[] = [];
  const v = await attempt(api, () => api.verify(archive, { sealer: sealer() }));
  if (!v.ok) problems.push(`the archive written does not verify: ${verdictOf(v)}`);
  return {
    name: c.name,
    kind: c.kind,
    valid: true,
    facts: {
      index: w.value.meta.index.toString(),
      checksum: w.value.checksum,
      bytes: w.value.bytes,
      length: archive.length,
      verifiedIndex: v.ok ? v.value.index.toString() : '',
    },
    problems,
    archive: toBase64(archive),
  };
}

/** Names the runtime this code runs in. */
export function runtimeName(): string {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
    process?: { versions?: { node?: string } };
    navigator?: { userAgent?: string };
  };
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  if (g.Bun) return `Bun ${g.Bun.version}`;
  if (g.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (g.process?.versions?.node) return `Node ${g.process.versions.node}`;
  return g.navigator?.userAgent ?? 'unknown';
}

/** Runs every case in order; a case that throws unexpectedly is reported, not fatal. */
export async function runCases(api: Api, cases: Case[]): Promise<RunReport> {
  const started = performance.now();
  const results: CaseResult[] = [];
  for (const c of cases) {
    try {
      if (c.kind === 'snapshot') results.push(await snapshotCase(api, c));
      else if (c.kind === 'sha256') results.push(await sha256Case(api, c));
      else if (c.kind === 'meta') results.push(await metaCase(api, c));
      else results.push(await writeCase(api, c));
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      results.push({ name: c.name, kind: c.kind, valid: false, problems: [`crashed: ${message}`] });
    }
  }
  const e = await api.getEngines();
  return {
    runtime: runtimeName(),
    ms: performance.now() - started,
    results,
    engines: { hash: e.hash.name, inflate: e.inflate.name },
  };
}

/**
 * Verifies the archive streaming from `body` (never held whole) and times it. Throws the
 * SnapshotError when the archive is invalid.
 */
export async function benchVerify(
  api: Api,
  body: ReadableStream<Uint8Array>,
  key?: string,
): Promise<BenchReport> {
  const started = performance.now();
  const info = await api.inspect(body, {
    sealer: key ? api.aesGcmSealer(api.parseKeyHex(key)) : undefined,
  });
  const ms = performance.now() - started;
  return {
    runtime: runtimeName(),
    ms,
    archiveSize: info.archiveSize,
    stateSize: Number(info.stateSize),
    index: info.meta.index.toString(),
    rssMiB: rssMiB(),
  };
}

/** Resident set size in MiB where the runtime has process.memoryUsage (Node, Deno, Bun). */
export function rssMiB(): number | undefined {
  try {
    const p = (globalThis as { process?: { memoryUsage?: () => { rss: number } } }).process;
    const rss = p?.memoryUsage?.().rss;
    return rss === undefined ? undefined : Math.round(rss / 1024 / 1024);
  } catch {
    return undefined;
  }
}

/** Fetches the cases (JSON) from `url` and runs them. */
export async function runFromUrl(api: Api, url: string): Promise<RunReport> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return runCases(api, (await res.json()) as Case[]);
}

/** Fetches the archive at `url` and verifies it as it streams in. */
export async function benchFromUrl(api: Api, url: string, key?: string): Promise<BenchReport> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
  return benchVerify(api, res.body, key);
}

/**
 * Command-line driver for Node, Deno and Bun: `run URL` (cases) or `bench URL [KEY]`; prints
 * the report as one line of JSON.
 */
export async function main(api: Api, args: readonly string[]): Promise<void> {
  const [mode, url, key] = args;
  if (!url || (mode !== 'run' && mode !== 'bench')) throw new Error('usage: run|bench URL [KEY]');
  const report = mode === 'run' ? await runFromUrl(api, url) : await benchFromUrl(api, url, key);
  console.log(JSON.stringify(report));
}

/**
 * A module worker's fetch handler: POST /run with the cases (JSON) as the body, or POST /bench
 * with the archive as the body (read as a stream), answers the report as JSON.
 */
export async function handleWorkerRequest(api: Api, request: Request): Promise<Response> {
  const { pathname, searchParams } = new URL(request.url);
  try {
    if (request.method === 'POST' && pathname === '/run') {
      return Response.json(await runCases(api, (await request.json()) as Case[]));
    }
    if (request.method === 'POST' && pathname === '/bench' && request.body) {
      const key = searchParams.get('key') ?? undefined;
      return Response.json(await benchVerify(api, request.body, key));
    }
    return new Response('not found', { status: 404 });
  } catch (err) {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return new Response(message, { status: 500 });
  }
}

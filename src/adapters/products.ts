/**
 * Snapshot save and restore against Consul, Vault, Nomad and OpenBao over their HTTP APIs, with
 * the addresses, tokens and TLS settings their own CLIs take from the environment (each factory
 * lists its variables), and through the proxy HTTPS_PROXY or HTTP_PROXY name unless NO_PROXY
 * lists the host (src/adapters/proxy.ts), as their Go clients do.
 *
 * `save` streams the archive and verifies it as it streams; `restore` verifies the archive
 * completely on this machine before a single byte is sent, so a corrupt or truncated file never
 * reaches the server.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { SnapshotError } from '../errors.js';
import type { SnapshotMeta } from '../format/meta.js';
import { type ByteOutput, bytesOf, byteView, sinkOf } from '../io/input.js';
import {
  createAtomicFile,
  createTempCopy,
  type FileWriter,
  fileChunksReused,
  fileSize,
  holdTempFile,
  ioError,
  namedWriter,
  pathChunks,
  statFile,
} from '../node/files.js';
import { inspectForRestore, type NodeInput } from '../node/snapshot.js';
import {
  type Progress,
  type ReadOptions,
  type ReadResult,
  type SnapshotInfo,
  stateSizeMismatch,
  unlessAborted,
} from '../snapshot.js';
import { type Env, envBool, envDurationMs, envString, resolveToken } from './env.js';
import {
  HttpClient,
  HttpError,
  iterateStream,
  type OptionNames,
  parseAddr,
  type RequestBody,
  type TlsOptions,
} from './http.js';
import { type VerifiedStream, verifiedStream } from './verified-stream.js';

/** Which product an adapter talks to. */
export type ProductName = 'consul' | 'vault' | 'nomad' | 'openbao';

/**
 * Connection options common to every product. Each one left out is taken from the product's
 * environment variables (listed on each factory), then from the product's default.
 */
export interface ProductOptions extends TlsOptions {
  /**
   * API address, `http(s)://host:port`. Consul also takes `host:port` (http, or https with
   * CONSUL_HTTP_SSL, which makes an http:// address https too, as Consul's client does); the
   * other products refuse an address without a scheme, as their clients cannot use one.
   */
  addr?: string;
  /** ACL token; `''` sends none even when the environment has one. */
  token?: string;
  /**
   * Inactivity timeout in ms, 0 (or Infinity, or more than 2^31 − 1) for none: connecting,
   * waiting for the response (Consul and Nomad answer a restore once it is done) and every pause
   * in a transfer must each be shorter. Default: Vault/OpenBao VAULT_CLIENT_TIMEOUT/
   * BAO_CLIENT_TIMEOUT or 60 s, as their CLIs; Consul and Nomad 5 minutes (their CLIs have no
   * timeout; large restores take a while). Throws INVALID_ARGUMENT for a negative number or NaN.
   */
  timeoutMs?: number;
  /** The environment to read (default: process.env). */
  env?: Env;
  /** How messages name these options (e.g. a command line's flags); default: their names here. */
  optionNames?: OptionNames;
}

export interface ConsulOptions extends ProductOptions {
  /** Datacenter (`?dc=`); default: the agent's. */
  datacenter?: string;
  /** Let any server answer a save (`?stale`), not only the leader. */
  stale?: boolean;
}

export interface VaultOptions extends ProductOptions {
  /** Namespace (X-Vault-Namespace); default VAULT_NAMESPACE / BAO_NAMESPACE. */
  namespace?: string;
}

export interface NomadOptions extends ProductOptions {
  /** Region (`?region=`); default NOMAD_REGION. */
  region?: string;
  /** Let any server answer a save (`?stale`), not only the leader. */
  stale?: boolean;
}

/** `onProgress` reports the bytes as they are verified; `signal` aborts the download. */
export interface SaveOptions extends ReadOptions {
  /** Extra query parameters for the request. */
  query?: Record<string, string>;
}

/** `onProgress` reports the local verification; `signal` aborts verification and upload. */
export interface ProductRestoreOptions extends ReadOptions {
  /**
   * Vault/OpenBao: restore through `snapshot-force`, which skips the server's check that the
   * snapshot was taken with the same keys (e.g. restoring into a new cluster). Ignored by Consul
   * and Nomad, which have no such check.
   */
  force?: boolean;
  /** Extra query parameters for the request. */
  query?: Record<string, string>;
  /** Directory for the temporary copy of a stream input (default: the OS temporary directory). */
  dir?: string;
  /**
   * Reports the upload once verification is done (`onProgress` reports the verification): the
   * bytes sent so far, of `total`. A redirected upload starts again from 0.
   */
  onUploadProgress?: (p: Progress) => void;
  /**
   * Told, before the upload, when the archive is whole but the gzip stream after its end is not
   * (a damaged trailer, bytes after the archive): the products restore with the reference's
   * Restore, which never reads that far, so the snapshot is sent; `verify` rejects such a file.
   */
  onWarning?: (message: string) => void;
  /**
   * Told which server answered the restore (its URL without credentials): the active node when a
   * standby redirected there.
   */
  onAnswered?: (url: string) => void;
}

/** A product's snapshot API. */
export interface SnapshotService {
  readonly product: ProductName;
  /** The API address used (without credentials). */
  readonly addr: string;
  /**
   * Asks the server for a snapshot and returns the archive as it streams, verified inline: the
   * stream closes only when the whole archive verified (with `sealer`, the sealed sums too),
   * when the server sent `Digest: sha-256=…` the bytes match it, and from Vault or OpenBao the
   * archive has its sealed sums (as their own clients require); otherwise it errors with the
   * reason. Rejects with HttpError when the request fails (wrong token, no leader, …).
   */
  save(opts?: SaveOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * Saves a snapshot to the file `path`, atomically: the file appears (mode 0600) only when the
   * whole archive verified; on any failure nothing is left behind. Resolves with what
   * verification found.
   */
  saveFile(path: string, opts?: SaveOptions): Promise<SnapshotInfo>;
  /**
   * Streams a snapshot to `output` (standard output, a pipe, any ByteOutput) as it arrives,
   * verified inline as {@link save} does. Resolves with what verification found once the whole
   * archive verified and `output` closed; rejects otherwise, after the bytes received so far
   * have reached `output` (which is then aborted): the caller must heed the rejection.
   */
  saveTo(output: ByteOutput, opts?: SaveOptions): Promise<SnapshotInfo>;
  /**
   * Restores a snapshot archive (a path, or any byte input) into the cluster. The archive is
   * verified completely here first (with `sealer`, the sealed sums too); if the product would
   * refuse it the promise rejects with the SnapshotError saying why and nothing is sent (a
   * damaged gzip stream after the end of the archive, which the product does not read, is only
   * reported to `onWarning`). Then it is streamed to the product's restore endpoint (re-sent as
   * is when redirected); should the bytes change after verification, the upload is cut short so
   * that the server refuses it. Vault and OpenBao (unless `force`) refuse an archive without
   * sealed sums, which they check with their seal: such an archive is rejected here with 'SEAL'
   * and nothing is sent. Resolves with the snapshot's metadata once the server has answered:
   * Consul and Nomad answer when the restore is done; Vault and OpenBao once they have received
   * and checked the snapshot, restoring it in the background (and sealing the node should that
   * fail).
   */
  restore(input: NodeInput, opts?: ProductRestoreOptions): Promise<SnapshotMeta>;
}

interface ProductSpec {
  product: ProductName;
  service: string;
  vars: {
    addr: string;
    token: string;
    tokenFile?: string;
    /** A file in the home directory holding the token when no variable gives one (~/.vault-token). */
    homeTokenFile?: string;
    caCert: string;
    caPath: string;
    clientCert: string;
    clientKey: string;
    tlsServerName: string;
    /** A variable that, when true, skips verification. */
    skipVerify?: string;
    /** A variable that, when false, skips verification (Consul). */
    sslVerify?: string;
    /** A variable that, when true, makes a scheme-less address https (Consul). */
    ssl?: string;
    timeout?: string;
  };
  defaultAddr: string;
  /**
   * Whether `host:port` (no scheme) is an address, as Consul's client takes it. Vault's, OpenBao's
   * and Nomad's clients cannot use one; raftsnap refuses it rather than guess http and send the
   * token in clear text.
   */
  schemeless?: boolean;
  /** The product strips a port from its TLS server name variable (Consul). */
  serverNameMayHavePort?: boolean;
  /**
   * The product seals the sums of every snapshot it writes and checks them before a restore that
   * is not forced (Vault, OpenBao): a save without SHA256SUMS.sealed is incomplete, and such an
   * archive is refused unless forced.
   */
  sealsSums?: boolean;
  /** Inactivity timeout when neither the option nor the variable sets one. */
  defaultTimeoutMs: number;
  tokenHeader: string;
  savePath: string;
  restore(force: boolean): { method: 'PUT' | 'POST'; path: string };
  headers: Record<string, string>;
  /** Query parameters of every request (datacenter, region). */
  query: Record<string, string>;
  /** Query parameters of a save only (stale). */
  saveQuery?: Record<string, string>;
}

function buildService(spec: ProductSpec, o: ProductOptions): SnapshotService {
  const env = o.env ?? (process.env as Env);
  const v = spec.vars;
  const ssl = v.ssl ? envBool(env, v.ssl) : undefined;
  const addrText = o.addr ?? envString(env, v.addr) ?? spec.defaultAddr;
  const base = parseAddr(
    addrText,
    spec.schemeless ? (ssl ? 'https' : 'http') : null,
    `the ${spec.service} address (${v.addr} or ${o.optionNames?.addr ?? 'the addr option'})`,
  );
  // As Consul's client: once TLS is asked for, never http, whatever the address says.
  if (ssl && base.protocol === 'http:') base.protocol = 'https:';
  const serverName = o.tlsServerName ?? envString(env, v.tlsServerName);
  const resolved = resolveToken(o.token, env, v.token, v.tokenFile, v.homeTokenFile);
  const token = resolved?.token;
  let skip = o.tlsSkipVerify;
  if (skip === undefined && v.skipVerify) skip = envBool(env, v.skipVerify);
  if (skip === undefined && v.sslVerify) {
    const verifyTls = envBool(env, v.sslVerify);
    if (verifyTls !== undefined) skip = !verifyTls;
  }
  const timeoutMs =
    o.timeoutMs ?? (v.timeout ? envDurationMs(env, v.timeout) : undefined) ?? spec.defaultTimeoutMs;
  const headers: Record<string, string> = { ...spec.headers };
  if (token !== undefined) headers[spec.tokenHeader] = token;
  const client = new HttpClient({
    addr: base.toString(),
    headers,
    secrets: token !== undefined ? [token] : [],
    caFile: o.caFile ?? envString(env, v.caCert),
    caPath: o.caPath ?? envString(env, v.caPath),
    certFile: o.certFile ?? envString(env, v.clientCert),
    keyFile: o.keyFile ?? envString(env, v.clientKey),
    tlsServerName:
      serverName !== undefined && spec.serverNameMayHavePort ? withoutPort(serverName) : serverName,
    tlsSkipVerify: skip,
    timeoutMs,
    service: spec.service,
    proxyEnv: env,
    optionNames: o.optionNames,
    hints: {
      addr: v.addr,
      token: v.token,
      tokenSource: resolved?.source,
      caCert: v.caCert,
      clientCert: v.clientCert,
      clientKey: v.clientKey,
      tlsServerName: v.tlsServerName,
      timeout: v.timeout,
      skipVerify: v.skipVerify
        ? `${v.skipVerify}=true`
        : v.sslVerify
          ? `${v.sslVerify}=false`
          : undefined,
    },
  });

  const path = (p: string, extra: Record<string, string> | undefined) => {
    const q = new URLSearchParams({ ...spec.query, ...extra }).toString().replace(/=(&|$)/g, '$1');
    return q ? `${p}?${q}` : p;
  };

  async function download(opts: SaveOptions): Promise<VerifiedStream> {
    const { query, ...readOpts } = opts;
    const res = await client
      .request({
        method: 'GET',
        path: path(spec.savePath, { ...spec.saveQuery, ...query }),
        signal: opts.signal,
        what: 'saving the snapshot',
      })
      .catch((err) => {
        // Consul and Nomad without a leader: a follower can still give a snapshot.
        const leaderless =
          (spec.product === 'consul' || spec.product === 'nomad') &&
          spec.saveQuery === undefined &&
          /no (cluster )?leader/i.test(String((err as Error)?.message));
        throw leaderless
          ? withHint(err, 'any server can answer with stale (raftsnap save --stale)')
          : err;
      });
    const source = `${spec.service} at ${res.url}`;
    return verifiedStream(res.body, {
      ...readOpts,
      digest: res.header('digest'),
      source,
      contentType: res.header('content-type'),
      check: spec.sealsSums
        ? (info) => {
            if (!info.sealed) {
              throw new SnapshotError(
                'SEAL',
                `${source} sent a snapshot without sealed sums (SHA256SUMS.sealed), which ${spec.service} writes into every snapshot: it is incomplete (the ${spec.product === 'vault' ? 'vault' : 'bao'} CLI refuses it too) and ${spec.service} would not restore it without force`,
              );
            }
          }
        : undefined,
    });
  }

  async function saveTo(output: ByteOutput, opts: SaveOptions = {}): Promise<SnapshotInfo> {
    const sink = sinkOf(output);
    try {
      const { stream, info } = await download(opts);
      for await (const chunk of iterateStream(stream)) {
        await unlessAborted(sink.write(chunk), opts.signal);
      }
      const result = await info;
      await sink.close();
      return result;
    } catch (err) {
      await sink.abort(err).catch(() => {});
      throw err;
    }
  }

  return {
    product: spec.product,
    addr: client.url,
    async save(opts = {}) {
      return (await download(opts)).stream;
    },
    async saveFile(dest, opts = {}) {
      // The output first: a directory that cannot be written to fails before the server is
      // asked for a snapshot.
      let created: FileWriter;
      try {
        created = await createAtomicFile(dest);
      } catch (err) {
        throw ioError(err, 'cannot write', dest);
      }
      // A failure of the file (a full disk) names it; the download's own errors pass as they are.
      return saveTo(namedWriter(created, 'cannot write', dest), opts);
    },
    saveTo,
    async restore(input, opts = {}) {
      const {
        force = false,
        query,
        dir,
        onWarning,
        onUploadProgress,
        onAnswered,
        ...readOpts
      } = opts;
      const prepared = await prepare(input, readOpts, dir);
      try {
        if (spec.sealsSums && !force && !prepared.info.sealed) {
          throw new SnapshotError(
            'SEAL',
            `the snapshot has no sealed sums (SHA256SUMS.sealed), which ${spec.service} opens with its seal before a restore, so it would refuse it (every snapshot ${spec.service} saves has them: this one was made elsewhere, or remade since); nothing was sent. Force the restore (snapshot-force; raftsnap restore --force) to skip that check`,
          );
        }
        const mismatch = stateSizeMismatch(prepared.info.meta, prepared.info.stateSize);
        if (mismatch) {
          // Raft would refuse it, and Vault and OpenBao, which restore after they answer, would
          // then seal themselves.
          throw new SnapshotError('RAFT', `${mismatch}; nothing was sent to ${spec.service}`);
        }
        const after = prepared.info.afterArchive;
        if (after) {
          onWarning?.(
            `after the end of the archive: ${after.message}; sending it all the same: the product's restore reads the archive only up to its end (raftsnap verify rejects the file)`,
          );
        }
        const { method, path: p } = spec.restore(force);
        const res = await client
          .request({
            method,
            path: path(p, query),
            body: prepared.body,
            onBodyProgress: onUploadProgress
              ? (bytes) => onUploadProgress({ bytes, total: prepared.info.archiveSize })
              : undefined,
            signal: opts.signal,
            what: 'restoring the snapshot',
          })
          .catch((err) => {
            // Vault's own seal could not open the sealed sums: a snapshot of another cluster.
            const otherSeal =
              spec.sealsSums && !force && /sealed hashes/i.test(String((err as Error)?.message));
            throw otherSeal
              ? withHint(
                  err,
                  `a snapshot of another cluster (sealed by another seal) is restored with force (snapshot-force; raftsnap restore --force)`,
                )
              : err;
          });
        await res.text();
        onAnswered?.(res.url);
        return prepared.info.meta;
      } finally {
        // A spool file that cannot be removed does not replace what the server answered.
        await prepared.cleanup().catch(() => {});
      }
    },
  };
}

/** `err` (an HttpError) with `hint` after its message, all else kept; anything else as it is. */
function withHint(err: unknown, hint: string): unknown {
  if (!(err instanceof HttpError)) return err;
  return new HttpError(err.kind, `${err.message}; ${hint}`, {
    status: err.status,
    url: err.url,
    cause: err.cause,
  });
}

/** `name` without a `:port` (`consul.example:8501`, `[::1]:8501`), as Consul's TLS set-up. */
function withoutPort(name: string): string {
  const bracketed = /^\[([^\]]*)\]:\d*$/.exec(name);
  if (bracketed) return bracketed[1];
  return /^[^:]*:\d*$/.test(name) ? name.slice(0, name.lastIndexOf(':')) : name;
}

interface Prepared {
  info: ReadResult;
  body: RequestBody;
  cleanup(): Promise<void>;
}

/**
 * Verifies `input` completely (what only the reference's Verify would reject comes back in
 * `info.afterArchive`) and makes it re-openable: a regular file or in-memory bytes are read
 * again for each send; a stream, or a path to a pipe or device (`<(gpg -d b.snap.gpg)`,
 * /dev/stdin), which can be read only once, is copied to a temporary file (mode 0600) as it is
 * verified.
 */
async function prepare(
  input: NodeInput,
  opts: ReadOptions,
  dir: string | undefined,
): Promise<Prepared> {
  const none = async () => {};
  if (typeof input === 'string') {
    let stats: Stats;
    try {
      stats = await statFile(input);
    } catch (err) {
      throw ioError(err, 'cannot read', input);
    }
    // A pipe (`<(gpg -d …)`) or device: copied aside as it is verified (its chunks kept).
    if (!stats.isFile()) return prepare(pathChunks(input, stats, false), opts, dir);
    const info = await inspectForRestore(input, opts);
    let size: number;
    try {
      size = await fileSize(input);
    } catch (err) {
      throw ioError(err, 'cannot read', input);
    }
    if (size !== info.archiveSize) {
      throw new SnapshotError(
        'IO',
        `${input} changed while it was being verified; nothing was sent`,
      );
    }
    return { info, body: checkedBody(() => fileChunksReused(input), info), cleanup: none };
  }
  if (byteView(input) || (typeof Blob !== 'undefined' && input instanceof Blob)) {
    const info = await inspectForRestore(input, opts);
    return { info, body: checkedBody(() => bytesOf(input), info), cleanup: none };
  }
  const file = await createTempCopy(dir);
  const spool = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of bytesOf(input)) {
      await file.write(chunk);
      yield chunk;
    }
  };
  try {
    const info = await inspectForRestore(spool(), opts);
    await file.close();
    const path = file.path;
    // Uploaded for as long as the restore takes, hours maybe: kept fresh for other hosts' cleanups.
    const held = holdTempFile(path);
    return {
      info,
      body: checkedBody(() => fileChunksReused(path), info),
      cleanup: () => held.remove(),
    };
  } catch (err) {
    await file.abort(err);
    throw err;
  }
}

/**
 * A body that yields the verified bytes and checks, before the chunk that completes the verified
 * size, that they are still the bytes that verified (same SHA-256); otherwise, or when the file
 * ends short of that size or goes on past it, it throws, which cuts the upload short: the server
 * never receives a whole body other than the one verified.
 *
 * Chunks are passed on as they come (a file read through reused buffers reuses them), so the
 * sender must be done with each chunk when it asks for the next (`reusesChunks`).
 */
function checkedBody(open: () => AsyncIterable<Uint8Array>, info: SnapshotInfo): RequestBody {
  const changed = () =>
    new SnapshotError(
      'INTEGRITY',
      'the snapshot changed after it was verified; the upload was cut short',
    );
  return {
    length: info.archiveSize,
    reusesChunks: true,
    open: () =>
      (async function* () {
        const h = createHash('sha256');
        let read = 0;
        for await (const chunk of open()) {
          read += chunk.length;
          if (read > info.archiveSize) throw changed();
          h.update(chunk);
          if (read === info.archiveSize && `sha-256=${h.digest('base64')}` !== info.checksum) {
            throw changed();
          }
          yield chunk;
        }
        if (read !== info.archiveSize) throw changed();
      })(),
  };
}

/**
 * Throws SnapshotError('INVALID_ARGUMENT') unless `opts` is an options object; `fn` names the
 * function in the message.
 */
function checkOptions(opts: unknown, fn: string): void {
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    const got = opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts;
    throw new SnapshotError('INVALID_ARGUMENT', `${fn}() takes an options object, got ${got}`);
  }
}

/**
 * Consul: `GET/PUT /v1/snapshot` with X-Consul-Token. Environment: CONSUL_HTTP_ADDR (default
 * 127.0.0.1:8500), CONSUL_HTTP_TOKEN, CONSUL_HTTP_TOKEN_FILE, CONSUL_HTTP_SSL, CONSUL_CACERT,
 * CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY.
 * Throws SnapshotError('INVALID_ARGUMENT') for a bad address, variable or TLS file.
 */
export function consul(opts: ConsulOptions = {}): SnapshotService {
  checkOptions(opts, 'consul');
  const query: Record<string, string> = {};
  if (opts.datacenter) query.dc = opts.datacenter;
  return buildService(
    {
      product: 'consul',
      service: 'Consul',
      vars: {
        addr: 'CONSUL_HTTP_ADDR',
        token: 'CONSUL_HTTP_TOKEN',
        tokenFile: 'CONSUL_HTTP_TOKEN_FILE',
        caCert: 'CONSUL_CACERT',
        caPath: 'CONSUL_CAPATH',
        clientCert: 'CONSUL_CLIENT_CERT',
        clientKey: 'CONSUL_CLIENT_KEY',
        tlsServerName: 'CONSUL_TLS_SERVER_NAME',
        sslVerify: 'CONSUL_HTTP_SSL_VERIFY',
        ssl: 'CONSUL_HTTP_SSL',
      },
      defaultAddr: '127.0.0.1:8500',
      schemeless: true,
      serverNameMayHavePort: true,
      defaultTimeoutMs: 300_000,
      tokenHeader: 'X-Consul-Token',
      savePath: '/v1/snapshot',
      restore: () => ({ method: 'PUT', path: '/v1/snapshot' }),
      headers: {},
      query,
      saveQuery: opts.stale ? { stale: '' } : undefined,
    },
    opts,
  );
}

function vaultLike(
  product: 'vault' | 'openbao',
  prefix: 'VAULT' | 'BAO',
  opts: VaultOptions,
): SnapshotService {
  const env = opts.env ?? (process.env as Env);
  const namespace = opts.namespace ?? envString(env, `${prefix}_NAMESPACE`);
  const headers: Record<string, string> = { 'X-Vault-Request': 'true' };
  if (namespace) headers['X-Vault-Namespace'] = namespace;
  return buildService(
    {
      product,
      service: product === 'vault' ? 'Vault' : 'OpenBao',
      vars: {
        addr: `${prefix}_ADDR`,
        token: `${prefix}_TOKEN`,
        caCert: `${prefix}_CACERT`,
        caPath: `${prefix}_CAPATH`,
        homeTokenFile: '.vault-token',
        clientCert: `${prefix}_CLIENT_CERT`,
        clientKey: `${prefix}_CLIENT_KEY`,
        tlsServerName: `${prefix}_TLS_SERVER_NAME`,
        skipVerify: `${prefix}_SKIP_VERIFY`,
        timeout: `${prefix}_CLIENT_TIMEOUT`,
      },
      defaultAddr: 'https://127.0.0.1:8200',
      sealsSums: true,
      defaultTimeoutMs: 60_000,
      tokenHeader: 'X-Vault-Token',
      savePath: '/v1/sys/storage/raft/snapshot',
      restore: (force) => ({
        method: 'POST',
        path: force ? '/v1/sys/storage/raft/snapshot-force' : '/v1/sys/storage/raft/snapshot',
      }),
      headers,
      query: {},
    },
    opts,
  );
}

/**
 * Vault (integrated storage): `GET /v1/sys/storage/raft/snapshot`, `POST …/snapshot` or, with
 * `force`, `POST …/snapshot-force`, with X-Vault-Token; a standby's 307 to the active node is
 * followed with the token. Environment: VAULT_ADDR (default https://127.0.0.1:8200),
 * VAULT_TOKEN (else ~/.vault-token, where `vault login` leaves it), VAULT_NAMESPACE, VAULT_CACERT,
 * VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME, VAULT_SKIP_VERIFY,
 * VAULT_CLIENT_TIMEOUT.
 * Throws SnapshotError('INVALID_ARGUMENT') for a bad address, variable or TLS file.
 */
export function vault(opts: VaultOptions = {}): SnapshotService {
  checkOptions(opts, 'vault');
  return vaultLike('vault', 'VAULT', opts);
}

/**
 * OpenBao: Vault's API (X-Vault-Token, X-Vault-Namespace) with BAO_ variables: BAO_ADDR
 * (default https://127.0.0.1:8200), BAO_TOKEN (else ~/.vault-token, where `bao login` leaves
 * it), BAO_NAMESPACE, BAO_CACERT, BAO_CAPATH, BAO_CLIENT_CERT,
 * BAO_CLIENT_KEY, BAO_TLS_SERVER_NAME, BAO_SKIP_VERIFY, BAO_CLIENT_TIMEOUT.
 */
export function openbao(opts: VaultOptions = {}): SnapshotService {
  checkOptions(opts, 'openbao');
  return vaultLike('openbao', 'BAO', opts);
}

/**
 * Nomad: `GET/PUT /v1/operator/snapshot` with X-Nomad-Token; the save's
 * `Digest: sha-256=…` header is checked against the bytes. Environment: NOMAD_ADDR (default
 * http://127.0.0.1:4646), NOMAD_TOKEN, NOMAD_REGION, NOMAD_CACERT, NOMAD_CAPATH, NOMAD_CLIENT_CERT,
 * NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY.
 * Throws SnapshotError('INVALID_ARGUMENT') for a bad address, variable or TLS file.
 */
export function nomad(opts: NomadOptions = {}): SnapshotService {
  checkOptions(opts, 'nomad');
  const env = opts.env ?? (process.env as Env);
  const query: Record<string, string> = {};
  const region = opts.region ?? envString(env, 'NOMAD_REGION');
  if (region) query.region = region;
  return buildService(
    {
      product: 'nomad',
      service: 'Nomad',
      vars: {
        addr: 'NOMAD_ADDR',
        token: 'NOMAD_TOKEN',
        caCert: 'NOMAD_CACERT',
        caPath: 'NOMAD_CAPATH',
        clientCert: 'NOMAD_CLIENT_CERT',
        clientKey: 'NOMAD_CLIENT_KEY',
        tlsServerName: 'NOMAD_TLS_SERVER_NAME',
        skipVerify: 'NOMAD_SKIP_VERIFY',
      },
      defaultAddr: 'http://127.0.0.1:4646',
      defaultTimeoutMs: 300_000,
      tokenHeader: 'X-Nomad-Token',
      savePath: '/v1/operator/snapshot',
      restore: () => ({ method: 'PUT', path: '/v1/operator/snapshot' }),
      headers: {},
      query,
      saveQuery: opts.stale ? { stale: '' } : undefined,
    },
    opts,
  );
}

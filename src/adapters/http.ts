/**
 * A small streaming HTTP client over node:http/https for the product adapters: request bodies
 * streamed from a re-openable source, response bodies as Web streams, an inactivity timeout,
 * TLS options (CA file, client certificate, server name, skip-verify), 307/308 redirects followed
 * for GET/PUT/POST with the body and the token re-sent (never from https to http), and errors
 * that say what went wrong and what to check — without ever containing a secret.
 */
import { readdirSync, statSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { isSnapshotError, messageOf, SnapshotError, type SnapshotErrorCode } from '../errors.js';
import { bytesOf } from '../io/input.js';
import { readSmallFileSync } from '../node/files.js';
import type { Env, TokenSource } from './env.js';
import {
  bareHostname,
  isSocks,
  proxyAuthHint,
  proxyAuthorization,
  proxyFor,
  proxyVariable,
  serverName,
} from './proxy.js';
import { refused } from './socks.js';
import { dialProxy, openTunnel, type ProxyDial } from './tunnel.js';

/** What went wrong, for callers that branch on it (the message says it for people). */
export type HttpErrorKind =
  /** 401/403: the token is missing, wrong or lacks the permission. */
  | 'permission-denied'
  /** 404: no such endpoint (wrong address, product or path). */
  | 'not-found'
  /** Another 4xx: the server refused the request (e.g. an invalid snapshot). */
  | 'client-error'
  /** 5xx: the server failed. */
  | 'server-error'
  /** A redirect that is not followed (https→http, too many, 301/302/303, no Location). */
  | 'redirect'
  /** The connection could not be made, or was reset or closed early. */
  | 'connection'
  /** A TLS handshake or certificate problem. */
  | 'tls'
  /** Nothing was received or sent for `timeoutMs`. */
  | 'timeout'
  /** The caller's AbortSignal fired. */
  | 'aborted';

/**
 * An HTTP or connection failure. A SnapshotError (code 'IO', or 'ABORTED' for timeouts and
 * aborts) with the HTTP `status` when there was one, the `url` without credentials, and `kind`.
 * Its message never contains the token or any other configured secret as a word of its own
 * (see {@link HttpClient.redact}: one shorter than 16 characters may show inside a longer word).
 */
export class HttpError extends SnapshotError {
  readonly kind: HttpErrorKind;
  readonly status: number | undefined;
  readonly url: string | undefined;

  constructor(
    kind: HttpErrorKind,
    message: string,
    opts: { status?: number; url?: string; cause?: unknown } = {},
  ) {
    const code: SnapshotErrorCode = kind === 'timeout' || kind === 'aborted' ? 'ABORTED' : 'IO';
    super(code, message, { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
    this.url = opts.url;
  }
}

/** TLS settings for https addresses. */
export interface TlsOptions {
  /** PEM file of the CA(s) to trust instead of the system's. */
  caFile?: string;
  /** A directory of PEM CA files (each file in it) to trust instead; `caFile` wins when both are set. */
  caPath?: string;
  /** PEM client certificate and key files for mutual TLS. */
  certFile?: string;
  keyFile?: string;
  /** TLS server name (SNI and certificate check) for the configured host. */
  tlsServerName?: string;
  /** Do not verify the server's certificate (insecure; for tests and broken setups). */
  tlsSkipVerify?: boolean;
}

/** How to reach one server (a product's API address) and what to say when it fails. */
export interface HttpClientOptions extends TlsOptions {
  /** Base URL, `http://host:port` or `https://host:port` (a path prefix is kept). */
  addr: string;
  /** Headers sent with every request and re-sent on every followed redirect (e.g. the token). */
  headers?: Record<string, string>;
  /** Strings never to show in an error message (the token); redacted if a server echoes them. */
  secrets?: string[];
  /**
   * Inactivity timeout in ms (default 60 000; 0: none): connecting, waiting for the response and
   * every pause of the transfer must each be shorter. A consumer that stops reading a response
   * for longer also ends it.
   */
  timeoutMs?: number;
  /** Redirects followed before giving up (default 5). */
  maxRedirects?: number;
  /** Names the server in messages, e.g. 'Consul'. */
  service?: string;
  /**
   * Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read (see src/adapters/proxy.ts); default:
   * none, every request goes direct.
   */
  proxyEnv?: Env;
  /**
   * Hints used in messages: the environment variables that set the address, token, CA, client
   * certificate and key, TLS server name and timeout, and the one that skips verification (with
   * its value, e.g. `VAULT_SKIP_VERIFY=true`).
   */
  hints?: {
    addr?: string;
    /** The variable that gives a token. */
    token?: string;
    /** Where the token sent came from (see resolveToken); none sent: undefined. */
    tokenSource?: TokenSource;
    caCert?: string;
    skipVerify?: string;
    clientCert?: string;
    clientKey?: string;
    tlsServerName?: string;
    timeout?: string;
  };
  /**
   * How messages name the caller's own settings, e.g. `{ addr: '--addr' }` for a command line;
   * default: the option names of this API ("the addr option").
   */
  optionNames?: OptionNames;
}

/** Names of the settings a message may point to (see {@link HttpClientOptions.optionNames}). */
export type OptionNames = Partial<
  Record<'addr' | 'token' | 'caFile' | 'certFile' | 'keyFile' | 'tlsServerName' | 'timeout', string>
>;

/** A request body that can be sent again from its start (for redirects). */
export interface RequestBody {
  /** Opens the body from its first byte; called once per attempt. */
  open(): AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
  /** Its length in bytes, when known (sent as Content-Length). */
  length?: number;
  /**
   * The body may overwrite a chunk once the next is asked for: each chunk is then written out
   * (taken by the socket) before the next is read.
   */
  reusesChunks?: boolean;
}

export interface HttpRequest {
  method: 'GET' | 'PUT' | 'POST';
  /** Path and query, appended to the base URL's path. */
  path: string;
  /** Extra headers for this request. */
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Called as the body is sent, with the bytes sent so far in this attempt. */
  onBodyProgress?: (bytes: number) => void;
  signal?: AbortSignal;
  /** What the request does, for messages ("saving the snapshot"). */
  what?: string;
}

/** A 2xx response whose body is still to be read. */
export interface HttpResponse {
  status: number;
  /** The URL that answered (after redirects), without credentials. */
  url: string;
  /** A response header (lower-case name), the first value when repeated. */
  header(name: string): string | undefined;
  /**
   * The body. It errors with HttpError when the connection drops before the response's end, on
   * timeout or abort; cancelling it closes the connection.
   */
  body: ReadableStream<Uint8Array>;
  /** Reads the rest of the body as text (at most `limit` bytes kept). */
  text(limit?: number): Promise<string>;
  /** Closes the connection now (an unread body then errors); safe to call at any time. */
  abort(): void;
}

const DEFAULT_TIMEOUT = 60_000;
/** The longest delay a timer can have (2^31 − 1 ms, about 24.8 days). */
const TIMER_MAX = 2 ** 31 - 1;
/** How long to wait for `100 Continue` before sending a body anyway (at most half the timeout). */
const CONTINUE_WAIT = 1000;

/**
 * `timeoutMs` as the timers take it: undefined gives the default; 0, Infinity or anything past
 * {@link TIMER_MAX} waits for ever (0); a fraction of a millisecond is rounded up, not down to
 * "for ever". Throws SnapshotError('INVALID_ARGUMENT') for a negative number or NaN.
 */
export function timerMs(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_TIMEOUT;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `timeoutMs must be a number of milliseconds, 0 or more, got ${String(timeoutMs)}`,
    );
  }
  return timeoutMs > TIMER_MAX ? 0 : Math.ceil(timeoutMs);
}
/** Bytes of an error response kept for the message. */
const ERROR_BODY_LIMIT = 64 * 1024;

/** The most a CA certificate, client certificate or key file may hold (bundles are some 200 KiB). */
const PEM_FILE_LIMIT = 16 * 1024 * 1024;

/**
 * The PEM file at `path` (`what` names it in messages). Throws INVALID_ARGUMENT when it cannot
 * be read or holds more than {@link PEM_FILE_LIMIT} (a device such as /dev/zero given by mistake).
 */
function readPemFile(path: string, what: string): Buffer {
  let read: { bytes: Uint8Array; tooLong: boolean };
  try {
    read = readSmallFileSync(path, PEM_FILE_LIMIT);
  } catch (err) {
    throw new SnapshotError('INVALID_ARGUMENT', `cannot read ${what} ${path}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  if (read.tooLong) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${what} ${path} holds more than ${PEM_FILE_LIMIT / 1024 / 1024} MiB: not PEM certificates or a key`,
    );
  }
  return Buffer.from(read.bytes.buffer, read.bytes.byteOffset, read.bytes.byteLength);
}

/** Removes credentials from a URL for messages. */
export function safeUrl(u: URL | string): string {
  try {
    const url = new URL(String(u));
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}

/** An address that is not a URL, for a message: anything up to an "@" (credentials) is cut. */
function withoutCredentials(addr: string): string {
  const at = addr.lastIndexOf('@');
  if (at < 0) return addr;
  const scheme = SCHEME.exec(addr)?.[0] ?? '';
  return `${scheme}…@${addr.slice(at + 1)}`;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Parses a product address: `scheme://host[:port][/prefix]`, or `host:port` (then
 * `defaultScheme`; with null, such an address is refused, the message naming `what` it is).
 * Throws SnapshotError('INVALID_ARGUMENT') for anything else (including unix sockets, which are
 * not supported).
 */
export function parseAddr(
  addr: string,
  defaultScheme: 'http' | 'https' | null = 'http',
  what = 'the address',
): URL {
  const a = addr.trim();
  if (a.startsWith('unix://')) {
    throw new SnapshotError('INVALID_ARGUMENT', `unix socket addresses are not supported: ${a}`);
  }
  if (!defaultScheme && !SCHEME.test(a)) {
    const shown = withoutCredentials(a);
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(shown)} has no scheme: write https://${shown} or http://${shown}`,
    );
  }
  const withScheme = SCHEME.test(a) ? a : `${defaultScheme}://${a}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `invalid address ${JSON.stringify(withoutCredentials(a))}: expected scheme://host[:port] or host:port`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `address must be http:// or https://, got ${url.protocol}//`,
    );
  }
  return url;
}

/** What a failure after a request body was sent cannot rule out. */
const MAY_STILL_COMPLETE =
  'the server may still complete the request: check before sending it again';

/**
 * A character that continues a word: a short secret next to a letter or digit is part of a
 * longer word; next to anything else (`_`, `.`, `-`, `/`, a space) it is hidden.
 */
const TOKEN_CHAR = '[A-Za-z0-9]';

/** The client: see the module comment. */
export class HttpClient {
  private readonly base: URL;
  private readonly opts: HttpClientOptions;
  /** `opts.timeoutMs` as the timers take it ({@link timerMs}). */
  private readonly timeoutMs: number;
  private tls: https.RequestOptions | undefined;

  /**
   * Throws SnapshotError('INVALID_ARGUMENT') for a bad address, an unreadable TLS file, or a
   * client certificate without its key (or the reverse), which the products' clients refuse too.
   */
  constructor(opts: HttpClientOptions) {
    this.opts = opts;
    this.timeoutMs = timerMs(opts.timeoutMs);
    this.base = parseAddr(opts.addr);
    if (!opts.certFile !== !opts.keyFile) {
      throw new SnapshotError(
        'INVALID_ARGUMENT',
        `a client certificate needs its key: set both ${this.clientCertSettings()}`,
      );
    }
    if (this.base.protocol === 'https:') this.tls = this.tlsOptions();
  }

  /** The base URL without credentials. */
  get url(): string {
    return safeUrl(this.base);
  }

  private get service(): string {
    return this.opts.service ?? 'the server';
  }

  private tlsOptions(): https.RequestOptions {
    const read = (file: string | undefined, what: string) =>
      file ? readPemFile(file, `the ${what} file`) : undefined;
    const caFile = this.opts.caFile;
    const ca = caFile ? read(caFile, 'CA certificate') : undefined;
    // Refused as the products' clients refuse it ("Couldn't parse PEM"), rather than found out
    // as an untrusted server.
    if (ca && !ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
      throw new SnapshotError(
        'INVALID_ARGUMENT',
        `the CA certificate file ${caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      );
    }
    return {
      ca: ca ?? this.caDirectory(),
      cert: read(this.opts.certFile, 'client certificate'),
      key: read(this.opts.keyFile, 'client key'),
      rejectUnauthorized: !this.opts.tlsSkipVerify,
    };
  }

  /**
   * Every file under the `caPath` directory, subdirectories included (PEM CA certificates, as Go's
   * rootcerts loads them), or undefined without one.
   */
  private caDirectory(): Buffer[] | undefined {
    const dir = this.opts.caPath;
    if (!dir) return undefined;
    try {
      const paths = readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((d) => !d.isDirectory())
        .map((d) => join(d.parentPath ?? d.path, d.name));
      // Links are followed to files (a c_rehash directory is made of them), not to directories.
      const files = paths.filter((p) => statSync(p).isFile());
      return files.map((p) => readPemFile(p, 'the CA certificate'));
    } catch (err) {
      if (isSnapshotError(err)) throw err;
      throw new SnapshotError(
        'INVALID_ARGUMENT',
        `cannot read the CA certificate directory ${dir}: ${messageOf(err)}`,
        { cause: err },
      );
    }
  }

  /**
   * Replaces every configured secret in `s`: everywhere when it is 16 characters or more (no
   * word contains one by chance), else wherever no letter, digit or `_` adjoins it, so that a
   * short token such as Vault's dev-mode `root` does not garble the words that merely contain
   * it (punctuation around it does not keep it from being hidden).
   */
  redact(s: string): string {
    let out = s;
    // Each also without surrounding whitespace: HTTP drops it from a header's value, so that is
    // the form a server echoes.
    const secrets = (this.opts.secrets ?? []).flatMap((s) =>
      s.trim() === s ? [s] : [s, s.trim()],
    );
    for (const secret of secrets) {
      if (!secret) continue;
      if (secret.length >= 16) {
        out = out.split(secret).join('<redacted>');
        continue;
      }
      const text = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(
        new RegExp(`(?<!${TOKEN_CHAR})${text}(?!${TOKEN_CHAR})`, 'g'),
        '<redacted>',
      );
    }
    return out;
  }

  /**
   * Sends the request, following 307/308 redirects (the body re-opened and re-sent, the headers
   * — token included — re-sent; a redirect from https to http is refused), and for a request
   * without a body (a save's GET) 301, 302 and 303 too, as the products' Go clients do. A request
   * with a body is not sent on by those: they would turn it into a GET. Resolves with a 2xx
   * response whose body is still to be read; rejects with HttpError for any other status (with
   * the server's message) and for connection, TLS, timeout and abort failures.
   */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let url = this.resolve(this.base, req.path);
    const max = this.opts.maxRedirects ?? 5;
    let expectContinue = true;
    for (let hop = 0; ; hop++) {
      const { res, clientReq, state } = await this.attempt(url, req, expectContinue);
      const status = res.statusCode ?? 0;
      if (status === 417 && req.body && expectContinue) {
        // A proxy or server that refuses `Expect: 100-continue`: the same request without it.
        res.resume();
        clientReq.destroy();
        expectContinue = false;
        hop--;
        continue;
      }
      if (
        status === 307 ||
        status === 308 ||
        (!req.body && (status === 301 || status === 302 || status === 303))
      ) {
        const loc = res.headers.location;
        res.resume();
        clientReq.destroy();
        if (!loc) {
          throw this.error(
            'redirect',
            `${this.service} at ${safeUrl(url)} answered ${status} without a Location`,
            {
              status,
              url,
            },
          );
        }
        let next: URL;
        try {
          next = new URL(loc, url);
        } catch {
          throw this.error(
            'redirect',
            `${this.service} at ${safeUrl(url)} redirected to an invalid URL`,
            { status, url },
          );
        }
        if (url.protocol === 'https:' && next.protocol !== 'https:') {
          throw this.error(
            'redirect',
            `refusing to follow the redirect from ${safeUrl(url)} to ${safeUrl(next)}: it leaves HTTPS and would send the token in clear text`,
            { status, url },
          );
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw this.error('redirect', `refusing to follow the redirect to ${safeUrl(next)}`, {
            status,
            url,
          });
        }
        if (hop >= max) {
          throw this.error('redirect', `too many redirects (more than ${max}) from ${this.url}`, {
            status,
            url,
          });
        }
        url = next;
        continue;
      }
      if (status >= 200 && status < 300) return this.response(res, clientReq, url, state);
      const text = await readText(res, ERROR_BODY_LIMIT).catch(() => '');
      clientReq.destroy();
      const proxy = this.proxyOf(url);
      if (status === 407 && forwardedBy(proxy, url)) {
        // The proxy's answer, not the product's (which never asks for proxy credentials).
        throw this.proxyError(
          refused(
            `it answered 407 (Proxy Authentication Required) to ${req.method} ${url.host}: ${proxyAuthHint(proxy)}`,
          ),
          proxy,
          url,
          req,
          407,
        );
      }
      throw this.statusError(status, text, url, req, locationOf(res.headers.location, url));
    }
  }

  private resolve(base: URL, path: string): URL {
    const u = new URL(base.toString());
    const [p, q] = path.split('?', 2);
    u.pathname = `${u.pathname.replace(/\/$/, '')}${p.startsWith('/') ? p : `/${p}`}`;
    u.search = q ? `?${q}` : '';
    return u;
  }

  /** The proxy a request to `url` goes through, if any (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). */
  private proxyOf(url: URL): URL | undefined {
    return this.opts.proxyEnv ? proxyFor(url, this.opts.proxyEnv) : undefined;
  }

  /** One request/response exchange (no redirect handling), through a proxy where one applies. */
  private async attempt(
    url: URL,
    req: HttpRequest,
    expectContinue: boolean,
  ): Promise<{ res: http.IncomingMessage; clientReq: http.ClientRequest; state: AttemptState }> {
    const state: AttemptState = { timedOut: false, aborted: false, bodyBytes: 0 };
    const timeoutMs = this.timeoutMs;
    const proxy = this.proxyOf(url);
    const isHttps = url.protocol === 'https:';
    let tlsOptions: https.RequestOptions | undefined;
    if (isHttps || proxy?.protocol === 'https:') {
      tlsOptions = this.tls ?? this.tlsOptions();
    }
    // Through a proxy, a connection made for this request alone: a tunnel to the server for
    // https (and for anything through SOCKS5), else, for http through an http(s) proxy, the
    // connection to the proxy itself, which is sent the absolute URL.
    let own: Socket | undefined;
    const forwarded = forwardedBy(proxy, url);
    if (proxy) {
      const dial = this.proxyDial(timeoutMs, req, tlsOptions);
      try {
        own = forwarded ? await dialProxy(proxy, dial) : await openTunnel(proxy, url, dial);
      } catch (err) {
        throw this.proxyError(err, proxy, url, req);
      }
      state.connected = true;
    }
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        'User-Agent': 'raftsnap',
        ...this.opts.headers,
        ...req.headers,
      };
      if (req.body) {
        headers['Content-Type'] ??= 'application/octet-stream';
        if (expectContinue) headers.Expect = '100-continue';
        if (req.body.length !== undefined) headers['Content-Length'] = String(req.body.length);
      }
      let options: https.RequestOptions = { method: req.method, headers, agent: false };
      if (isHttps) {
        options = { ...options, ...tlsOptions };
        // On every hop, redirects to another host included, as the products' own clients do.
        const name = this.opts.tlsServerName;
        if (name && isIP(name)) {
          // An address: checked against the certificate, but sent as no SNI (RFC 6066 names only
          // hosts; Go sends none for an address either).
          options.servername = '';
          options.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
        } else if (name) {
          options.servername = name;
        }
      }
      let target: URL | string = url;
      if (own) {
        const socket = own;
        // Used only without an agent (`agent: false` would make a fresh one that dials itself).
        options.agent = undefined;
        // Without an agent Node takes port 80 as the default in Host: name the real one.
        headers.Host = url.host;
        if (isHttps) {
          // TLS to the server over the tunnel.
          const { ca, cert, key, rejectUnauthorized } = options;
          const overTunnel: tls.ConnectionOptions = {
            socket,
            // The name the certificate is checked against, and SNI unless it is an address.
            host: bareHostname(url),
            servername: options.servername ?? serverName(bareHostname(url)),
            // Only when set: tls.connect would take an undefined one over its default.
            ...(options.checkServerIdentity && {
              checkServerIdentity: options.checkServerIdentity,
            }),
            ca,
            cert,
            key,
            rejectUnauthorized,
          };
          options.createConnection = () => tls.connect(overTunnel);
        } else {
          options.createConnection = () => socket;
        }
        if (forwarded) {
          // Plain http through the proxy: the absolute URL as the request target.
          const auth = proxyAuthorization(proxy!);
          if (auth) headers['Proxy-Authorization'] = auth;
          // The whole URL, query included (?dc=, ?region=), without credentials.
          const absolute = new URL(url);
          absolute.username = '';
          absolute.password = '';
          absolute.hash = '';
          options.path = absolute.href;
          target = '';
        }
      }
      let settled = false;
      let clientReq: http.ClientRequest;
      try {
        clientReq =
          target === '' ? http.request(options) : (isHttps ? https : http).request(target, options);
      } catch (err) {
        // The connection made for it has no request to close it.
        own?.destroy();
        reject(this.transportError(err, url, req, state));
        return;
      }
      // The connection made for this request ends with it, however it ends (a request that
      // never got its socket, TLS over a tunnel that failed to start, closes nothing itself).
      if (own) {
        const socket = own;
        clientReq.once('close', () => socket.destroy());
      }
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        clientReq.destroy();
        own?.destroy();
        reject(this.transportError(err, url, req, state));
      };
      const onAbort = () => {
        state.aborted = true;
        clientReq.destroy(new Error('aborted'));
      };
      const cleanup = () => req.signal?.removeEventListener('abort', onAbort);
      if (req.signal?.aborted) {
        settled = true;
        clientReq.destroy();
        own?.destroy();
        reject(
          this.error('aborted', `${req.what ?? 'request'} aborted`, {
            url,
            cause: req.signal.reason,
          }),
        );
        return;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        const expire = () => {
          state.timedOut = true;
          clientReq.destroy(new Error('timeout'));
        };
        // Until the connection is up (name lookup, TCP): the socket's own inactivity timer
        // starts only once it is connected, so an address that drops packets would otherwise
        // hang for minutes.
        const connecting = setTimeout(expire, timeoutMs);
        const connected = () => {
          state.connected = true;
          clearTimeout(connecting);
        };
        clientReq.once('socket', (socket) => {
          if (socket.connecting) socket.once('connect', connected);
          else connected();
        });
        clientReq.once('close', () => clearTimeout(connecting));
        // From then on: the TLS handshake, the wait for the response, every pause.
        clientReq.setTimeout(timeoutMs, expire);
      }
      // Errors after the response arrived surface through the response body.
      clientReq.on('error', fail);
      clientReq.on('response', (res) => {
        if (settled) {
          res.resume();
          return;
        }
        settled = true;
        state.responded = true;
        res.on('close', cleanup);
        resolve({ res, clientReq, state });
      });
      if (!req.body) {
        clientReq.end();
        return;
      }
      // Expect: 100-continue lets a server answer (e.g. 307 from a standby, 403) before the body
      // is sent; servers that ignore it get the body after a short wait.
      if (!expectContinue) {
        void this.pump(clientReq, req, state);
        return;
      }
      clientReq.flushHeaders();
      let started = false;
      const start = () => {
        if (started || state.responded || clientReq.destroyed) return;
        started = true;
        clearTimeout(timer);
        void this.pump(clientReq, req, state);
      };
      // Sooner with a short timeout, which would otherwise expire while the body waits.
      const wait = timeoutMs > 0 ? Math.min(CONTINUE_WAIT, timeoutMs / 2) : CONTINUE_WAIT;
      const timer = setTimeout(start, wait);
      clientReq.on('continue', start);
      clientReq.on('close', () => clearTimeout(timer));
    });
  }

  /** Writes the body with backpressure; stops when a response has arrived. */
  private async pump(
    clientReq: http.ClientRequest,
    req: HttpRequest,
    state: AttemptState,
  ): Promise<void> {
    const body = req.body!;
    try {
      const src = body.open();
      const it: AsyncIterable<Uint8Array> = isReadableStream(src) ? iterateStream(src) : src;
      for await (const chunk of it) {
        if (state.responded || clientReq.destroyed) return;
        state.bodyBytes += chunk.length;
        if (body.reusesChunks) await written(clientReq, chunk);
        else if (!clientReq.write(chunk)) await drained(clientReq);
        req.onBodyProgress?.(state.bodyBytes);
      }
      if (!state.responded && !clientReq.destroyed) clientReq.end();
    } catch (err) {
      state.bodyError = err;
      clientReq.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private response(
    res: http.IncomingMessage,
    clientReq: http.ClientRequest,
    url: URL,
    state: AttemptState,
  ): HttpResponse {
    // Errors reach the reader through the body stream; this keeps an unread body's error from
    // becoming an uncaught exception.
    res.on('error', () => {});
    const body = this.bodyStream(res, clientReq, url, state);
    return {
      status: res.statusCode ?? 0,
      url: safeUrl(url),
      header(name) {
        const v = res.headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      body,
      async text(limit = ERROR_BODY_LIMIT) {
        const parts: Uint8Array[] = [];
        let n = 0;
        for await (const chunk of iterateStream(body)) {
          if (n < limit) parts.push(chunk.subarray(0, limit - n));
          n += chunk.length;
        }
        return Buffer.concat(parts).toString('utf8');
      },
      abort() {
        clientReq.destroy();
      },
    };
  }

  private bodyStream(
    res: http.IncomingMessage,
    clientReq: http.ClientRequest,
    url: URL,
    state: AttemptState,
  ): ReadableStream<Uint8Array> {
    const it = res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let received = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (ctl) => {
          try {
            const next = await it.next();
            if (next.done) {
              // A response cut short without an error (should not happen with HTTP/1.1 framing).
              if (!res.complete) throw new Error('aborted');
              ctl.close();
              return;
            }
            received += next.value.length;
            ctl.enqueue(
              new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.length),
            );
          } catch (err) {
            clientReq.destroy();
            ctl.error(this.bodyError(err, url, state, received));
          }
        },
        cancel: async () => {
          clientReq.destroy();
          await it.return?.().catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
  }

  private bodyError(err: unknown, url: URL, state: AttemptState, received: number): HttpError {
    const where = `${this.service} at ${safeUrl(url)}`;
    if (state.aborted) return this.error('aborted', 'transfer aborted', { url, cause: err });
    if (state.timedOut) {
      return this.error(
        'timeout',
        `no data from ${where} for ${this.timeoutMs} ms (after ${received} bytes of the response; a slow disk here stalls it too)${this.timeoutHint()}`,
        { url, cause: err },
      );
    }
    return this.error(
      'connection',
      `the connection to ${where} closed before the end of the response (after ${received} bytes): ${this.redact(describe(err))}`,
      { url, cause: err },
    );
  }

  private transportError(
    err: unknown,
    url: URL,
    req: HttpRequest,
    state: AttemptState,
  ): SnapshotError {
    if (state.bodyError !== undefined && isSnapshotError(state.bodyError)) return state.bodyError;
    const where = `${this.service} at ${safeUrl(url)}`;
    const what = req.what ? ` while ${req.what}` : '';
    if (state.aborted)
      return this.error('aborted', `${req.what ?? 'request'} aborted`, { url, cause: err });
    if (state.timedOut) {
      const ms = this.timeoutMs;
      const addrHint = this.opts.hints?.addr
        ? ` (check ${this.opts.hints.addr} or ${this.option('addr')})`
        : '';
      if (!state.connected) {
        return this.error('timeout', `cannot connect to ${where} within ${ms} ms${addrHint}`, {
          url,
          cause: err,
        });
      }
      // A request whose whole body went out (a restore) may still be carried out by the server;
      // one whose upload stalled part way cannot be.
      const total = req.body?.length;
      const pending =
        !req.body || state.bodyBytes === 0
          ? ''
          : total !== undefined && state.bodyBytes < total
            ? ` (the upload stalled after ${state.bodyBytes} of ${total} bytes: the server did not get the whole request)`
            : `; ${MAY_STILL_COMPLETE}`;
      return this.error(
        'timeout',
        `no response from ${where} within ${ms} ms${what}${this.timeoutHint()}${pending}`,
        { url, cause: err },
      );
    }
    if (state.bodyError !== undefined) {
      return this.error(
        'connection',
        `reading the request body failed${what}: ${this.redact(describe(state.bodyError))}`,
        {
          url,
          cause: state.bodyError,
        },
      );
    }
    const code = (err as NodeJS.ErrnoException)?.code ?? '';
    const hints = this.opts.hints ?? {};
    const addrHint = hints.addr ? ` (check ${hints.addr} or ${this.option('addr')})` : '';
    switch (code) {
      case 'ECONNREFUSED':
        return this.error(
          'connection',
          `cannot connect to ${where}: connection refused${addrHint}`,
          { url, cause: err },
        );
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return this.error('connection', `cannot resolve the host of ${where}${addrHint}`, {
          url,
          cause: err,
        });
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return this.error('connection', `cannot reach ${where}: ${code}${addrHint}`, {
          url,
          cause: err,
        });
      case 'ECONNRESET':
      case 'EPIPE': {
        // Once the whole body is there, the server may act on it whatever befell the answer.
        const whole =
          req.body?.length !== undefined && state.bodyBytes === req.body.length
            ? `; the whole body had been sent, so ${MAY_STILL_COMPLETE}`
            : '';
        return this.error(
          'connection',
          `the connection to ${where} was reset${what}${state.bodyBytes ? ` (after sending ${state.bodyBytes} bytes)` : ''}${whole}`,
          { url, cause: err },
        );
      }
      case 'EPROTO':
      case 'ERR_SSL_WRONG_VERSION_NUMBER':
        return this.error(
          'tls',
          `TLS handshake with ${where} failed (is it an https server?): ${this.redact(describe(err))}`,
          {
            url,
            cause: err,
          },
        );
    }
    if (
      /CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_CERTIFICATE_UNKNOWN/.test(
        code,
      )
    ) {
      // The server's alert about our side: it wants a client certificate it trusts.
      return this.error(
        'tls',
        `${where} refused the connection for want of a client certificate it trusts (${code}): set ${this.clientCertSettings()}`,
        { url, cause: err },
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      const name = hints.tlsServerName
        ? `${hints.tlsServerName} or ${this.option('tlsServerName')}`
        : this.option('tlsServerName');
      // The name checked: the one set for it, else the address's.
      const checked = this.opts.tlsServerName || url.hostname;
      const holds = (err as { cert?: { subjectaltname?: string } }).cert?.subjectaltname;
      const fix = this.opts.tlsServerName
        ? `set ${name} to a name the certificate holds`
        : `use an address with a name the certificate holds, or set ${name} to one`;
      return this.error(
        'tls',
        `the TLS certificate of ${where} is not issued for ${checked}${holds ? ` (it holds ${holds})` : ''} (${code}): ${fix}`,
        { url, cause: err },
      );
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return this.error(
        'tls',
        `the TLS certificate of ${where} ${code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet'} (${code}): renew it on the server, or check this machine's clock`,
        { url, cause: err },
      );
    }
    if (isTlsCertError(code)) {
      const ca = hints.caCert
        ? `set ${hints.caCert} or ${this.option('caFile')} to its CA`
        : `set ${this.option('caFile')} to its CA`;
      const skip = hints.skipVerify ? `; ${hints.skipVerify} skips verification (insecure)` : '';
      const by = this.opts.caFile ? ` by the CA in ${this.opts.caFile}` : '';
      return this.error(
        'tls',
        `the TLS certificate of ${where} is not trusted${by} (${code}): ${ca}${skip}`,
        {
          url,
          cause: err,
        },
      );
    }
    return this.error(
      'connection',
      `request to ${where} failed${what}: ${this.redact(describe(err))}`,
      { url, cause: err },
    );
  }

  private statusError(
    status: number,
    text: string,
    url: URL,
    req: HttpRequest,
    location?: URL,
  ): HttpError {
    const where = `${this.service} at ${safeUrl(url)}`;
    // Secrets hidden before the message is cut short: one across the cut would show in part.
    const said = serverMessage(text, (m) => this.redact(m));
    const tail = said ? `: ${said}` : '';
    const what = req.what ? ` ${req.what}` : '';
    if (status === 401 || status === 403) {
      return this.error(
        'permission-denied',
        `permission denied: check the token ${this.tokenHint()}; ${where} answered ${status}${tail}`,
        {
          status,
          url,
        },
      );
    }
    if (status === 404) {
      return this.error(
        'not-found',
        `not found: ${where} has no ${req.method} ${url.pathname} (is it the right address and product?)${tail}`,
        {
          status,
          url,
        },
      );
    }
    if (status >= 300 && status < 400) {
      const to = location ? ` to ${safeUrl(location)}` : '';
      return this.error(
        'redirect',
        `${where} redirects${to} with ${status}, which is not followed${req.body ? ' (only 307 and 308 keep the method and body)' : ''}: ${location ? 'use that address' : 'check the address'}${this.opts.hints?.addr ? ` (${this.opts.hints.addr} or ${this.option('addr')})` : ''}`,
        { status, url },
      );
    }
    const kind: HttpErrorKind = status >= 500 ? 'server-error' : 'client-error';
    return this.error(kind, `${where} answered ${status}${what ? ` when${what}` : ''}${tail}`, {
      status,
      url,
    });
  }

  /** How a proxy exchange for `req` is bounded, and the TLS settings for an https:// proxy. */
  private proxyDial(
    timeoutMs: number,
    req: HttpRequest,
    tlsOptions: https.RequestOptions | undefined,
  ): ProxyDial {
    const { ca, cert, key, rejectUnauthorized } = tlsOptions ?? {};
    return { timeoutMs, signal: req.signal, tls: { ca, cert, key, rejectUnauthorized } };
  }

  /** A failure to reach the server through a proxy, naming the proxy (without its credentials). */
  private proxyError(
    err: unknown,
    proxy: URL,
    url: URL,
    req: HttpRequest,
    status?: number,
  ): SnapshotError {
    if (req.signal?.aborted) {
      return this.error('aborted', `${req.what ?? 'request'} aborted`, { url, cause: err });
    }
    const via = `the proxy ${safeUrl(proxy)} (${proxyVariable(url)}; NO_PROXY lists hosts to reach directly)`;
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ETIMEDOUT') {
      return this.error(
        'timeout',
        `cannot reach ${this.service} at ${safeUrl(url)} through ${via} within ${this.timeoutMs} ms`,
        { url, cause: err },
      );
    }
    return this.error(
      'connection',
      `cannot reach ${this.service} at ${safeUrl(url)} through ${via}: ${this.redact(describe(err))}`,
      { status, url, cause: err },
    );
  }

  /** The settings that give a client certificate and its key, as messages name them. */
  private clientCertSettings(): string {
    const hints = this.opts.hints ?? {};
    const options = `${this.option('certFile')} and ${this.option('keyFile')}`;
    return hints.clientCert && hints.clientKey
      ? `${hints.clientCert} and ${hints.clientKey} (or ${options})`
      : options;
  }

  /** What to say after a timeout: how to give the server longer. */
  private timeoutHint(): string {
    const env = this.opts.hints?.timeout;
    return `; allow longer with ${env ? `${env} or ` : ''}${this.option('timeout')} (0 for none)`;
  }

  /** Where to check the token sent, or where to give one when none was. */
  private tokenHint(): string {
    const option = this.option('token');
    const variable = this.opts.hints?.token;
    const source = this.opts.hints?.tokenSource;
    if (source?.kind === 'option') return `(${option})`;
    if (source?.kind === 'file') {
      if (source.variable) return `in ${source.file} (${source.variable})`;
      const other = variable ? `${variable} or ${option}` : option;
      return `in ${source.file} (or set ${other})`;
    }
    return variable ? `(${variable} or ${option})` : `(${option})`;
  }

  /** How messages name the setting `key`: the caller's name for it, else "the KEY option". */
  private option(key: keyof OptionNames): string {
    return this.opts.optionNames?.[key] ?? `the ${key} option`;
  }

  private error(
    kind: HttpErrorKind,
    message: string,
    opts: { status?: number; url?: URL; cause?: unknown },
  ): HttpError {
    return new HttpError(kind, this.redact(message), {
      status: opts.status,
      url: opts.url ? safeUrl(opts.url) : undefined,
      cause: opts.cause,
    });
  }
}

interface AttemptState {
  timedOut: boolean;
  aborted: boolean;
  /** The TCP connection was up (a timeout before it is a failure to connect). */
  connected?: boolean;
  responded?: boolean;
  bodyBytes: number;
  bodyError?: unknown;
}

/** A redirect's Location resolved against `base`, when it is a valid URL. */
function locationOf(loc: string | undefined, base: URL): URL | undefined {
  if (!loc) return undefined;
  try {
    return new URL(loc, base);
  } catch {
    return undefined;
  }
}

function isTlsCertError(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'
  );
}

/**
 * Whether a request to `url` through `proxy` is sent to the proxy itself with its absolute URL
 * (plain http through an http(s) proxy), rather than through a tunnel.
 */
function forwardedBy(proxy: URL | undefined, url: URL): proxy is URL {
  return proxy !== undefined && url.protocol !== 'https:' && !isSocks(proxy);
}

/**
 * The useful part of an error response body: Vault's `{"errors":[…]}`, or the text, on one line
 * of at most 500 characters. `redact` is applied to the whole line before it is cut.
 */
export function serverMessage(text: string, redact: (s: string) => string = (s) => s): string {
  const t = text.trim();
  if (t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as { errors?: unknown; error?: unknown; message?: unknown };
      if (Array.isArray(j.errors) && j.errors.length > 0) {
        return serverMessage(j.errors.map(String).join('; '), redact);
      }
      if (typeof j.error === 'string') return serverMessage(j.error, redact);
      if (typeof j.message === 'string') return serverMessage(j.message, redact);
    } catch {
      // not JSON after all
    }
  }
  // One line: Vault's "1 error occurred:\n\t* …\n\n" and multi-line pages alike.
  const line = redact(t.replace(/\s*\n\s*/g, ' ').trim());
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    // A proxy's refusal says all there is to say; a system error's code helps a search.
    const plain = !code || err.message.includes(code) || code === 'ERR_PROXY_REFUSED';
    return plain ? err.message : `${err.message} (${code})`;
  }
  return String(err);
}

function isReadableStream(x: unknown): x is ReadableStream<Uint8Array> {
  return (
    typeof x === 'object' && x !== null && typeof (x as ReadableStream).getReader === 'function'
  );
}

/** Iterates a Web stream; stopping early cancels it. */
export function iterateStream(s: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  return bytesOf(s);
}

/** Writes `chunk` and resolves once the socket has taken it (or the request closed). */
function written(req: http.ClientRequest, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('close', done);
      resolve();
    };
    req.on('close', done);
    req.write(chunk, done);
  });
}

/** Resolves when the request can take more data, or when it closed. */
function drained(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

/** Reads a Node stream as text, keeping at most `limit` bytes. */
async function readText(res: http.IncomingMessage, limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (n < limit) parts.push(chunk.subarray(0, limit - n));
    n += chunk.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

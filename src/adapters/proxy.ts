/**
 * HTTP proxies for the product APIs, chosen from the environment as the products' Go clients
 * choose them (net/http's ProxyFromEnvironment): HTTPS_PROXY (or https_proxy) for https
 * addresses, HTTP_PROXY (or http_proxy) for http ones, except the hosts NO_PROXY (or no_proxy)
 * lists and, always, localhost and loopback addresses. A proxy is an http://, https:// (TLS to the
 * proxy itself) or socks5:// URL, as Go's Transport takes them; one without a scheme is http://.
 * An https request goes through a tunnel (HTTP CONNECT, or SOCKS5 CONNECT with the host name
 * resolved by the proxy) with TLS end to end, the proxy seeing only the host name and port; an
 * http one is sent to an http(s) proxy with its absolute URL, or through a SOCKS5 tunnel as is.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { BlockList, connect, isIP, type Socket } from 'node:net';
import * as tls from 'node:tls';
import { domainToASCII } from 'node:url';
import { SnapshotError } from '../errors.js';
import type { Env } from './env.js';

/** The proxy schemes understood, and each one's default port. */
const PROXY_PORTS: Record<string, string> = {
  'http:': '80',
  'https:': '443',
  'socks5:': '1080',
  // What curl calls a SOCKS5 proxy that resolves names: raftsnap always lets it resolve them.
  'socks5h:': '1080',
};

/** The variable that names the proxy for requests to `url`: HTTPS_PROXY or HTTP_PROXY. */
export function proxyVariable(url: URL): string {
  return url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
}

/**
 * The proxy a request to `url` goes through, or undefined for a direct connection. Throws
 * SnapshotError('INVALID_ARGUMENT') for a proxy variable that is not an http://, https:// or
 * socks5:// URL.
 */
export function proxyFor(url: URL, env: Env): URL | undefined {
  const name = proxyVariable(url);
  const value = nonEmpty(env[name]) ?? nonEmpty(env[name.toLowerCase()]);
  if (value === undefined) return undefined;
  const host = bareHostname(url);
  if (host === 'localhost' || isLoopback(host)) return undefined;
  const noProxy = nonEmpty(env.NO_PROXY) ?? nonEmpty(env.no_proxy) ?? '';
  if (bypassed(host, portOf(url), noProxy)) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new SnapshotError('INVALID_ARGUMENT', `${name} is not a URL`);
  }
  if (!Object.hasOwn(PROXY_PORTS, proxy.protocol)) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${name}: ${proxy.protocol}// proxies are not supported (http://, https:// and socks5:// are); list ${url.hostname} in NO_PROXY to reach it directly`,
    );
  }
  if (proxy.hostname === '') throw new SnapshotError('INVALID_ARGUMENT', `${name} names no host`);
  try {
    decodeURIComponent(proxy.username);
    decodeURIComponent(proxy.password);
  } catch {
    // As Go's url.Parse refuses it ("invalid proxy address").
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${name}: the proxy's user name or password has a % not followed by two hex digits (write % as %25)`,
    );
  }
  if (isSocks(proxy) && proxy.password !== '' && proxy.username === '') {
    // RFC 1929 has no empty user name; Go's client refuses it too.
    throw new SnapshotError('INVALID_ARGUMENT', `${name}: a SOCKS5 password needs a user name`);
  }
  return proxy;
}

/** A URL's host name as a resolver or a socket takes it: an IPv6 address without brackets. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** A URL's port, its scheme's default when it names none. */
function portOf(url: URL): string {
  return url.port || PROXY_PORTS[url.protocol] || '80';
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** 127.0.0.0/8, ::1 and the IPv4-mapped 127.0.0.0/8. */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

function isLoopback(host: string): boolean {
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * NO_PROXY as Go reads it: comma-separated entries; `*` alone bypasses every host; an IP address
 * or a CIDR range (IPv4 or IPv6) matches addresses; a domain name matches itself and its
 * subdomains, one with a leading `.` or `*.` its subdomains only; an entry with a port matches
 * only that port. Names are compared in their ASCII (punycode) form, as the URL holds them.
 */
function bypassed(host: string, port: string, noProxy: string): boolean {
  const h = host.toLowerCase();
  const hostFamily = isIP(h);
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase())) {
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (hostFamily !== 0 && inCidr(h, hostFamily, entry)) return true;
      continue;
    }
    let entryPort: string | undefined;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1];
      entryPort = bracketed[2];
    } else if (isIP(entry) === 0) {
      const m = /^(.*):(\d+)$/.exec(entry);
      if (m) {
        entry = m[1];
        entryPort = m[2];
      }
    }
    if (entryPort !== undefined && entryPort !== port) continue;
    const entryFamily = isIP(entry);
    if (entryFamily !== 0) {
      if (hostFamily === entryFamily && sameAddress(h, entry, entryFamily)) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    const subdomainsOnly = entry.startsWith('.');
    const name = domainToASCII(subdomainsOnly ? entry.slice(1) : entry) || entry;
    if (h.endsWith(`.${name}`) || (!subdomainsOnly && h === name)) return true;
  }
  return false;
}

function sameAddress(a: string, b: string, family: number): boolean {
  const list = new BlockList();
  list.addAddress(b, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(a, family === 4 ? 'ipv4' : 'ipv6');
}

/** Whether the address `host` (of IP `family`) is in `cidr`. */
function inCidr(host: string, family: number, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const netFamily = isIP(net);
  if (
    netFamily !== family ||
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > (family === 4 ? 32 : 128)
  ) {
    return false;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(net, bits, type);
  return list.check(host, type);
}

/** The Proxy-Authorization header for a proxy URL with credentials, if it has them. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** Whether requests through `proxy` go through a tunnel whatever their scheme (SOCKS5). */
export function isSocks(proxy: URL): boolean {
  return proxy.protocol === 'socks5:' || proxy.protocol === 'socks5h:';
}

/**
 * TLS settings for an https:// proxy: the server's own (trusted CAs, client certificate,
 * verification), as Go's Transport uses one TLS configuration for the proxy and the server.
 */
export type ProxyTls = Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized'>;

/** How long a proxy exchange may take, and what aborts it. */
export interface ProxyDial {
  /** Bounds the whole exchange, connecting included; 0: no bound. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** For https:// proxies. */
  tls: ProxyTls;
}

/**
 * Opens a connection to `target`'s host and port through `proxy` and resolves with it: an HTTP
 * CONNECT tunnel through an http:// or https:// proxy, a SOCKS5 CONNECT through a socks5:// one
 * (with the proxy's user name and password when the URL has them). Rejects with an Error whose
 * `code` is the socket's (or 'ETIMEDOUT' when `timeoutMs` passed), or 'ERR_PROXY_REFUSED' with
 * what the proxy answered; `signal` aborts it (the connection is then closed).
 */
export function openTunnel(proxy: URL, target: URL, dial: ProxyDial): Promise<Socket> {
  return bounded(dial, (track) =>
    isSocks(proxy) ? socksConnect(proxy, target, track) : httpConnect(proxy, target, dial, track),
  );
}

/**
 * Connects to an http:// or https:// proxy itself, for a request sent to it with its absolute
 * URL: TCP, then TLS for https:// (checked against the proxy's name). Rejects as
 * {@link openTunnel} does.
 */
export function dialProxy(proxy: URL, dial: ProxyDial): Promise<Socket> {
  return bounded(dial, (track) => {
    const host = bareHostname(proxy);
    const port = Number(portOf(proxy));
    const socket =
      proxy.protocol === 'https:'
        ? tls.connect({ host, port, servername: serverName(host), ...dial.tls })
        : connect(port, host);
    track(socket);
    return new Promise<Socket>((resolve, reject) => {
      socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  });
}

/** The SNI name for `host`: none for an address. */
function serverName(host: string): string | undefined {
  return isIP(host) ? undefined : host;
}

/**
 * Runs `open` under `dial`'s timeout and signal: either closes the sockets `open` tracks and
 * rejects. The resolved socket is left open.
 */
function bounded(
  dial: ProxyDial,
  open: (track: (s: Socket | http.ClientRequest) => void) => Promise<Socket>,
): Promise<Socket> {
  const tracked: (Socket | http.ClientRequest)[] = [];
  return new Promise<Socket>((resolve, reject) => {
    let done = false;
    const stop = (err: Error) => {
      if (done) return;
      done = true;
      finish();
      for (const s of tracked) s.destroy();
      reject(err);
    };
    const onAbort = () => stop(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
    const timer =
      dial.timeoutMs > 0
        ? setTimeout(
            () => stop(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
            dial.timeoutMs,
          )
        : undefined;
    const finish = () => {
      clearTimeout(timer);
      dial.signal?.removeEventListener('abort', onAbort);
    };
    if (dial.signal?.aborted) {
      onAbort();
      return;
    }
    dial.signal?.addEventListener('abort', onAbort, { once: true });
    let opened: Promise<Socket>;
    try {
      opened = open((s) => {
        tracked.push(s);
        // Errors after the exchange belong to whoever uses the socket; before, to `stop`.
        s.on('error', (err) => stop(err));
      });
    } catch (err) {
      // Thrown while setting up (e.g. an unreadable TLS option): nothing may stay armed.
      stop(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    opened.then(
      (socket) => {
        if (done) {
          socket.destroy();
          return;
        }
        done = true;
        finish();
        for (const s of tracked) s.removeAllListeners('error');
        resolve(socket);
      },
      (err) => stop(err instanceof Error ? err : new Error(String(err))),
    );
  });
}

function refused(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_PROXY_REFUSED' });
}

/** HTTP CONNECT through an http:// or https:// proxy. */
function httpConnect(
  proxy: URL,
  target: URL,
  dial: ProxyDial,
  track: (s: Socket | http.ClientRequest) => void,
): Promise<Socket> {
  const authority = `${target.hostname}:${portOf(target)}`;
  const headers: Record<string, string> = { Host: authority };
  const auth = proxyAuthorization(proxy);
  if (auth) headers['Proxy-Authorization'] = auth;
  const host = bareHostname(proxy);
  const options: https.RequestOptions = {
    host,
    port: portOf(proxy),
    method: 'CONNECT',
    path: authority,
    headers,
    agent: false,
  };
  const req =
    proxy.protocol === 'https:'
      ? https.request({ ...options, servername: serverName(host), ...dial.tls })
      : http.request(options);
  track(req);
  return new Promise((resolve, reject) => {
    req.once('connect', (res, socket) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(refused(`the proxy answered ${status} to CONNECT ${authority}`));
    });
    req.end();
  });
}

/** SOCKS5 replies (RFC 1928 section 6), as the proxy's refusal is reported. */
const SOCKS_REPLIES = [
  'succeeded',
  'general SOCKS server failure',
  'connection not allowed by ruleset',
  'network unreachable',
  'host unreachable',
  'connection refused',
  'TTL expired',
  'command not supported',
  'address type not supported',
];

/**
 * SOCKS5 CONNECT (RFC 1928) to `target` through `proxy`, offering no authentication and, when the
 * URL has a user name or password, user name and password (RFC 1929). The host name is sent as is
 * (the proxy resolves it), an address as an address.
 */
async function socksConnect(
  proxy: URL,
  target: URL,
  track: (s: Socket | http.ClientRequest) => void,
): Promise<Socket> {
  const socket = connect(Number(portOf(proxy)), bareHostname(proxy));
  track(socket);
  const read = byteReader(socket);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const user = new TextEncoder().encode(decodeURIComponent(proxy.username));
  const pass = new TextEncoder().encode(decodeURIComponent(proxy.password));
  const withPassword = user.length > 0 || pass.length > 0;
  if (user.length > 255 || pass.length > 255) {
    throw refused('the SOCKS5 user name or password is longer than 255 bytes');
  }
  socket.write(Uint8Array.of(5, ...(withPassword ? [2, 0, 2] : [1, 0])));
  const [version, method] = await read(2);
  if (version !== 5) throw refused('the proxy does not speak SOCKS5');
  if (method === 2 && withPassword) {
    socket.write(Uint8Array.of(1, user.length, ...user, pass.length, ...pass));
    const [, status] = await read(2);
    if (status !== 0) throw refused('the SOCKS5 proxy refused the user name and password');
  } else if (method !== 0) {
    throw refused(
      withPassword
        ? 'the SOCKS5 proxy accepts no authentication raftsnap offers'
        : 'the SOCKS5 proxy requires authentication (put the user name and password in the URL)',
    );
  }
  const host = bareHostname(target);
  const family = isIP(host);
  let address: number[];
  if (family === 4) address = [1, ...host.split('.').map(Number)];
  else if (family === 6) address = [4, ...ipv6Bytes(host)];
  else {
    const name = new TextEncoder().encode(host);
    if (name.length > 255) throw refused('the host name is longer than SOCKS5 allows');
    address = [3, name.length, ...name];
  }
  const port = Number(portOf(target));
  socket.write(Uint8Array.of(5, 1, 0, ...address, port >> 8, port & 255));
  const [, reply, , type, first] = await read(5);
  if (reply !== 0) {
    throw refused(
      `the SOCKS5 proxy answered CONNECT ${target.hostname}:${port} with ${SOCKS_REPLIES[reply] ?? `reply ${reply}`}`,
    );
  }
  // The bound address and port that follow, of which the first byte was read.
  const rest = type === 1 ? 3 + 2 : type === 4 ? 15 + 2 : type === 3 ? first + 2 : -1;
  if (rest < 0) throw refused(`the SOCKS5 proxy answered with address type ${type}`);
  await read(rest);
  read.release();
  return socket;
}

/** The 16 bytes of an IPv6 address (as `isIP` accepts it, without brackets). */
function ipv6Bytes(host: string): number[] {
  let text = host.split('%')[0];
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, after] = text.includes('::') ? text.split('::') : [text, undefined];
  const words = (s: string | undefined) =>
    s ? s.split(':').map((w) => Number.parseInt(w, 16)) : [];
  const front = words(head);
  const back = words(after);
  const all = [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
  for (const w of all) tail.push(w >> 8, w & 255);
  return tail;
}

/**
 * Reads exact byte counts from a socket during a handshake, in paused mode, so that whatever
 * follows the handshake stays in the socket for its next reader; `release` stops listening.
 * A read rejects when the socket ends first.
 */
function byteReader(socket: Socket) {
  let waiter: (() => void) | undefined;
  const wake = () => waiter?.();
  socket.on('readable', wake);
  socket.on('end', wake);
  socket.on('close', wake);
  const read = (n: number) =>
    new Promise<Buffer>((resolve, reject) => {
      const attempt = () => {
        const chunk: Buffer | null = socket.read(n);
        if (chunk !== null && chunk.length === n) {
          waiter = undefined;
          resolve(chunk);
        } else if (chunk !== null || socket.readableEnded || socket.destroyed) {
          waiter = undefined;
          reject(refused('the proxy closed the connection during the handshake'));
        } else {
          waiter = attempt;
        }
      };
      attempt();
    });
  read.release = () => {
    socket.off('readable', wake);
    socket.off('end', wake);
    socket.off('close', wake);
  };
  return read;
}

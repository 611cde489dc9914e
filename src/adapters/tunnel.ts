/**
 * Connections through a proxy (see src/adapters/proxy.ts for which one): an HTTP CONNECT tunnel
 * through an http:// or https:// proxy, a SOCKS5 one (src/adapters/socks.ts), or the connection
 * to a forwarding proxy itself; each bounded by a timeout and an AbortSignal, with every socket
 * it opened closed when it fails.
 */
import * as http from 'node:http';
import { connect, type Socket } from 'node:net';
import * as tls from 'node:tls';
import {
  bareHostname,
  isSocks,
  portOf,
  proxyAuthHint,
  proxyAuthorization,
  serverName,
} from './proxy.js';
import { refused, socksConnect } from './socks.js';

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
  return bounded(dial, (track) => connectToProxy(proxy, dial, track));
}

/** The connection to an http:// or https:// proxy, once it is up (TLS included). */
function connectToProxy(
  proxy: URL,
  dial: ProxyDial,
  track: (s: Socket | http.ClientRequest) => void,
): Promise<Socket> {
  const host = bareHostname(proxy);
  const port = Number(portOf(proxy));
  const secure = proxy.protocol === 'https:';
  const socket = secure
    ? tls.connect({ host, port, servername: serverName(host), ...dial.tls })
    : connect(port, host);
  track(socket);
  return new Promise<Socket>((resolve, reject) => {
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
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

/** HTTP CONNECT through an http:// or https:// proxy, over {@link connectToProxy}'s connection. */
async function httpConnect(
  proxy: URL,
  target: URL,
  dial: ProxyDial,
  track: (s: Socket | http.ClientRequest) => void,
): Promise<Socket> {
  const toProxy = await connectToProxy(proxy, dial, track);
  const authority = `${target.hostname}:${portOf(target)}`;
  const headers: Record<string, string> = { Host: authority };
  const auth = proxyAuthorization(proxy);
  if (auth) headers['Proxy-Authorization'] = auth;
  const req = http.request({
    method: 'CONNECT',
    path: authority,
    headers,
    createConnection: () => toProxy,
  });
  track(req);
  return new Promise((resolve, reject) => {
    req.once('connect', (res, socket) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(
        refused(
          status === 407
            ? `the proxy answered 407 (Proxy Authentication Required) to CONNECT ${authority}: ${proxyAuthHint(proxy)}`
            : `the proxy answered ${status} to CONNECT ${authority}`,
        ),
      );
    });
    req.end();
  });
}

/**
 * HTTP proxies for the product APIs, chosen from the environment as the products' Go clients
 * choose them (net/http's ProxyFromEnvironment): HTTPS_PROXY (or https_proxy) for https
 * addresses, HTTP_PROXY (or http_proxy) for http ones, except the hosts NO_PROXY (or no_proxy)
 * lists and, always, localhost and loopback addresses. An https request goes through a CONNECT
 * tunnel (TLS end to end, the proxy sees only the host name); an http one is sent to the proxy
 * with its absolute URL. Only http:// proxies are supported.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { SnapshotError } from '../errors.js';
import type { Env } from './env.js';

/**
 * The proxy a request to `url` goes through, or undefined for a direct connection. Throws
 * SnapshotError('INVALID_ARGUMENT') for a proxy variable that is not an http:// URL.
 */
export function proxyFor(url: URL, env: Env): URL | undefined {
  const https = url.protocol === 'https:';
  const name = https ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const value = nonEmpty(env[name]) ?? nonEmpty(env[name.toLowerCase()]);
  if (value === undefined) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || isLoopback(host)) return undefined;
  const port = url.port || (https ? '443' : '80');
  const noProxy = nonEmpty(env.NO_PROXY) ?? nonEmpty(env.no_proxy) ?? '';
  if (bypassed(host, port, noProxy)) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    throw new SnapshotError('INVALID_ARGUMENT', `${name} is not a URL`);
  }
  if (proxy.protocol !== 'http:') {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${name}: only http:// proxies are supported, not ${proxy.protocol}//`,
    );
  }
  return proxy;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^(0+:){7}0*1$/.test(host);
  return false;
}

/**
 * NO_PROXY as Go reads it: comma-separated entries; `*` alone bypasses every host; an IP address
 * or CIDR prefix matches addresses; a domain name matches itself and its subdomains, one with a
 * leading dot its subdomains only; an entry with a port matches only that port.
 */
function bypassed(host: string, port: string, noProxy: string): boolean {
  for (let entry of noProxy.split(',').map((e) => e.trim().toLowerCase())) {
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(host, entry)) return true;
      continue;
    }
    let entryPort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.endsWith(']') && isIP(entry) !== 6) {
      entry = m[1];
      entryPort = m[2];
    }
    entry = entry.replace(/^\[|\]$/g, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    const h = host.toLowerCase();
    if (isIP(entry)) {
      if (entry === h) return true;
      continue;
    }
    if (entry.startsWith('.')) {
      if (h.endsWith(entry)) return true;
    } else if (h === entry || h.endsWith(`.${entry}`)) {
      return true;
    }
  }
  return false;
}

/** Whether the IPv4 address `host` is in the IPv4 `cidr` (IPv6 CIDRs match nothing). */
function inCidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(host) !== 4 || isIP(net) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    return false;
  }
  const num = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  const block = 2 ** (32 - bits);
  return Math.floor(num(host) / block) === Math.floor(num(net) / block);
}

/** The Proxy-Authorization header for a proxy URL with credentials, if it has them. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/**
 * Opens a tunnel to `target`'s host and port through `proxy` (HTTP CONNECT) and resolves with
 * the socket. Rejects with an Error whose `code` is the socket error's, or
 * 'ERR_PROXY_REFUSED' (with the proxy's status in the message) when the proxy answers other than
 * 2xx; `timeoutMs` (0: none) bounds the whole exchange, and `signal` aborts it.
 */
export function connectTunnel(
  proxy: URL,
  target: URL,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Socket> {
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  const authority = `${target.hostname}:${port}`;
  const headers: Record<string, string> = { Host: authority };
  const auth = proxyAuthorization(proxy);
  if (auth) headers['Proxy-Authorization'] = auth;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: proxy.hostname.replace(/^\[|\]$/g, ''),
      port: proxy.port || 80,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
      signal,
    });
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
          }, timeoutMs)
        : undefined;
    req.once('connect', (res, socket) => {
      clearTimeout(timer);
      if ((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
        resolve(socket);
        return;
      }
      socket.destroy();
      reject(
        Object.assign(new Error(`the proxy answered ${res.statusCode} to CONNECT ${authority}`), {
          code: 'ERR_PROXY_REFUSED',
        }),
      );
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

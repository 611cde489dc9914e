/**
 * HTTP proxies for the product APIs, chosen from the environment as the products' Go clients
 * choose them (net/http's ProxyFromEnvironment): HTTPS_PROXY (or https_proxy) for https
 * addresses, HTTP_PROXY (or http_proxy) for http ones, except the hosts NO_PROXY (or no_proxy)
 * lists and, always, localhost and loopback addresses. An https request goes through a CONNECT
 * tunnel (TLS end to end, the proxy sees only the host name); an http one is sent to the proxy
 * with its absolute URL. Only http:// proxies are supported.
 */
import * as http from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import { domainToASCII } from 'node:url';
import { SnapshotError } from '../errors.js';
import type { Env } from './env.js';

/**
 * The proxy a request to `url` goes through, or undefined for a direct connection. Throws
 * SnapshotError('INVALID_ARGUMENT') for a proxy variable that is not an http:// URL.
 */
export function proxyFor(url: URL, env: Env): URL | undefined {
  const name = url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
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
  if (proxy.protocol !== 'http:') {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${name}: only http:// proxies are supported, not ${proxy.protocol}//; list ${url.hostname} in NO_PROXY to reach it directly`,
    );
  }
  return proxy;
}

/** A URL's host name as a resolver or a socket takes it: an IPv6 address without brackets. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** A URL's port, its scheme's default when it names none. */
function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
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
  const authority = `${target.hostname}:${portOf(target)}`;
  const headers: Record<string, string> = { Host: authority };
  const auth = proxyAuthorization(proxy);
  if (auth) headers['Proxy-Authorization'] = auth;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: bareHostname(proxy),
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

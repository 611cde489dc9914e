/**
 * Which proxy a request to the product APIs goes through, chosen from the environment as the
 * products' Go clients choose them (net/http's ProxyFromEnvironment): HTTPS_PROXY (or https_proxy) for https
 * addresses, HTTP_PROXY (or http_proxy) for http ones, except the hosts NO_PROXY (or no_proxy)
 * lists and, always, localhost and loopback addresses. A proxy is an http://, https:// (TLS to the
 * proxy itself) or socks5:// URL, as Go's Transport takes them; one without a scheme is http://.
 * An https request goes through a tunnel (HTTP CONNECT, or SOCKS5 CONNECT with the host name
 * resolved by the proxy) with TLS end to end, the proxy seeing only the host name and port; an
 * http one is sent to an http(s) proxy with its absolute URL, or through a SOCKS5 tunnel as is.
 */
import { BlockList, isIP } from 'node:net';
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

/** The SNI name for a connection to `host` (a bare host name or address): none for an address. */
export function serverName(host: string): string | undefined {
  return isIP(host) ? undefined : host;
}

/** A URL's port, its scheme's default when it names none. */
export function portOf(url: URL): string {
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

/**
 * What to say when `proxy` answered 407 Proxy Authentication Required: that it refused the user
 * name and password its URL holds, or that it wants them there.
 */
export function proxyAuthHint(proxy: URL): string {
  return proxy.username || proxy.password
    ? 'it refused the user name and password in the proxy URL'
    : `it wants a user name and password: give them in the proxy URL (${proxy.protocol}//USER:PASSWORD@${proxy.host})`;
}

/** Whether requests through `proxy` go through a tunnel whatever their scheme (SOCKS5). */
export function isSocks(proxy: URL): boolean {
  return proxy.protocol === 'socks5:' || proxy.protocol === 'socks5h:';
}

/**
 * A SOCKS5 client handshake (RFC 1928, with RFC 1929's user name and password) over a fresh
 * connection to the proxy, as Go's Transport does it for a socks5:// proxy.
 */
import { connect, isIP, type Socket } from 'node:net';
import { bareHostname, portOf } from './proxy.js';

/**
 * The error of a proxy that refused or broke the exchange: its `code` is 'ERR_PROXY_REFUSED' and
 * its message says what the proxy answered.
 */
export function refused(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_PROXY_REFUSED' });
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
 * (the proxy resolves it), an address as an address. `track` is given the socket as soon as it
 * is opened: the caller closes it when the exchange fails or is abandoned. Rejects with
 * {@link refused}'s error, or the socket's.
 */
export async function socksConnect(
  proxy: URL,
  target: URL,
  track: (s: Socket) => void,
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

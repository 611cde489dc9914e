/** Small byte helpers for tests. */
import { createHash } from 'node:crypto';
import { gzipSync, inflateRawSync } from 'node:zlib';

export const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export const gzip = (b: Uint8Array): Uint8Array => new Uint8Array(gzipSync(b));

/**
 * The lengths of the gzip members of `gz`, in order. Every member must have the plain 10-byte
 * header that raftsnap, libdeflate and Go write (FLG 0); anything else throws.
 */
export function gzipMemberLengths(gz: Uint8Array): number[] {
  const lengths: number[] = [];
  for (let at = 0; at < gz.length; ) {
    if (gz[at] !== 0x1f || gz[at + 1] !== 0x8b || gz[at + 2] !== 8 || gz[at + 3] !== 0)
      throw new Error(`no plain gzip member header at ${at}`);
    const { engine } = inflateRawSync(gz.subarray(at + 10), { info: true }) as unknown as {
      engine: { bytesWritten: number };
    };
    const length = 10 + engine.bytesWritten + 8;
    lengths.push(length);
    at += length;
  }
  return lengths;
}

/** `data` as an async stream of `size`-byte chunks (the last one shorter), views of `data`. */
export async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A deterministic xorshift32 sequence of unsigned 32-bit numbers, so that failures reproduce. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** {@link xorshift32} numbers, and integers below `n` drawn from them. */
export function rng(seed: number): { u32: () => number; int: (n: number) => number } {
  const u32 = xorshift32(seed);
  return { u32, int: (n: number): number => Math.floor((u32() / 2 ** 32) * n) };
}

/** Deterministic pseudo-random bytes (the low bytes of {@link xorshift32}). */
export function pseudoRandom(n: number, seed = 1): Uint8Array {
  const next = xorshift32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

/** Text-like bytes: records with repeated keys, the way Consul's state compresses. */
export function records(n: number): Uint8Array {
  const parts: string[] = [];
  for (let i = 0, length = 0; length < n; i++) {
    const line = `{"Key":"service/web-${i % 97}/config","Index":${i * 7},"Flags":0}\n`;
    parts.push(line);
    length += line.length;
  }
  return new TextEncoder().encode(parts.join('')).subarray(0, n);
}

/** Collects an async iterable of bytes into one array. */
export async function collect(src: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of src) parts.push(c.slice());
  return concat(...parts);
}

/** A WritableStream that keeps what it receives. */
export function memorySink(): {
  stream: WritableStream<Uint8Array>;
  bytes(): Uint8Array;
  closed(): boolean;
} {
  const parts: Uint8Array[] = [];
  let closed = false;
  return {
    stream: new WritableStream<Uint8Array>({
      write(c) {
        parts.push(c.slice());
      },
      close() {
        closed = true;
      },
    }),
    bytes: () => concat(...parts),
    closed: () => closed,
  };
}

/**
 * meta.json: hashicorp/raft's `SnapshotMeta`, read exactly as Go 1.19's encoding/json reads it
 * (`json.Unmarshal(buf, &metadata)` with `metadata *raft.SnapshotMeta`) and written exactly as
 * `json.NewEncoder(w).Encode(meta)` writes it.
 */
import { SnapshotError } from '../errors.js';
import { byteView } from '../io/input.js';
import {
  base64StdDecode,
  base64StdEncode,
  checkValid,
  goBytesToString,
  literalEnd,
  quoteString,
  skipSpace,
  unquoteBytes,
  valueEnd,
} from './go-json.js';

/** raft.Server. */
export interface SnapshotServer {
  /**
   * raft.ServerSuffrage, a Go `int` (int64): any integer in [-2^63, 2^63-1] is accepted when
   * decoding; values beyond ±2^53 lose precision as a JS number.
   */
  suffrage: number;
  /** raft.ServerID. */
  id: string;
  /** raft.ServerAddress. */
  address: string;
}

/** raft.SnapshotMeta. */
export interface SnapshotMeta {
  /**
   * raft.SnapshotVersion, a Go `int` (int64): any integer in [-2^63, 2^63-1] is accepted when
   * decoding; values beyond ±2^53 lose precision as a JS number.
   */
  version: number;
  id: string;
  /** uint64. */
  index: bigint;
  /** uint64. */
  term: bigint;
  /** []byte: null is Go's nil slice (written as `null`), an empty array is written as `""`. */
  peers: Uint8Array | null;
  configuration: {
    /** null is Go's nil slice (written as `null`), `[]` an empty one (written as `[]`). */
    servers: SnapshotServer[] | null;
  };
  /** uint64. */
  configurationIndex: bigint;
  /** int64. */
  size: bigint;
}

/** The zero value of raft.SnapshotMeta (what Go's `var m raft.SnapshotMeta` holds). */
export function zeroMeta(): SnapshotMeta {
  return {
    version: 0,
    id: '',
    index: 0n,
    term: 0n,
    peers: null,
    configuration: { servers: null },
    configurationIndex: 0n,
    size: 0n,
  };
}

// ---------------------------------------------------------------------------------------------
// Go's in-memory model: slices have a backing array whose length is the slice's capacity.
// Go's decoder re-exposes elements beyond a slice's length when it grows the slice within its
// capacity, so decoding on top of an earlier result must know those elements.
// ---------------------------------------------------------------------------------------------

interface GoSlice<T> {
  /** The backing array; its length is the capacity. */
  buf: T;
  len: number;
}

interface GoMeta {
  version: number;
  id: string;
  index: bigint;
  term: bigint;
  peers: GoSlice<Uint8Array> | null;
  servers: GoSlice<SnapshotServer[]> | null;
  configurationIndex: bigint;
  size: bigint;
}

/** The Go backing arrays behind metas that decodeMeta returned. */
const backings = new WeakMap<
  SnapshotMeta,
  { peers: GoSlice<Uint8Array> | null; servers: GoSlice<SnapshotServer[]> | null }
>();

/**
 * Exact values of Go ints (Version, Suffrage) that a JS number cannot hold (beyond ±2^53), for
 * the metas and servers decodeMeta returned: encodeMeta writes them back exactly as long as the
 * visible number still is their rounding (i.e. the caller did not change it).
 */
const exactInts = new WeakMap<object, bigint>();

/** Records `v` as the exact value behind `obj`'s rounded number (or forgets it when exact). */
function keepExact(obj: object, v: bigint): number {
  const n = Number(v);
  if (Number.isSafeInteger(n)) exactInts.delete(obj);
  else exactInts.set(obj, v);
  return n;
}

/** Copies the exact value recorded for `from` (if any) to `to`; returns `to`. */
function carryExact<T extends object>(from: object, to: T): T {
  const e = exactInts.get(from);
  if (e !== undefined) exactInts.set(to, e);
  return to;
}

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function zeroServer(): SnapshotServer {
  return { suffrage: 0, id: '', address: '' };
}

function sameServer(a: SnapshotServer, b: SnapshotServer): boolean {
  return a.suffrage === b.suffrage && a.id === b.id && a.address === b.address;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The Go state `meta` stands for (private copies; capacity from decodeMeta's record). */
function toGo(meta: SnapshotMeta): GoMeta {
  const known = backings.get(meta);
  let peers: GoSlice<Uint8Array> | null = null;
  if (meta.peers !== null) {
    const k = known?.peers;
    peers =
      k && k.len === meta.peers.length && sameBytes(k.buf.subarray(0, k.len), meta.peers)
        ? { buf: k.buf.slice(), len: k.len }
        : { buf: Uint8Array.from(meta.peers), len: meta.peers.length };
  }
  let servers: GoSlice<SnapshotServer[]> | null = null;
  const vis = meta.configuration.servers;
  if (vis !== null) {
    const k = known?.servers;
    servers =
      k && k.len === vis.length && vis.every((s, i) => sameServer(s, k.buf[i]))
        ? { buf: k.buf.map((s) => carryExact(s, { ...s })), len: k.len }
        : {
            buf: vis.map((s) =>
              carryExactIfSame(s, s.suffrage, {
                suffrage: s.suffrage,
                id: s.id,
                address: s.address,
              }),
            ),
            len: vis.length,
          };
  }
  return carryExactIfSame(meta, meta.version, {
    version: meta.version,
    id: meta.id,
    index: meta.index,
    term: meta.term,
    peers,
    servers,
    configurationIndex: meta.configurationIndex,
    size: meta.size,
  });
}

/** {@link carryExact} when `from`'s recorded exact value still rounds to `visible`. */
function carryExactIfSame<T extends object>(from: object, visible: number, to: T): T {
  const e = exactInts.get(from);
  if (e !== undefined && Number(e) === visible) exactInts.set(to, e);
  return to;
}

/** The visible meta for a Go state; remembers the backing arrays for a later decodeMeta. */
function fromGo(g: GoMeta): SnapshotMeta {
  const meta: SnapshotMeta = {
    version: g.version,
    id: g.id,
    index: g.index,
    term: g.term,
    peers: g.peers === null ? null : g.peers.buf.slice(0, g.peers.len),
    configuration: {
      servers:
        g.servers === null
          ? null
          : g.servers.buf.slice(0, g.servers.len).map((s) => carryExact(s, { ...s })),
    },
    configurationIndex: g.configurationIndex,
    size: g.size,
  };
  backings.set(meta, { peers: g.peers, servers: g.servers });
  return carryExact(g, meta);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/** Go's errorContext: the innermost struct being decoded and the field path from the root. */
interface ErrorContext {
  struct: string;
  path: string[];
}

function metaError(message: string): SnapshotError {
  return new SnapshotError('META', message);
}

/** Go's UnmarshalTypeError message. */
function typeError(value: string, goType: string, ctx: ErrorContext | null): SnapshotError {
  if (ctx === null) {
    return metaError(`json: cannot unmarshal ${value} into Go value of type ${goType}`);
  }
  return metaError(
    `json: cannot unmarshal ${value} into Go struct field ${ctx.struct}.${ctx.path.join('.')} of type ${goType}`,
  );
}

/** How Go names the JSON value starting with byte `c` in an UnmarshalTypeError. */
function kindName(c: number): string {
  switch (c) {
    case 0x7b:
      return 'object';
    case 0x5b:
      return 'array';
    case 0x22:
      return 'string';
    case 0x74:
    case 0x66:
      return 'bool';
    default:
      return 'number';
  }
}

const NULL = 0x6e;
const QUOTE = 0x22;
const LBRACKET = 0x5b;
const LBRACE = 0x7b;

/** strconv.ParseUint(s, 10, 64) followed by the overflow check for a `max`-bounded type. */
function parseUint(lit: string, max: bigint): bigint | null {
  if (!/^[0-9]+$/.test(lit)) return null;
  const v = BigInt(lit);
  return v <= max ? v : null;
}

/** strconv.ParseInt(s, 10, 64). */
function parseInt64(lit: string): bigint | null {
  if (!/^[+-]?[0-9]+$/.test(lit)) return null;
  const v = BigInt(lit);
  return v >= INT64_MIN && v <= INT64_MAX ? v : null;
}

type FieldDecoder<T> = (d: Decoder, target: T, ctx: ErrorContext) => void;

interface StructType<T> {
  /** Go's struct name (for error contexts) and the qualified type name. */
  name: string;
  goType: string;
  /** Fields in declaration order: Go name and decoder. */
  fields: [string, FieldDecoder<T>][];
}

/**
 * A field of a Go integer type: `set` receives the value when the JSON holds one (null leaves
 * the field as it was).
 */
function intField<T>(goType: string, set: (target: T, v: bigint) => void): FieldDecoder<T> {
  return (d, target, ctx) => {
    const v = d.int(goType, ctx);
    if (v !== undefined) set(target, v);
  };
}

/** A field of a Go unsigned type up to `max`, as {@link intField}. */
function uintField<T>(
  goType: string,
  max: bigint,
  set: (target: T, v: bigint) => void,
): FieldDecoder<T> {
  return (d, target, ctx) => {
    const v = d.uint(goType, max, ctx);
    if (v !== undefined) set(target, v);
  };
}

/** A field of a Go string type, as {@link intField}. */
function stringField<T>(goType: string, set: (target: T, v: string) => void): FieldDecoder<T> {
  return (d, target, ctx) => {
    const v = d.string(goType, ctx);
    if (v !== undefined) set(target, v);
  };
}

/**
 * Go's case-insensitive field match (fold.go) for a name made only of ASCII letters: ASCII
 * letters match in either case, and for the letters s and k (equalFoldRight) also U+017F LATIN
 * SMALL LETTER LONG S and U+212A KELVIN SIGN respectively.
 */
function foldMatch(name: string, key: Uint8Array): boolean {
  const special = /[ksKS]/.test(name);
  if (!special) {
    if (key.length !== name.length) return false;
    for (let i = 0; i < key.length; i++) {
      if ((key[i] & 0xdf) !== (name.charCodeAt(i) & 0xdf)) return false;
    }
    return true;
  }
  let t = 0;
  for (let i = 0; i < name.length; i++) {
    if (t >= key.length) return false;
    const sb = name.charCodeAt(i);
    const tb = key[t];
    if (tb < 0x80) {
      if ((sb & 0xdf) !== (tb & 0xdf)) return false;
      t++;
      continue;
    }
    const upper = sb & 0xdf;
    if (upper === 0x53 && tb === 0xc5 && key[t + 1] === 0xbf) {
      t += 2; // U+017F
    } else if (upper === 0x4b && tb === 0xe2 && key[t + 1] === 0x84 && key[t + 2] === 0xaa) {
      t += 3; // U+212A
    } else {
      return false;
    }
  }
  return t === key.length;
}

/** Decodes Go-valid JSON (checkValid passed) into a GoMeta, throwing Go's first error. */
class Decoder {
  pos = 0;
  constructor(readonly data: Uint8Array) {}

  /** The literal at pos as a string (ASCII: numbers only), advancing past it. */
  literal(): string {
    const end = literalEnd(this.data, this.pos);
    let s = '';
    for (let i = this.pos; i < end; i++) s += String.fromCharCode(this.data[i]);
    this.pos = end;
    return s;
  }

  /** The string literal at pos, unquoted to Go bytes, advancing past it. */
  stringBytes(): Uint8Array {
    const end = literalEnd(this.data, this.pos);
    const bytes = unquoteBytes(this.data, this.pos, end);
    this.pos = end;
    return bytes;
  }

  skipValue(): void {
    this.pos = valueEnd(this.data, this.pos);
  }

  /** Skips whitespace and returns the byte there. */
  peek(): number {
    this.pos = skipSpace(this.data, this.pos);
    return this.data[this.pos];
  }

  /** Decodes a JSON object (at pos) into the struct `target`, merging as Go does. */
  struct<T>(type: StructType<T>, target: T, path: string[]): void {
    this.pos++; // {
    if (this.peek() === 0x7d) {
      this.pos++;
      return;
    }
    for (;;) {
      this.peek();
      const key = this.stringBytes();
      this.peek(); // :
      this.pos++;
      this.peek();
      const field = type.fields.find(([name]) => foldMatch(name, key));
      if (field) field[1](this, target, { struct: type.name, path: [...path, field[0]] });
      else this.skipValue();
      const c = this.peek();
      this.pos++;
      if (c === 0x7d) return;
    }
  }

  /** A Go `int`/`int64` field; `undefined` means the value was null (no effect). */
  int(goType: string, ctx: ErrorContext): bigint | undefined {
    const c = this.data[this.pos];
    if (c === NULL) {
      this.skipValue();
      return undefined;
    }
    if (c === LBRACE || c === LBRACKET || c === QUOTE || c === 0x74 || c === 0x66) {
      throw typeError(kindName(c), goType, ctx);
    }
    const lit = this.literal();
    const v = parseInt64(lit);
    if (v === null) throw typeError(`number ${lit}`, goType, ctx);
    return v;
  }

  /** A Go unsigned integer field bounded by `max`; `undefined` means null (no effect). */
  uint(goType: string, max: bigint, ctx: ErrorContext): bigint | undefined {
    const c = this.data[this.pos];
    if (c === NULL) {
      this.skipValue();
      return undefined;
    }
    if (c === LBRACE || c === LBRACKET || c === QUOTE || c === 0x74 || c === 0x66) {
      throw typeError(kindName(c), goType, ctx);
    }
    const lit = this.literal();
    const v = parseUint(lit, max);
    if (v === null) throw typeError(`number ${lit}`, goType, ctx);
    return v;
  }

  /** A Go string-kind field; `undefined` means null (no effect). */
  string(goType: string, ctx: ErrorContext): string | undefined {
    const c = this.data[this.pos];
    if (c === NULL) {
      this.skipValue();
      return undefined;
    }
    if (c !== QUOTE) throw typeError(kindName(c), goType, ctx);
    return goBytesToString(this.stringBytes());
  }

  /**
   * Go's decode of a JSON array into a slice (decode.go array()): existing elements are decoded
   * into in place, the slice grows within its capacity (re-exposing old elements) or to
   * cap+cap/2 (at least 4) with fresh zero elements, and `[]` makes a new empty slice.
   */
  array<E, B extends { length: number; [i: number]: E }>(
    slice: GoSlice<B> | null,
    make: (cap: number) => B,
    element: (buf: B, i: number) => void,
  ): GoSlice<B> {
    let buf = slice ? slice.buf : make(0);
    let len = slice ? slice.len : 0;
    this.pos++; // [
    let i = 0;
    if (this.peek() !== 0x5d) {
      for (;;) {
        this.peek();
        if (i >= buf.length) {
          let newcap = buf.length + Math.floor(buf.length / 2);
          if (newcap < 4) newcap = 4;
          const nb = make(newcap);
          for (let k = 0; k < len; k++) nb[k] = buf[k];
          buf = nb;
        }
        if (i >= len) len = i + 1;
        element(buf, i);
        i++;
        const c = this.peek();
        if (c === 0x5d) break;
        this.pos++; // ,
      }
    }
    this.pos++; // ]
    if (i < len) len = i;
    if (i === 0) return { buf: make(0), len: 0 };
    return { buf, len };
  }
}

const SERVER: StructType<SnapshotServer> = {
  name: 'Server',
  goType: 'raft.Server',
  fields: [
    ['Suffrage', intField('raft.ServerSuffrage', (s, v) => (s.suffrage = keepExact(s, v)))],
    ['ID', stringField('raft.ServerID', (s, v) => (s.id = v))],
    ['Address', stringField('raft.ServerAddress', (s, v) => (s.address = v))],
  ],
};

function decodePeers(d: Decoder, m: GoMeta, ctx: ErrorContext): void {
  const c = d.data[d.pos];
  if (c === NULL) {
    d.skipValue();
    m.peers = null;
  } else if (c === QUOTE) {
    const r = base64StdDecode(d.stringBytes());
    if (!r.ok) throw metaError(`illegal base64 data at input byte ${r.offset}`);
    m.peers = { buf: r.buf, len: r.n };
  } else if (c === LBRACKET) {
    m.peers = d.array(
      m.peers,
      (cap) => new Uint8Array(cap),
      (buf, i) => {
        const v = d.uint('uint8', 255n, ctx);
        if (v !== undefined) buf[i] = Number(v);
      },
    );
  } else {
    throw typeError(kindName(c), '[]uint8', ctx);
  }
}

function decodeServers(d: Decoder, m: GoMeta, ctx: ErrorContext): void {
  const c = d.data[d.pos];
  if (c === NULL) {
    d.skipValue();
    m.servers = null;
  } else if (c === LBRACKET) {
    m.servers = d.array(
      m.servers,
      (cap) => Array.from({ length: cap }, zeroServer),
      (buf, i) => {
        const e = d.data[d.pos];
        if (e === NULL) d.skipValue();
        else if (e === LBRACE) d.struct(SERVER, buf[i], ctx.path);
        else throw typeError(kindName(e), 'raft.Server', ctx);
      },
    );
  } else {
    throw typeError(kindName(c), '[]raft.Server', ctx);
  }
}

const CONFIGURATION: StructType<GoMeta> = {
  name: 'Configuration',
  goType: 'raft.Configuration',
  fields: [['Servers', decodeServers]],
};

const SNAPSHOT_META: StructType<GoMeta> = {
  name: 'SnapshotMeta',
  goType: 'raft.SnapshotMeta',
  fields: [
    ['Version', intField('raft.SnapshotVersion', (m, v) => (m.version = keepExact(m, v)))],
    ['ID', stringField('string', (m, v) => (m.id = v))],
    ['Index', uintField('uint64', UINT64_MAX, (m, v) => (m.index = v))],
    ['Term', uintField('uint64', UINT64_MAX, (m, v) => (m.term = v))],
    ['Peers', decodePeers],
    [
      'Configuration',
      (d, m, ctx) => {
        const c = d.data[d.pos];
        if (c === NULL) d.skipValue();
        else if (c === LBRACE) d.struct(CONFIGURATION, m, ctx.path);
        else throw typeError(kindName(c), 'raft.Configuration', ctx);
      },
    ],
    ['ConfigurationIndex', uintField('uint64', UINT64_MAX, (m, v) => (m.configurationIndex = v))],
    ['Size', intField('int64', (m, v) => (m.size = v))],
  ],
};

/**
 * Decodes meta.json exactly as hashicorp/raft-snapshot does with Go 1.19:
 * `json.Unmarshal(bytes, &metadata)` where `metadata` is a `*raft.SnapshotMeta` pointing at the
 * caller's struct (`into`, or a zero meta).
 *
 * - The whole input must be valid JSON per Go's scanner (trailing non-space data is an error);
 *   invalid UTF-8 inside strings is accepted and becomes U+FFFD, as do lone `\u` surrogates.
 * - A top-level `null` only clears Go's local pointer: `into` itself is returned (or a new zero
 *   meta when `into` is omitted), unchanged.
 * - Otherwise the object is decoded on top of `into` with Go's semantics: fields are matched
 *   exactly, else case-insensitively (Go's folding, e.g. "ſize" matches Size); unknown keys are
 *   ignored; a repeated key is decoded on top of the earlier one; `null` leaves numbers,
 *   strings and Configuration as they were and sets Peers/Servers to null; arrays decode into
 *   the existing slice elements, as Go does. Go's slice capacity matters there (growing a slice
 *   within its capacity re-exposes elements beyond its length): it is tracked for metas that
 *   decodeMeta returned; any other `into` is treated as having capacity equal to length.
 *   Peers is read from standard padded base64 (`\r`/`\n` ignored, non-zero trailing bits
 *   accepted) or from an array of numbers 0..255.
 *
 * `into` is never modified: a new meta is returned (except for a top-level `null`). `version`
 * and `suffrage` are JS numbers: beyond ±2^53 (Go accepts the whole int64 range) they show the
 * nearest double, while the exact value is kept with the returned objects, so that encodeMeta
 * writes it back unchanged.
 *
 * @throws SnapshotError with code 'META' and Go's error message (e.g. "unexpected end of JSON
 *   input", "invalid character 'x' looking for beginning of value", "json: cannot unmarshal
 *   string into Go struct field SnapshotMeta.Index of type uint64", "illegal base64 data at
 *   input byte 4") when Go's Unmarshal returns an error; callers prefix it with their context.
 * @throws SnapshotError with code 'INVALID_ARGUMENT' when `data` is not bytes (a Uint8Array or an
 *   ArrayBuffer, of any realm) or `into` is not a valid SnapshotMeta (see encodeMeta).
 */
export function decodeMeta(data: Uint8Array | ArrayBuffer, into?: SnapshotMeta): SnapshotMeta {
  const bytes = byteView(data);
  if (bytes === undefined) {
    const got = data === null ? 'null' : typeof data === 'object' ? 'another object' : typeof data;
    throw invalid(`meta.json must be given as a Uint8Array, got ${got}`);
  }
  if (into !== undefined) assertMeta(into, 'into');
  const syntax = checkValid(bytes);
  if (syntax !== null) throw metaError(syntax);
  const d = new Decoder(bytes);
  const c = d.peek();
  if (c === NULL) return into ?? zeroMeta();
  if (c !== LBRACE) throw typeError(kindName(c), SNAPSHOT_META.goType, null);
  const g = toGo(into ?? zeroMeta());
  d.struct(SNAPSHOT_META, g, []);
  return fromGo(g);
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

function invalid(message: string): SnapshotError {
  return new SnapshotError('INVALID_ARGUMENT', message);
}

function assertGoInt(v: unknown, what: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 63) || v > 2 ** 63) {
    throw invalid(`${what} must be an integer in the int64 range, got ${String(v)}`);
  }
}

function assertBig(v: unknown, min: bigint, max: bigint, what: string): void {
  if (typeof v !== 'bigint' || v < min || v > max) {
    throw invalid(`${what} must be a bigint in [${min}, ${max}], got ${String(v)}`);
  }
}

function assertString(v: unknown, what: string): void {
  if (typeof v !== 'string') throw invalid(`${what} must be a string`);
}

/** Checks that `m` has the SnapshotMeta shape and Go-representable values. */
function assertMeta(m: SnapshotMeta, what: string): void {
  if (typeof m !== 'object' || m === null) throw invalid(`${what} must be a SnapshotMeta`);
  assertGoInt(m.version, `${what}.version`);
  assertString(m.id, `${what}.id`);
  assertBig(m.index, 0n, UINT64_MAX, `${what}.index`);
  assertBig(m.term, 0n, UINT64_MAX, `${what}.term`);
  if (m.peers !== null && !(m.peers instanceof Uint8Array)) {
    throw invalid(`${what}.peers must be a Uint8Array or null`);
  }
  if (typeof m.configuration !== 'object' || m.configuration === null) {
    throw invalid(`${what}.configuration must be an object`);
  }
  const servers = m.configuration.servers;
  if (servers !== null) {
    if (!Array.isArray(servers))
      throw invalid(`${what}.configuration.servers must be an array or null`);
    servers.forEach((s, i) => {
      const w = `${what}.configuration.servers[${i}]`;
      if (typeof s !== 'object' || s === null) throw invalid(`${w} must be a SnapshotServer`);
      assertGoInt(s.suffrage, `${w}.suffrage`);
      assertString(s.id, `${w}.id`);
      assertString(s.address, `${w}.address`);
    });
  }
  assertBig(m.configurationIndex, 0n, UINT64_MAX, `${what}.configurationIndex`);
  assertBig(m.size, INT64_MIN, INT64_MAX, `${what}.size`);
}

/**
 * A Go int of `owner` as strconv.AppendInt writes it: the exact value decodeMeta recorded when
 * `v` is still its rounding; else `v` (2^63, int64 max rounded to a double, is int64 max).
 */
function goInt(v: number, owner?: object): string {
  const e = owner && exactInts.get(owner);
  if (e !== undefined && Number(e) === v) return e.toString();
  const b = BigInt(v);
  return (b > INT64_MAX ? INT64_MAX : b).toString();
}

/**
 * A Go int field of `owner` (`version` of a meta, `suffrage` of a server) as exactly as it is
 * known: the number when it is a safe integer, else the value encodeMeta writes for it, as a
 * bigint (exact when decodeMeta read it from an archive).
 */
export function exactGoInt(v: number, owner: object): number | bigint {
  return Number.isSafeInteger(v) ? v : BigInt(goInt(v, owner));
}

const utf8Encoder = new TextEncoder();

/**
 * Encodes `meta` exactly as Go 1.19's `json.NewEncoder(w).Encode(meta)` writes a
 * raft.SnapshotMeta: fields in Go order (Version, ID, Index, Term, Peers,
 * Configuration{Servers[{Suffrage, ID, Address}]}, ConfigurationIndex, Size), no spaces, a
 * trailing "\n"; strings HTML-escaped as Go does (`<`, `>`, `&`, U+2028, U+2029 and control
 * characters as `\uXXXX`, except `\n`, `\r`, `\t`); Peers as padded standard base64 or `null`;
 * Servers `null` when null.
 *
 * The caller must pass integer `version`/`suffrage` numbers within [-2^63, 2^63] (2^63, what
 * int64 max becomes as a double, is written as 9223372036854775807), uint64 bigints for
 * index/term/configurationIndex and an int64 bigint for size. A lone UTF-16 surrogate in a string
 * is written as U+FFFD (Go strings are UTF-8).
 *
 * @throws SnapshotError with code 'INVALID_ARGUMENT' when `meta` does not satisfy this.
 */
export function encodeMeta(meta: SnapshotMeta): Uint8Array {
  assertMeta(meta, 'meta');
  const servers = meta.configuration.servers;
  const serversJson =
    servers === null
      ? 'null'
      : `[${servers
          .map(
            (s) =>
              `{"Suffrage":${goInt(s.suffrage, s)},"ID":${quoteString(s.id)},"Address":${quoteString(s.address)}}`,
          )
          .join(',')}]`;
  const json =
    `{"Version":${goInt(meta.version, meta)},"ID":${quoteString(meta.id)},` +
    `"Index":${meta.index},"Term":${meta.term},` +
    `"Peers":${meta.peers === null ? 'null' : `"${base64StdEncode(meta.peers)}"`},` +
    `"Configuration":{"Servers":${serversJson}},` +
    `"ConfigurationIndex":${meta.configurationIndex},"Size":${meta.size}}\n`;
  return utf8Encoder.encode(json);
}

/**
 * The runtime conformance cases and their checking (host side, Node).
 *
 * Cases: every shared fixture with the outcome its README documents (reference-written
 * snapshots valid with their facts, the sealed one valid without a key and with its key and
 * invalid with another key, the real Vault snapshot valid, each reference testdata tar gzip'd
 * invalid — spaces-meta.tar too, for its 1536 bytes of tar record padding, which parse, like the
 * reference's Parse, does not read), plus generated archives: valid multi-member streams and an
 * Index of 2^64-1, and corrupt ones (gzip trailer bit flips, truncations, trailing garbage, data
 * after the tar, a second snapshot appended, corrupt DEFLATE, bad magic, a tampered seal),
 * SHA-256 vectors, meta.json documents with the verdicts Go 1.19 gave, and archives for the
 * runtime to write.
 *
 * Expectations do not come from raftsnap: generated archives are built here with node:zlib and
 * this file's own tar writer, and the facts of valid archives are read back by this file's own
 * reader (node:zlib, a minimal tar parser, node:crypto). Error expectations are the reference's
 * messages (as regular expressions where the reference's wording depends on how its gzip reader's
 * sticky errors surface) and raftsnap's error codes.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { deflateRawSync, gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { fixture } from '../support/fixtures.js';
import {
  type Case,
  type CaseResult,
  concat,
  type InvalidSnapshot,
  type MetaCase,
  type RunReport,
  type SnapshotCase,
  stateBytes,
  toBase64,
  type ValidSnapshot,
  type WriteCase,
} from './runner.js';

const utf8 = new TextEncoder();
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const sha256hex = (b: Uint8Array): string => sha256(b).toString('hex');
const checksumOf = (b: Uint8Array): string => `sha-256=${sha256(b).toString('base64')}`;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

// ---------------------------------------------------------------------------------------------
// A minimal tar writer (USTAR, as Go's archive/tar writes short names) and gzip members.

const BLOCK = 512;

function octal(out: Uint8Array, off: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  out.set(utf8.encode(s), off);
  out[off + width - 1] = 0;
}

/** One USTAR header block for a regular file, mode 0600. */
function tarHeader(name: string, size: number, mtimeSec: number): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(utf8.encode(name), 0);
  octal(h, 100, 8, 0o600);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtimeSec);
  h[156] = 0x30; // '0': regular file
  h.set(utf8.encode('ustar\x0000'), 257);
  octal(h, 329, 8, 0);
  octal(h, 337, 8, 0);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  octal(h, 148, 7, sum);
  return h;
}

/** A tar archive of `entries` in order, ended by two zero blocks (as Go's tar.Writer.Close). */
export function tarArchive(entries: [string, Uint8Array][], mtimeSec = 1_700_000_000): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of entries) {
    parts.push(tarHeader(name, data.length, mtimeSec), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return concat(parts);
}

/** SHA256SUMS as the reference writes it: `%x  %s\n` for meta.json, then state.bin. */
function sumsOf(metaJson: Uint8Array, state: Uint8Array): Uint8Array {
  return utf8.encode(`${sha256hex(metaJson)}  meta.json\n${sha256hex(state)}  state.bin\n`);
}

/** AES-256-GCM seal: 12-byte nonce ‖ ciphertext ‖ 16-byte tag (the reference's Sealer shape). */
function seal(key: Uint8Array, plain: Uint8Array, nonce = new Uint8Array(12).fill(7)): Uint8Array {
  const c = createCipheriv('aes-256-gcm', key, nonce);
  return concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
}

function unseal(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

/** The tar of a snapshot: meta.json, state.bin, SHA256SUMS and, with a key, SHA256SUMS.sealed. */
export function snapshotTar(metaJson: string, state: Uint8Array, key?: Uint8Array): Uint8Array {
  const meta = utf8.encode(metaJson);
  const sums = sumsOf(meta, state);
  const entries: [string, Uint8Array][] = [
    ['meta.json', meta],
    ['state.bin', state],
    ['SHA256SUMS', sums],
  ];
  if (key) entries.push(['SHA256SUMS.sealed', seal(key, sums)]);
  return tarArchive(entries);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (gzip's), bitwise by table: independent of zlib.crc32 (Node ≥ 20.15) and of raftsnap. */
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface MemberOptions {
  level?: number;
  /** FEXTRA, FNAME, FCOMMENT and a correct FHCRC in the header. */
  headerFields?: boolean;
}

/** One gzip member of `data`, with header fields Go skips when asked. */
export function gzipMember(data: Uint8Array, opts: MemberOptions = {}): Uint8Array {
  const level = opts.level ?? 6;
  if (!opts.headerFields) return new Uint8Array(gzipSync(data, { level }));
  const extra = utf8.encode('RS\x04\x00raft');
  const head = concat([
    Uint8Array.of(0x1f, 0x8b, 8, 0b11110, 0, 0, 0, 0, 0, 255),
    Uint8Array.of(extra.length, 0),
    extra,
    utf8.encode('state.tar\0a comment\0'),
  ]);
  const hcrc = crc32(head) & 0xffff;
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc32(data), true);
  view.setUint32(4, data.length >>> 0, true);
  return concat([
    head,
    Uint8Array.of(hcrc & 0xff, hcrc >>> 8),
    new Uint8Array(deflateRawSync(data, { level })),
    trailer,
  ]);
}

// ---------------------------------------------------------------------------------------------
// An independent reader: node:zlib (every member), a minimal tar parser, node:crypto.

/** What the independent reader found in a valid archive. */
export interface ReadBack {
  entries: { name: string; mode: number; data: Uint8Array }[];
  metaJson: string;
  state: Uint8Array;
  sealed: Uint8Array | undefined;
}

/** A SHA256SUMS text as sorted `name=hex` pairs (the reference writes its lines in any order). */
function sumsList(text: Uint8Array): string {
  const lines = new TextDecoder().decode(text).split('\n');
  if (lines.pop() !== '') throw new Error('SHA256SUMS does not end with a newline');
  return lines
    .map((line) => {
      const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
      if (!m) throw new Error(`bad SHA256SUMS line ${JSON.stringify(line)}`);
      return `${m[2]}=${m[1]}`;
    })
    .sort()
    .join(' ');
}

function parseOctal(b: Uint8Array): number {
  const s = new TextDecoder()
    .decode(b)
    .replace(/[\0 ]+$/, '')
    .trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
}

/**
 * Reads a gzip'd snapshot without raftsnap and checks the reference's rules that matter for
 * archives this suite expects to be valid: only the four entry names, every file listed in
 * SHA256SUMS with the right hash, nothing but zero blocks after the last entry. Throws otherwise.
 */
export function readIndependently(archive: Uint8Array, key?: Uint8Array): ReadBack {
  const tar = new Uint8Array(gunzipSync(archive));
  const entries: ReadBack['entries'] = [];
  let off = 0;
  let paxSize: number | undefined;
  for (;;) {
    if (off + BLOCK > tar.length) throw new Error('tar: truncated');
    const h = tar.subarray(off, off + BLOCK);
    off += BLOCK;
    if (h.every((b) => b === 0)) {
      if (!tar.subarray(off, off + BLOCK).every((b) => b === 0)) throw new Error('tar: bad end');
      off += BLOCK;
      break;
    }
    const sum = parseOctal(h.subarray(148, 156));
    const computed = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 0x20 : b), 0);
    if (sum !== computed) throw new Error('tar: bad header checksum');
    const type = String.fromCharCode(h[156]);
    const size = paxSize ?? parseOctal(h.subarray(124, 136));
    const data = tar.subarray(off, off + size);
    off += Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      const m = /(?:^|\n)\d+ size=(\d+)\n/.exec(new TextDecoder().decode(data));
      paxSize = m ? Number(m[1]) : undefined;
      continue;
    }
    paxSize = undefined;
    const nul = h.indexOf(0);
    const name = new TextDecoder().decode(h.subarray(0, nul < 0 || nul > 100 ? 100 : nul));
    entries.push({ name, mode: parseOctal(h.subarray(100, 108)), data });
  }
  if (!tar.subarray(off).every((b) => b === 0)) throw new Error('data after the tar');
  if (off !== tar.length) throw new Error(`${tar.length - off} bytes after the tar`);
  const get = (name: string) => entries.find((e) => e.name === name)?.data;
  for (const e of entries) {
    if (!['meta.json', 'state.bin', 'SHA256SUMS', 'SHA256SUMS.sealed'].includes(e.name)) {
      throw new Error(`unexpected file ${e.name}`);
    }
  }
  const meta = get('meta.json');
  const state = get('state.bin');
  const sums = get('SHA256SUMS');
  if (!meta || !state || !sums) throw new Error('missing entry');
  const want = `meta.json=${sha256hex(meta)} state.bin=${sha256hex(state)}`;
  if (sumsList(sums) !== want) throw new Error('SHA256SUMS does not match');
  const sealed = get('SHA256SUMS.sealed');
  if (key) {
    if (!sealed) throw new Error('SHA256SUMS.sealed missing');
    if (sumsList(unseal(key, sealed)) !== want) throw new Error('SHA256SUMS.sealed does not match');
  }
  return { entries, metaJson: new TextDecoder().decode(meta), state, sealed };
}

// ---------------------------------------------------------------------------------------------
// The cases.

/** Facts of a valid archive read independently, merged with the facts documented for it. */
function validFacts(
  archive: Uint8Array,
  documented: Partial<ValidSnapshot>,
  key?: Uint8Array,
): ValidSnapshot {
  const r = readIndependently(archive, key);
  const meta = JSON.parse(
    r.metaJson.replace(/("(?:Index|Term|ConfigurationIndex)":)(\d+)/g, '$1"$2"'),
  );
  const facts: ValidSnapshot = {
    valid: true,
    id: meta.ID,
    index: meta.Index,
    term: meta.Term,
    version: meta.Version,
    configurationIndex: meta.ConfigurationIndex,
    servers: meta.Configuration.Servers === null ? -1 : meta.Configuration.Servers.length,
    stateSize: r.state.length,
    stateSha256: sha256hex(r.state),
    sealed: r.sealed !== undefined,
    checksum: checksumOf(archive),
    metaJson: r.metaJson,
  };
  for (const [k, v] of Object.entries(documented)) {
    const got = facts[k as keyof ValidSnapshot];
    if (got !== v) throw new Error(`fixture fact ${k}: documented ${v}, read ${got}`);
  }
  return facts;
}

function invalid(code: string, message: RegExp): InvalidSnapshot {
  return { valid: false, code, message: message.source };
}

/** Invalid for verify only: the archive is whole, what follows it in the gzip stream is not. */
function invalidAfterArchive(code: string, message: RegExp): InvalidSnapshot {
  return { ...invalid(code, message), parseValid: true };
}

function snapshot(
  name: string,
  data: Uint8Array,
  expect: SnapshotCase['expect'],
  key?: string,
): SnapshotCase {
  return { kind: 'snapshot', name, data: b64(data), expect, ...(key ? { key } : {}) };
}

/** Escapes `s` for use in a regular expression. */
const re = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const READ = 'failed to read snapshot file: ';
const SEAL_FAILED =
  /^failed to read snapshot file: failed to open the sealed hashes: cipher: message authentication failed \(another key, or the sealed sums were altered\)$/;
const INTEGRITY = `${READ}failed checking integrity of snapshot: `;

/** [file, code, message]: the reference testdata tars, gzip'd, under verify. */
const REFERENCE_TESTDATA: [string, string, RegExp][] = [
  ['spaces-meta.tar', 'TRAILING_DATA', /^1536 unread uncompressed bytes remain$/],
  [
    'empty.tar',
    'INTEGRITY',
    new RegExp(`^${re(INTEGRITY)}file missing for "(meta\\.json|state\\.bin)"$`),
  ],
  ['extra.tar', 'UNEXPECTED_FILE', new RegExp(`^${re(READ)}unexpected file "nope" in snapshot$`)],
  [
    'missing-meta.tar',
    'INTEGRITY',
    new RegExp(`^${re(INTEGRITY)}hash check failed for "meta\\.json"$`),
  ],
  [
    'missing-state.tar',
    'INTEGRITY',
    new RegExp(`^${re(INTEGRITY)}hash check failed for "state\\.bin"$`),
  ],
  [
    'missing-sha.tar',
    'INTEGRITY',
    new RegExp(`^${re(INTEGRITY)}file missing for "(meta\\.json|state\\.bin)"$`),
  ],
  [
    'corrupt-meta.tar',
    'INTEGRITY',
    new RegExp(`^${re(INTEGRITY)}hash check failed for "meta\\.json"$`),
  ],
  [
    'corrupt-state.tar',
    'INTEGRITY',
    new RegExp(`^${re(INTEGRITY)}hash check failed for "state\\.bin"$`),
  ],
  ['corrupt-sha.tar', 'INTEGRITY', new RegExp(`^${re(INTEGRITY)}list missing hash for "nope"$`)],
];

/** meta.json documents with what Go 1.19's json.Unmarshal + Encoder gave (test/meta.test.ts). */
const ZERO =
  '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n';
const FULL =
  '{"Version":1,"ID":"2-10-1700000000000","Index":10,"Term":2,"Peers":"ka8xMC4wLjAuMTo4MzAw","Configuration":{"Servers":[{"Suffrage":0,"ID":"a1b2","Address":"10.0.0.1:8300"},{"Suffrage":1,"ID":"c3d4","Address":"10.0.0.2:8300"}]},"ConfigurationIndex":9,"Size":12345}';
const GO_META: [string, string, string | { error: string }][] = [
  ['full meta', FULL, `${FULL}\n`],
  [
    'case-insensitive keys',
    '{"index":1,"TERM":2,"sIzE":3,"configurationindex":4,"id":"x","VERSION":5}',
    '{"Version":5,"ID":"x","Index":1,"Term":2,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":4,"Size":3}\n',
  ],
  [
    'uint64 max',
    '{"Index":18446744073709551615,"Term":18446744073709551615,"ConfigurationIndex":18446744073709551615}',
    '{"Version":0,"ID":"","Index":18446744073709551615,"Term":18446744073709551615,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":18446744073709551615,"Size":0}\n',
  ],
  ['top-level null', 'null', ZERO],
  [
    'uint64 overflow',
    '{"Index":18446744073709551616}',
    {
      error:
        'json: cannot unmarshal number 18446744073709551616 into Go struct field SnapshotMeta.Index of type uint64',
    },
  ],
  [
    'negative uint64',
    '{"Term":-1}',
    {
      error:
        'json: cannot unmarshal number -1 into Go struct field SnapshotMeta.Term of type uint64',
    },
  ],
  [
    '1.0 into uint64',
    '{"Index":1.0}',
    {
      error:
        'json: cannot unmarshal number 1.0 into Go struct field SnapshotMeta.Index of type uint64',
    },
  ],
  [
    'string into uint64',
    '{"Index":"x"}',
    {
      error: 'json: cannot unmarshal string into Go struct field SnapshotMeta.Index of type uint64',
    },
  ],
  ['trailing data', '{} x', { error: "invalid character 'x' after top-level value" }],
  ['empty input', '', { error: 'unexpected end of JSON input' }],
];

/** A Go-encoded meta.json with the given index (uint64, decimal) and size. */
function metaJsonOf(index: string, size: number, term = 7): string {
  return `${JSON.stringify({
    Version: 1,
    ID: `${term}-${index}-1700000000000`,
    Index: 0,
    Term: term,
    Peers: null,
    Configuration: {
      Servers: [
        { Suffrage: 0, ID: 'b1b7c2d0-8a7c-4b57-9b1e-000000000001', Address: '10.0.0.11:8300' },
        { Suffrage: 1, ID: 'b1b7c2d0-8a7c-4b57-9b1e-000000000002', Address: '10.0.0.12:8300' },
        { Suffrage: 0, ID: 'b1b7c2d0-8a7c-4b57-9b1e-000000000003', Address: '10.0.0.13:8300' },
      ],
    },
    ConfigurationIndex: 0,
    Size: size,
  })
    .replace('"Index":0', `"Index":${index}`)
    .replace('"ConfigurationIndex":0', `"ConfigurationIndex":${index}`)}\n`;
}

const MAX_U64 = '18446744073709551615';
/** The key of the generated sealed archives (not the fixture's). */
const GEN_KEY = '5f'.repeat(32);

function flip(bytes: Uint8Array, at: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  out[at < 0 ? out.length + at : at] ^= 1 << bit;
  return out;
}

/** Every case, in a fixed order. Reads the fixtures; builds the generated archives. */
export async function buildCases(): Promise<Case[]> {
  const cases: Case[] = [];
  const read = async (...p: string[]) => new Uint8Array(await readFile(fixture(...p)));

  // Reference-written snapshots.
  const raft1000 = await read('reference-written', 'real-raft-1000-entries.snap');
  cases.push(
    snapshot(
      'reference-written/real-raft-1000-entries.snap',
      raft1000,
      validFacts(raft1000, {
        index: '1002',
        term: '2',
        version: 1,
        configurationIndex: '1',
        servers: 1,
        stateSize: 259003,
        sealed: false,
        checksum: 'sha-256=fkP8Iv11Fd5T8O6RpI2r510W0u2iIxp09UnqS94tGkQ=',
      }),
    ),
  );
  const above = await read('reference-written', 'index-above-2p53.snap');
  cases.push(
    snapshot(
      'reference-written/index-above-2p53.snap',
      above,
      validFacts(above, {
        index: '9007199254740993',
        term: '2',
        servers: 2,
        stateSize: 200000,
        stateSha256: 'ec0ebf98b6f2954bf0f7b839402b1ba245996c39d18e155414e91a2b4353c157',
        sealed: false,
      }),
    ),
  );
  const sealed = await read('reference-written', 'sealed-aes256gcm.snap');
  const keyHex = (
    await readFile(fixture('reference-written', 'sealed-aes256gcm.key.hex'), 'utf8')
  ).trim();
  const key = Buffer.from(keyHex, 'hex');
  const sealedFacts = validFacts(sealed, { index: '4242', term: '3', sealed: true }, key);
  cases.push(snapshot('reference-written/sealed-aes256gcm.snap (no key)', sealed, sealedFacts));
  cases.push(
    snapshot('reference-written/sealed-aes256gcm.snap (its key)', sealed, sealedFacts, keyHex),
  );
  const otherKey = Buffer.from(key);
  otherKey[0] ^= 1;
  cases.push(
    snapshot(
      'reference-written/sealed-aes256gcm.snap (another key)',
      sealed,
      invalid('SEAL', SEAL_FAILED),
      otherKey.toString('hex'),
    ),
  );

  // A snapshot taken by a real Vault cluster.
  const vault = await read('real-world', 'vault-1.15-test.snap');
  cases.push(
    snapshot(
      'real-world/vault-1.15-test.snap',
      vault,
      validFacts(vault, {
        id: 'bolt-snapshot',
        index: '38',
        term: '3',
        configurationIndex: '38',
        servers: 3,
        stateSize: 16274,
        stateSha256: '452a52613219859ae6417c55334be468e598ab602d3e8d36b0afd81f703b42b8',
        sealed: true,
      }),
    ),
  );

  // The reference's testdata, gzip'd: all refused by Verify; spaces-meta.tar, which its read
  // accepts, only for the padding after its end-of-archive marker, which Parse does not read.
  for (const [file, code, message] of REFERENCE_TESTDATA) {
    const tar = await read('reference-testdata', file);
    const expect =
      code === 'TRAILING_DATA' ? invalidAfterArchive(code, message) : invalid(code, message);
    cases.push(snapshot(`reference-testdata/${file} gzip'd`, gzipSync(tar), expect));
  }

  // Generated: valid.
  const state = stateBytes(96 * 1024, 1);
  const tarMax = snapshotTar(metaJsonOf(MAX_U64, state.length), state);
  const single = gzipMember(tarMax);
  cases.push(
    snapshot('generated/index-2^64-1.snap', single, validFacts(single, { index: MAX_U64 })),
  );
  const multi = concat([
    gzipMember(tarMax.subarray(0, 700), { level: 1 }),
    gzipMember(tarMax.subarray(700, 5000), { level: 0 }),
    gzipMember(tarMax.subarray(5000, 60_000), { level: 9 }),
    gzipMember(tarMax.subarray(60_000)),
    gzipMember(new Uint8Array(0)),
  ]);
  cases.push(
    snapshot(
      'generated/five-members (split inside a header and inside state.bin, one empty).snap',
      multi,
      validFacts(multi, { index: MAX_U64 }),
    ),
  );
  const fields = concat([
    gzipMember(tarMax.subarray(0, 50_000), { headerFields: true }),
    gzipMember(tarMax.subarray(50_000), { headerFields: true, level: 1 }),
  ]);
  cases.push(
    snapshot(
      'generated/members-with-FEXTRA-FNAME-FCOMMENT-FHCRC.snap',
      fields,
      validFacts(fields, { index: MAX_U64 }),
    ),
  );
  const big = stateBytes(2 * 1024 * 1024, 3);
  const bigArchive = gzipMember(snapshotTar(metaJsonOf('123456789', big.length), big), {
    level: 9,
  });
  cases.push(
    snapshot(
      'generated/2MiB-state.snap',
      bigArchive,
      validFacts(bigArchive, { index: '123456789' }),
    ),
  );
  const genKey = Buffer.from(GEN_KEY, 'hex');
  const sealedTar = snapshotTar(metaJsonOf('77', state.length), state, genKey);
  const genSealed = gzipMember(sealedTar);
  cases.push(
    snapshot(
      'generated/sealed.snap (its key)',
      genSealed,
      validFacts(genSealed, { index: '77', sealed: true }, genKey),
      GEN_KEY,
    ),
  );

  // Generated: invalid.
  const sealedAt = sealedTar.length - 1024 - BLOCK + 20; // inside SHA256SUMS.sealed's data
  const tampered = gzipMember(flip(sealedTar, sealedAt));
  cases.push(
    snapshot(
      'generated/sealed-tampered.snap (its key)',
      tampered,
      invalid('SEAL', SEAL_FAILED),
      GEN_KEY,
    ),
  );
  const gzipChecksum = /^gzip: invalid checksum$/;
  cases.push(
    snapshot(
      'generated/trailer-CRC-bit-flip.snap',
      flip(single, -8, 3),
      invalidAfterArchive('GZIP', gzipChecksum),
    ),
    snapshot(
      'generated/trailer-ISIZE-bit-flip.snap',
      flip(single, -4, 0),
      invalidAfterArchive('GZIP', gzipChecksum),
    ),
    snapshot(
      'generated/first-member-CRC-bit-flip.snap',
      concat([
        flip(gzipMember(tarMax.subarray(0, 5000)), -6, 7),
        gzipMember(tarMax.subarray(5000)),
      ]),
      invalid(
        'GZIP',
        /^failed to read snapshot file: failed to read or write snapshot data: gzip: invalid checksum$/,
      ),
    ),
    snapshot(
      'generated/truncated-half.snap',
      single.subarray(0, single.length >> 1),
      invalid(
        'TRUNCATED',
        /^failed to read snapshot file: failed to read or write snapshot data: unexpected EOF$/,
      ),
    ),
    snapshot(
      'generated/truncated-in-trailer.snap',
      single.subarray(0, single.length - 4),
      invalidAfterArchive('TRUNCATED', /^unexpected EOF$/),
    ),
    snapshot(
      'generated/truncated-in-header.snap',
      single.subarray(0, 5),
      invalid('TRUNCATED', /^failed to decompress snapshot: unexpected EOF$/),
    ),
    snapshot(
      'generated/empty.snap',
      new Uint8Array(0),
      invalid('TRUNCATED', /^failed to decompress snapshot: EOF \(the input is empty\)$/),
    ),
    snapshot(
      'generated/trailing-garbage.snap',
      concat([single, utf8.encode('garbage after the snapshot\n')]),
      invalidAfterArchive('GZIP', /^gzip: invalid header$/),
    ),
    snapshot(
      'generated/trailing-zero-byte.snap',
      concat([single, new Uint8Array(1)]),
      invalidAfterArchive('TRUNCATED', /^unexpected EOF$/),
    ),
    snapshot(
      'generated/trailing-empty-member-then-garbage.snap',
      concat([single, gzipMember(new Uint8Array(0)), utf8.encode('0123456789abcdef')]),
      invalidAfterArchive('GZIP', /^gzip: invalid header$/),
    ),
    // DEFLATE data that goes bad only after the tar (a final block of the reserved type 3):
    // the reference's Parse and Restore have the whole archive by then and accept the file.
    snapshot(
      'generated/corrupt-deflate-after-the-tar.snap',
      concat([
        Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255),
        deflateRawSync(tarMax, { finishFlush: zlibConstants.Z_SYNC_FLUSH }),
        Uint8Array.of(0x07),
        gzipMember(tarMax).subarray(-8),
      ]),
      invalidAfterArchive('GZIP', /^flate: corrupt input before offset \d+$/),
    ),
    snapshot(
      'generated/data-in-a-later-member.snap',
      concat([single, gzipMember(utf8.encode('x'))]),
      invalidAfterArchive('TRAILING_DATA', /^1 unread uncompressed bytes remain$/),
    ),
    snapshot(
      'generated/two-snapshots-concatenated.snap',
      concat([above, above]),
      invalidAfterArchive(
        'TRAILING_DATA',
        new RegExp(`^${gunzipSync(above).length} unread uncompressed bytes remain$`),
      ),
    ),
    snapshot(
      'generated/corrupt-deflate-block-type.snap',
      (() => {
        const b = single.slice();
        b[10] |= 0b110; // BTYPE 11 (reserved) in the first DEFLATE block header
        return b;
      })(),
      invalid(
        'GZIP',
        /^failed to read snapshot file: failed reading snapshot: flate: corrupt input before offset 1$/,
      ),
    ),
    snapshot(
      'generated/bad-magic.snap',
      flip(single, 0, 0),
      invalid('GZIP', /^failed to decompress snapshot: gzip: invalid header$/),
    ),
    snapshot(
      'generated/meta-index-2^64.snap',
      gzipMember(snapshotTar(metaJsonOf('18446744073709551616', state.length), state)),
      invalid(
        'META',
        /^failed to read snapshot file: failed to decode snapshot metadata: json: cannot unmarshal number 18446744073709551616 into Go struct field SnapshotMeta\.Index of type uint64$/,
      ),
    ),
  );

  // createSha256.
  const small = stateBytes(1000, 9);
  for (const [name, data, chunk] of [
    ['empty', new Uint8Array(0), 1],
    ['abc', utf8.encode('abc'), 1],
    ['1000 bytes one at a time', small, 1],
  ] as const) {
    cases.push({
      kind: 'sha256',
      name: `sha256/${name}`,
      data: b64(data),
      chunk,
      expect: sha256hex(data),
    });
  }
  for (const [name, size, chunk] of [
    ['1 MiB + 17 in 65539-byte chunks', (1 << 20) + 17, 65539],
    ['3 MiB + 17 at once', 3 * (1 << 20) + 17, 3 * (1 << 20) + 17],
  ] as const) {
    const gen = { size, seed: 9 };
    const expect = sha256hex(stateBytes(size, 9));
    cases.push({ kind: 'sha256', name: `sha256/${name}`, gen, chunk, expect });
  }

  // decodeMeta/encodeMeta.
  for (const [name, doc, want] of GO_META) {
    const expect: MetaCase['expect'] =
      typeof want === 'string'
        ? { valid: true, encoded: want }
        : { valid: false, code: 'META', message: `^${re(want.error)}$` };
    cases.push({ kind: 'meta', name: `meta/${name}`, doc: toBase64(utf8.encode(doc)), expect });
  }

  // writeSnapshot in the runtime.
  const mtime = Date.UTC(2024, 0, 2, 3, 4, 5);
  cases.push(
    {
      kind: 'write',
      name: 'write/default level, Index 2^64-1',
      meta: metaJsonOf(MAX_U64, 200 * 1024),
      stateSize: 200 * 1024,
      stateSeed: 5,
      mtime,
    },
    {
      kind: 'write',
      name: 'write/level 9, sealed',
      meta: metaJsonOf('4242', 64 * 1024, 3),
      stateSize: 64 * 1024,
      stateSeed: 6,
      level: 9,
      key: GEN_KEY,
      mtime,
    },
    {
      kind: 'write',
      name: 'write/level 0',
      meta: metaJsonOf('1', 100 * 1024),
      stateSize: 100 * 1024,
      stateSeed: 7,
      level: 0,
      mtime,
    },
  );
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Checking.

function checkWrite(c: WriteCase, r: CaseResult): string[] {
  const problems: string[] = [];
  if (!r.archive || !r.facts) return ['no archive returned'];
  const archive = Buffer.from(r.archive, 'base64');
  const key = c.key ? Buffer.from(c.key, 'hex') : undefined;
  let back: ReadBack;
  try {
    back = readIndependently(archive, key);
  } catch (err) {
    return [`the archive does not read back independently: ${(err as Error).message}`];
  }
  const index = /"Index":(\d+)/.exec(c.meta)![1];
  const want: Record<string, string | number> = {
    index,
    verifiedIndex: index,
    checksum: checksumOf(archive),
    bytes: archive.length,
    length: archive.length,
  };
  for (const [k, v] of Object.entries(want)) {
    if (r.facts[k] !== v) problems.push(`${k}: expected ${v}, got ${r.facts[k]}`);
  }
  if (back.metaJson !== c.meta)
    problems.push(`meta.json written as ${JSON.stringify(back.metaJson)}`);
  const stateSha = sha256hex(stateBytes(c.stateSize, c.stateSeed));
  if (sha256hex(back.state) !== stateSha) problems.push('state.bin differs');
  const names = back.entries.map((e) => e.name).join(',');
  const wantNames = `meta.json,state.bin,SHA256SUMS${c.key ? ',SHA256SUMS.sealed' : ''}`;
  if (names !== wantNames) problems.push(`entries ${names}, expected ${wantNames}`);
  for (const e of back.entries) {
    if (e.mode !== 0o600) problems.push(`${e.name} has mode ${e.mode.toString(8)}`);
  }
  return problems;
}

/** Compares one result with its case; returns what differs (empty when it conforms). */
export function checkResult(c: Case, r: CaseResult | undefined): string[] {
  if (!r) return ['no result'];
  const problems = [...r.problems];
  if (c.kind === 'write') {
    if (!r.valid) return [...problems, `write failed: ${r.error?.code}: ${r.error?.message}`];
    return [...problems, ...checkWrite(c, r)];
  }
  const expect = c.kind === 'sha256' ? { valid: true as const, digest: c.expect } : c.expect;
  if (!expect.valid) {
    if (r.valid) return [...problems, `accepted; expected ${expect.code} /${expect.message}/`];
    if (!r.error) return problems;
    if (r.error?.code !== expect.code || !new RegExp(expect.message).test(r.error.message)) {
      problems.push(
        `rejected with ${r.error?.code}: ${JSON.stringify(r.error?.message)}; expected ${expect.code} /${expect.message}/`,
      );
    }
    return problems;
  }
  if (!r.valid) {
    if (!r.error) return problems; // crashed: the problem says how
    return [...problems, `rejected with ${r.error.code}: ${JSON.stringify(r.error.message)}`];
  }
  for (const [k, v] of Object.entries(expect)) {
    if (k === 'valid') continue;
    const got = r.facts?.[k];
    if (got !== v) problems.push(`${k}: expected ${JSON.stringify(v)}, got ${JSON.stringify(got)}`);
  }
  return problems;
}

/** Every difference between a runtime's report and the cases, as `case: problem` lines. */
export function checkReport(cases: Case[], report: RunReport): string[] {
  const byName = new Map(report.results.map((r) => [r.name, r]));
  const lines: string[] = [];
  if (report.results.length !== cases.length) {
    lines.push(`${report.results.length} results for ${cases.length} cases`);
  }
  for (const c of cases) {
    for (const p of new Set(checkResult(c, byName.get(c.name)))) lines.push(`${c.name}: ${p}`);
  }
  return lines;
}

/** Known causes of failures, recognised in the problems, with what to do about them. */
const HINTS: [RegExp, string][] = [
  [
    /Wasm code generation disallowed by embedder/,
    'this runtime (workerd, Cloudflare Workers) does not compile WebAssembly from bytes: it only instantiates modules imported as .wasm files, so the worker build must import dist/src/wasm/*.wasm instead of compiling the embedded base64',
  ],
  [
    /Requires env access|NotCapable/,
    'reading process.env throws in Deno without --allow-env: raftsnap must treat an unreadable RAFTSNAP_ENGINE as unset (src/engines/registry.ts envChoice)',
  ],
  [
    /crypto\.subtle|SubtleCrypto|secure context/i,
    'WebCrypto (crypto.subtle) is only available in secure contexts (https, localhost, 127.0.0.1)',
  ],
];

/**
 * The differences of {@link checkReport} as one message: what is known about their cause first,
 * then at most `limit` lines.
 */
export function describeProblems(lines: string[], runtime: string, limit = 40): string {
  const hints = HINTS.filter(([re]) => lines.some((l) => re.test(l))).map(([, h]) => `hint: ${h}`);
  const shown = lines.slice(0, limit);
  if (lines.length > limit) shown.push(`… and ${lines.length - limit} more`);
  return [`${runtime}: ${lines.length} differences`, ...hints, ...shown].join('\n');
}

/**
 * meta.json is decoded as Go 1.19's `json.Unmarshal(buf, &metadata)` decodes it into a
 * `*raft.SnapshotMeta`, and encoded as `json.NewEncoder(w).Encode(meta)` encodes it. Every
 * expectation in the table below (verdict, error message, and the encoding of the resulting
 * struct) was observed from Go 1.19 with hashicorp/raft 1.1.2; cases with several documents
 * decode them one after the other into the same struct (meta.json present twice).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isSnapshotError } from '../src/errors.js';
import {
  decodeMeta,
  encodeMeta,
  type SnapshotMeta,
  type SnapshotServer,
  zeroMeta,
} from '../src/format/meta.js';

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b);

/** A document from UTF-8 text and raw bytes. */
function doc(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === 'string' ? utf8.encode(p) : p));
  return Uint8Array.from(out);
}

type Step = { ok: true; encoded: string } | { ok: false; error: string };
const ok = (encoded: string): Step => ({ ok: true, encoded });
const err = (error: string): Step => ({ ok: false, error });

/** Decodes the documents in sequence into the same meta, as Go does; stops at the first error. */
function run(docs: Uint8Array[]): Step[] {
  const steps: Step[] = [];
  let meta: SnapshotMeta | undefined;
  for (const d of docs) {
    try {
      meta = decodeMeta(d, meta);
    } catch (e) {
      assert.ok(isSnapshotError(e) && e.code === 'META', `unexpected error ${e}`);
      steps.push(err(e.message));
      break;
    }
    steps.push(ok(text(encodeMeta(meta))));
  }
  return steps;
}

const FULL =
  '{"Version":1,"ID":"2-10-1700000000000","Index":10,"Term":2,"Peers":"ka8xMC4wLjAuMTo4MzAw","Configuration":{"Servers":[{"Suffrage":0,"ID":"a1b2","Address":"10.0.0.1:8300"},{"Suffrage":1,"ID":"c3d4","Address":"10.0.0.2:8300"}]},"ConfigurationIndex":9,"Size":12345}';
const ZERO =
  '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n';

/** [name, documents, what Go 1.19 reported after each document]. */
const table: [string, Uint8Array[], Step[]][] = [
  ['syntax: empty input', [doc('')], [err('unexpected end of JSON input')]],
  ['syntax: only whitespace', [doc(' \t\r\n')], [err('unexpected end of JSON input')]],
  [
    'syntax: trailing data after the value',
    [doc('{} x')],
    [err("invalid character 'x' after top-level value")],
  ],
  [
    'syntax: second top-level value',
    [doc('{}{}')],
    [err("invalid character '{' after top-level value")],
  ],
  [
    'syntax: extra closing brace',
    [doc('{"Index":1}}')],
    [err("invalid character '}' after top-level value")],
  ],
  [
    'syntax: trailing NUL byte',
    [doc('{"Index":1}', [0x00])],
    [err("invalid character '\\x00' after top-level value")],
  ],
  [
    'syntax: trailing newline is fine',
    [doc('{"Index":1}\n')],
    [
      ok(
        '{"Version":0,"ID":"","Index":1,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'syntax: leading BOM rejected',
    [doc('\ufeff{}')],
    [err("invalid character 'ï' looking for beginning of value")],
  ],
  ['syntax: unterminated object', [doc('{"Index":1')], [err('unexpected end of JSON input')]],
  ['syntax: unterminated string', [doc('{"ID":"abc')], [err('unexpected end of JSON input')]],
  [
    'syntax: trailing comma in object',
    [doc('{"Index":1,}')],
    [err("invalid character '}' looking for beginning of object key string")],
  ],
  [
    'syntax: trailing comma in array',
    [doc('{"Peers":[1,]}')],
    [err("invalid character ']' looking for beginning of value")],
  ],
  ['syntax: missing colon', [doc('{"Index" 1}')], [err("invalid character '1' after object key")]],
  [
    'syntax: missing comma',
    [doc('{"Index":1 "Term":2}')],
    [err("invalid character '\"' after object key:value pair")],
  ],
  [
    'syntax: unquoted key',
    [doc('{Index:1}')],
    [err("invalid character 'I' looking for beginning of object key string")],
  ],
  [
    'syntax: single quotes',
    [doc("{'Index':1}")],
    [err("invalid character '\\'' looking for beginning of object key string")],
  ],
  [
    'syntax: leading zero',
    [doc('{"Index":01}')],
    [err("invalid character '1' after object key:value pair")],
  ],
  ['syntax: bare minus', [doc('-')], [err("invalid character ' ' in numeric literal")]],
  [
    'syntax: dot without digits',
    [doc('{"Index":1.}')],
    [err("invalid character '}' after decimal point in numeric literal")],
  ],
  [
    'syntax: exponent without digits',
    [doc('{"Index":1e}')],
    [err("invalid character '}' in exponent of numeric literal")],
  ],
  [
    'syntax: leading plus',
    [doc('{"Index":+1}')],
    [err("invalid character '+' looking for beginning of value")],
  ],
  [
    'syntax: truncated literal at end',
    [doc('nul')],
    [err("invalid character ' ' in literal null (expecting 'l')")],
  ],
  [
    'syntax: bad literal',
    [doc('{"ID":tru}')],
    [err("invalid character '}' in literal true (expecting 'e')")],
  ],
  [
    'syntax: raw control character in string',
    [doc('{"ID":"a', [0x01], 'b"}')],
    [err("invalid character '\\x01' in string literal")],
  ],
  [
    'syntax: raw tab in string',
    [doc('{"ID":"a\tb"}')],
    [err("invalid character '\\t' in string literal")],
  ],
  [
    'syntax: bad escape',
    [doc('{"ID":"\\x"}')],
    [err("invalid character 'x' in string escape code")],
  ],
  [
    'syntax: single-quote escape is not JSON',
    [doc('{"ID":"\\\'"}')],
    [err("invalid character '\\'' in string escape code")],
  ],
  [
    'syntax: short \\u escape',
    [doc('{"ID":"\\u12"}')],
    [err("invalid character '\"' in \\u hexadecimal character escape")],
  ],
  [
    'syntax: non-hex \\u escape',
    [doc('{"ID":"\\u12g4"}')],
    [err("invalid character 'g' in \\u hexadecimal character escape")],
  ],
  [
    'syntax: byte 0xff outside strings',
    [doc([0xff])],
    [err("invalid character 'ÿ' looking for beginning of value")],
  ],
  [
    'syntax: byte 0x80 outside strings',
    [doc('{"ID":', [0x80], '}')],
    [err("invalid character '\\u0080' looking for beginning of value")],
  ],
  [
    'syntax: byte 0xad outside strings',
    [doc([0xad])],
    [err("invalid character '\\u00ad' looking for beginning of value")],
  ],
  [
    'syntax: NUL outside strings',
    [doc([0x00])],
    [err("invalid character '\\x00' looking for beginning of value")],
  ],
  [
    'syntax: backspace outside strings',
    [doc([0x08])],
    [err("invalid character '\\b' looking for beginning of value")],
  ],
  [
    'syntax: DEL outside strings',
    [doc([0x7f])],
    [err("invalid character '\\x7f' looking for beginning of value")],
  ],
  [
    'syntax: backslash outside strings',
    [doc('\\')],
    [err("invalid character '\\\\' looking for beginning of value")],
  ],
  [
    'syntax: quote after value',
    [doc('{"Index":1"}')],
    [err("invalid character '\"' after object key:value pair")],
  ],
  [
    'syntax: apostrophe',
    [doc("'")],
    [err("invalid character '\\'' looking for beginning of value")],
  ],
  [
    'syntax: nesting at the limit (10000) is fine',
    [doc('{"x":', '['.repeat(9999), ']'.repeat(9999), '}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'syntax: nesting beyond 10000 is rejected',
    [doc('{"x":', '['.repeat(10000), ']'.repeat(10000), '}')],
    [err("invalid character '[' exceeded max depth")],
  ],
  [
    'syntax: error anywhere rejects, even in an ignored key',
    [doc('{"Index":1,"x":[1,2,}')],
    [err("invalid character '}' looking for beginning of value")],
  ],
  [
    'top: null leaves the meta unchanged',
    [doc('null')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'top: null with whitespace',
    [doc(' \n null \t')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'top: number',
    [doc('1')],
    [err('json: cannot unmarshal number into Go value of type raft.SnapshotMeta')],
  ],
  [
    'top: string',
    [doc('"x"')],
    [err('json: cannot unmarshal string into Go value of type raft.SnapshotMeta')],
  ],
  [
    'top: array',
    [doc('[]')],
    [err('json: cannot unmarshal array into Go value of type raft.SnapshotMeta')],
  ],
  [
    'top: bool',
    [doc('true')],
    [err('json: cannot unmarshal bool into Go value of type raft.SnapshotMeta')],
  ],
  [
    'top: empty object',
    [doc('{}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  ['top: full meta', [doc(FULL)], [ok(`${FULL}\n`)]],
  [
    'keys: case-insensitive match',
    [doc('{"index":1,"TERM":2,"sIzE":3,"configurationindex":4,"id":"x","VERSION":5}')],
    [
      ok(
        '{"Version":5,"ID":"x","Index":1,"Term":2,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":4,"Size":3}\n',
      ),
    ],
  ],
  [
    'keys: U+017F long s matches s',
    [
      doc(
        '{"ſize":3,"Peerſ":"AQ==","verſion":2,"Configuration":{"ſerverſ":[{"ſuffrage":1,"addreſſ":"a"}]}}',
      ),
    ],
    [
      ok(
        '{"Version":2,"ID":"","Index":0,"Term":0,"Peers":"AQ==","Configuration":{"Servers":[{"Suffrage":1,"ID":"","Address":"a"}]},"ConfigurationIndex":0,"Size":3}\n',
      ),
    ],
  ],
  [
    'keys: U+212A Kelvin matches no field (no k in names)',
    [doc('{"Kerm":2}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'keys: dotless i does not match',
    [doc('{"Sıze":3,"İD":"x"}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'keys: escaped key matches',
    [doc('{"\\u0049ndex":7,"\\u017fize":8}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":7,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":8}\n',
      ),
    ],
  ],
  [
    'keys: unknown keys are ignored whatever their value',
    [doc('{"foo":{"Index":"bad","a":[1,{"b":null}]},"Index":1,"bar":-1.5e3}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":1,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'keys: extra character does not match',
    [doc('{"Index ":1,"Indexx":2}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'keys: duplicate key, later wins',
    [doc('{"Index":1,"Index":2,"ID":"a","id":"b"}')],
    [
      ok(
        '{"Version":0,"ID":"b","Index":2,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'keys: duplicate key with null keeps earlier value',
    [doc('{"Index":1,"Index":null}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":1,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'keys: Server fields fold too',
    [doc('{"Configuration":{"servers":[{"suffrage":2,"iD":"x","ADDRESS":"y"}]}}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":2,"ID":"x","Address":"y"}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'null: into numbers, strings and Configuration has no effect',
    [
      doc(
        '{"Version":null,"ID":null,"Index":null,"Term":null,"Configuration":null,"ConfigurationIndex":null,"Size":null}',
      ),
    ],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'null: into Peers and Servers sets nil',
    [doc('{"Peers":"AQ==","Peers":null,"Configuration":{"Servers":[],"Servers":null}}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'numbers: uint64 max',
    [
      doc(
        '{"Index":18446744073709551615,"Term":18446744073709551615,"ConfigurationIndex":18446744073709551615}',
      ),
    ],
    [
      ok(
        '{"Version":0,"ID":"","Index":18446744073709551615,"Term":18446744073709551615,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":18446744073709551615,"Size":0}\n',
      ),
    ],
  ],
  [
    'numbers: uint64 overflow',
    [doc('{"Index":18446744073709551616}')],
    [
      err(
        'json: cannot unmarshal number 18446744073709551616 into Go struct field SnapshotMeta.Index of type uint64',
      ),
    ],
  ],
  [
    'numbers: negative uint64',
    [doc('{"Term":-1}')],
    [err('json: cannot unmarshal number -1 into Go struct field SnapshotMeta.Term of type uint64')],
  ],
  [
    'numbers: -0 into uint64',
    [doc('{"Index":-0}')],
    [
      err(
        'json: cannot unmarshal number -0 into Go struct field SnapshotMeta.Index of type uint64',
      ),
    ],
  ],
  [
    'numbers: 1.0 into uint64',
    [doc('{"Index":1.0}')],
    [
      err(
        'json: cannot unmarshal number 1.0 into Go struct field SnapshotMeta.Index of type uint64',
      ),
    ],
  ],
  [
    'numbers: 1e2 into uint64',
    [doc('{"ConfigurationIndex":1e2}')],
    [
      err(
        'json: cannot unmarshal number 1e2 into Go struct field SnapshotMeta.ConfigurationIndex of type uint64',
      ),
    ],
  ],
  [
    'numbers: int64 extremes',
    [doc('{"Size":-9223372036854775808}'), doc('{"Size":9223372036854775807}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":-9223372036854775808}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":9223372036854775807}\n',
      ),
    ],
  ],
  [
    'numbers: int64 overflow',
    [doc('{"Size":9223372036854775808}')],
    [
      err(
        'json: cannot unmarshal number 9223372036854775808 into Go struct field SnapshotMeta.Size of type int64',
      ),
    ],
  ],
  [
    'numbers: int64 underflow',
    [doc('{"Size":-9223372036854775809}')],
    [
      err(
        'json: cannot unmarshal number -9223372036854775809 into Go struct field SnapshotMeta.Size of type int64',
      ),
    ],
  ],
  [
    'numbers: -0 into int64',
    [doc('{"Size":-0,"Version":-0}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'numbers: fraction into int',
    [doc('{"Version":1.5}')],
    [
      err(
        'json: cannot unmarshal number 1.5 into Go struct field SnapshotMeta.Version of type raft.SnapshotVersion',
      ),
    ],
  ],
  [
    'numbers: exponent into int',
    [doc('{"Version":1E0}')],
    [
      err(
        'json: cannot unmarshal number 1E0 into Go struct field SnapshotMeta.Version of type raft.SnapshotVersion',
      ),
    ],
  ],
  [
    'numbers: negative version and suffrage',
    [doc('{"Version":-3,"Configuration":{"Servers":[{"Suffrage":-9007199254740991}]}}')],
    [
      ok(
        '{"Version":-3,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":-9007199254740991,"ID":"","Address":""}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'numbers: int max into Version',
    [doc('{"Version":9223372036854775807}')],
    [
      ok(
        '{"Version":9223372036854775807,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'numbers: int overflow into Version',
    [doc('{"Version":9223372036854775808}')],
    [
      err(
        'json: cannot unmarshal number 9223372036854775808 into Go struct field SnapshotMeta.Version of type raft.SnapshotVersion',
      ),
    ],
  ],
  [
    'numbers: into a string field',
    [doc('{"ID":1}')],
    [err('json: cannot unmarshal number into Go struct field SnapshotMeta.ID of type string')],
  ],
  [
    'numbers: into Peers',
    [doc('{"Peers":1}')],
    [err('json: cannot unmarshal number into Go struct field SnapshotMeta.Peers of type []uint8')],
  ],
  [
    'numbers: into Configuration',
    [doc('{"Configuration":2}')],
    [
      err(
        'json: cannot unmarshal number into Go struct field SnapshotMeta.Configuration of type raft.Configuration',
      ),
    ],
  ],
  [
    'numbers: into Servers',
    [doc('{"Configuration":{"Servers":3}}')],
    [
      err(
        'json: cannot unmarshal number into Go struct field Configuration.Configuration.Servers of type []raft.Server',
      ),
    ],
  ],
  [
    'types: string into uint64',
    [doc('{"Index":"1"}')],
    [err('json: cannot unmarshal string into Go struct field SnapshotMeta.Index of type uint64')],
  ],
  [
    'types: bool into int',
    [doc('{"Version":true}')],
    [
      err(
        'json: cannot unmarshal bool into Go struct field SnapshotMeta.Version of type raft.SnapshotVersion',
      ),
    ],
  ],
  [
    'types: array into string',
    [doc('{"ID":[]}')],
    [err('json: cannot unmarshal array into Go struct field SnapshotMeta.ID of type string')],
  ],
  [
    'types: object into int64',
    [doc('{"Size":{}}')],
    [err('json: cannot unmarshal object into Go struct field SnapshotMeta.Size of type int64')],
  ],
  [
    'types: string into Configuration',
    [doc('{"Configuration":"x"}')],
    [
      err(
        'json: cannot unmarshal string into Go struct field SnapshotMeta.Configuration of type raft.Configuration',
      ),
    ],
  ],
  [
    'types: object into Servers',
    [doc('{"Configuration":{"Servers":{}}}')],
    [
      err(
        'json: cannot unmarshal object into Go struct field Configuration.Configuration.Servers of type []raft.Server',
      ),
    ],
  ],
  [
    'types: number as a Servers element',
    [doc('{"Configuration":{"Servers":[5]}}')],
    [
      err(
        'json: cannot unmarshal number into Go struct field Configuration.Configuration.Servers of type raft.Server',
      ),
    ],
  ],
  [
    'types: number into Server.ID',
    [doc('{"Configuration":{"Servers":[{"ID":5}]}}')],
    [
      err(
        'json: cannot unmarshal number into Go struct field Server.Configuration.Servers.ID of type raft.ServerID',
      ),
    ],
  ],
  [
    'types: string into Server.Suffrage',
    [doc('{"Configuration":{"Servers":[{"Suffrage":"Voter"}]}}')],
    [
      err(
        'json: cannot unmarshal string into Go struct field Server.Configuration.Servers.Suffrage of type raft.ServerSuffrage',
      ),
    ],
  ],
  [
    'types: bool into Server.Address',
    [doc('{"Configuration":{"Servers":[{"Address":false}]}}')],
    [
      err(
        'json: cannot unmarshal bool into Go struct field Server.Configuration.Servers.Address of type raft.ServerAddress',
      ),
    ],
  ],
  [
    'types: first error is reported',
    [doc('{"Index":"a","Term":"b"}')],
    [err('json: cannot unmarshal string into Go struct field SnapshotMeta.Index of type uint64')],
  ],
  [
    'types: a type error is reported even after valid fields',
    [doc('{"Index":1,"Term":2,"Size":"3"}')],
    [err('json: cannot unmarshal string into Go struct field SnapshotMeta.Size of type int64')],
  ],
  [
    'types: base64 error before a type error',
    [doc('{"Peers":"!","Index":"x"}')],
    [err('illegal base64 data at input byte 0')],
  ],
  [
    'strings: invalid UTF-8 becomes U+FFFD per bad byte',
    [doc('{"ID":"a', [0xff], 'b', [0xe2, 0x82], 'c', [0xc0, 0x80], '"}')],
    [
      ok(
        '{"Version":0,"ID":"a�b��c��","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: encoded surrogate is invalid UTF-8',
    [doc('{"ID":"', [0xed, 0xa0, 0x80], '"}')],
    [
      ok(
        '{"Version":0,"ID":"���","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: code point above U+10FFFF is invalid UTF-8',
    [doc('{"ID":"', [0xf4, 0x90, 0x80, 0x80], '"}')],
    [
      ok(
        '{"Version":0,"ID":"����","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: truncated 4-byte sequence',
    [doc('{"ID":"', [0xf0, 0x9f, 0x98], 'x"}')],
    [
      ok(
        '{"Version":0,"ID":"���x","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: valid multi-byte UTF-8 kept',
    [doc('{"ID":"é日本\ud83d\ude00�"}')],
    [
      ok(
        '{"Version":0,"ID":"é日本\ud83d\ude00�","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: BOM inside a string kept',
    [doc('{"ID":"\ufeffx"}')],
    [
      ok(
        '{"Version":0,"ID":"\ufeffx","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: surrogate pair escape',
    [doc('{"ID":"\\ud83d\\ude00"}')],
    [
      ok(
        '{"Version":0,"ID":"\ud83d\ude00","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: lone high surrogate escape',
    [doc('{"ID":"\\ud800x"}')],
    [
      ok(
        '{"Version":0,"ID":"�x","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: lone low surrogate escape',
    [doc('{"ID":"\\udc00"}')],
    [
      ok(
        '{"Version":0,"ID":"�","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: high surrogate followed by a non-surrogate escape',
    [doc('{"ID":"\\ud800\\u0041"}')],
    [
      ok(
        '{"Version":0,"ID":"�A","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: two high surrogates then a low one',
    [doc('{"ID":"\\ud800\\ud800\\udc00"}')],
    [
      ok(
        '{"Version":0,"ID":"�\ud800\udc00","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: simple escapes',
    [doc('{"ID":"\\"\\\\\\/\\b\\f\\n\\r\\t"}')],
    [
      ok(
        '{"Version":0,"ID":"\\"\\\\/\\u0008\\u000c\\n\\r\\t","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: \\u0000 and control escapes',
    [doc('{"ID":"\\u0000\\u0001\\u001f\\u007f"}')],
    [
      ok(
        '{"Version":0,"ID":"\\u0000\\u0001\\u001f\u007f","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: HTML characters are escaped on output',
    [doc('{"ID":"<a href=\\"x\\">&amp;</a>"}')],
    [
      ok(
        '{"Version":0,"ID":"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: U+2028 and U+2029 are escaped on output',
    [doc('{"ID":"a\u2028b\u2029c"}')],
    [
      ok(
        '{"Version":0,"ID":"a\\u2028b\\u2029c","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'strings: escaped U+2028 input',
    [doc('{"Configuration":{"Servers":[{"ID":"\\u2028","Address":"\\u003c\\u003e\\u0026"}]}}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":0,"ID":"\\u2028","Address":"\\u003c\\u003e\\u0026"}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: base64',
    [doc('{"Peers":"AQID"}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQID","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: empty string is an empty non-nil slice',
    [doc('{"Peers":""}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: padding',
    [doc('{"Peers":"AQ=="}'), doc('{"Peers":"AQI="}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQ==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQI=","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: CR and LF are ignored (JSON escapes)',
    [doc('{"Peers":"A\\r\\nQ\\n=\\r="}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQ==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: CR and LF after padding',
    [doc('{"Peers":"AQ==\\n\\r\\n"}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQ==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: only newlines',
    [doc('{"Peers":"\\n\\n"}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: escaped alphabet characters',
    [doc('{"Peers":"\\u0041\\/\\/\\u002f"}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"A///","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: non-zero trailing bits accepted',
    [doc('{"Peers":"AB=="}'), doc('{"Peers":"AAB="}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AA==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AAA=","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  ['peers: missing padding', [doc('{"Peers":"AQ"}')], [err('illegal base64 data at input byte 0')]],
  [
    'peers: missing one padding char',
    [doc('{"Peers":"AQ="}')],
    [err('illegal base64 data at input byte 3')],
  ],
  ['peers: single char', [doc('{"Peers":"A"}')], [err('illegal base64 data at input byte 0')]],
  ['peers: five chars', [doc('{"Peers":"AQIDB"}')], [err('illegal base64 data at input byte 4')]],
  [
    'peers: padding too early',
    [doc('{"Peers":"A==="}')],
    [err('illegal base64 data at input byte 1')],
  ],
  [
    'peers: padding at start',
    [doc('{"Peers":"=AAA"}')],
    [err('illegal base64 data at input byte 0')],
  ],
  [
    'peers: data after padding',
    [doc('{"Peers":"AQ==AQ=="}')],
    [err('illegal base64 data at input byte 4')],
  ],
  [
    'peers: wrong char after first padding',
    [doc('{"Peers":"AQ=x"}')],
    [err('illegal base64 data at input byte 2')],
  ],
  [
    'peers: newline between padding chars then end',
    [doc('{"Peers":"AQ=\\n"}')],
    [err('illegal base64 data at input byte 4')],
  ],
  [
    'peers: URL-safe alphabet rejected',
    [doc('{"Peers":"-_8="}')],
    [err('illegal base64 data at input byte 0')],
  ],
  [
    'peers: space rejected',
    [doc('{"Peers":"AQ ID"}')],
    [err('illegal base64 data at input byte 2')],
  ],
  [
    'peers: non-ASCII rejected (offset counts UTF-8 bytes)',
    [doc('{"Peers":"AQIDé"}')],
    [err('illegal base64 data at input byte 4')],
  ],
  [
    'peers: invalid UTF-8 becomes U+FFFD before base64',
    [doc('{"Peers":"AQID', [0xff], '"}')],
    [err('illegal base64 data at input byte 4')],
  ],
  [
    'peers: array of numbers',
    [doc('{"Peers":[0,1,255]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AAH/","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: empty array is an empty non-nil slice',
    [doc('{"Peers":[]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: 256 in array',
    [doc('{"Peers":[256]}')],
    [
      err(
        'json: cannot unmarshal number 256 into Go struct field SnapshotMeta.Peers of type uint8',
      ),
    ],
  ],
  [
    'peers: -1 in array',
    [doc('{"Peers":[-1]}')],
    [err('json: cannot unmarshal number -1 into Go struct field SnapshotMeta.Peers of type uint8')],
  ],
  [
    'peers: 1.0 in array',
    [doc('{"Peers":[1.0]}')],
    [
      err(
        'json: cannot unmarshal number 1.0 into Go struct field SnapshotMeta.Peers of type uint8',
      ),
    ],
  ],
  [
    'peers: string in array',
    [doc('{"Peers":["1"]}')],
    [err('json: cannot unmarshal string into Go struct field SnapshotMeta.Peers of type uint8')],
  ],
  [
    'peers: array in array',
    [doc('{"Peers":[[1]]}')],
    [err('json: cannot unmarshal array into Go struct field SnapshotMeta.Peers of type uint8')],
  ],
  [
    'peers: null in a fresh array is zero',
    [doc('{"Peers":[null,7]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AAc=","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'peers: object',
    [doc('{"Peers":{}}')],
    [err('json: cannot unmarshal object into Go struct field SnapshotMeta.Peers of type []uint8')],
  ],
  [
    'peers: bool',
    [doc('{"Peers":true}')],
    [err('json: cannot unmarshal bool into Go struct field SnapshotMeta.Peers of type []uint8')],
  ],
  [
    'merge: array reuses existing elements; null keeps them',
    [doc('{"Peers":[1,2,3],"Peers":[null,9]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQk=","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: shrink then grow within capacity re-exposes old elements',
    [doc('{"Peers":[1,2,3],"Peers":[4],"Peers":[null,null,null]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"BAID","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: [] makes a fresh slice',
    [doc('{"Peers":[1,2,3],"Peers":[],"Peers":[null,null]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AAA=","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: base64 then array reuses the decoded bytes',
    [doc('{"Peers":"AQID","Peers":[null,null,null,null]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQIDAA==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: base64 buffer capacity includes newline bytes',
    [doc('{"Peers":"AQ==\\n\\n\\n\\n","Peers":[null,null,null,null,null,null,null]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQAAAAAAAA==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: Configuration objects merge',
    [doc('{"Configuration":{"Servers":[{"ID":"a","Address":"x"}]},"Configuration":{}}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":0,"ID":"a","Address":"x"}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: Servers elements merge field by field',
    [
      doc(
        '{"Configuration":{"Servers":[{"ID":"a","Address":"x","Suffrage":1}],"Servers":[{"ID":"b"}]}}',
      ),
    ],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":1,"ID":"b","Address":"x"}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: Servers shrink then grow re-exposes old servers',
    [
      doc(
        '{"Configuration":{"Servers":[{"ID":"a"},{"ID":"b"},{"ID":"c"}],"Servers":[{}],"Servers":[{},null,{"Address":"z"}]}}',
      ),
    ],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":0,"ID":"a","Address":""},{"Suffrage":0,"ID":"b","Address":""},{"Suffrage":0,"ID":"c","Address":"z"}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: null Servers element in a fresh slice is a zero server',
    [doc('{"Configuration":{"Servers":[null,{"ID":"b"}]}}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":0,"ID":"","Address":""},{"Suffrage":0,"ID":"b","Address":""}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'merge: Servers null then array starts fresh',
    [doc('{"Configuration":{"Servers":[{"ID":"a"}],"Servers":null,"Servers":[{}]}}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":0,"ID":"","Address":""}]},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'twice: second document decoded on top of the first',
    [doc(FULL), doc('{"Index":11,"ID":"new"}')],
    [
      ok(`${FULL}\n`),
      ok(
        '{"Version":1,"ID":"new","Index":11,"Term":2,"Peers":"ka8xMC4wLjAuMTo4MzAw","Configuration":{"Servers":[{"Suffrage":0,"ID":"a1b2","Address":"10.0.0.1:8300"},{"Suffrage":1,"ID":"c3d4","Address":"10.0.0.2:8300"}]},"ConfigurationIndex":9,"Size":12345}\n',
      ),
    ],
  ],
  [
    'twice: top-level null keeps the first',
    [doc(FULL), doc('null')],
    [ok(`${FULL}\n`), ok(`${FULL}\n`)],
  ],
  [
    'twice: empty object keeps the first',
    [doc(FULL), doc('{}')],
    [ok(`${FULL}\n`), ok(`${FULL}\n`)],
  ],
  [
    'twice: Servers elements merge across documents',
    [doc(FULL), doc('{"Configuration":{"Servers":[{"ID":"x"}]}}')],
    [
      ok(`${FULL}\n`),
      ok(
        '{"Version":1,"ID":"2-10-1700000000000","Index":10,"Term":2,"Peers":"ka8xMC4wLjAuMTo4MzAw","Configuration":{"Servers":[{"Suffrage":0,"ID":"x","Address":"10.0.0.1:8300"}]},"ConfigurationIndex":9,"Size":12345}\n',
      ),
    ],
  ],
  [
    'twice: stale Servers re-exposed across documents',
    [
      doc(FULL),
      doc('{"Configuration":{"Servers":[{"ID":"x"}]}}'),
      doc('{"Configuration":{"Servers":[{},null,{}]}}'),
    ],
    [
      ok(`${FULL}\n`),
      ok(
        '{"Version":1,"ID":"2-10-1700000000000","Index":10,"Term":2,"Peers":"ka8xMC4wLjAuMTo4MzAw","Configuration":{"Servers":[{"Suffrage":0,"ID":"x","Address":"10.0.0.1:8300"}]},"ConfigurationIndex":9,"Size":12345}\n',
      ),
      ok(
        '{"Version":1,"ID":"2-10-1700000000000","Index":10,"Term":2,"Peers":"ka8xMC4wLjAuMTo4MzAw","Configuration":{"Servers":[{"Suffrage":0,"ID":"x","Address":"10.0.0.1:8300"},{"Suffrage":1,"ID":"c3d4","Address":"10.0.0.2:8300"},{"Suffrage":0,"ID":"","Address":""}]},"ConfigurationIndex":9,"Size":12345}\n',
      ),
    ],
  ],
  [
    'twice: stale Peers bytes re-exposed across documents',
    [
      doc('{"Peers":[1,2,3,4,5]}'),
      doc('{"Peers":[6]}'),
      doc('{"Peers":[null,null,null,null,null,null,null]}'),
    ],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQIDBAU=","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"Bg==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"BgIDBAUAAA==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'twice: Peers nil then array',
    [doc('{"Peers":"AQID"}'), doc('{"Peers":null}'), doc('{"Peers":[null]}')],
    [
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AQID","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
      ok(
        '{"Version":0,"ID":"","Index":0,"Term":0,"Peers":"AA==","Configuration":{"Servers":null},"ConfigurationIndex":0,"Size":0}\n',
      ),
    ],
  ],
  [
    'twice: error in the second document',
    [doc(FULL), doc('{"Index":"x"}')],
    [
      ok(`${FULL}\n`),
      err('json: cannot unmarshal string into Go struct field SnapshotMeta.Index of type uint64'),
    ],
  ],
];

for (const [name, docs, want] of table) {
  test(`go: ${name}`, () => {
    assert.deepEqual(run(docs), want);
  });
}

test('zeroMeta is the zero struct and encodes as Go encodes it', () => {
  assert.equal(text(encodeMeta(zeroMeta())), ZERO);
  assert.notEqual(zeroMeta(), zeroMeta());
});

test('decoded values', () => {
  const m = decodeMeta(doc(FULL));
  const want: SnapshotMeta = {
    version: 1,
    id: '2-10-1700000000000',
    index: 10n,
    term: 2n,
    peers: Uint8Array.of(0x91, 0xaf, ...utf8.encode('10.0.0.1:8300')),
    configuration: {
      servers: [
        { suffrage: 0, id: 'a1b2', address: '10.0.0.1:8300' },
        { suffrage: 1, id: 'c3d4', address: '10.0.0.2:8300' },
      ],
    },
    configurationIndex: 9n,
    size: 12345n,
  };
  assert.deepEqual(m, want);
  const big = decodeMeta(doc('{"Index":18446744073709551615,"Size":-9223372036854775808}'));
  assert.equal(big.index, 2n ** 64n - 1n);
  assert.equal(big.size, -(2n ** 63n));
  assert.deepEqual(
    decodeMeta(doc('{"Peers":"","Configuration":{"Servers":[]}}')).peers,
    new Uint8Array(0),
  );
  assert.deepEqual(decodeMeta(doc('{"Configuration":{"Servers":[]}}')).configuration.servers, []);
});

test('top-level null returns `into` itself, or a zero meta', () => {
  const into = decodeMeta(doc(FULL));
  assert.equal(decodeMeta(doc('null'), into), into);
  assert.deepEqual(decodeMeta(doc('null')), zeroMeta());
});

test('`into` is not modified', () => {
  const into = decodeMeta(doc(FULL));
  const before = structuredClone(into);
  const after = decodeMeta(
    doc('{"Index":1,"Peers":[7],"Configuration":{"Servers":[{"ID":"x"}]}}'),
    into,
  );
  assert.deepEqual(into, before);
  assert.equal(after.index, 1n);
  assert.equal(after.configuration.servers?.[0].address, '10.0.0.1:8300');
});

test('`into` memory is never written, even through a view on a larger buffer', () => {
  const backing = Uint8Array.of(1, 2, 3, 4, 5, 6);
  const into: SnapshotMeta = { ...zeroMeta(), peers: backing.subarray(0, 3) };
  const m = decodeMeta(doc('{"Peers":[9,null,null,null]}'), into);
  assert.deepEqual(m.peers, Uint8Array.of(9, 2, 3, 0));
  assert.deepEqual(backing, Uint8Array.of(1, 2, 3, 4, 5, 6));
});

test('`into` built by the caller has capacity equal to its length', () => {
  // Go: a struct holding Peers []byte{1, 2, 3} with cap 3 (observed by decoding "AQID" first).
  const into: SnapshotMeta = { ...zeroMeta(), peers: Uint8Array.of(1, 2, 3) };
  const m = decodeMeta(doc('{"Peers":[4],"Peers":[null,null,null,null]}'), into);
  assert.deepEqual(m.peers, Uint8Array.of(4, 2, 3, 0));
  assert.deepEqual(
    run([doc('{"Peers":"AQID"}'), doc('{"Peers":[4],"Peers":[null,null,null,null]}')]).at(-1),
    ok(ZERO.replace('"Peers":null', '"Peers":"BAIDAA=="')),
  );
});

test('a caller-modified result is taken at face value', () => {
  const first = decodeMeta(doc('{"Peers":[1,2,3,4,5],"Peers":[6]}'));
  // Untouched: Go's hidden elements come back.
  assert.deepEqual(
    decodeMeta(doc('{"Peers":[null,null,null]}'), first).peers,
    Uint8Array.of(6, 2, 3),
  );
  // Replaced by the caller: a fresh slice of that length.
  const changed = { ...first, peers: Uint8Array.of(9) };
  assert.deepEqual(
    decodeMeta(doc('{"Peers":[null,null,null]}'), changed).peers,
    Uint8Array.of(9, 0, 0),
  );
  // Mutated in place: also a fresh slice.
  first.peers![0] = 8;
  assert.deepEqual(
    decodeMeta(doc('{"Peers":[null,null,null]}'), first).peers,
    Uint8Array.of(8, 0, 0),
  );
});

test('errors are SnapshotError META with Go messages', () => {
  assert.throws(
    () => decodeMeta(doc('{"Index":"x"}')),
    (e: unknown) =>
      isSnapshotError(e) &&
      e.code === 'META' &&
      e.message ===
        'json: cannot unmarshal string into Go struct field SnapshotMeta.Index of type uint64',
  );
});

test('encodeMeta: Go int extremes and lossy values', () => {
  const m = {
    ...zeroMeta(),
    version: 2 ** 63,
    configuration: { servers: [{ suffrage: -(2 ** 63), id: '', address: '' }] },
  };
  const s = text(encodeMeta(m));
  assert.match(s, /"Version":9223372036854775807,/);
  assert.match(s, /"Suffrage":-9223372036854775808,/);
  assert.match(text(encodeMeta({ ...zeroMeta(), version: -0 })), /"Version":0,/);
});

test('encodeMeta: a lone surrogate is written as U+FFFD', () => {
  const s = text(encodeMeta({ ...zeroMeta(), id: 'a\ud800b\udc00' }));
  assert.match(s, /"ID":"a\ufffdb\ufffd"/);
});

test('encodeMeta: escaping as Go 1.19 (HTML-safe, \\u0008 and \\u000c, DEL raw)', () => {
  const s = text(
    encodeMeta({ ...zeroMeta(), id: '<>&\u2028\u2029\b\f\n\r\t\u0000\u001f\u007f"\\/é😀' }),
  );
  assert.match(
    s,
    /"ID":"\\u003c\\u003e\\u0026\\u2028\\u2029\\u0008\\u000c\\n\\r\\t\\u0000\\u001f\u007f\\"\\\\\/é😀"/,
  );
});

test('encodeMeta rejects values Go cannot hold', () => {
  const bad: [string, Partial<SnapshotMeta>][] = [
    ['negative index', { index: -1n }],
    ['index beyond uint64', { index: 2n ** 64n }],
    ['term as a number', { term: 1 as unknown as bigint }],
    ['configurationIndex beyond uint64', { configurationIndex: 2n ** 64n }],
    ['size beyond int64', { size: 2n ** 63n }],
    ['size below int64', { size: -(2n ** 63n) - 1n }],
    ['fractional version', { version: 1.5 }],
    ['NaN version', { version: Number.NaN }],
    ['version beyond int64', { version: 2 ** 64 }],
    ['id not a string', { id: 1 as unknown as string }],
    ['peers as an array', { peers: [1] as unknown as Uint8Array }],
    ['servers not an array', { configuration: { servers: {} as unknown as SnapshotServer[] } }],
    [
      'fractional suffrage',
      { configuration: { servers: [{ suffrage: 0.5, id: '', address: '' }] } },
    ],
    [
      'address missing',
      { configuration: { servers: [{ suffrage: 0, id: '' } as SnapshotServer] } },
    ],
  ];
  for (const [name, patch] of bad) {
    const m = { ...zeroMeta(), ...patch };
    assert.throws(
      () => encodeMeta(m),
      (e: unknown) => isSnapshotError(e) && e.code === 'INVALID_ARGUMENT',
      name,
    );
    assert.throws(
      () => decodeMeta(doc('{}'), m),
      (e: unknown) => isSnapshotError(e) && e.code === 'INVALID_ARGUMENT',
      name,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** Well-formed strings with the characters Go escapes specially. */
const goString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({
    unit: fc.constantFrom(
      '<',
      '>',
      '&',
      '\u2028',
      '\u2029',
      '\u0000',
      '\b',
      '\f',
      '\n',
      '\r',
      '\t',
      '"',
      '\\',
      '\u007f',
      '\ufeff',
      '\ufffd',
      '😀',
      'é',
      'a',
      '/',
    ),
  }),
);
const u64 = fc.oneof(
  fc.constantFrom(0n, 2n ** 64n - 1n),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
);
const i64 = fc.oneof(
  fc.constantFrom(-(2n ** 63n), 2n ** 63n - 1n, 0n),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
);
const safeInt = fc.oneof(
  fc.constantFrom(0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
  fc.integer(),
  fc.maxSafeInteger(),
);
/** Any double Go's int64 can come from: integers in [-2^63, 2^63]. */
const goIntDouble = fc.oneof(
  safeInt,
  fc.constantFrom(2 ** 63, -(2 ** 63)),
  fc.double({ min: -(2 ** 63), max: 2 ** 63, noNaN: true }).map((x) => Math.trunc(x) || 0),
);

function metaArb(int: fc.Arbitrary<number>, str: fc.Arbitrary<string>): fc.Arbitrary<SnapshotMeta> {
  const server = fc.record({ suffrage: int, id: str, address: str }, { noNullPrototype: true });
  return fc.record(
    {
      version: int,
      id: str,
      index: u64,
      term: u64,
      peers: fc.option(
        fc.oneof(fc.uint8Array({ maxLength: 0 }), fc.uint8Array({ maxLength: 64 })),
        {
          nil: null,
        },
      ),
      configuration: fc.record(
        {
          servers: fc.option(
            fc.oneof(fc.array(server, { maxLength: 0 }), fc.array(server, { maxLength: 8 })),
            { nil: null },
          ),
        },
        { noNullPrototype: true },
      ),
      configurationIndex: u64,
      size: i64,
    },
    { noNullPrototype: true },
  );
}

test('property: decode(encode(m)) equals m', () => {
  fc.assert(
    fc.property(metaArb(safeInt, goString), (m) => {
      const back = decodeMeta(encodeMeta(m));
      assert.deepEqual(back, m);
    }),
    { numRuns: 1000 },
  );
});

test('property: encode is stable and Go-shaped', () => {
  const anyString = fc.oneof(
    goString,
    fc.string({ unit: 'binary' }),
    fc.string({ unit: fc.constantFrom('\ud800', '\udc00', 'x') }),
  );
  fc.assert(
    fc.property(metaArb(goIntDouble, anyString), (m) => {
      const once = encodeMeta(m);
      const twice = encodeMeta(decodeMeta(once));
      assert.deepEqual(twice, once);
      const s = text(once);
      assert.ok(s.endsWith('}\n'));
      assert.doesNotMatch(s.slice(0, -1), /[<>&\u2028\u2029\u0000-\u001f]/);
      assert.ok(
        s.startsWith('{"Version":') &&
          /,"ID":.*,"Index":\d+,"Term":\d+,"Peers":(null|"[A-Za-z0-9+/]*={0,2}"),"Configuration":\{"Servers":.*\},"ConfigurationIndex":\d+,"Size":-?\d+\}\n$/s.test(
            s,
          ),
      );
    }),
    { numRuns: 1000 },
  );
});

test('property: any bytes either decode or throw META', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.string().map((s) => utf8.encode(s)),
        metaArb(safeInt, goString).map((m) => {
          const b = encodeMeta(m);
          return b.subarray(0, b.length >> 1);
        }),
      ),
      (bytes) => {
        try {
          decodeMeta(bytes);
        } catch (e) {
          assert.ok(isSnapshotError(e) && e.code === 'META', String(e));
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('property: Peers as an array of numbers equals the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const m = decodeMeta(doc(`{"Peers":[${bytes.join(',')}]}`));
      assert.deepEqual(m.peers, bytes);
    }),
  );
});

test('Version and Suffrage beyond ±2^53 are written back exactly; a changed value is written as changed', () => {
  for (const v of [
    '9007199254740993',
    '9223372036854775807',
    '-9223372036854775808',
    '-9007199254740993',
  ]) {
    const doc = `{"Version":${v},"ID":"","Index":0,"Term":0,"Peers":null,"Configuration":{"Servers":[{"Suffrage":${v},"ID":"a","Address":"b"}]},"ConfigurationIndex":0,"Size":0}\n`;
    const m = decodeMeta(new TextEncoder().encode(doc));
    assert.equal(new TextDecoder().decode(encodeMeta(m)), doc);
    // Decoding on top of it (a second meta.json) keeps what was not overwritten.
    const merged = decodeMeta(new TextEncoder().encode('{"ID":"x"}'), m);
    assert.match(
      new TextDecoder().decode(encodeMeta(merged)),
      new RegExp(`^\\{"Version":${v},"ID":"x",.*"Suffrage":${v},`),
    );
    m.version = 7;
    assert.match(new TextDecoder().decode(encodeMeta(m)), /^\{"Version":7,/);
  }
});

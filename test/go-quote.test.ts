/**
 * goQuote is Go's strconv.Quote (the reference's %q): every expectation below is what Go 1.19
 * prints for the same bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goQuote, goQuoteString } from '../src/format/go-quote.js';
import { TarWriter } from '../src/format/tar-writer.js';
import { verify } from '../src/node/index.js';
import { concat, gzip } from './support/bytes.js';
import { byteStringBytes as bytes } from './support/tar-fields.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

test("goQuote writes bytes as Go's %q does", () => {
  const cases: [Uint8Array, string][] = [
    [utf8('meta.json'), '"meta.json"'],
    [bytes('\x00meta.json'), '"\\x00meta.json"'],
    [bytes('a\tb\nc\r\x07\x08\x0b\x0c'), '"a\\tb\\nc\\r\\a\\b\\v\\f"'],
    [utf8('"\\'), '"\\"\\\\"'],
    [bytes('\x7f'), '"\\x7f"'],
    [bytes('x\x1by'), '"x\\x1by"'],
    // Not printable: other spaces, format characters, separators, private use.
    [utf8('\u00a0\u00ad\u2028'), '"\\u00a0\\u00ad\\u2028"'],
    [utf8('\ue000'), '"\\ue000"'],
    [utf8('\u{10ffff}'), '"\\U0010ffff"'],
    [bytes('\xf2\xbb\x85\xb4'), '"\\U000bb174"'], // unassigned
    // Printable: written as they are, U+FFFD included.
    [utf8('é ſ 日本'), '"é ſ 日本"'],
    [utf8('😀'), '"😀"'],
    [bytes('\xef\xbf\xbd'), '"\ufffd"'],
    // Bytes that are not valid UTF-8, one escape each.
    [bytes('\xff'), '"\\xff"'],
    [bytes('\xc0\x80'), '"\\xc0\\x80"'],
    [bytes('\xed\xa0\x80'), '"\\xed\\xa0\\x80"'],
    [bytes('\xe6\x97'), '"\\xe6\\x97"'],
  ];
  for (const [input, want] of cases) assert.equal(goQuote(input), want);
  assert.equal(goQuoteString('\u0000meta.json'), '"\\x00meta.json"');
});

test('archive errors name files with %q, from the exact bytes of the tar header', async () => {
  const tw = new TarWriter();
  const mtime = new Date(0);
  const name = bytes('bad\xffname\x01');
  const tar = concat(tw.header(name, 0, mtime), tw.end());
  await assert.rejects(verify(gzip(tar)), {
    message: 'failed to read snapshot file: unexpected file "bad\\xffname\\x01" in snapshot',
  });
  const sums = utf8(`${'0'.repeat(64)}  \x01x\n`);
  const listed = concat(tw.header('SHA256SUMS', sums.length, mtime), sums, tw.padding(sums.length));
  await assert.rejects(verify(gzip(concat(listed, tw.end()))), {
    message:
      'failed to read snapshot file: failed checking integrity of snapshot: list missing hash for "\\x01x"',
  });
});

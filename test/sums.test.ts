/**
 * SHA256SUMS lines are matched as Go's bufio.Scanner + fmt.Sscanf("%x  %s") match them.
 * Every expectation below was observed from Go 1.19.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { encodeSums, SumsCheck, verifySums } from '../src/format/sums.js';

const digest = new Uint8Array(32).fill(0xab);
const other = new Uint8Array(32).fill(0xcd);
const h = 'ab'.repeat(32);
const enc = (s: string) => new TextEncoder().encode(s);
/** Only meta.json is expected, so a line naming it with the right digest passes. */
const only = new Map([['meta.json', digest]]);

function outcome(text: string | Uint8Array, sums: Map<string, Uint8Array> = only): string {
  try {
    verifySums(typeof text === 'string' ? enc(text) : text, sums);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

const cases: [string, string, string][] = [
  ['the reference form', `${h}  meta.json\n`, 'ok'],
  ['leading spaces', `  ${h}  meta.json\n`, 'ok'],
  ['one space between', `${h} meta.json\n`, 'ok'],
  ['a tab between', `${h}\tmeta.json\n`, 'ok'],
  ['words after the name are ignored', `${h}  meta.json extra words\n`, 'ok'],
  ['CRLF', `${h}  meta.json\r\n`, 'ok'],
  ['a second CR ends the name', `${h}  meta.json\r\r\n`, 'ok'],
  ['upper-case hex', `${h.toUpperCase()}  meta.json\n`, 'ok'],
  ['NBSP is a space', `${h}\u00a0meta.json\n`, 'ok'],
  ['ideographic spaces', `${h}\u3000\u3000meta.json\n`, 'ok'],
  ['no final newline', `${h}  meta.json`, 'ok'],
  ['vertical tab is a space', `${h}\u000bmeta.json\n`, 'ok'],
  ['U+0085 is a space', `${h}\u0085meta.json\n`, 'ok'],
  ['CR right after the hex is a space', `${h}\r  meta.json\n`, 'ok'],
  ['no space before the name', `${h}meta.json\n`, 'expected space in input to match format'],
  ['no name', `${h}\n`, 'EOF'],
  ['spaces but no name', `${h}  \n`, 'EOF'],
  ['an empty line', '\n', 'EOF'],
  ['a blank line', '   \n', 'EOF'],
  ['an empty line after a good one', `${h}  meta.json\n\n`, 'EOF'],
  ['odd hex digits before a space', `${h.slice(0, -1)}  meta.json\n`, 'illegal hex digit'],
  ['odd hex digits at the end', h.slice(0, -1), 'unexpected EOF'],
  ['a non-hex second digit', `${h.slice(0, -1)}g  meta.json\n`, 'illegal hex digit'],
  ['no hex at all', 'zz  meta.json\n', 'no hex data for %x string'],
  ['NBSP inside the name cuts it', `${h}  meta\u00a0json\n`, 'list missing hash for "meta"'],
  ['a short digest', `${'ab'.repeat(31)}  meta.json\n`, 'hash check failed for "meta.json"'],
  ['a longer digest', `${'ab'.repeat(33)}  meta.json\n`, 'hash check failed for "meta.json"'],
  ['an unknown file', `${h}  nope\n`, 'list missing hash for "nope"'],
  ['an empty list', '', 'file missing for "meta.json"'],
  ['a line of 65535 bytes is read', 'a'.repeat(65535), 'unexpected EOF'],
  ['a line of 65536 bytes is too long', 'a'.repeat(65536), 'bufio.Scanner: token too long'],
  [
    'a line of 70000 bytes and a newline is too long',
    `${'a'.repeat(70000)}\n`,
    'bufio.Scanner: token too long',
  ],
];

for (const [what, text, expected] of cases) {
  test(`SHA256SUMS: ${what} → ${expected}`, () => {
    assert.equal(outcome(text), expected);
  });
}

test('SHA256SUMS: invalid UTF-8 in a name becomes U+FFFD, as Go reads it', () => {
  const bytes = new Uint8Array([...enc(`${h}  m`), 0xff, ...enc('eta\n')]);
  assert.equal(outcome(bytes), 'list missing hash for "m\ufffdeta"');
});

test('SHA256SUMS: lines are checked in order; the first failure is reported', () => {
  const sums = new Map([
    ['meta.json', digest],
    ['state.bin', other],
  ]);
  assert.equal(
    outcome(`${h}  meta.json\n${h}  state.bin\n`, sums),
    'hash check failed for "state.bin"',
  );
  assert.equal(outcome(`${h}  nope\n${h}  state.bin\n`, sums), 'list missing hash for "nope"');
  assert.equal(outcome(`${h}  meta.json\n`, sums), 'file missing for "state.bin"');
  assert.equal(outcome(`${h}  meta.json\n${'cd'.repeat(32)}  state.bin`, sums), 'ok');
  assert.equal(
    outcome(`${'cd'.repeat(32)}  state.bin\n${h}  meta.json\n${h}  meta.json\n`, sums),
    'ok',
  );
});

test('encodeSums writes "<hex>  <name>\\n" per file and verifySums accepts it', () => {
  const sums = new Map([
    ['meta.json', digest],
    ['state.bin', other],
  ]);
  const text = encodeSums(sums);
  assert.equal(new TextDecoder().decode(text), `${h}  meta.json\n${'cd'.repeat(32)}  state.bin\n`);
  assert.equal(outcome(text, sums), 'ok');
});

/** Digests of both files for the SumsCheck tests, and their hex. */
const a = new Uint8Array(32).fill(0xaa);
const b = new Uint8Array(32).fill(0xbb);
const both = new Map([
  ['meta.json', a],
  ['state.bin', b],
]);
const hexOf = (d: Uint8Array) => Buffer.from(d).toString('hex');

/** The verdict of SumsCheck on `text` pushed in the pieces `cuts` makes: 'ok' or the message. */
function cutOutcome(
  text: Uint8Array,
  cuts: number[],
  digests: Map<string, Uint8Array> = both,
): string {
  const check = new SumsCheck([...digests.keys()]);
  let at = 0;
  for (const cut of [...cuts.filter((c) => c < text.length)].sort((a, b) => a - b)) {
    check.push(text.subarray(at, cut));
    at = cut;
  }
  check.push(text.subarray(at));
  try {
    check.finish(digests);
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
}

test('SumsCheck: the verdict does not depend on how the list is cut into pieces', () => {
  const line = fc.oneof(
    fc.constant(`${hexOf(a)}  meta.json\n`),
    fc.constant(`${hexOf(b)}  state.bin\n`),
    fc.constant(`${hexOf(b)}  meta.json\n`),
    fc.constant(`${hexOf(a)}  state.bin\r\n`),
    fc.constant(`${'c'.repeat(64)}  state.bin\n`),
    fc.constant(`${hexOf(a)}  other\n`),
    fc.constant('not a line\n'),
    fc.constant('\n'),
    fc.constant(`${'x'.repeat(65536)}\n`),
  );
  fc.assert(
    fc.property(
      fc.array(line, { maxLength: 12 }),
      fc.boolean(),
      fc.array(fc.nat(200_000), { maxLength: 8 }),
      (lines, lastNewline, cuts) => {
        let text = lines.join('');
        if (!lastNewline) text = text.replace(/\n$/, '');
        const bytes = new TextEncoder().encode(text);
        assert.equal(cutOutcome(bytes, cuts), cutOutcome(bytes, []));
      },
    ),
    { numRuns: 300 },
  );
});

test('SumsCheck: the earliest failing line decides, a wrong sum as much as a malformed line', () => {
  const text = (lines: string[]) => new TextEncoder().encode(lines.join(''));
  const good = [`${hexOf(a)}  meta.json\n`, `${hexOf(b)}  state.bin\n`];
  // Two different sums for one name: one of them is wrong, at its place in the list.
  assert.equal(
    cutOutcome(text([`${hexOf(b)}  meta.json\n`, ...good, 'junk\n']), []),
    'hash check failed for "meta.json"',
  );
  assert.equal(
    cutOutcome(text([...good, `${hexOf(b)}  meta.json\n`, `${hexOf(b)}  other\n`]), [70]),
    'hash check failed for "meta.json"',
  );
  assert.equal(
    cutOutcome(text([...good, `${hexOf(a)}  other\n`, `${hexOf(b)}  meta.json\n`]), [70]),
    'list missing hash for "other"',
  );
  // Any number of repeats of right lines changes nothing.
  assert.equal(cutOutcome(text(Array(5000).fill(good).flat()), [8191, 16382]), 'ok');
});

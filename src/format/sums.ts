/**
 * SHA256SUMS: the integrity list inside a snapshot archive, `<hex>  <name>\n` per file.
 *
 * Reading reproduces the reference exactly: the text is split into lines as Go's bufio.Scanner
 * does (a trailing "\r" dropped, no empty final line, lines of 64 KiB or more rejected), and each
 * line is matched as Go's `fmt.Sscanf(line, "%x  %s", &sum, &name)` matches it (leading spaces
 * skipped, hex pairs until the first non-hex character, at least one space, a name ending at the
 * next space; anything after the name is ignored).
 */
import { SnapshotError } from '../errors.js';
import { decodeRune } from './go-json.js';
import { goQuoteString } from './go-quote.js';

const HEX = '0123456789abcdef';

/** Lower-case hexadecimal of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

/** Encodes the list as the reference writes it: one `<hex>  <name>\n` line per file. */
export function encodeSums(sums: ReadonlyMap<string, Uint8Array>): Uint8Array {
  let text = '';
  for (const [name, digest] of sums) text += `${toHex(digest)}  ${name}\n`;
  return new TextEncoder().encode(text);
}

/** Go's bufio.MaxScanTokenSize: a line (without its newline) this long or longer is an error. */
const MAX_LINE = 64 * 1024;

/**
 * Checks `text` against the digests in `sums` with the reference's rules, in order: a malformed
 * line is an error; a listed name that is not in `sums` is "list missing hash for"; a wrong
 * digest is "hash check failed for"; after the last line, a name in `sums` that no line listed is
 * "file missing for". Throws SnapshotError('INTEGRITY') with that message; returns on success.
 * When several names are missing, the reference names one of them in Go's random map order (the
 * same archive may get either message from run to run); this names the first in `sums`' order.
 */
export function verifySums(text: Uint8Array, sums: ReadonlyMap<string, Uint8Array>): void {
  const check = new SumsCheck([...sums.keys()]);
  check.push(text);
  check.finish(sums);
}

/**
 * {@link verifySums} over a list that arrives in pieces (the SHA256SUMS entries of an archive,
 * before the digests are known), in memory that does not grow with the list: each complete line
 * is read as it arrives and only what can still decide the verdict is kept. That is, per name,
 * the first two different sums listed for it (with a third, one of the first two is already
 * wrong, and it comes earlier), the first line that fails whatever the digests are (malformed,
 * an unknown name, 64 KiB or longer), and the unfinished last line.
 */
export class SumsCheck {
  private carry: Uint8Array = new Uint8Array(0);
  private lines = 0;
  /** The first line that fails whatever the digests are: its number and error. */
  private decided: { line: number; error: SnapshotError } | undefined;
  private readonly listed = new Map<string, { sum: Uint8Array; line: number }[]>();

  /** `names`: the files the list must cover, in the order "file missing for" looks at them. */
  constructor(names: readonly string[]) {
    for (const n of names) this.listed.set(n, []);
  }

  /** Takes the next bytes of the list. */
  push(bytes: Uint8Array): void {
    if (this.decided || bytes.length === 0) return;
    let data = bytes;
    if (this.carry.length > 0) {
      data = new Uint8Array(this.carry.length + bytes.length);
      data.set(this.carry);
      data.set(bytes, this.carry.length);
    }
    let start = 0;
    for (;;) {
      const end = data.indexOf(0x0a, start);
      if (end < 0) break;
      this.line(data.subarray(start, end));
      if (this.decided) return;
      start = end + 1;
    }
    this.carry = data.slice(start);
    if (this.carry.length >= MAX_LINE) this.line(this.carry);
  }

  /**
   * The list is complete: checks it against `digests` (one for each name given to the
   * constructor). Throws SnapshotError('INTEGRITY') as {@link verifySums} does.
   */
  finish(digests: ReadonlyMap<string, Uint8Array>): void {
    if (!this.decided && this.carry.length > 0) this.line(this.carry);
    this.carry = new Uint8Array(0);
    let first = this.decided;
    for (const [name, sums] of this.listed) {
      const wrong = sums.find((s) => !equalBytes(s.sum, digests.get(name) ?? new Uint8Array(0)));
      if (wrong && (!first || wrong.line < first.line)) {
        first = {
          line: wrong.line,
          error: new SnapshotError('INTEGRITY', `hash check failed for ${goQuoteString(name)}`),
        };
      }
    }
    if (first) throw first.error;
    for (const [name, sums] of this.listed) {
      if (sums.length === 0)
        throw new SnapshotError('INTEGRITY', `file missing for ${goQuoteString(name)}`);
    }
  }

  /** One line (its newline taken off), in order. */
  private line(bytes: Uint8Array): void {
    const n = this.lines++;
    const decide = (error: SnapshotError) => {
      this.decided = { line: n, error };
    };
    if (bytes.length >= MAX_LINE) {
      decide(new SnapshotError('INTEGRITY', 'bufio.Scanner: token too long'));
      return;
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    let parsed: { sum: Uint8Array; name: string };
    try {
      parsed = scanLine(bytes.subarray(0, end));
    } catch (err) {
      decide(err as SnapshotError);
      return;
    }
    const sums = this.listed.get(parsed.name);
    if (!sums) {
      decide(new SnapshotError('INTEGRITY', `list missing hash for ${goQuoteString(parsed.name)}`));
      return;
    }
    if (sums.length < 2 && !sums.some((s) => equalBytes(s.sum, parsed.sum))) {
      sums.push({ sum: parsed.sum, line: n });
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The rune reader fmt.Sscanf uses, over the bytes of one line. */
class Runes {
  pos = 0;
  private last = 0;
  constructor(private readonly b: Uint8Array) {}

  /** Next rune, or -1 at the end. Invalid UTF-8 decodes as U+FFFD consuming one byte. */
  get(): number {
    if (this.pos >= this.b.length) {
      this.last = 0;
      return -1;
    }
    const [r, size] = decodeRune(this.b, this.pos);
    this.pos += size;
    this.last = size;
    return r;
  }

  unget(): void {
    this.pos -= this.last;
    this.last = 0;
  }
}

/** Go fmt's isSpace (newline included; lines never contain one). */
function isSpace(r: number): boolean {
  return (
    (r >= 0x09 && r <= 0x0d) ||
    r === 0x20 ||
    r === 0x85 ||
    r === 0xa0 ||
    r === 0x1680 ||
    (r >= 0x2000 && r <= 0x200a) ||
    r === 0x2028 ||
    r === 0x2029 ||
    r === 0x202f ||
    r === 0x205f ||
    r === 0x3000
  );
}

function hexDigit(r: number): number {
  if (r >= 0x30 && r <= 0x39) return r - 0x30;
  if (r >= 0x61 && r <= 0x66) return r - 0x61 + 10;
  if (r >= 0x41 && r <= 0x46) return r - 0x41 + 10;
  return -1;
}

const scanError = (msg: string) => new SnapshotError('INTEGRITY', msg);

function skipSpace(rs: Runes): void {
  for (;;) {
    const r = rs.get();
    if (r === -1) return;
    if (!isSpace(r)) {
      rs.unget();
      return;
    }
  }
}

/** `fmt.Sscanf(line, "%x  %s", &sum, &name)` with Go's results and error strings. */
function scanLine(line: Uint8Array): { sum: Uint8Array; name: string } {
  const rs = new Runes(line);
  // %x into *[]byte: skip spaces, require input, then hex pairs.
  skipSpace(rs);
  if (rs.get() === -1) throw scanError('EOF');
  rs.unget();
  const sum: number[] = [];
  for (;;) {
    const r1 = rs.get();
    if (r1 === -1) break;
    const v1 = hexDigit(r1);
    if (v1 < 0) {
      rs.unget();
      break;
    }
    const r2 = rs.get();
    if (r2 === -1) throw scanError('unexpected EOF');
    const v2 = hexDigit(r2);
    if (v2 < 0) throw scanError('illegal hex digit');
    sum.push((v1 << 4) | v2);
  }
  if (sum.length === 0) throw scanError('no hex data for %x string');
  // "  " in the format: at least one space (or the end), then any further spaces.
  let r = rs.get();
  if (r !== -1 && !isSpace(r)) throw scanError('expected space in input to match format');
  while (r !== -1 && isSpace(r)) r = rs.get();
  if (r !== -1) rs.unget();
  // %s: skip spaces, require input, then the word up to the next space.
  skipSpace(rs);
  if (rs.get() === -1) throw scanError('EOF');
  rs.unget();
  let name = '';
  for (;;) {
    const c = rs.get();
    if (c === -1) break;
    if (isSpace(c)) {
      rs.unget();
      break;
    }
    name += String.fromCodePoint(c);
  }
  return { sum: Uint8Array.from(sum), name };
}

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
  const seen = new Set<string>();
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(0x0a, start);
    if (end < 0) end = text.length;
    if (end - start >= MAX_LINE) {
      throw new SnapshotError('INTEGRITY', 'bufio.Scanner: token too long');
    }
    let lineEnd = end;
    if (lineEnd > start && text[lineEnd - 1] === 0x0d) lineEnd--;
    const { sum, name } = scanLine(text.subarray(start, lineEnd));
    const want = sums.get(name);
    if (want === undefined)
      throw new SnapshotError('INTEGRITY', `list missing hash for ${goQuoteString(name)}`);
    if (!equalBytes(sum, want))
      throw new SnapshotError('INTEGRITY', `hash check failed for ${goQuoteString(name)}`);
    seen.add(name);
    start = end + 1;
  }
  for (const name of sums.keys()) {
    if (!seen.has(name))
      throw new SnapshotError('INTEGRITY', `file missing for ${goQuoteString(name)}`);
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

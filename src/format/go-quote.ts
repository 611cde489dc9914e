/**
 * Go's strconv.Quote, the `%q` verb with which the reference names files in its errors
 * ("unexpected file %q in snapshot", "hash check failed for %q").
 *
 * Printable runes are written as they are; `"` and `\` are escaped; \a \b \f \n \r \t \v by
 * name; other control characters and DEL as \xNN; other unprintable runes as \uNNNN or
 * \UNNNNNNNN; and each byte that is not part of valid UTF-8 as \xNN. Printable means Go's
 * strconv.IsPrint: a letter, mark, number, punctuation or symbol, or the ASCII space. Go 1.19
 * decides that with Unicode 13 and this with the runtime's Unicode (15 in Node 20), so a
 * character assigned since Unicode 13 is escaped by the reference and written as it is here.
 */
import { decodeRune } from './go-json.js';

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const NAMED: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  12: '\\f',
  10: '\\n',
  13: '\\r',
  9: '\\t',
  11: '\\v',
};

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** `bytes` (a Go string) quoted as strconv.Quote quotes it. */
export function goQuote(bytes: Uint8Array): string {
  let out = '"';
  for (let i = 0; i < bytes.length; ) {
    const [r, size] = decodeRune(bytes, i);
    if (r === 0xfffd && size === 1) {
      out += `\\x${hex(bytes[i], 2)}`;
    } else if (r === 0x22 || r === 0x5c) {
      out += `\\${String.fromCharCode(r)}`;
    } else if (r >= 0x20 && r < 0x7f) {
      out += String.fromCharCode(r);
    } else if (NAMED[r] !== undefined) {
      out += NAMED[r];
    } else if (r < 0x20 || r === 0x7f) {
      out += `\\x${hex(r, 2)}`;
    } else if (PRINTABLE.test(String.fromCodePoint(r))) {
      out += String.fromCodePoint(r);
    } else if (r < 0x10000) {
      out += `\\u${hex(r, 4)}`;
    } else {
      out += `\\U${hex(r, 8)}`;
    }
    i += size;
  }
  return `${out}"`;
}

/** A JS string (as UTF-8, the way Go holds it) quoted as strconv.Quote quotes it. */
export function goQuoteString(s: string): string {
  return goQuote(new TextEncoder().encode(s));
}

/**
 * Byte-exact ports of the parts of Go 1.19's encoding/json (and the encoding/base64 and
 * unicode/utf8 code it relies on) that raftsnap needs to read and write meta.json exactly as
 * hashicorp/raft-snapshot does:
 *
 * - `checkValid`: Go's scanner, with its exact syntax error messages;
 * - `skipSpace`, `literalEnd`, `valueEnd`: moving over input that `checkValid` accepted;
 * - `unquoteBytes`, `goBytesToString`: Go's string literal decoding (invalid UTF-8 and lone
 *   surrogate escapes become U+FFFD);
 * - `quoteString`: Go's string encoding with HTML escaping (what `json.Encoder` does);
 * - `base64StdDecode`, `base64StdEncode`: how Go's encoding/json turns `[]byte` into JSON strings
 *   and back (base64.StdEncoding, with Go's quirks and error offsets).
 *
 * Everything works on bytes (Uint8Array) and uses no runtime-specific API.
 */

// ---------------------------------------------------------------------------------------------
// Scanner (scanner.go)
// ---------------------------------------------------------------------------------------------

/** Go's maxNestingDepth: deeper arrays/objects are a syntax error. */
const MAX_NESTING_DEPTH = 10000;

enum S {
  BeginValue,
  BeginValueOrEmpty,
  BeginStringOrEmpty,
  BeginString,
  EndValue,
  EndTop,
  InString,
  InStringEsc,
  InStringEscU,
  InStringEscU1,
  InStringEscU12,
  InStringEscU123,
  Neg,
  One,
  Zero,
  Dot,
  Dot0,
  E,
  ESign,
  E0,
  T,
  Tr,
  Tru,
  F,
  Fa,
  Fal,
  Fals,
  N,
  Nu,
  Nul,
}

enum P {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

const LOWER_HEX = '0123456789abcdef';

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * Go's `quoteChar`: the byte as it appears in a SyntaxError message, i.e. `strconv.Quote` of
 * the rune U+00XX with single quotes.
 */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  if (c === 0x5c) return `'\\\\'`;
  if (c >= 0x20 && c <= 0x7e) return `'${String.fromCharCode(c)}'`;
  if (c >= 0xa1 && c !== 0xad) return `'${String.fromCharCode(c)}'`;
  const short: Record<number, string> = {
    7: 'a',
    8: 'b',
    12: 'f',
    10: 'n',
    13: 'r',
    9: 't',
    11: 'v',
  };
  const s = short[c];
  if (s !== undefined) return `'\\${s}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${LOWER_HEX[c >> 4]}${LOWER_HEX[c & 15]}'`;
  return `'\\u00${LOWER_HEX[c >> 4]}${LOWER_HEX[c & 15]}'`;
}

/**
 * Go's `checkValid`: runs the scanner over the whole input (a single JSON value, optionally
 * surrounded by JSON whitespace). Returns null if Go accepts the input, otherwise the message of
 * the SyntaxError Go reports (e.g. "invalid character 'x' looking for beginning of value",
 * "unexpected end of JSON input"). Bytes inside strings are not checked for valid UTF-8.
 */
export function checkValid(data: Uint8Array): string | null {
  const stack: P[] = [];
  let state: S = S.BeginValue;
  let endTop = false;
  let error: string | null = null;

  const fail = (c: number, context: string): void => {
    error = `invalid character ${quoteChar(c)} ${context}`;
  };
  const push = (c: number, p: P, next: S): void => {
    stack.push(p);
    state = next;
    if (stack.length > MAX_NESTING_DEPTH) fail(c, 'exceeded max depth');
  };
  const pop = (): void => {
    stack.pop();
    if (stack.length === 0) {
      state = S.EndTop;
      endTop = true;
    } else {
      state = S.EndValue;
    }
  };

  const literal = (c: number, want: number, next: S, context: string): void => {
    if (c === want) state = next;
    else fail(c, context);
  };
  // One scanner step: processes byte c in the current state (states that hand the byte on to
  // another state loop via `continue`).
  const step = (c: number): void => {
    for (;;) {
      switch (state) {
        case S.BeginValueOrEmpty:
          if (isSpace(c)) return;
          if (c === 0x5d) {
            state = S.EndValue;
            continue;
          }
          state = S.BeginValue;
          continue;
        case S.BeginValue:
          if (isSpace(c)) return;
          switch (c) {
            case 0x7b:
              push(c, P.ObjectKey, S.BeginStringOrEmpty);
              return;
            case 0x5b:
              push(c, P.ArrayValue, S.BeginValueOrEmpty);
              return;
            case 0x22:
              state = S.InString;
              return;
            case 0x2d:
              state = S.Neg;
              return;
            case 0x30:
              state = S.Zero;
              return;
            case 0x74:
              state = S.T;
              return;
            case 0x66:
              state = S.F;
              return;
            case 0x6e:
              state = S.N;
              return;
          }
          if (c >= 0x31 && c <= 0x39) {
            state = S.One;
            return;
          }
          fail(c, 'looking for beginning of value');
          return;
        case S.BeginStringOrEmpty:
          if (isSpace(c)) return;
          if (c === 0x7d) {
            stack[stack.length - 1] = P.ObjectValue;
            state = S.EndValue;
            continue;
          }
          state = S.BeginString;
          continue;
        case S.BeginString:
          if (isSpace(c)) return;
          if (c === 0x22) {
            state = S.InString;
            return;
          }
          fail(c, 'looking for beginning of object key string');
          return;
        case S.EndValue: {
          const n = stack.length;
          if (n === 0) {
            state = S.EndTop;
            endTop = true;
            continue;
          }
          if (isSpace(c)) return;
          const ps = stack[n - 1];
          if (ps === P.ObjectKey) {
            if (c === 0x3a) {
              stack[n - 1] = P.ObjectValue;
              state = S.BeginValue;
              return;
            }
            fail(c, 'after object key');
            return;
          }
          if (ps === P.ObjectValue) {
            if (c === 0x2c) {
              stack[n - 1] = P.ObjectKey;
              state = S.BeginString;
              return;
            }
            if (c === 0x7d) {
              pop();
              return;
            }
            fail(c, 'after object key:value pair');
            return;
          }
          if (c === 0x2c) {
            state = S.BeginValue;
            return;
          }
          if (c === 0x5d) {
            pop();
            return;
          }
          fail(c, 'after array element');
          return;
        }
        case S.EndTop:
          if (!isSpace(c)) fail(c, 'after top-level value');
          return;
        case S.InString:
          if (c === 0x22) state = S.EndValue;
          else if (c === 0x5c) state = S.InStringEsc;
          else if (c < 0x20) fail(c, 'in string literal');
          return;
        case S.InStringEsc:
          switch (c) {
            case 0x62:
            case 0x66:
            case 0x6e:
            case 0x72:
            case 0x74:
            case 0x5c:
            case 0x2f:
            case 0x22:
              state = S.InString;
              return;
            case 0x75:
              state = S.InStringEscU;
              return;
          }
          fail(c, 'in string escape code');
          return;
        case S.InStringEscU:
        case S.InStringEscU1:
        case S.InStringEscU12:
        case S.InStringEscU123:
          if (!isHex(c)) {
            fail(c, 'in \\u hexadecimal character escape');
            return;
          }
          if (state === S.InStringEscU) state = S.InStringEscU1;
          else if (state === S.InStringEscU1) state = S.InStringEscU12;
          else if (state === S.InStringEscU12) state = S.InStringEscU123;
          else state = S.InString;
          return;
        case S.Neg:
          if (c === 0x30) state = S.Zero;
          else if (c >= 0x31 && c <= 0x39) state = S.One;
          else fail(c, 'in numeric literal');
          return;
        case S.One:
          if (isDigit(c)) return;
          state = S.Zero;
          continue;
        case S.Zero:
          if (c === 0x2e) {
            state = S.Dot;
            return;
          }
          if (c === 0x65 || c === 0x45) {
            state = S.E;
            return;
          }
          state = S.EndValue;
          continue;
        case S.Dot:
          if (isDigit(c)) state = S.Dot0;
          else fail(c, 'after decimal point in numeric literal');
          return;
        case S.Dot0:
          if (isDigit(c)) return;
          if (c === 0x65 || c === 0x45) {
            state = S.E;
            return;
          }
          state = S.EndValue;
          continue;
        case S.E:
          if (c === 0x2b || c === 0x2d) {
            state = S.ESign;
            return;
          }
          state = S.ESign;
          continue;
        case S.ESign:
          if (isDigit(c)) state = S.E0;
          else fail(c, 'in exponent of numeric literal');
          return;
        case S.E0:
          if (isDigit(c)) return;
          state = S.EndValue;
          continue;
        case S.T:
          literal(c, 0x72, S.Tr, "in literal true (expecting 'r')");
          return;
        case S.Tr:
          literal(c, 0x75, S.Tru, "in literal true (expecting 'u')");
          return;
        case S.Tru:
          literal(c, 0x65, S.EndValue, "in literal true (expecting 'e')");
          return;
        case S.F:
          literal(c, 0x61, S.Fa, "in literal false (expecting 'a')");
          return;
        case S.Fa:
          literal(c, 0x6c, S.Fal, "in literal false (expecting 'l')");
          return;
        case S.Fal:
          literal(c, 0x73, S.Fals, "in literal false (expecting 's')");
          return;
        case S.Fals:
          literal(c, 0x65, S.EndValue, "in literal false (expecting 'e')");
          return;
        case S.N:
          literal(c, 0x75, S.Nu, "in literal null (expecting 'u')");
          return;
        case S.Nu:
          literal(c, 0x6c, S.Nul, "in literal null (expecting 'l')");
          return;
        case S.Nul:
          literal(c, 0x6c, S.EndValue, "in literal null (expecting 'l')");
          return;
      }
    }
  };

  for (let i = 0; i < data.length; i++) {
    step(data[i]);
    if (error !== null) return error;
  }
  // Go's scanner.eof(): feed a space to end a pending number or literal.
  if (endTop) return null;
  step(0x20);
  if (error !== null) return error;
  if (endTop) return null;
  return 'unexpected end of JSON input';
}

// ---------------------------------------------------------------------------------------------
// Moving over input that checkValid accepted
// ---------------------------------------------------------------------------------------------

/** Index of the first non-whitespace byte at or after `i` (or `data.length`). */
export function skipSpace(data: Uint8Array, i: number): number {
  while (i < data.length && isSpace(data[i])) i++;
  return i;
}

/**
 * End (exclusive) of the string, number, true, false or null literal starting at `i`. The input
 * must have passed `checkValid`.
 */
export function literalEnd(data: Uint8Array, i: number): number {
  const c = data[i];
  if (c === 0x22) {
    for (i++; i < data.length; i++) {
      const b = data[i];
      if (b === 0x5c) i++;
      else if (b === 0x22) return i + 1;
    }
    return i;
  }
  if (c === 0x74 || c === 0x6e) return i + 4;
  if (c === 0x66) return i + 5;
  for (i++; i < data.length; i++) {
    const b = data[i];
    if (!(isDigit(b) || b === 0x2e || b === 0x65 || b === 0x45 || b === 0x2b || b === 0x2d)) break;
  }
  return i;
}

/**
 * End (exclusive) of the JSON value (of any kind, however deeply nested) starting at `i`. The
 * input must have passed `checkValid`.
 */
export function valueEnd(data: Uint8Array, i: number): number {
  let depth = 0;
  for (;;) {
    const c = data[i];
    if (c === 0x7b || c === 0x5b) {
      depth++;
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      i++;
    } else if (isSpace(c) || c === 0x2c || c === 0x3a) {
      i++;
      continue;
    } else {
      i = literalEnd(data, i);
    }
    if (depth === 0) return i;
  }
}

// ---------------------------------------------------------------------------------------------
// Strings: UTF-8 (unicode/utf8) and string literals (decode.go unquoteBytes, encode.go string)
// ---------------------------------------------------------------------------------------------

/**
 * Go's `utf8.DecodeRune` on `s[i:]`: returns `[rune, size]`; any invalid or truncated sequence
 * (including encoded surrogates and overlong forms) is `[0xfffd, 1]`.
 */
export function decodeRune(s: Uint8Array, i: number): [number, number] {
  const n = s.length - i;
  const b0 = s[i];
  if (b0 < 0x80) return [b0, 1];
  const bad: [number, number] = [0xfffd, 1];
  if (b0 < 0xc2 || b0 > 0xf4) return bad;
  const cont = (b: number, lo = 0x80, hi = 0xbf): boolean => b >= lo && b <= hi;
  if (b0 < 0xe0) {
    if (n < 2 || !cont(s[i + 1])) return bad;
    return [((b0 & 0x1f) << 6) | (s[i + 1] & 0x3f), 2];
  }
  if (b0 < 0xf0) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    if (n < 3 || !cont(s[i + 1], lo, hi) || !cont(s[i + 2])) return bad;
    return [((b0 & 0x0f) << 12) | ((s[i + 1] & 0x3f) << 6) | (s[i + 2] & 0x3f), 3];
  }
  const lo = b0 === 0xf0 ? 0x90 : 0x80;
  const hi = b0 === 0xf4 ? 0x8f : 0xbf;
  if (n < 4 || !cont(s[i + 1], lo, hi) || !cont(s[i + 2]) || !cont(s[i + 3])) return bad;
  return [
    ((b0 & 0x07) << 18) | ((s[i + 1] & 0x3f) << 12) | ((s[i + 2] & 0x3f) << 6) | (s[i + 3] & 0x3f),
    4,
  ];
}

function pushRune(out: number[], r: number): void {
  if (r < 0x80) out.push(r);
  else if (r < 0x800) out.push(0xc0 | (r >> 6), 0x80 | (r & 0x3f));
  else if (r < 0x10000) out.push(0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
  else {
    out.push(
      0xf0 | (r >> 18),
      0x80 | ((r >> 12) & 0x3f),
      0x80 | ((r >> 6) & 0x3f),
      0x80 | (r & 0x3f),
    );
  }
}

/** Go's getu4: the value of `\uXXXX` at `s[i:]`, or -1. */
function getu4(s: Uint8Array, i: number, end: number): number {
  if (end - i < 6 || s[i] !== 0x5c || s[i + 1] !== 0x75) return -1;
  let r = 0;
  for (let k = i + 2; k < i + 6; k++) {
    const c = s[k];
    let d: number;
    if (isDigit(c)) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
    else return -1;
    r = r * 16 + d;
  }
  return r;
}

const ESCAPES: Record<number, number> = {
  34: 0x22,
  92: 0x5c,
  47: 0x2f,
  39: 0x27,
  98: 0x08,
  102: 0x0c,
  110: 0x0a,
  114: 0x0d,
  116: 0x09,
};

/**
 * Go's `unquoteBytes`: the bytes a string literal `data[start:end]` (quotes included, accepted
 * by `checkValid`) stands for. Invalid UTF-8 becomes U+FFFD (one per bad byte, as Go's
 * utf8.DecodeRune does), `\uXXXX` surrogate pairs are combined and lone surrogates become U+FFFD,
 * so the result is always valid UTF-8. The result may share memory with `data`.
 */
export function unquoteBytes(data: Uint8Array, start: number, end: number): Uint8Array {
  const s0 = start + 1;
  const s1 = end - 1;
  let r = s0;
  while (r < s1) {
    const c = data[r];
    if (c === 0x5c || c === 0x22 || c < 0x20) break;
    if (c < 0x80) {
      r++;
      continue;
    }
    const [rr, size] = decodeRune(data.subarray(0, s1), r);
    if (rr === 0xfffd && size === 1) break;
    r += size;
  }
  if (r === s1) return data.subarray(s0, s1);
  const out: number[] = Array.from(data.subarray(s0, r));
  const s = data.subarray(0, s1);
  while (r < s1) {
    const c = data[r];
    if (c === 0x5c) {
      const e = data[r + 1];
      if (e !== 0x75) {
        out.push(ESCAPES[e]);
        r += 2;
        continue;
      }
      let rr = getu4(data, r, s1);
      r += 6;
      if (rr >= 0xd800 && rr < 0xe000) {
        const rr1 = getu4(data, r, s1);
        if (rr < 0xdc00 && rr1 >= 0xdc00 && rr1 < 0xe000) {
          r += 6;
          pushRune(out, 0x10000 + ((rr - 0xd800) << 10) + (rr1 - 0xdc00));
          continue;
        }
        rr = 0xfffd;
      }
      pushRune(out, rr);
    } else if (c < 0x80) {
      out.push(c);
      r++;
    } else {
      const [rr, size] = decodeRune(s, r);
      r += size;
      pushRune(out, rr);
    }
  }
  return Uint8Array.from(out);
}

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Converts bytes to a JS string the way Go's string(bytes) is read: the caller passes valid
 * UTF-8 (as `unquoteBytes` returns); a leading BOM is kept.
 */
export function goBytesToString(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/**
 * Go's `encodeState.string` with escapeHTML (what `json.Encoder` writes by default): the JSON
 * string literal, quotes included, for the UTF-8 encoding of `s`. `"` and `\` are backslashed;
 * `\n`, `\r`, `\t` get short escapes; other control characters (including \b and \f) and `<`,
 * `>`, `&` become `\u00XX`; U+2028 and U+2029 become `\u2028`, `\u2029`. A lone surrogate in
 * `s` is written as U+FFFD (as TextEncoder converts it).
 */
export function quoteString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) {
        continue;
      }
      if (c === 0x22 || c === 0x5c) esc = `\\${String.fromCharCode(c)}`;
      else if (c === 0x0a) esc = '\\n';
      else if (c === 0x0d) esc = '\\r';
      else if (c === 0x09) esc = '\\t';
      else esc = `\\u00${LOWER_HEX[c >> 4]}${LOWER_HEX[c & 15]}`;
    } else if (c === 0x2028 || c === 0x2029) {
      esc = `\\u202${LOWER_HEX[c & 15]}`;
    } else if (c >= 0xd800 && c < 0xdc00) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d < 0xe000) {
        i++;
        continue;
      }
      esc = '\ufffd';
    } else if (c >= 0xdc00 && c < 0xe000) {
      esc = '\ufffd';
    } else {
      continue;
    }
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return `${out}${s.slice(start)}"`;
}

// ---------------------------------------------------------------------------------------------
// []byte fields: base64.StdEncoding as encoding/json uses it
// ---------------------------------------------------------------------------------------------

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_DECODE[B64_ALPHABET.charCodeAt(i)] = i;

/** Result of `base64StdDecode`: a buffer as Go allocates it and how much of it was filled. */
export type Base64Result = { ok: true; buf: Uint8Array; n: number } | { ok: false; offset: number };

/**
 * What encoding/json does with a JSON string decoded into a `[]byte`: allocates
 * `base64.StdEncoding.DecodedLen(len(src))` (= floor(len/4)*3) zeroed bytes and runs
 * `base64.StdEncoding.Decode` into them. Go 1.19 semantics: padding is required, `\r` and `\n`
 * are ignored anywhere, non-zero trailing bits are accepted. On success returns the buffer (its
 * length is the capacity Go's slice has) and the decoded length `n`; otherwise the offset of Go's
 * CorruptInputError ("illegal base64 data at input byte N").
 */
export function base64StdDecode(src: Uint8Array): Base64Result {
  const buf = new Uint8Array(Math.floor(src.length / 4) * 3);
  let n = 0;
  let si = 0;
  while (si < src.length) {
    // decodeQuantum
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing = -1;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return { ok: true, buf, n };
        return { ok: false, offset: si - j };
      }
      const ch = src[si];
      si++;
      const out = B64_DECODE[ch];
      if (out >= 0) {
        dbuf[j] = out;
        continue;
      }
      if (ch === 0x0a || ch === 0x0d) {
        j--;
        continue;
      }
      if (ch !== 0x3d) return { ok: false, offset: si - 1 };
      // Padding.
      if (j < 2) return { ok: false, offset: si - 1 };
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) return { ok: false, offset: src.length };
        if (src[si] !== 0x3d) return { ok: false, offset: si - 1 };
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    for (let k = 0; k < dlen - 1; k++) buf[n + k] = bytes[k];
    n += dlen - 1;
    if (trailing >= 0) return { ok: false, offset: trailing };
  }
  return { ok: true, buf, n };
}

/** base64.StdEncoding.EncodeToString: standard alphabet, with padding. */
export function base64StdEncode(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out +=
      B64_ALPHABET[v >> 18] +
      B64_ALPHABET[(v >> 12) & 63] +
      B64_ALPHABET[(v >> 6) & 63] +
      B64_ALPHABET[v & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i] << 16;
    out += `${B64_ALPHABET[v >> 18]}${B64_ALPHABET[(v >> 12) & 63]}==`;
  } else if (rest === 2) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += `${B64_ALPHABET[v >> 18]}${B64_ALPHABET[(v >> 12) & 63]}${B64_ALPHABET[(v >> 6) & 63]}=`;
  }
  return out;
}

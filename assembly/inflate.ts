// Raw DEFLATE (RFC 1951) decoder whose verdicts match Go 1.19's compress/flate.
//
// Every decoder lives in a "slot": a fixed-size block of linear memory holding its state, its
// Huffman tables, an input buffer and a sliding-window output buffer, so memory stays bounded
// whatever the size of the stream. JS drives a slot with the exports at the end of this file:
//
//   s = newSlot(); reset(s)
//   loop: p = inputPrepare(s); copy <= inputCap(s) bytes to p; inputCommit(s, n)
//         r = run(s)                  // NEED_INPUT, OUTPUT_FULL, DONE or ERROR
//         output is memory[outStart(s) .. outEnd(s)) — copy it out before the next run()
//   freeSlot(s)
//
// Go compatibility. Go reads its input one byte at a time and only when it needs more bits, and
// its error messages give the number of bytes read so far ("flate: corrupt input before offset
// N"). The slow path below reads exactly as Go does (including Go's habit of reading as many
// bits as the end-of-block code has before every literal/length symbol), so an error's offset
// is simply the number of bytes loaded, and a stream cut short where Go would hit EOF before
// seeing the corruption only ever waits for more input here. The fast path reads ahead freely;
// on anything unusual it rewinds to the start of the symbol and lets the slow path redo it.

// ---------------------------------------------------------------------------------------------
// Layout of a slot (offsets from the slot's base address)

// State fields.
const MODE: u32 = 0;
const BITS: u32 = 4; // number of valid bits in HOLD
const HOLD: u32 = 8; // u64 bit buffer, LSB first; bits above BITS are zero
const FINAL: u32 = 16; // current block is the final one
const INP: u32 = 20; // next input byte (address)
const INEND: u32 = 24; // end of buffered input (address)
const OUT: u32 = 28; // next output byte (address)
const FLUSH: u32 = 32; // start of output not yet handed to JS (address)
const LENGTH: u32 = 36; // stored bytes left / match length
const DIST: u32 = 40; // match distance
const EXTRA: u32 = 44; // extra bits to read
const H1MIN: u32 = 48; // Go's huffmanDecoder.min of the literal/length code
const H2MIN: u32 = 52; // same, distance code
const LT: u32 = 56; // literal/length table (address)
const DT: u32 = 60; // distance table (address)
const NLIT: u32 = 64;
const NDIST: u32 = 68;
const NCLEN: u32 = 72;
const IDX: u32 = 76; // index while reading code lengths
const INBASE: u32 = 80; // i64: stream bytes before address IB
const ERRPOS: u32 = 88; // i64: Go's roffset at the error
const REPSYM: u32 = 96; // code-length repeat symbol (16, 17, 18) awaiting its extra bits
const PMIN: u32 = 100; // min of the code-length code
const OUTBASE: u32 = 104; // i64: stream output before address WB
const SYNCOUT: u32 = 112; // i64: stream output before the last non-final empty stored block

const LENS: u32 = 256; // u8[320] code lengths
const CLENS: u32 = 576; // u8[19] code-length code lengths
const WORK: u32 = 608; // u16[320] symbols sorted by code length
const COUNT: u32 = 1248; // u16[16]
const OFFS: u32 = 1280; // u16[16]
const LITT: u32 = 1344; // u32[LIT_ENOUGH]
const LIT_ENOUGH: u32 = 2400; // zlib's `enough 288 11 15` is 2342
const DISTT: u32 = LITT + LIT_ENOUGH * 4; // u32[DIST_ENOUGH]
const DIST_ENOUGH: u32 = 420; // zlib's `enough 32 8 15` is 402
const PRET: u32 = DISTT + DIST_ENOUGH * 4; // u32[128]
const IB: u32 = PRET + 512 + 16; // input buffer; the 16 bytes before it keep recent input
const IN_CAP: u32 = 65536;
const WB: u32 = IB + IN_CAP + 64; // window + output buffer
const WIN: u32 = 32768;
/** Output produced per OUTPUT_FULL (after the first, which also has the first window). */
const OUT_CAP: u32 = 256 * 1024;
const LIMIT: u32 = WB + WIN + OUT_CAP; // output stops here; slack after it absorbs over-copies
const SLOT_SIZE: u32 = (LIMIT + 64 + 65535) & ~65535;

// Modes.
const M_HEAD: u32 = 0;
const M_STORED_HDR: u32 = 1;
const M_STORED_COPY: u32 = 2;
const M_TABLE: u32 = 3;
const M_CLENS: u32 = 4;
const M_CODELENS: u32 = 5;
const M_CODELENS_REP: u32 = 6;
const M_LEN: u32 = 7;
const M_LENEXT: u32 = 8;
const M_DIST: u32 = 9;
const M_DISTEXT: u32 = 10;
const M_MATCH: u32 = 11;
const M_DONE: u32 = 12;
const M_ERROR: u32 = 13;

// Results of run().
const R_NEED_INPUT: i32 = 0;
const R_OUTPUT_FULL: i32 = 1;
const R_DONE: i32 = 2;
const R_ERROR: i32 = 3;

// ---------------------------------------------------------------------------------------------
// Table entries (u32). Low byte: bits to drop in the fast path (code length, plus extra bits for
// lengths and distances). Bits 8..11: code length within this (sub)table.
//
// Literal/length table:  bit 31 literal (value = byte); bit 30 exceptional: with bit 29 a
// subtable pointer (value = offset, bits 8..11 = subtable bits), with bit 28 end of block,
// with neither an invalid code. Otherwise a length (value = base). Value in bits 16..27.
// Distance and code-length tables: bit 31 exceptional: with bit 15 a subtable pointer, without
// it an invalid code. Otherwise value (distance base, or symbol) in bits 16..30.

const E_LIT: u32 = 0x80000000;
const E_EXC: u32 = 0x40000000;
const E_SUB: u32 = 0x20000000;
const E_EOB: u32 = 0x10000000;
const D_EXC: u32 = 0x80000000;
const D_SUB: u32 = 0x8000;

const K_LIT: u32 = 0;
const K_DIST: u32 = 1;
const K_PRE: u32 = 2;

const LIT_BITS: u32 = 11;
const DIST_BITS: u32 = 8;
const PRE_BITS: u32 = 7;

const LBASE = memory.data<u16>([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
]);
const LEXT = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
]);
const DBASE = memory.data<u16>([
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
]);
const DEXT = memory.data<u8>([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
]);
const CLORDER = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// Match copies with distance < 16: a 16-byte pattern made by swizzling the first `dist` source
// bytes with PATTERN[dist] (index k -> k % dist), stored every STEP[dist] bytes (a multiple of
// dist).
const PATTERN = memory.data(16 * 16, 16);
const STEP = memory.data(16, 16);

// Global area: the fixed Huffman tables, then the slots.
const FIXED_LIT: usize = (__heap_base + 63) & ~63;
const FIXED_DIST: usize = FIXED_LIT + (1 << LIT_BITS) * 4;
const SLOTS_START: usize = (FIXED_DIST + (1 << DIST_BITS) * 4 + 65535) & ~65535;

let nextSlot: usize = SLOTS_START;
let freeList: usize = 0;

// Status of the last slow-path helper call.
const S_OK: i32 = 0;
const S_NEED: i32 = 1;
const S_ERR: i32 = 2;
let gStatus: i32 = S_OK;

// ---------------------------------------------------------------------------------------------
// Huffman table construction (the root table by doubling as libdeflate builds it, subtables as
// zlib's inflate_table does; Go's acceptance rules)

// Entries for code length 0 of every literal/length, distance and code-length symbol (built at
// start): the entry for a code of length `len` is the base plus len * 0x101 (the length in bits
// 0..7 and 8..11, the extra bits of a length or distance added to the low byte). Symbols 286 and
// 287 and distances 30 and 31 occur only in the fixed code, and Go rejects them.
const LIT_BASE = memory.data(288 * 4, 16);
const DIST_BASE = memory.data(32 * 4, 16);
const PRE_BASE = memory.data(19 * 4, 16);

function initBases(): void {
  for (let sym: u32 = 0; sym < 288; sym++) {
    let e: u32 = E_EXC; // 286, 287: invalid
    if (sym < 256) e = E_LIT | (sym << 16);
    else if (sym === 256) e = E_EXC | E_EOB;
    else if (sym < 286) {
      const i = sym - 257;
      e = (u32(load<u16>(LBASE + (i << 1))) << 16) | u32(load<u8>(LEXT + i));
    }
    store<u32>(LIT_BASE + (sym << 2), e);
  }
  for (let sym: u32 = 0; sym < 32; sym++) {
    let e: u32 = D_EXC; // 30, 31: invalid
    if (sym < 30) e = (u32(load<u16>(DBASE + (sym << 1))) << 16) | u32(load<u8>(DEXT + sym));
    store<u32>(DIST_BASE + (sym << 2), e);
  }
  for (let sym: u32 = 0; sym < 19; sym++) store<u32>(PRE_BASE + (sym << 2), sym << 16);
}

/** The next canonical code after `huff` among codes of `len` bits, both bit-reversed. */
function nextCode(huff: u32, len: u32): u32 {
  // Adding one to the reversed code: clear its leading ones and set the highest zero below them.
  const zeros = ~huff & ((1 << len) - 1);
  if (zeros === 0) return 0;
  const inc: u32 = 1 << (31 - clz(zeros));
  return (huff & (inc - 1)) | inc;
}

function invalidEntry(kind: u32): u32 {
  return kind === K_LIT ? E_EXC : D_EXC;
}

/**
 * Builds the lookup table for `n` code lengths at `lens` with a `root`-bit first level.
 * Returns Go's huffmanDecoder.min (0 for an empty code), or -1 when Go's init rejects the
 * lengths: over-subscribed, or incomplete other than one code of length 1.
 */
function buildTable(s: usize, lens: usize, n: u32, table: usize, root: u32, kind: u32): i32 {
  const count = s + COUNT;
  const offs = s + OFFS;
  const work = s + WORK;
  memory.fill(count, 0, 32);
  for (let i: u32 = 0; i < n; i++) {
    const l = u32(load<u8>(lens + i));
    store<u16>(count + (l << 1), load<u16>(count + (l << 1)) + 1);
  }
  let max: u32 = 15;
  while (max >= 1 && load<u16>(count + (max << 1)) === 0) max--;
  const size: u32 = 1 << root;
  if (max === 0) {
    // Empty code: Go accepts it and fails when a symbol is decoded.
    const inv = invalidEntry(kind);
    for (let i: u32 = 0; i < size; i++) store<u32>(table + (i << 2), inv);
    return 0;
  }
  let min: u32 = 1;
  while (load<u16>(count + (min << 1)) === 0) min++;
  let left: i32 = 1;
  for (let l: u32 = 1; l <= 15; l++) {
    left <<= 1;
    left -= i32(load<u16>(count + (l << 1)));
    if (left < 0) return -1; // over-subscribed
  }
  if (left > 0) {
    // Incomplete: Go accepts only a single code of length 1 (then max == 1).
    if (max !== 1) return -1;
    const inv = invalidEntry(kind);
    for (let i: u32 = 0; i < size; i++) store<u32>(table + (i << 2), inv);
  }
  store<u16>(offs + 2, 0);
  for (let l: u32 = 1; l < 15; l++) {
    store<u16>(offs + ((l + 1) << 1), load<u16>(offs + (l << 1)) + load<u16>(count + (l << 1)));
  }
  for (let sym: u32 = 0; sym < n; sym++) {
    const l = u32(load<u8>(lens + sym));
    if (l !== 0) {
      const o = load<u16>(offs + (l << 1));
      store<u16>(work + (u32(o) << 1), u16(sym));
      store<u16>(offs + (l << 1), o + 1);
    }
  }

  // Codes of at most `root` bits (libdeflate's way): each entry is stored once, in a table as
  // wide as its code, and the table is doubled (copied onto its upper half) before the next
  // length, which replicates every shorter code over the bits it does not use.
  const bases = kind === K_LIT ? LIT_BASE : kind === K_DIST ? DIST_BASE : PRE_BASE;
  let huff: u32 = 0; // next code, bit-reversed
  let sym: u32 = 0; // index into work
  let len: u32 = min;
  let cur: u32 = 1 << min;
  for (; len <= root; len++) {
    const add = len * 0x101;
    for (let c = u32(load<u16>(count + (len << 1))); c !== 0; c--) {
      const v = u32(load<u16>(work + (sym << 1)));
      store<u32>(table + (huff << 2), load<u32>(bases + (v << 2)) + add);
      sym++;
      huff = nextCode(huff, len);
    }
    if (len < root) {
      // An inline copy (memory.copy is a call into the runtime, too dear for a few bytes), 16
      // bytes at a time: from 2 entries it copies 2 more, which the next doubling overwrites.
      const half = table + (cur << 2);
      for (let p: usize = 0; p < usize(cur) << 2; p += 16)
        v128.store(half + p, v128.load(table + p));
      cur <<= 1;
    }
  }
  if (max <= root) return i32(min);

  // Longer codes: zlib's subtables, each as wide as the codes sharing its root-bit prefix need.
  while (load<u16>(count + (len << 1)) === 0) len++;
  let next: usize = table; // current (sub)table
  let curr: u32 = root; // index bits of the current (sub)table
  const drop = root; // bits dropped before indexing a subtable
  let low: u32 = 0xffffffff;
  const mask: u32 = size - 1;
  for (;;) {
    if ((huff & mask) !== low) {
      next += usize(1 << curr) << 2;
      curr = len - drop;
      let lft: i32 = 1 << curr;
      while (curr + drop < max) {
        lft -= i32(load<u16>(count + ((curr + drop) << 1)));
        if (lft <= 0) break;
        curr++;
        lft <<= 1;
      }
      low = huff & mask;
      const off = u32((next - table) >> 2);
      const ptr =
        kind === K_LIT
          ? E_EXC | E_SUB | (off << 16) | (curr << 8) | root
          : D_EXC | D_SUB | (off << 16) | (curr << 8) | root;
      store<u32>(table + (low << 2), ptr);
    }
    const v = u32(load<u16>(work + (sym << 1)));
    const here = load<u32>(bases + (v << 2)) + (len - drop) * 0x101;
    const incr: u32 = 1 << (len - drop);
    let fill: u32 = 1 << curr;
    do {
      fill -= incr;
      store<u32>(next + (((huff >> drop) + fill) << 2), here);
    } while (fill !== 0);
    huff = nextCode(huff, len);
    sym++;
    const c = load<u16>(count + (len << 1)) - 1;
    store<u16>(count + (len << 1), c);
    if (c === 0) {
      if (len === max) break;
      len = u32(load<u8>(lens + u32(load<u16>(work + (sym << 1)))));
    }
  }
  return i32(min);
}

// ---------------------------------------------------------------------------------------------
// Slow path helpers: state in memory, reading input exactly as Go does.

/** Loads input bytes until BITS >= n; false (and S_NEED) when the input runs out first. */
function pull(s: usize, n: u32): bool {
  let bits = load<u32>(s, BITS);
  if (bits >= n) return true;
  let hold = load<u64>(s, HOLD);
  let inp = load<u32>(s, INP);
  const end = load<u32>(s, INEND);
  let ok = true;
  while (bits < n) {
    if (inp === end) {
      ok = false;
      break;
    }
    hold |= u64(load<u8>(inp)) << bits;
    inp++;
    bits += 8;
  }
  store<u64>(s, hold, HOLD);
  store<u32>(s, bits, BITS);
  store<u32>(s, inp, INP);
  if (!ok) gStatus = S_NEED;
  return ok;
}

function peek(s: usize): u32 {
  return u32(load<u64>(s, HOLD));
}

function dropBits(s: usize, n: u32): void {
  store<u64>(s, load<u64>(s, HOLD) >> n, HOLD);
  store<u32>(s, load<u32>(s, BITS) - n, BITS);
}

/** Returns bits (LSB first) and drops them; they must be loaded. */
function takeBits(s: usize, n: u32): u32 {
  const v = peek(s) & ((1 << n) - 1);
  dropBits(s, n);
  return v;
}

/** Extra bits of the entry returned by the last huffSym call. */
let gExtra: u32 = 0;

/**
 * Decodes one symbol like Go's huffSym: first loads `hmin` bits, then as many as the code the
 * table lookup (with missing bits read as zero) says. Returns the entry with its code dropped;
 * gStatus tells S_NEED (nothing dropped, call again with more input) or S_ERR (invalid code).
 */
function huffSym(s: usize, table: usize, root: u32, kind: u32, hmin: u32): u32 {
  if (!pull(s, hmin)) return 0;
  for (;;) {
    const hold = load<u64>(s, HOLD);
    const bits = load<u32>(s, BITS);
    let e = load<u32>(table + ((u32(hold) & ((1 << root) - 1)) << 2));
    let len: u32;
    const isSub =
      kind === K_LIT
        ? (e & (E_EXC | E_SUB)) === (E_EXC | E_SUB)
        : (e & (D_EXC | D_SUB)) === (D_EXC | D_SUB);
    if (isSub) {
      const sub = (e >> 16) & (kind === K_LIT ? 0xfff : 0x7fff);
      const subMask: u32 = (1 << ((e >> 8) & 15)) - 1;
      e = load<u32>(table + ((sub + (u32(hold >> root) & subMask)) << 2));
      len = root + ((e >> 8) & 15);
    } else {
      len = (e >> 8) & 15;
    }
    if (len > bits) {
      if (!pull(s, len)) return 0;
      continue;
    }
    const invalid = kind === K_LIT ? (e & (E_LIT | E_EXC | E_EOB)) === E_EXC : (e & D_EXC) !== 0;
    if (invalid) {
      gStatus = S_ERR;
      return 0;
    }
    dropBits(s, len);
    gExtra = (e & 0xff) - ((e >> 8) & 15);
    gStatus = S_OK;
    return e;
  }
}

/** Bytes of the stream loaded into the bit buffer so far: Go's roffset. */
function loaded(s: usize): i64 {
  return load<i64>(s, INBASE) + i64(load<u32>(s, INP)) - i64(s + IB);
}

function fail(s: usize): i32 {
  store<i64>(s, loaded(s), ERRPOS);
  store<u32>(s, M_ERROR, MODE);
  return R_ERROR;
}

/** Gives whole unused bytes of the bit buffer back to the input. */
function normalize(s: usize): void {
  const bits = load<u32>(s, BITS);
  const whole = bits >> 3;
  if (whole !== 0) {
    store<u32>(s, load<u32>(s, INP) - whole, INP);
    store<u32>(s, bits & 7, BITS);
    store<u64>(s, load<u64>(s, HOLD) & ((u64(1) << (bits & 7)) - 1), HOLD);
  }
}

function endBlock(s: usize): void {
  store<u32>(s, load<u32>(s, FINAL) !== 0 ? M_DONE : M_HEAD, MODE);
}

// ---------------------------------------------------------------------------------------------
// Fast path: whole symbols while at least 16 input bytes and 264 output bytes remain.

/** Returns false when it stopped before a symbol the slow path must decode (an error). */
function fast(s: usize): bool {
  let hold = load<u64>(s, HOLD);
  let bits = load<u32>(s, BITS);
  let inp = usize(load<u32>(s, INP));
  let out = usize(load<u32>(s, OUT));
  const inLim = usize(load<u32>(s, INEND)) - 16;
  const outLim = s + LIMIT - 264;
  const lt = usize(load<u32>(s, LT));
  const dt = usize(load<u32>(s, DT));
  const wb = s + WB;
  let ok = true;
  const litMask: u32 = (1 << LIT_BITS) - 1;
  const distMask: u32 = (1 << DIST_BITS) - 1;

  // Only the low 6 bits of `bits` count: the literal paths subtract whole table entries (whose
  // low byte is the bit count) and shift by them, relying on wasm shifts using the count mod 64.
  // Each iteration starts with 56..63 bits and the next entry looked up (libdeflate's preload),
  // so the table load overlaps the previous match copy.
  hold |= load<u64>(inp) << bits;
  inp += ((63 - bits) >> 3) & 7;
  bits |= 56;
  let e = load<u32>(lt + ((u32(hold) & litMask) << 2));
  while (true) {
    if (i32(e) < 0) {
      // Up to three literals per refill (3 * 11 <= 56 bits).
      hold >>= u64(e);
      bits -= e;
      store<u8>(out, u8(e >> 16));
      out++;
      e = load<u32>(lt + ((u32(hold) & litMask) << 2));
      if (i32(e) < 0) {
        hold >>= u64(e);
        bits -= e;
        store<u8>(out, u8(e >> 16));
        out++;
        e = load<u32>(lt + ((u32(hold) & litMask) << 2));
        if (i32(e) < 0) {
          hold >>= u64(e);
          bits -= e;
          store<u8>(out, u8(e >> 16));
          out++;
          // Root-table literals have at most LIT_BITS bits, so >= 56 - 3 * 11 bits remain: look
          // up the next entry before the refill, keeping the refill off the critical path.
          e = load<u32>(lt + ((u32(hold) & litMask) << 2));
          hold |= load<u64>(inp) << bits;
          inp += ((63 - bits) >> 3) & 7;
          bits |= 56;
          if (inp > inLim || out > outLim) break;
          continue;
        }
      }
      // `e` stays valid: a refill only adds bits above the ones it was looked up with.
      hold |= load<u64>(inp) << bits;
      inp += ((63 - bits) >> 3) & 7;
      bits |= 56;
    }
    // At the start of a non-literal symbol: remember where, to rewind on anything unusual.
    const sHold = hold;
    const sBits = bits;
    const sInp = inp;
    if (e & E_EXC) {
      if (e & E_SUB) {
        hold >>= LIT_BITS;
        bits -= LIT_BITS;
        e = load<u32>(
          lt + ((((e >> 16) & 0xfff) + (u32(hold) & ((1 << ((e >> 8) & 15)) - 1))) << 2),
        );
        if (i32(e) < 0) {
          hold >>= u64(e);
          bits -= e;
          store<u8>(out, u8(e >> 16));
          out++;
          if (inp > inLim || out > outLim) break;
          hold |= load<u64>(inp) << bits;
          inp += ((63 - bits) >> 3) & 7;
          bits |= 56;
          e = load<u32>(lt + ((u32(hold) & litMask) << 2));
          continue;
        }
      }
      if (e & E_EXC) {
        if (e & E_EOB) {
          const n = e & 0xff;
          hold >>= n;
          bits -= n;
          store<u32>(s, load<u32>(s, FINAL) !== 0 ? M_DONE : M_HEAD, MODE);
        } else {
          hold = sHold;
          bits = sBits;
          inp = sInp;
          ok = false;
        }
        break;
      }
    }
    // Length.
    let n = e & 0xff;
    let saved = hold;
    hold >>= n;
    bits -= n;
    const length = ((e >> 16) & 0x1ff) + u32((saved & ((u64(1) << n) - 1)) >> ((e >> 8) & 15));
    // Distance.
    let d = load<u32>(dt + ((u32(hold) & distMask) << 2));
    if (i32(d) < 0) {
      if (d & D_SUB) {
        hold >>= DIST_BITS;
        bits -= DIST_BITS;
        d = load<u32>(
          dt + ((((d >> 16) & 0x7fff) + (u32(hold) & ((1 << ((d >> 8) & 15)) - 1))) << 2),
        );
      }
      if (i32(d) < 0) {
        hold = sHold;
        bits = sBits;
        inp = sInp;
        ok = false;
        break;
      }
    }
    n = d & 0xff;
    saved = hold;
    hold >>= n;
    bits -= n;
    const dist = usize((d >> 16) + u32((saved & ((u64(1) << n) - 1)) >> ((d >> 8) & 15)));
    if (dist > out - wb) {
      hold = sHold;
      bits = sBits;
      inp = sInp;
      ok = false;
      break;
    }
    // Refill and look up the next symbol before the copy.
    hold |= load<u64>(inp) << bits;
    inp += ((63 - bits) >> 3) & 7;
    bits |= 56;
    e = load<u32>(lt + ((u32(hold) & litMask) << 2));
    // Copy; may write up to 31 bytes past the end of the match (into later output or slack).
    let src = out - dist;
    const end = out + length;
    if (dist >= 16) {
      // Two 16-byte copies cover most matches without a loop branch; correct for dist >= 16
      // since each load only reaches bytes already written.
      v128.store(out, v128.load(src));
      v128.store(out, v128.load(src, 16), 16);
      if (length > 32) {
        out += 32;
        src += 32;
        do {
          v128.store(out, v128.load(src));
          out += 16;
          src += 16;
        } while (out < end);
      }
    } else {
      const pat = i8x16.swizzle(v128.load(src), v128.load(PATTERN + (dist << 4)));
      const step = usize(load<u8>(STEP + dist));
      v128.store(out, pat);
      v128.store(out + step, pat);
      out += step << 1;
      while (out < end) {
        v128.store(out, pat);
        out += step;
      }
    }
    out = end;
    if (inp > inLim || out > outLim) break;
  }
  putBack(s, hold, bits, inp);
  store<u32>(s, u32(out), OUT);
  return ok;
}

/**
 * Stores a fast path's bit buffer in the slot, giving its whole unused bytes back to the input
 * (only the low 6 bits of `bits` count, as in the fast paths).
 */
function putBack(s: usize, hold: u64, bits: u32, inp: usize): void {
  bits &= 63;
  inp -= bits >> 3;
  bits &= 7;
  store<u64>(s, hold & ((u64(1) << bits) - 1), HOLD);
  store<u32>(s, bits, BITS);
  store<u32>(s, u32(inp), INP);
}

// ---------------------------------------------------------------------------------------------
// Code-length repeats (16: the previous length, 17 and 18: zeros), for both paths.

/** Extra bits after repeat symbol `sym`. */
function repeatBits(sym: u32): u32 {
  return sym === 16 ? 2 : sym === 17 ? 3 : 7;
}

/** How many lengths repeat symbol `sym` with extra bits `extra` stands for. */
function repeatCount(sym: u32, extra: u32): u32 {
  return (sym === 18 ? 11 : 3) + extra;
}

/** Writes `rep` lengths from `i` for repeat symbol `sym`; the caller checked they fit. */
function fillRepeat(lens: usize, i: u32, sym: u32, rep: u32): void {
  memory.fill(lens + i, sym === 16 ? load<u8>(lens + i - 1) : 0, rep);
}

// ---------------------------------------------------------------------------------------------
// Fast path for a dynamic block's code lengths: whole symbols (with their repeat bits) while at
// least 16 input bytes remain. Go's encoder starts a new block every 16384 symbols or so, so on
// data that hardly compresses the headers are a good part of the work.

/**
 * Decodes code lengths `i` onwards (of `n`) into LENS and returns how far it got. It stops before
 * a symbol the slow path must decode: an invalid code, a repeat of nothing or past `n`.
 */
function fastCodeLens(s: usize, i: u32, n: u32): u32 {
  let hold = load<u64>(s, HOLD);
  let bits = load<u32>(s, BITS);
  let inp = usize(load<u32>(s, INP));
  const inLim = usize(load<u32>(s, INEND)) - 16;
  const pre = s + PRET;
  const lens = s + LENS;
  while (i < n && inp <= inLim) {
    hold |= load<u64>(inp) << bits;
    inp += ((63 - bits) >> 3) & 7;
    bits |= 56;
    // The code-length code has at most 7 bits, so its table has no subtables.
    const e = load<u32>(pre + ((u32(hold) & ((1 << PRE_BITS) - 1)) << 2));
    if (i32(e) < 0) break; // invalid code
    const sym = e >> 16;
    const len = e & 0xff;
    if (sym < 16) {
      hold >>= len;
      bits -= len;
      store<u8>(lens + i, u8(sym));
      i++;
      continue;
    }
    if (sym === 16 && i === 0) break;
    const nb = repeatBits(sym);
    const rep = repeatCount(sym, u32(hold >> len) & ((1 << nb) - 1));
    if (i + rep > n) break;
    hold >>= len + nb;
    bits -= len + nb;
    fillRepeat(lens, i, sym, rep);
    i += rep;
  }
  // Nothing of a symbol it stopped before is used.
  putBack(s, hold, bits, inp);
  return i;
}

// ---------------------------------------------------------------------------------------------
// The state machine

function runLoop(s: usize): i32 {
  while (true) {
    const mode = load<u32>(s, MODE);
    switch (mode) {
      case M_HEAD: {
        if (!pull(s, 3)) return R_NEED_INPUT;
        const h = takeBits(s, 3);
        store<u32>(s, h & 1, FINAL);
        const type = h >> 1;
        if (type === 0) {
          // Go discards the rest of the current byte (it never holds a whole byte here).
          dropBits(s, load<u32>(s, BITS) & 7);
          normalize(s);
          store<u32>(s, M_STORED_HDR, MODE);
        } else if (type === 1) {
          store<u32>(s, u32(FIXED_LIT), LT);
          store<u32>(s, u32(FIXED_DIST), DT);
          store<u32>(s, 7, H1MIN);
          store<u32>(s, 5, H2MIN);
          store<u32>(s, M_LEN, MODE);
        } else if (type === 2) {
          store<u32>(s, M_TABLE, MODE);
        } else {
          return fail(s);
        }
        break;
      }
      case M_STORED_HDR: {
        if (!pull(s, 32)) return R_NEED_INPUT;
        const v = takeBits(s, 16);
        const nv = takeBits(s, 16);
        if (nv !== (~v & 0xffff)) return fail(s);
        if (v === 0) {
          // Go's reader hands over its pending output at a non-final empty stored block (a
          // sync flush): an error after it no longer comes with those bytes.
          if (load<u32>(s, FINAL) === 0) {
            const out = load<u32>(s, OUT);
            store<i64>(s, load<i64>(s, OUTBASE) + i64(out) - i64(s + WB), SYNCOUT);
          }
          endBlock(s);
        } else {
          store<u32>(s, v, LENGTH);
          store<u32>(s, M_STORED_COPY, MODE);
        }
        break;
      }
      case M_STORED_COPY: {
        let left = load<u32>(s, LENGTH);
        const inp = load<u32>(s, INP);
        const out = load<u32>(s, OUT);
        let k = left;
        const inAvail = load<u32>(s, INEND) - inp;
        const outAvail = u32(s + LIMIT) - out;
        if (k > inAvail) k = inAvail;
        if (k > outAvail) k = outAvail;
        memory.copy(out, inp, k);
        store<u32>(s, inp + k, INP);
        store<u32>(s, out + k, OUT);
        left -= k;
        store<u32>(s, left, LENGTH);
        if (left === 0) {
          endBlock(s);
          break;
        }
        if (k === outAvail) return R_OUTPUT_FULL;
        return R_NEED_INPUT;
      }
      case M_TABLE: {
        if (!pull(s, 14)) return R_NEED_INPUT;
        const v = peek(s);
        const nlit = (v & 31) + 257;
        const ndist = ((v >> 5) & 31) + 1;
        if (nlit > 286 || ndist > 30) return fail(s);
        dropBits(s, 14);
        store<u32>(s, nlit, NLIT);
        store<u32>(s, ndist, NDIST);
        store<u32>(s, ((v >> 10) & 15) + 4, NCLEN);
        store<u32>(s, 0, IDX);
        store<u32>(s, M_CLENS, MODE);
        break;
      }
      case M_CLENS: {
        const nclen = load<u32>(s, NCLEN);
        let i = load<u32>(s, IDX);
        while (i < nclen) {
          if (!pull(s, 3)) {
            store<u32>(s, i, IDX);
            return R_NEED_INPUT;
          }
          store<u8>(s + CLENS + u32(load<u8>(CLORDER + i)), u8(takeBits(s, 3)));
          i++;
        }
        for (; i < 19; i++) store<u8>(s + CLENS + u32(load<u8>(CLORDER + i)), 0);
        const min = buildTable(s, s + CLENS, 19, s + PRET, PRE_BITS, K_PRE);
        if (min < 0) return fail(s);
        store<u32>(s, u32(min), PMIN);
        store<u32>(s, 0, IDX);
        store<u32>(s, M_CODELENS, MODE);
        break;
      }
      case M_CODELENS: {
        const n = load<u32>(s, NLIT) + load<u32>(s, NDIST);
        const pmin = load<u32>(s, PMIN);
        let i = load<u32>(s, IDX);
        if (i < n && load<u32>(s, INEND) - load<u32>(s, INP) >= 16) i = fastCodeLens(s, i, n);
        let rep = false;
        while (i < n) {
          const e = huffSym(s, s + PRET, PRE_BITS, K_PRE, pmin);
          if (gStatus !== S_OK) {
            store<u32>(s, i, IDX);
            return gStatus === S_NEED ? R_NEED_INPUT : fail(s);
          }
          const sym = e >> 16;
          if (sym < 16) {
            store<u8>(s + LENS + i, u8(sym));
            i++;
            continue;
          }
          if (sym === 16 && i === 0) return fail(s);
          store<u32>(s, sym, REPSYM);
          rep = true;
          break;
        }
        store<u32>(s, i, IDX);
        if (rep) {
          store<u32>(s, M_CODELENS_REP, MODE);
          break;
        }
        const nlit = load<u32>(s, NLIT);
        const m1 = buildTable(s, s + LENS, nlit, s + LITT, LIT_BITS, K_LIT);
        if (m1 < 0) return fail(s);
        const m2 = buildTable(
          s,
          s + LENS + nlit,
          load<u32>(s, NDIST),
          s + DISTT,
          DIST_BITS,
          K_DIST,
        );
        if (m2 < 0) return fail(s);
        // Go's optimization: read at least as many bits as the end-of-block code has.
        const eob = u32(load<u8>(s + LENS + 256));
        store<u32>(s, max<u32>(u32(m1), eob), H1MIN);
        store<u32>(s, u32(m2), H2MIN);
        store<u32>(s, u32(s + LITT), LT);
        store<u32>(s, u32(s + DISTT), DT);
        store<u32>(s, M_LEN, MODE);
        break;
      }
      case M_CODELENS_REP: {
        const sym = load<u32>(s, REPSYM);
        const nb = repeatBits(sym);
        if (!pull(s, nb)) return R_NEED_INPUT;
        const rep = repeatCount(sym, takeBits(s, nb));
        const i = load<u32>(s, IDX);
        if (i + rep > load<u32>(s, NLIT) + load<u32>(s, NDIST)) return fail(s);
        fillRepeat(s + LENS, i, sym, rep);
        store<u32>(s, i + rep, IDX);
        store<u32>(s, M_CODELENS, MODE);
        break;
      }
      case M_LEN: {
        const out = load<u32>(s, OUT);
        if (load<u32>(s, INEND) - load<u32>(s, INP) >= 16 && out <= u32(s + LIMIT - 264)) {
          if (fast(s)) break;
          // Otherwise the fast path rewound to a symbol that ends in an error: decode it here.
        } else if (out >= u32(s + LIMIT)) {
          return R_OUTPUT_FULL;
        }
        const e = huffSym(s, load<u32>(s, LT), LIT_BITS, K_LIT, load<u32>(s, H1MIN));
        if (gStatus !== S_OK) return gStatus === S_NEED ? R_NEED_INPUT : fail(s);
        if (e & E_LIT) {
          const o = load<u32>(s, OUT);
          store<u8>(o, u8(e >> 16));
          store<u32>(s, o + 1, OUT);
        } else if (e & E_EXC) {
          endBlock(s); // end of block (invalid codes were rejected by huffSym)
        } else {
          store<u32>(s, (e >> 16) & 0x1ff, LENGTH);
          store<u32>(s, gExtra, EXTRA);
          store<u32>(s, M_LENEXT, MODE);
        }
        break;
      }
      case M_LENEXT: {
        const nb = load<u32>(s, EXTRA);
        if (!pull(s, nb)) return R_NEED_INPUT;
        store<u32>(s, load<u32>(s, LENGTH) + takeBits(s, nb), LENGTH);
        store<u32>(s, M_DIST, MODE);
        break;
      }
      case M_DIST: {
        const e = huffSym(s, load<u32>(s, DT), DIST_BITS, K_DIST, load<u32>(s, H2MIN));
        if (gStatus !== S_OK) return gStatus === S_NEED ? R_NEED_INPUT : fail(s);
        store<u32>(s, e >> 16, DIST);
        store<u32>(s, gExtra, EXTRA);
        store<u32>(s, M_DISTEXT, MODE);
        break;
      }
      case M_DISTEXT: {
        const nb = load<u32>(s, EXTRA);
        if (!pull(s, nb)) return R_NEED_INPUT;
        const dist = load<u32>(s, DIST) + takeBits(s, nb);
        // Go: distance beyond the output so far (at most the 32 KiB window).
        if (dist > load<u32>(s, OUT) - u32(s + WB)) return fail(s);
        store<u32>(s, dist, DIST);
        store<u32>(s, M_MATCH, MODE);
        break;
      }
      case M_MATCH: {
        let out = load<u32>(s, OUT);
        const dist = load<u32>(s, DIST);
        let left = load<u32>(s, LENGTH);
        const room = u32(s + LIMIT) - out;
        const k = min<u32>(left, room);
        const end = out + k;
        while (out < end) {
          store<u8>(out, load<u8>(out - dist));
          out++;
        }
        left -= k;
        store<u32>(s, out, OUT);
        store<u32>(s, left, LENGTH);
        if (left !== 0) return R_OUTPUT_FULL;
        store<u32>(s, M_LEN, MODE);
        break;
      }
      case M_DONE: {
        normalize(s);
        return R_DONE;
      }
      default:
        return R_ERROR;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fixed tables and copy patterns, built once at instantiation.

function initStatic(): void {
  // Scratch: the first slot's memory, before any slot exists.
  const scratch = SLOTS_START;
  const lens = scratch + LENS;
  initBases();
  for (let i: u32 = 0; i < 144; i++) store<u8>(lens + i, 8);
  for (let i: u32 = 144; i < 256; i++) store<u8>(lens + i, 9);
  for (let i: u32 = 256; i < 280; i++) store<u8>(lens + i, 7);
  for (let i: u32 = 280; i < 288; i++) store<u8>(lens + i, 8);
  for (let i: u32 = 288; i < 320; i++) store<u8>(lens + i, 5);
  buildTable(scratch, lens, 288, FIXED_LIT, LIT_BITS, K_LIT);
  buildTable(scratch, lens + 288, 32, FIXED_DIST, DIST_BITS, K_DIST);
  for (let d: u32 = 1; d < 16; d++) {
    for (let k: u32 = 0; k < 16; k++) store<u8>(PATTERN + (d << 4) + k, u8(k % d));
    store<u8>(STEP + d, u8(16 - (16 % d)));
  }
}

/** Grows memory to at least `end` bytes; false when it cannot. */
function ensureMemory(end: usize): bool {
  const have = usize(memory.size()) << 16;
  if (end > have) {
    const pages = i32((end - have + 65535) >> 16);
    if (memory.grow(pages) < 0) return false;
  }
  return true;
}

if (!ensureMemory(SLOTS_START + 4096)) unreachable();
initStatic();

// ---------------------------------------------------------------------------------------------
// Exports

/** Allocates a decoder slot (growing memory if needed) and returns its address, or 0 when
 * the memory cannot grow (the 4 GiB address space is used up). */
export function newSlot(): usize {
  let s = freeList;
  if (s !== 0) {
    freeList = load<usize>(s);
  } else {
    s = nextSlot;
    if (s > usize(0xffffffff) - SLOT_SIZE || !ensureMemory(s + SLOT_SIZE)) return 0;
    nextSlot += SLOT_SIZE;
  }
  reset(s);
  return s;
}

/** Returns a slot to the free list. */
export function freeSlot(s: usize): void {
  store<usize>(s, freeList);
  freeList = s;
}

/** Prepares slot `s` for a new stream. */
export function reset(s: usize): void {
  memory.fill(s, 0, 256);
  store<u32>(s, M_HEAD, MODE);
  store<u32>(s, u32(s + IB), INP);
  store<u32>(s, u32(s + IB), INEND);
  store<u32>(s, u32(s + WB), OUT);
  store<u32>(s, u32(s + WB), FLUSH);
}

/**
 * Makes room for more input and returns the address where it goes (up to inputCap(s)
 * bytes); keeps the 8 bytes before the unread input, which the bit buffer may give back.
 */
export function inputPrepare(s: usize): usize {
  const ib = s + IB;
  const inp = usize(load<u32>(s, INP));
  const end = usize(load<u32>(s, INEND));
  if (inp > ib) {
    memory.copy(ib - 8, inp - 8, end - inp + 8);
    store<i64>(s, load<i64>(s, INBASE) + i64(inp - ib), INBASE);
    store<u32>(s, u32(ib), INP);
    store<u32>(s, u32(ib + end - inp), INEND);
  }
  return usize(load<u32>(s, INEND));
}

/** Free input space at inputPrepare's address. */
export function inputCap(s: usize): u32 {
  return u32(s + IB + IN_CAP) - load<u32>(s, INEND);
}

/** Declares `n` bytes written at inputPrepare's address. */
export function inputCommit(s: usize, n: u32): void {
  store<u32>(s, load<u32>(s, INEND) + n, INEND);
}

/** Bytes of input buffered but not consumed. */
export function inputLeft(s: usize): u32 {
  return load<u32>(s, INEND) - load<u32>(s, INP);
}

/**
 * Decodes until the input is used up (0), the output buffer is full (1), the stream ended (2)
 * or the data is corrupt (3). The output of this call is [outStart(s), outEnd(s)); JS must copy
 * it before calling run() again.
 */
export function run(s: usize): i32 {
  let out = load<u32>(s, OUT);
  if (out >= u32(s + LIMIT)) {
    memory.copy(s + WB, out - WIN, WIN);
    store<i64>(s, load<i64>(s, OUTBASE) + i64(out - WIN) - i64(s + WB), OUTBASE);
    out = u32(s + WB + WIN);
    store<u32>(s, out, OUT);
  }
  store<u32>(s, out, FLUSH);
  return runLoop(s);
}

export function outStart(s: usize): usize {
  return usize(load<u32>(s, FLUSH));
}

export function outEnd(s: usize): usize {
  return usize(load<u32>(s, OUT));
}

/** Stream bytes consumed so far (after DONE: the length of the DEFLATE stream). */
export function consumed(s: usize): f64 {
  return f64(loaded(s));
}

/**
 * Output bytes of the stream decoded before its last non-final empty stored block (0 if none):
 * where Go's reader last handed over its pending output other than at a full 32 KiB window.
 */
export function syncOutput(s: usize): f64 {
  return f64(load<i64>(s, SYNCOUT));
}

/** Go's "corrupt input before offset N" after run() returned 3. */
export function errorOffset(s: usize): f64 {
  return f64(load<i64>(s, ERRPOS));
}

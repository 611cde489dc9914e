/**
 * The CRC-32 of a gzip member's decompressed bytes, with parts of it computed by someone else.
 *
 * A gzip reader must CRC every byte it decompresses. When the consumer of those bytes hands some
 * of them to a {@link CrcSource} anyway (verify gives state.bin to a hashing thread, which can
 * CRC what it hashes), computing that CRC again here is wasted time on the busiest thread. The
 * consumer *claims* such bytes; the ledger CRCs the rest itself and joins the parts with
 * {@link crc32Combine} when the member ends. The result is the same CRC either way.
 *
 * Protocol (the gzip reader's side): `beginMember(guess?)`; for every decompressed array,
 * `offer(out)` before yielding it and `release()` when the consumer asks for the next one;
 * `await endMember()` for the member's CRC. The consumer's side: `claim(view, source)` for a view
 * of the array on offer, before feeding the same bytes to `source`. A claim may be refused
 * (false): the ledger then CRCs those bytes itself, and the consumer feeds them all the same
 * (the ledger cuts them out of the source's runs). The source must be fed each claimed view, in
 * order, before the next claim; feeding it unclaimed bytes other than refused ones is a caller's
 * mistake, thrown as Error at the next claim or at the member's end.
 */
import { type Crc32, type CrcSource, type CrcTicket, crc32Combine } from '../engines/crc32.js';

/** Pending parts of a member at most: bounds the ledger's memory. */
const MAX_PARTS = 128;
/**
 * Claims are refused while the source has this many bytes or more still to get to. It also
 * bounds the wait at a member's end where the member's length was not guessed (see
 * {@link MEMBER_TAIL}): on an archive of 2 MiB members (raftsnap's own, written by libdeflate)
 * 1 MiB made a 256 MiB consul-like verify some 12 % slower than one member.
 */
const MAX_BACKLOG = 256 * 1024;
/**
 * With a guess at a member's length ({@link CrcLedger.beginMember}), its last this many bytes are
 * CRC'd here and never claimed: the source's last run then ends this far before the member does,
 * and has caught up (it is at most {@link MAX_BACKLOG} behind when given a run) by the time the
 * member's end asks for it. On raftsnap's own archives (2 MiB members) the ends otherwise waited
 * for the thread some 35-55 ms per 256 MiB of consul-like state; the tails cost the reader's
 * thread some 7 ms of CRC-32, and the source as much less.
 */
export const MEMBER_TAIL = 512 * 1024;
/**
 * Shorter views are CRC'd here: they save little, and a member that ends soon after one would
 * wait for the source (an archive of many tiny members would wait at every one).
 */
const MIN_CLAIM = 16 * 1024;

/** A part of the member: bytes CRC'd here, or a run of a source (its ticket once cut). */
interface Part {
  len: number;
  crc: number;
  source?: CrcSource;
  ticket?: CrcTicket;
}

export class CrcLedger {
  private readonly crc32: Crc32;
  /** CRC-32 and length of the member's parts joined so far. */
  private crc = 0;
  private parts: Part[] = [];
  /** The claimed run still growing (its source has not been cut yet). */
  private run: Part | undefined;
  /** No byte of the member went elsewhere since the open run's last claim. */
  private contiguous = false;
  private out: Uint8Array | undefined;
  /** Bytes of `out` accounted for (CRC'd here or claimed). */
  private cursor = 0;
  /** Bytes of the member offered before `out`. */
  private before = 0;
  /** Member bytes from which on claims are refused (Infinity: none are). */
  private tailFrom = Number.POSITIVE_INFINITY;

  constructor(crc32: Crc32) {
    this.crc32 = crc32;
  }

  /**
   * A new gzip member starts: its CRC starts from zero. `expected`, a guess at its decompressed
   * length (the previous member's, say), makes the ledger refuse claims in the member's last
   * {@link MEMBER_TAIL} bytes as it reckons them (the guess may be wrong either way: it changes
   * who CRCs what, never the CRC).
   */
  beginMember(expected?: number): void {
    this.crc = 0;
    this.parts = [];
    this.run = undefined;
    this.contiguous = false;
    this.before = 0;
    this.out = undefined;
    this.tailFrom =
      expected !== undefined && expected >= 2 * MEMBER_TAIL
        ? expected - MEMBER_TAIL
        : Number.POSITIVE_INFINITY;
  }

  /** `out` is the member's next decompressed array, about to go to the consumer. */
  offer(out: Uint8Array): void {
    this.out = out;
    this.cursor = 0;
  }

  /** The consumer is done with the offered array: what it did not claim is CRC'd here. */
  release(): void {
    if (this.out) {
      this.local(this.out.length);
      this.before += this.out.length;
    }
    this.out = undefined;
  }

  /**
   * Claims `view` (a view of the offered array, after everything claimed so far) for `source`.
   * True: the consumer must now feed exactly these bytes to `source`, and the ledger takes their
   * CRC from it. False: the ledger CRCs them itself.
   * @throws Error if `source` was fed bytes the ledger does not know of within a run.
   */
  claim(view: Uint8Array, source: CrcSource): boolean {
    const out = this.out;
    const start = out && view.buffer === out.buffer ? view.byteOffset - out.byteOffset : -1;
    if (
      !out ||
      view.length < MIN_CLAIM ||
      start < this.cursor ||
      start + view.length > out.length ||
      this.before + start + view.length > this.tailFrom
    ) {
      if (this.run?.source === source) this.close();
      return false;
    }
    this.local(start);
    const run = this.run;
    const behind = source.backlog() >= MAX_BACKLOG;
    if (run && run.source === source && this.contiguous && !behind) {
      this.checkRun(run);
      run.len += view.length;
      this.cursor += view.length;
      return true;
    }
    if (run) this.close();
    else this.join();
    // A new run: the source is cut before it (unless it is at the start of a kept run) and at
    // its end.
    const stale = source.runBytes > 0 || !source.keeping;
    if (behind || this.parts.length >= MAX_PARTS || source.freeCuts() < (stale ? 2 : 1)) {
      return false;
    }
    if (stale) source.cut(true);
    const part: Part = { len: view.length, crc: 0, source };
    this.parts.push(part);
    this.run = part;
    this.contiguous = true;
    this.cursor += view.length;
    return true;
  }

  /**
   * The member ended: returns the CRC-32 of all its bytes, waiting for the sources to report
   * their runs. Rejects when a source fails.
   */
  async endMember(): Promise<number> {
    if (this.run) this.close();
    for (const part of this.parts) {
      const crc = part.ticket ? await part.ticket.wait() : part.crc;
      this.crc = crc32Combine(this.crc, crc, part.len);
    }
    this.parts = [];
    const crc = this.crc;
    this.crc = 0;
    return crc;
  }

  /** CRCs the offered array's bytes from the cursor up to `end` here. */
  private local(end: number): void {
    if (end <= this.cursor) return;
    const bytes = this.out!.subarray(this.cursor, end);
    this.cursor = end;
    this.contiguous = false;
    const last = this.parts[this.parts.length - 1];
    if (last === undefined) {
      // Nothing pending: the member's CRC so far simply continues.
      this.crc = this.crc32(this.crc, bytes);
    } else if (last.source === undefined) {
      last.crc = this.crc32(last.crc, bytes);
      last.len += bytes.length;
    } else {
      this.parts.push({ len: bytes.length, crc: this.crc32(0, bytes) });
    }
  }

  /** Ends the open run: its source is cut, and the ticket will give the run's CRC. */
  private close(): void {
    const run = this.run!;
    this.checkRun(run);
    run.ticket = run.source!.cut(false);
    this.run = undefined;
    this.join();
  }

  private checkRun(run: Part): void {
    if (run.source!.runBytes !== run.len) {
      throw new Error('CrcLedger: a source was fed bytes that were not claimed in its run');
    }
  }

  /** Joins the leading parts whose CRC is known, so that few parts stay pending. */
  private join(): void {
    let i = 0;
    for (; i < this.parts.length; i++) {
      const part = this.parts[i];
      if (part === this.run) break;
      const crc = part.ticket ? part.ticket.peek() : part.crc;
      if (crc === undefined) break;
      this.crc = crc32Combine(this.crc, crc, part.len);
    }
    if (i > 0) this.parts.splice(0, i);
  }
}

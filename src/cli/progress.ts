/**
 * A progress line on stderr for long commands: what is being done, bytes, the rate over the last
 * seconds, and a bar with an ETA when the total is known. It is redrawn on a timer too, so that
 * a stall shows (the rate falls, then "no data for Ns") and a wait after the last byte says what
 * is awaited. It never wraps (a wrapped line could not be redrawn in place). Silent when stderr
 * is not a TTY or when asked to be quiet.
 */
import type { Progress } from '../snapshot.js';
import { humanBytes } from './format.js';

export interface ProgressReporter {
  update: (p: Progress) => void;
  done: () => void;
}

export interface ProgressOptions {
  /**
   * Shown instead of the bar once every byte of a known total has gone (e.g. "sent; waiting for
   * Consul to restore it"), with the seconds since.
   */
  whenComplete?: string;
}

/** Whether a progress line is on the terminal now (at most one command runs per process). */
let shown = false;
/** The redraw timers of reporters not done yet. */
const timers = new Set<ReturnType<typeof setInterval>>();

/** How often the line is redrawn, with or without news. */
const REDRAW_MS = 250;
/** The span the rate is measured over. */
const RATE_WINDOW_MS = 3000;
/** From how long without a byte the line says so. */
const STALL_MS = 2000;
/** The least time between two rate samples (a sample per chunk would be thousands a second). */
const SAMPLE_MS = 50;

/**
 * Clears the progress line, if one is shown, so that what is printed next starts on a clean
 * line, and stops every reporter's redraws; main calls it before an error. The reporter's `done`
 * does the same.
 */
export function clearProgressLine(): void {
  for (const t of timers) clearInterval(t);
  timers.clear();
  if (shown) process.stderr.write('\r\u001b[K');
  shown = false;
}

/**
 * The progress line for `p` at `rate` bytes/s (undefined: not known yet), or how long no data
 * came; at most `columns - 1` characters: the bar goes first, then the line is cut.
 */
export function progressLine(
  verb: string,
  p: Progress,
  rate: number | undefined,
  stalledSecs: number,
  columns = 80,
): string {
  const make = (bar: boolean) => {
    let line = `${verb} `;
    if (p.total) {
      const frac = Math.min(p.bytes / p.total, 1);
      const width = 24;
      const fill = Math.round(frac * width);
      if (bar) line += `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] `;
      line += `${(frac * 100).toFixed(0)}% ${humanBytes(p.bytes)}/${humanBytes(p.total)}`;
    } else {
      line += humanBytes(p.bytes);
    }
    if (stalledSecs > 0) return `${line}, no data for ${stalledSecs.toFixed(0)}s`;
    if (rate !== undefined) {
      line += ` ${humanBytes(rate)}/s`;
      if (p.total && rate > 0) {
        line += ` ETA ${Math.max(0, (p.total - p.bytes) / rate).toFixed(0)}s`;
      }
    }
    return line;
  };
  const max = Math.max(columns - 1, 1);
  const full = make(true);
  return full.length <= max ? full : make(false).slice(0, max);
}

/**
 * The rate over the last RATE_WINDOW_MS from (time, bytes) samples: each `add` records one (at
 * most one per SAMPLE_MS) and drops those the window has left behind but the newest of them.
 */
export class RateWindow {
  private readonly samples: [number, number][];

  constructor(start: number) {
    this.samples = [[start, 0]];
  }

  add(now: number, bytes: number): void {
    const s = this.samples;
    if (now - s[s.length - 1][0] >= SAMPLE_MS) s.push([now, bytes]);
    let old = 0;
    while (old + 1 < s.length && now - s[old + 1][0] >= RATE_WINDOW_MS) old++;
    if (old > 0) s.splice(0, old);
  }

  /** Bytes per second from the window's oldest sample to `bytes` now. */
  rate(now: number, bytes: number): number {
    const [t0, b0] = this.samples[0];
    return ((bytes - b0) * 1000) / Math.max(now - t0, 1);
  }
}

export function progressReporter(
  quiet: boolean,
  verb: string,
  opts: ProgressOptions = {},
): ProgressReporter {
  const tty = process.stderr.isTTY === true;
  if (quiet || !tty) return { update: () => {}, done: () => {} };
  const start = Date.now();
  let latest: Progress | undefined;
  let lastDraw = 0;
  let lastByteAt = start;
  let completeAt: number | undefined;
  // Sampled on updates and on every redraw, so that a stall is in the window as time without
  // bytes.
  const window = new RateWindow(start);
  const draw = (now: number) => {
    if (!latest) return;
    lastDraw = now;
    window.add(now, latest.bytes);
    const columns = process.stderr.columns || 80;
    let line: string;
    if (completeAt !== undefined && opts.whenComplete) {
      line = `${opts.whenComplete} (${((now - completeAt) / 1000).toFixed(0)}s)`;
    } else {
      // A rate over the first few milliseconds means nothing: shown from 200 ms in.
      const rate = now - start >= 200 ? window.rate(now, latest.bytes) : undefined;
      const stalled = now - lastByteAt >= STALL_MS ? (now - lastByteAt) / 1000 : 0;
      line = progressLine(verb, latest, rate, stalled, columns);
    }
    process.stderr.write(`\r${line.slice(0, Math.max(columns - 1, 1))}\u001b[K`);
    shown = true;
  };
  const timer = setInterval(() => draw(Date.now()), REDRAW_MS);
  timer.unref();
  timers.add(timer);
  return {
    update(p) {
      const now = Date.now();
      if (!latest || p.bytes !== latest.bytes) {
        lastByteAt = now;
        window.add(now, p.bytes);
      }
      latest = p;
      if (completeAt === undefined && p.total && p.bytes >= p.total) completeAt = now;
      if (now - lastDraw >= 100) draw(now);
    },
    done() {
      clearInterval(timer);
      timers.delete(timer);
      clearProgressLine();
    },
  };
}

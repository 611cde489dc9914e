/**
 * A progress line on stderr for long commands: what is being done, bytes, the rate over the last
 * seconds, and a bar with an ETA when the total is known. It is redrawn on a timer too, so that
 * a stall shows (the rate falls, then "no data for Ns") and a wait after the last byte says what
 * is awaited. Silent when stderr is not a TTY or when asked to be quiet.
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

/** How often the line is redrawn, with or without news. */
const REDRAW_MS = 250;
/** The span the rate is measured over. */
const RATE_WINDOW_MS = 3000;
/** From how long without a byte the line says so. */
const STALL_MS = 2000;

/**
 * Clears the progress line, if one is shown, so that what is printed next starts on a clean
 * line; main calls it before an error. The reporter's `done` does the same.
 */
export function clearProgressLine(): void {
  if (shown) process.stderr.write('\r\u001b[K');
  shown = false;
}

/** The progress line after `secs` seconds, for `p` at `rate` bytes/s (undefined: not yet). */
export function progressLine(
  verb: string,
  p: Progress,
  rate: number | undefined,
  stalledSecs: number,
): string {
  let line = `${verb} `;
  if (p.total) {
    const frac = Math.min(p.bytes / p.total, 1);
    const width = 24;
    const fill = Math.round(frac * width);
    line += `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${humanBytes(p.bytes)}/${humanBytes(p.total)}`;
  } else {
    line += humanBytes(p.bytes);
  }
  if (stalledSecs > 0) return `${line}, no data for ${stalledSecs.toFixed(0)}s`;
  if (rate !== undefined) {
    line += ` ${humanBytes(rate)}/s`;
    if (p.total && rate > 0) line += ` ETA ${Math.max(0, (p.total - p.bytes) / rate).toFixed(0)}s`;
  }
  return line;
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
  // (time, bytes) samples over the rate window, oldest first.
  const samples: [number, number][] = [[start, 0]];
  const draw = (now: number) => {
    if (!latest) return;
    lastDraw = now;
    let line: string;
    if (completeAt !== undefined && opts.whenComplete) {
      line = `${opts.whenComplete} (${((now - completeAt) / 1000).toFixed(0)}s)`;
    } else {
      while (samples.length > 1 && now - samples[1][0] >= RATE_WINDOW_MS) samples.shift();
      const [t0, b0] = samples[0];
      // A rate over the first few milliseconds means nothing: shown from 200 ms in.
      const rate =
        now - start >= 200 ? ((latest.bytes - b0) * 1000) / Math.max(now - t0, 1) : undefined;
      const stalled = now - lastByteAt >= STALL_MS ? (now - lastByteAt) / 1000 : 0;
      line = progressLine(verb, latest, rate, stalled);
    }
    process.stderr.write(`\r${line}\u001b[K`);
    shown = true;
  };
  const timer = setInterval(() => draw(Date.now()), REDRAW_MS);
  timer.unref();
  return {
    update(p) {
      const now = Date.now();
      if (!latest || p.bytes !== latest.bytes) {
        lastByteAt = now;
        samples.push([now, p.bytes]);
      }
      latest = p;
      if (completeAt === undefined && p.total && p.bytes >= p.total) completeAt = now;
      if (now - lastDraw >= 100) draw(now);
    },
    done() {
      clearInterval(timer);
      clearProgressLine();
    },
  };
}

/**
 * A progress line on stderr for long commands: bytes, rate and ETA when the total is known.
 * Silent when stderr is not a TTY or when asked to be quiet.
 */
import type { Progress } from '../snapshot.js';
import { humanBytes } from './format.js';

export interface ProgressReporter {
  update: (p: Progress) => void;
  done: () => void;
}

/** Whether a progress line is on the terminal now (at most one command runs per process). */
let shown = false;

/**
 * Clears the progress line, if one is shown, so that what is printed next starts on a clean
 * line; main calls it before an error. The reporter's `done` does the same.
 */
export function clearProgressLine(): void {
  if (shown) process.stderr.write('\r\u001b[K');
  shown = false;
}

export function progressReporter(quiet: boolean, verb: string): ProgressReporter {
  const tty = process.stderr.isTTY === true;
  if (quiet || !tty) return { update: () => {}, done: () => {} };
  const start = Date.now();
  let last = 0;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const secs = (now - start) / 1000;
      const rate = p.bytes / Math.max(secs, 0.001);
      // A rate over the first few milliseconds means nothing: shown from 200 ms in.
      const timed = secs >= 0.2;
      let line = `${verb} ${humanBytes(p.bytes)}`;
      if (p.total) {
        const frac = Math.min(p.bytes / p.total, 1);
        const width = 24;
        const fill = Math.round(frac * width);
        const eta = rate > 0 ? Math.max(0, (p.total - p.bytes) / rate) : 0;
        line = `[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${humanBytes(p.bytes)}/${humanBytes(p.total)}`;
        if (timed) line += ` ${humanBytes(rate)}/s ETA ${eta.toFixed(0)}s`;
      } else if (timed) {
        line += ` ${humanBytes(rate)}/s`;
      }
      process.stderr.write(`\r${line}\u001b[K`);
      shown = true;
    },
    done: clearProgressLine,
  };
}

#!/usr/bin/env node
/**
 * The raftsnap command line. Exit codes: 0 success, 1 invalid snapshot or failed operation,
 * 2 usage error. Errors go to stderr as `error: <reason>`.
 */
import { constants } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { isSnapshotError, messageOf, SnapshotError } from '../errors.js';
import { denoWouldAsk } from '../node/deno-permissions.js';
import { firstHashThreadStarted } from '../node/hash-thread.js';
import { UsageError } from './args.js';
import { type Command, commands, usage } from './commands.js';
import { noteOf } from './common.js';
import { clearProgressLine } from './progress.js';

// The pipelines keep many short-lived objects in flight (zlib streams, promises), and on large
// states V8 grows its young generation as the run goes on (11 MiB more RSS after some 15 s of
// create). Held at its first size, the CLI's memory stays flat at any state size, for about 1 %
// more time in create.
try {
  setFlagsFromString('--semi-space-growth-factor=1');
} catch {
  // not V8
}
/**
 * Keeps the CLI's JavaScript in V8's baseline tier from now on. It is glue around native and
 * WebAssembly kernels, a few calls per 256 KiB of state, and runs as well there. Optimizing it
 * with TurboFan costs some 60 ms of background CPU early in every large run (readArchive and the
 * gzip reader are large async functions); on a 2-core machine that time is taken from the
 * inflating and hashing threads, and a 256 MiB verify then takes about 5 % longer (and a create
 * holds 10 MiB more). Commands that hash on threads call it only once the first thread is up,
 * though: V8 keys the code cache of Node's own modules to its flags, and a thread started after
 * the change compiles them from source, which kept a 256 MiB verify waiting on it some 20 ms
 * longer. Runs that start no thread there (small archives) end before TurboFan would matter.
 */
function baselineTierOnly(): void {
  try {
    setFlagsFromString('--no-opt');
  } catch {
    // not V8
  }
}
firstHashThreadStarted.then(baselineTierOnly);

/**
 * Makes standard error unable to fail a command: a message, warning or progress line that cannot
 * be written (a full disk under a log file, a reader gone) is dropped, and the command's own
 * outcome and exit code stand. Node otherwise throws from the write (a file or terminal is
 * written synchronously) or raises an unhandled 'error' event (a pipe).
 */
function stderrCannotFail(): void {
  const stderr = process.stderr;
  stderr.on('error', () => {});
  const write = stderr.write.bind(stderr) as (...args: unknown[]) => boolean;
  stderr.write = ((...args: unknown[]) => {
    try {
      return write(...args);
    } catch {
      return true;
    }
  }) as typeof stderr.write;
}
stderrCannotFail();

/** The command called `name`, loading its module if needed. */
async function resolve(name: string): Promise<Command | undefined> {
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  return typeof entry === 'function' ? entry() : entry;
}

/** The signals that stop a command (after its cleanup). */
const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM'] as const;
/** How long the command may take to clean up after a signal before the process ends anyway. */
const STOP_GRACE_MS = 5000;
/** The exit code for a standard output whose reader went away, as SIGPIPE would give. */
const EPIPE_EXIT = 141;

/** How a command was stopped: by a signal, or by its standard output failing. */
type Stop = { signal: NodeJS.Signals } | { exitCode: number };

const { signals } = constants;

/**
 * Ends the process through `sig`'s default action (Node's ends it with status 128 + the signal's
 * number, as a shell reports a killed process), which no thread stuck in a read of a quiet pipe
 * can hold up, as it can hold up process.exit.
 */
function dieBy(sig: NodeJS.Signals): never {
  process.removeAllListeners(sig);
  process.kill(process.pid, sig);
  // Node delivers the signal at once and this is not reached. Deno may still hold the signal for
  // its listeners that were just removed: then the status a shell gives a killed process.
  process.exit(128 + (signals[sig] ?? 0));
}

/**
 * A signal this soon after the first is the same request again, not a second one: timeout(1)
 * sends its signal to the command and then to the command's process group, and both arrive.
 */
const REPEAT_MS = 500;

/**
 * Aborts the command on SIGINT, SIGTERM and SIGHUP (its temporary files are removed, its
 * connections closed; a second signal, half a second or more after the first, ends the process
 * at once) and when standard output fails. Returns how it was stopped, once that has happened.
 * A failure of standard output after the command has finished (`finished()` true) still sets the
 * exit status: output that did not arrive is a failed run.
 */
function stopOnSignals(ctl: AbortController, finished: () => boolean): () => Stop | undefined {
  let stop: Stop | undefined;
  let firstAt = 0;
  for (const sig of SIGNALS) {
    process.on(sig, () => {
      if (stop !== undefined) {
        if ('signal' in stop && performance.now() - firstAt < REPEAT_MS) return;
        dieBy(sig);
      }
      firstAt = performance.now();
      stop = { signal: sig };
      ctl.abort(new SnapshotError('ABORTED', `interrupted by ${sig}`));
      // One signal must be enough (timeout(1), systemd send one): should the cleanup be held up
      // (an open of a FIFO nobody reads does not heed the abort), end the process all the same.
      setTimeout(() => {
        process.stderr.write(`error: interrupted by ${sig}\n`);
        dieBy(sig);
      }, STOP_GRACE_MS).unref();
    });
  }
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // Only a failed write counts: the command's own failure, passed on as it stops writing to
    // standard output (its output aborted), is reported once, by the command.
    if (stop !== undefined || err.syscall === undefined) return;
    const exitCode = err.code === 'EPIPE' ? EPIPE_EXIT : 1;
    stop = { exitCode };
    if (finished()) reportStdoutFailure(err);
    else ctl.abort(stdoutFailure(err));
  });
  return () => stop;
}

/** The error of a command whose standard output failed. */
function stdoutFailure(err: Error): SnapshotError {
  return new SnapshotError('IO', `cannot write to standard output: ${err.message}`);
}

/**
 * Reports standard output failing after the last line was written: a word on stderr and status
 * 1, or silently status 141 for a reader gone away (as SIGPIPE would end the process).
 */
function reportStdoutFailure(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') {
    process.exitCode = EPIPE_EXIT;
    return;
  }
  process.stderr.write(`error: ${stdoutFailure(err).message}\n`);
  process.exitCode = 1;
}

/** The package's version: set by the build in the bundled command line (no file to read). */
declare const RAFTSNAP_VERSION: string | undefined;

/** raftsnap's version: the bundle's, else package.json's (unbundled, as tsc left it). */
async function packageVersion(): Promise<string> {
  if (typeof RAFTSNAP_VERSION === 'string') return RAFTSNAP_VERSION;
  const { readFileSync } = await import('node:fs');
  return JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
    .version;
}

/**
 * Prints help or the version on stdout. Should stdout fail (a full disk, a closed pipe), that is
 * reported as the commands report it: a word on stderr and status 1 (141, silently, for a reader
 * gone away), not an unhandled 'error' event.
 */
function printInfo(text: string): number {
  process.stdout.once('error', reportStdoutFailure);
  process.stdout.write(text);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const cmd = topic ? await resolve(topic) : undefined;
    return printInfo(`${cmd ? cmd.help : usage}\n`);
  }
  if (name === '--version' || name === 'version') {
    const version = await packageVersion();
    // Which compressor create uses here: a slow create on another machine is often this.
    const { loadLibdeflate } = await import('../node/libdeflate-gzip.js');
    const addon = loadLibdeflate();
    const gzip = addon
      ? `libdeflate ${addon.version} (raftsnap's addon)`
      : `node:zlib ${process.versions.zlib} (the libdeflate addon is not built or does not load here)`;
    return printInfo(`raftsnap ${version}\ncreate compresses with ${gzip}\n`);
  }
  const cmd = await resolve(name);
  if (cmd?.hashThreads === false) baselineTierOnly();
  if (!cmd) {
    process.stderr.write(`error: unknown command ${JSON.stringify(name)}\n\n${usage}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    return printInfo(`${cmd.help}\n`);
  }
  const ctl = new AbortController();
  let finished = false;
  const stopped = stopOnSignals(ctl, () => finished);
  try {
    const code = await cmd.run(rest, { signal: ctl.signal });
    finished = true;
    const stop = stopped();
    // What the command printed last did not all arrive (a full disk, a reader gone).
    if (stop !== undefined && 'exitCode' in stop && code === 0) {
      if (stop.exitCode !== EPIPE_EXIT)
        process.stderr.write(`error: ${messageOf(ctl.signal.reason)}\n`);
      return stop.exitCode;
    }
    return code;
  } catch (err) {
    finished = true;
    clearProgressLine();
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nRun 'raftsnap ${name} --help' for usage.\n`);
      return 2;
    }
    const stop = stopped();
    if (stop !== undefined) {
      // The command has cleaned up; a read it left waiting (a quiet pipe) must not keep the
      // process alive.
      const quietly = 'exitCode' in stop && stop.exitCode === EPIPE_EXIT;
      if (!quietly) {
        process.stderr.write(`error: ${messageOf(ctl.signal.reason)}\n`);
        // What the stop left as it was (a restore stopped before its upload: nothing was sent).
        const note = noteOf(err);
        if (note !== undefined) process.stderr.write(`note: ${note}\n`);
      }
      if ('signal' in stop) dieBy(stop.signal);
      process.exit(stop.exitCode);
    }
    const msg = isSnapshotError(err)
      ? err.message
      : err instanceof Error
        ? err.message
        : String(err);
    process.stderr.write(`error: ${msg}\n`);
    const note = noteOf(err);
    if (note !== undefined) process.stderr.write(`note: ${note}\n`);
    if (isSnapshotError(err) && err.code === 'INVALID_ARGUMENT') return 2;
    if (
      !(err instanceof SnapshotError) &&
      !isSnapshotError(err) &&
      !denoWouldAsk({ name: 'env', variable: 'RAFTSNAP_DEBUG' }) &&
      process.env.RAFTSNAP_DEBUG
    ) {
      process.stderr.write(`${(err as Error).stack}\n`);
    }
    return 1;
  }
}

// A command still running when the process ends found nothing left to wait on: a runtime whose
// event loop let go of a pending read, say. That is no verdict, and never exit status 0.
let settled = false;
process.on('exit', (code) => {
  if (settled || code !== 0) return;
  process.stderr.write(
    'error: the process ended before the command finished (the runtime stopped waiting for its input); no verdict\n',
  );
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    // Standard output may have failed after the command's last line (see stopOnSignals).
    process.exitCode = process.exitCode || code;
  },
  (err) => {
    settled = true;
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

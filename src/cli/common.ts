/** Options and argument handling shared by the commands. */
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isatty } from 'node:tty';
import type { EngineChoice } from '../engines/registry.js';
import { isSnapshotError, SnapshotError } from '../errors.js';
import { cleanStaleTemps, ioError, outputDirectory, readSmallFile } from '../node/files.js';
import type { NodeInput } from '../node/snapshot.js';
import { aesGcmSealer, parseKeyHex, type Sealer } from '../sealer.js';
import { isAfterArchiveError } from '../snapshot.js';
import { type Parsed, UsageError } from './args.js';

/** Most bytes read from a --seal-key-file: a key is 64 hex digits. */
const KEY_FILE_LIMIT = 64 * 1024;

export const common = {
  json: {},
  quiet: { short: 'q' },
  engine: { value: true },
  'seal-key-file': { value: true },
};

/** The positional arguments, exactly `n` of them, all paths ({@link checkPath}). */
export function positional(p: Parsed, n: number, names: string): string[] {
  if (p.positionals.length !== n) {
    throw new UsageError(`expected ${names}, got ${p.positionals.length} argument(s)`);
  }
  const what = names.split(' ');
  p.positionals.forEach((value, i) => {
    checkPath(value, what[i] ?? 'argument');
  });
  return p.positionals;
}

/**
 * Refuses, as a usage error, a path argument that is empty (an unset shell variable: it would
 * mean the current directory to some calls) or holds U+FFFD, which is what a name with bytes
 * that are not UTF-8 becomes on its way into Node: another name than the one given.
 */
export function checkPath(value: string, what: string): string {
  if (value === '') throw new UsageError(`${what} is empty`);
  if (value.includes('\uFFFD')) {
    throw new UsageError(
      `${what} ${JSON.stringify(value)} holds U+FFFD, as a name with bytes that are not UTF-8 arrives here: not the name given; rename the file`,
    );
  }
  return value;
}

export function engineOf(p: Parsed): EngineChoice | undefined {
  const e = p.options.get('engine');
  if (e === undefined) return undefined;
  if (e !== 'auto' && e !== 'wasm' && e !== 'native')
    throw new UsageError('--engine must be auto, wasm or native');
  return e;
}

/** Reads a key file (64 hex characters), warning when others can read it. Never prints the key. */
export async function sealerOf(p: Parsed): Promise<Sealer | undefined> {
  const path = p.options.get('seal-key-file');
  if (typeof path !== 'string') return undefined;
  checkPath(path, '--seal-key-file');
  let read: { bytes: Uint8Array; tooLong: boolean };
  try {
    read = await readSmallFile(path, KEY_FILE_LIMIT);
    const st = await stat(path);
    if (st.isFile() && st.mode & 0o077) {
      process.stderr.write(
        `warning: key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}\n`,
      );
    }
  } catch (err) {
    // An argument that is not valid, as a CA file that cannot be read is: exit 2.
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      ioError(err, 'cannot read key file', path).message,
      {
        cause: err,
      },
    );
  }
  if (read.tooLong) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `key file ${path}: more than ${KEY_FILE_LIMIT / 1024} KiB, not a key (64 hexadecimal characters)`,
    );
  }
  const bytes = read.bytes;
  // The key itself, 32 raw bytes (a newline after them, perhaps), rather than its hex: say so.
  const raw = bytes.length === 33 && bytes[32] === 0x0a ? bytes.subarray(0, 32) : bytes;
  if (raw.length === 32 && !/^[0-9a-fA-F]{32}$/.test(new TextDecoder('latin1').decode(raw))) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `key file ${path}: key must be 64 hexadecimal characters (32 bytes), got 32 bytes that are not hexadecimal: a raw key? write it as hex (xxd -p -c 64)`,
    );
  }
  try {
    return aesGcmSealer(parseKeyHex(new TextDecoder().decode(bytes)));
  } catch (err) {
    throw new SnapshotError('INVALID_ARGUMENT', `key file ${path}: ${(err as Error).message}`);
  }
}

/** FILE, or standard input for "-". */
export function inputOf(file: string): NodeInput {
  return file === '-' ? (process.stdin as AsyncIterable<Uint8Array>) : file;
}

/**
 * Whether the output `out` is this process's standard output: `-`, or a path to the same file
 * (`/dev/stdout`, `/dev/fd/1`, or the file stdout was redirected to). Writing to it then goes
 * through stdout, in order with anything else written there and never by a rename, and the
 * summary goes to stderr. Throws UsageError when OUT is a terminal (standard output on one,
 * /dev/tty, a pts).
 */
async function isStdout(out: string): Promise<boolean> {
  let same = out === '-';
  let terminal = same && process.stdout.isTTY === true;
  if (!same) {
    try {
      const [target, stdout] = [await stat(out), fstatSync(1)];
      same = target.dev === stdout.dev && target.ino === stdout.ino;
      terminal = target.isCharacterDevice() && isTerminal(out);
    } catch {
      same = false;
    }
  }
  // As gzip does: binary on a terminal helps nobody and may upset it.
  if (terminal) {
    throw new UsageError(
      'refusing to write a snapshot to a terminal: redirect standard output or give a file',
    );
  }
  return same;
}

/**
 * Readies the output `out` of a command that writes a snapshot: whether it is standard output
 * ({@link isStdout}, which refuses a terminal); when it is a file, the temporary files that
 * killed runs left where it goes are removed first.
 */
export async function prepareOutput(out: string): Promise<boolean> {
  const toStdout = await isStdout(out);
  if (!toStdout) await cleanStaleTemps(await outputDirectory(out));
  return toStdout;
}

/** Whether the device at `path` is a terminal (/dev/tty, a pts, a console). */
function isTerminal(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    return isatty(fd);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What a command gets from main: `signal` aborts it (SIGINT, SIGTERM, a closed stdout). */
export interface RunContext {
  signal: AbortSignal;
}

/**
 * Prints a command's closing line: on stdout, or on stderr when stdout carries the archive
 * (`-o -`); nothing with --quiet (cron mails only failures).
 */
export function say(p: Parsed, text: string, toStderr = false): void {
  if (p.options.has('quiet')) return;
  (toStderr ? process.stderr : process.stdout).write(text);
}

/** Errors of verify, inspect and extract that a restore would not meet (see {@link verifying}). */
const restorable = new WeakSet<object>();

/**
 * Awaits a read under verify's rules (verify, inspect, extract) and rethrows its error. An error
 * found only after the end of a whole archive is marked, so that {@link noteOf} explains it:
 * products (and `raftsnap restore`) restore such a file, as they never read that far.
 */
export async function verifying<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (isAfterArchiveError(err)) restorable.add(err as object);
    throw err;
  }
}

/** Notes that commands attach to their errors (see {@link withNote}). */
const notes = new WeakMap<object, string>();

/** `err`, with `note` to print after its error line; for chaining into `throw`. */
export function withNote(err: unknown, note: string): unknown {
  if (typeof err === 'object' && err !== null) notes.set(err, note);
  return err;
}

/** The `note:` line the CLI prints after the error line of `err`, if it has one. */
export function noteOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const attached = notes.get(err);
  if (attached !== undefined) return attached;
  if (!restorable.has(err)) return undefined;
  const after =
    isSnapshotError(err) && err.code === 'TRAILING_DATA'
      ? "the gzip stream goes on past it (a tar written with record padding, or data appended), which the reference's Verify rejects"
      : 'only the gzip stream after it is damaged';
  return `the archive itself is whole and its sums match; ${after}. A restore (Consul, Vault, Nomad, OpenBao, raftsnap) reads no further than the archive, so this does not stop one.`;
}

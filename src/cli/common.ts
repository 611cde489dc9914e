/** Options and argument handling shared by the commands. */
import { readFile, stat } from 'node:fs/promises';
import type { EngineChoice } from '../engines/registry.js';
import { SnapshotError } from '../errors.js';
import { ioError } from '../node/files.js';
import type { NodeInput } from '../node/snapshot.js';
import { aesGcmSealer, parseKeyHex, type Sealer } from '../sealer.js';
import { isAfterArchiveError } from '../snapshot.js';
import { type Parsed, UsageError } from './args.js';

export const common = {
  json: {},
  quiet: { short: 'q' },
  engine: { value: true },
  'seal-key-file': { value: true },
};

export function positional(p: Parsed, n: number, names: string): string[] {
  if (p.positionals.length !== n) {
    throw new UsageError(`expected ${names}, got ${p.positionals.length} argument(s)`);
  }
  return p.positionals;
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
  let text: string;
  try {
    text = await readFile(path, 'utf8');
    const st = await stat(path);
    if (st.mode & 0o077) {
      process.stderr.write(
        `warning: key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}\n`,
      );
    }
  } catch (err) {
    throw ioError(err, `cannot read key file ${path}`);
  }
  try {
    return aesGcmSealer(parseKeyHex(text));
  } catch (err) {
    throw new SnapshotError('INVALID_ARGUMENT', `key file ${path}: ${(err as Error).message}`);
  }
}

/** FILE, or standard input for "-". */
export function inputOf(file: string): NodeInput {
  return file === '-' ? (process.stdin as AsyncIterable<Uint8Array>) : file;
}

const notes = new WeakMap<object, string>();

/** Attaches a note to `err`, which the CLI prints as `note: …` after the error line. */
export function withNote<E extends object>(err: E, note: string): E {
  notes.set(err, note);
  return err;
}

/** The note attached to `err` by {@link withNote}, if any. */
export function noteOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? notes.get(err) : undefined;
}

/**
 * Adds a note to an error that verify found only after the end of a whole archive: products (and
 * `raftsnap restore`) restore such a file, as they never read that far. Returns `err`.
 */
export function noteIfRestorable(err: unknown): unknown {
  if (isAfterArchiveError(err)) {
    withNote(
      err as object,
      'the archive itself is whole and its sums match; only the gzip stream after it is damaged. A restore reads no further than the archive: Consul, Vault, Nomad, OpenBao and raftsnap restore accept this file.',
    );
  }
  return err;
}

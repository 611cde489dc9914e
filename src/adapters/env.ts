/**
 * Reading the environment variables the products' own CLIs read (CONSUL_HTTP_ADDR, VAULT_TOKEN,
 * NOMAD_SKIP_VERIFY, BAO_CACERT, …) with the same value syntax: Go's strconv.ParseBool for
 * booleans and Go durations (or plain seconds) for timeouts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SnapshotError } from '../errors.js';
import { readSmallFileSync } from '../node/files.js';

/** The most a token file may hold: tokens are some dozens of characters. */
const TOKEN_FILE_LIMIT = 64 * 1024;

/** An environment: a name → value map (default: process.env). */
export type Env = Record<string, string | undefined>;

/** A set, non-empty variable, else undefined. */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * A boolean variable as Go's strconv.ParseBool reads it (1 t T TRUE true True / 0 f F FALSE false
 * False); unset or empty: undefined. Throws SnapshotError('INVALID_ARGUMENT') otherwise.
 */
export function envBool(env: Env, name: string): boolean | undefined {
  const v = envString(env, name);
  if (v === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new SnapshotError(
    'INVALID_ARGUMENT',
    `${name} must be a boolean (true/false/1/0), got ${JSON.stringify(v)}`,
  );
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * `text` in milliseconds: a Go duration ("90s", "1m30s", "500ms") or a plain number of seconds
 * ("60"), as the Vault CLI accepts; undefined for anything else.
 */
export function durationMs(text: string): number | undefined {
  const v = text.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return wholeMs(Number(v) * 1000);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  return pos === 0 || pos !== v.length ? undefined : wholeMs(total);
}

/** `ms` rounded, except that a positive duration under half a millisecond is 1, not 0 (none). */
function wholeMs(ms: number): number {
  const whole = Math.round(ms);
  return whole === 0 && ms > 0 ? 1 : whole;
}

/**
 * A timeout variable in milliseconds ({@link durationMs}); unset or empty: undefined. Throws
 * SnapshotError('INVALID_ARGUMENT') otherwise.
 */
export function envDurationMs(env: Env, name: string): number | undefined {
  const v = envString(env, name)?.trim();
  if (v === undefined) return undefined;
  const ms = durationMs(v);
  if (ms === undefined) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `${name} must be a duration such as 60s or 1m30s, got ${JSON.stringify(v)}`,
    );
  }
  return ms;
}

/**
 * Where a token came from, for messages that ask to check it: the option, a variable, or a file
 * (named by `variable`, or found in the HOME directory when `variable` is undefined).
 */
export type TokenSource =
  | { kind: 'option' }
  | { kind: 'variable'; variable: string }
  | { kind: 'file'; file: string; variable?: string };

/**
 * The token from the option, else the file named by `fileVar` (its content trimmed, when not
 * empty), else the variable `name`, else `homeFile` in the HOME directory when it exists
 * (Vault's and OpenBao's ~/.vault-token, which `vault login` and `bao login` write), with where
 * it came from; undefined for none. The file comes before the variable as in Consul's client
 * ("If the TokenFile is set, always use that"). Throws SnapshotError('INVALID_ARGUMENT') when a
 * token file cannot be read (the message names the file, never its content).
 */
export function resolveToken(
  option: string | undefined,
  env: Env,
  name: string,
  fileVar?: string,
  homeFile?: string,
): { token: string; source: TokenSource } | undefined {
  if (option !== undefined) {
    return option === '' ? undefined : { token: option, source: { kind: 'option' } };
  }
  const named = fileVar ? envString(env, fileVar) : undefined;
  // An empty file gives no token, and the variable still may (as Consul's client reads them).
  const fromFile = named === undefined ? undefined : readToken(named, ` (${fileVar})`);
  if (fromFile !== undefined) {
    return { token: fromFile, source: { kind: 'file', file: named!, variable: fileVar } };
  }
  const v = envString(env, name);
  if (v !== undefined) return { token: v, source: { kind: 'variable', variable: name } };
  const home = envString(env, 'HOME');
  if (homeFile && home && existsSync(join(home, homeFile))) {
    const file = join(home, homeFile);
    const token = readToken(file, '');
    if (token !== undefined) return { token, source: { kind: 'file', file } };
  }
  return undefined;
}

/** A token file's content, trimmed (undefined when empty); `from` names its variable. */
function readToken(file: string, from: string): string | undefined {
  let read: { bytes: Uint8Array; tooLong: boolean };
  try {
    read = readSmallFileSync(file, TOKEN_FILE_LIMIT);
  } catch (err) {
    throw new SnapshotError('INVALID_ARGUMENT', `cannot read the token file ${file}${from}`, {
      cause: err,
    });
  }
  if (read.tooLong) {
    throw new SnapshotError(
      'INVALID_ARGUMENT',
      `the token file ${file}${from} holds more than ${TOKEN_FILE_LIMIT / 1024} KiB: not a token`,
    );
  }
  const t = new TextDecoder().decode(read.bytes).trim();
  return t === '' ? undefined : t;
}

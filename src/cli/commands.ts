/** The raftsnap commands: save, restore, verify, inspect, extract, create. */
import { registerEngines } from '../engines/registry.js';
import { isSnapshotError, SnapshotError } from '../errors.js';
import type { ArchiveInfo } from '../format/archive.js';
import { decodeMeta, encodeMeta, exactGoInt } from '../format/meta.js';
import { toHex } from '../format/sums.js';
import { registerOutputAdapter } from '../io/input.js';
import { nodeEngines } from '../node/engines.js';
import { fileChunksReused, fileSize, ioError, readSmallFile, replacesFile } from '../node/files.js';
import { createFile, extract, inspect } from '../node/snapshot.js';
import { guardNodeWritable, nodeWritableSink } from '../node/writable-sink.js';
import { stateSizeMismatch, writeSnapshot } from '../snapshot.js';
import { parseArgs, UsageError } from './args.js';
import {
  checkPath,
  common,
  engineOf,
  inputOf,
  positional,
  prepareOutput,
  type RunContext,
  say,
  sealerOf,
  verifying,
} from './common.js';
import { exactJson, humanBytes, metaObject, printable, suffrageName, table } from './format.js';
import { progressReporter } from './progress.js';

/** Most bytes read from create's --meta file: a snapshot's meta.json is under 8192 bytes. */
const META_LIMIT = 1024 * 1024;

registerEngines(nodeEngines, 1);
registerOutputAdapter(nodeWritableSink, guardNodeWritable);

export interface Command {
  help: string;
  /** Runs the command; its operations stop (cleaning up) when `ctx.signal` aborts. */
  run(argv: string[], ctx: RunContext): Promise<number>;
  /**
   * Whether the command may hash large state on hashing threads (src/node/hash-thread.ts), as
   * every command that reads an archive does. Default true.
   */
  hashThreads?: boolean;
}

export const usage = `Usage: raftsnap <command> [options]

Raft snapshot archives as written by consul snapshot save, vault operator raft snapshot save,
nomad operator snapshot save and OpenBao — verified exactly as hashicorp/raft-snapshot does.

Commands:
  save     --from PRODUCT OUT        save a verified snapshot from consul, vault, nomad or openbao
  restore  --to PRODUCT FILE         verify FILE, then restore it into the product
  verify   FILE                      check a snapshot archive; exit 0 when valid
  inspect  FILE                      show a snapshot's metadata, sizes and checksum
  extract  FILE DIR                  write DIR/meta.json and DIR/state.bin after verifying
  create   --meta M --state S -o OUT write a snapshot archive from metadata and state
  version                            print raftsnap's version (also --version)

Run 'raftsnap <command> --help' for a command's options and examples.
Exit codes: 0 success, 1 invalid snapshot or failed operation, 2 usage error.`;

/**
 * Warns (on stderr, --quiet or not) of an archive that verifies, as it does with the reference,
 * but that Raft will not restore: its state.bin is not meta.json's Size long.
 */
function warnSizeMismatch(file: string, info: ArchiveInfo): void {
  const mismatch = stateSizeMismatch(info.meta, info.stateSize);
  if (mismatch) {
    process.stderr.write(
      `warning: ${file}: ${mismatch}; the reference's Verify accepts it, but Consul, Vault, Nomad and OpenBao cannot restore it\n`,
    );
  }
}

/** What verify's summary says of SHA256SUMS.sealed. */
function sealedNote(sealed: boolean, keyed: boolean): string {
  if (keyed) return ', sealed sums verified';
  return sealed ? ', SHA256SUMS.sealed not checked (no --seal-key-file)' : '';
}

const verifyCmd: Command = {
  help: `Usage: raftsnap verify FILE [--seal-key-file KEY] [--json] [--quiet]

Checks a gzip'd snapshot archive exactly as hashicorp/raft-snapshot's Verify does: entry names,
size limits, SHA256SUMS, gzip checksums, nothing after the archive. With --seal-key-file, the
SHA256SUMS.sealed list is opened with the AES-256-GCM key (64 hex characters) and checked too.
When only the gzip stream after a whole archive is damaged, a note says so: a restore does not
read that far. A warning says when Raft would refuse a valid archive (state.bin not meta.json's
Size long). FILE may be - for standard input.

  --json             print the metadata as the reference encodes it (Go field names, exact integers)
  --seal-key-file K  key file for sealed archives
  --engine E         auto, wasm or native hot-path engines
  --quiet, -q        no progress and no summary: the exit code alone says it

Exit codes: 0 valid, 1 invalid (reason on stderr), 2 usage error.

Examples:
  raftsnap verify backup.snap
  raftsnap verify --json backup.snap | jq .Index
  curl -s "$URL" | raftsnap verify -`,
  async run(argv, { signal }) {
    const p = parseArgs(argv, common);
    const [file] = positional(p, 1, 'FILE');
    const sealer = await sealerOf(p);
    const progress = progressReporter(p.options.has('quiet') || p.options.has('json'), 'verifying');
    try {
      const info = await verifying(
        inspect(inputOf(file), {
          checksum: false,
          sealer,
          engine: engineOf(p),
          onProgress: progress.update,
          signal,
        }),
      );
      progress.done();
      warnSizeMismatch(file, info);
      if (p.options.has('json')) {
        process.stdout.write(new TextDecoder().decode(encodeMeta(info.meta)));
      } else {
        const m = info.meta;
        say(
          p,
          `Snapshot verified: index ${m.index}, term ${m.term}, state ${humanBytes(info.stateSize)}${sealedNote(info.sealed, sealer !== undefined)}\n`,
        );
      }
      return 0;
    } finally {
      progress.done();
    }
  },
};

const inspectCmd: Command = {
  help: `Usage: raftsnap inspect FILE [--json] [--verbose] [--seal-key-file KEY] [--quiet]

Verifies the archive and shows its metadata in the manner of 'consul snapshot inspect': ID, Size,
Index, Term, Version, ConfigurationIndex, servers, state size, archive size and checksum, and
whether it is sealed. FILE may be - for standard input.

  --json             machine-readable output (exact integers)
  --verbose          also show the engines used
  --seal-key-file K  key file for sealed archives: SHA256SUMS.sealed is checked too
  --engine E         auto, wasm or native hot-path engines
  --quiet, -q        no progress

Exit codes: 0 valid, 1 invalid (reason on stderr), 2 usage error.

Examples:
  raftsnap inspect backup.snap
  raftsnap inspect --json backup.snap`,
  async run(argv, { signal }) {
    const p = parseArgs(argv, { ...common, verbose: { short: 'v' } });
    const [file] = positional(p, 1, 'FILE');
    const sealer = await sealerOf(p);
    const progress = progressReporter(p.options.has('quiet') || p.options.has('json'), 'reading');
    const info = await verifying(
      inspect(inputOf(file), {
        sealer,
        engine: engineOf(p),
        onProgress: progress.update,
        signal,
      }),
    );
    progress.done();
    warnSizeMismatch(file, info);
    const m = info.meta;
    if (p.options.has('json')) {
      process.stdout.write(
        `${exactJson({
          ...metaObject(m),
          StateSize: info.stateSize,
          ArchiveSize: info.archiveSize,
          Checksum: info.checksum,
          Sealed: info.sealed,
          ...(p.options.has('verbose') ? { Engines: info.engines } : {}),
        })}\n`,
      );
      return 0;
    }
    const rows: [string, string][] = [
      ['ID', printable(m.id)],
      ['Size', m.size.toString()],
      ['Index', m.index.toString()],
      ['Term', m.term.toString()],
      ['Version', String(exactGoInt(m.version, m))],
      ['ConfigurationIndex', m.configurationIndex.toString()],
      ['State size', `${info.stateSize} (${humanBytes(info.stateSize)})`],
      ['Archive size', `${info.archiveSize} (${humanBytes(info.archiveSize)})`],
      ['Checksum', info.checksum],
      [
        'Sealed',
        info.sealed
          ? sealer
            ? 'yes (verified with key)'
            : 'yes (not opened: no key given)'
          : 'no',
      ],
    ];
    if (m.peers?.length) rows.push(['Peers', toHex(m.peers)]);
    if (p.options.has('verbose'))
      rows.push(['Engines', `hash=${info.engines.hash} inflate=${info.engines.inflate}`]);
    let out = `${table(rows)}\n`;
    const servers = m.configuration.servers ?? [];
    out += `\n Servers (${servers.length})\n`;
    if (servers.length) {
      const shown = servers.map((s) => [printable(s.id), printable(s.address), suffrageName(s)]);
      const w = Math.max(2, ...shown.map(([id]) => id.length));
      const a = Math.max(7, ...shown.map(([, address]) => address.length));
      out += `  ${'ID'.padEnd(w)}  ${'Address'.padEnd(a)}  Suffrage\n`;
      for (const [id, address, suffrage] of shown)
        out += `  ${id.padEnd(w)}  ${address.padEnd(a)}  ${suffrage}\n`;
    }
    process.stdout.write(out);
    return 0;
  },
};

const extractCmd: Command = {
  help: `Usage: raftsnap extract FILE DIR [--seal-key-file KEY] [--json] [--quiet]

Verifies the archive completely, then writes DIR/meta.json (the metadata as the reference encodes
it) and DIR/state.bin, creating DIR if needed. Nothing is left in DIR when the archive is invalid.

  --json             print { dir, meta } as JSON (exact integers)
  --seal-key-file K  key file for sealed archives: SHA256SUMS.sealed is checked too
  --engine E         auto, wasm or native hot-path engines
  --quiet, -q        no progress and no summary

Exit codes: 0 extracted, 1 invalid or not written (reason on stderr), 2 usage error.

Examples:
  raftsnap extract backup.snap ./restored
  raftsnap extract --seal-key-file seal.key backup.snap ./restored`,
  async run(argv, { signal }) {
    const p = parseArgs(argv, common);
    const [file, dir] = positional(p, 2, 'FILE DIR');
    const sealer = await sealerOf(p);
    const progress = progressReporter(
      p.options.has('quiet') || p.options.has('json'),
      'extracting',
    );
    const info = await verifying(
      extract(inputOf(file), dir, {
        sealer,
        engine: engineOf(p),
        onProgress: progress.update,
        signal,
      }),
    );
    progress.done();
    warnSizeMismatch(file, info);
    if (p.options.has('json')) {
      process.stdout.write(`${exactJson({ dir, meta: metaObject(info.meta) })}\n`);
    } else {
      say(
        p,
        `Extracted snapshot at index ${info.meta.index} to ${dir} (meta.json, state.bin: ${humanBytes(info.stateSize)})${sealedNote(info.sealed, sealer !== undefined)}\n`,
      );
    }
    return 0;
  },
};

const createCmd: Command = {
  hashThreads: false,
  help: `Usage: raftsnap create --meta META.json --state STATE -o OUT [--seal-key-file KEY] [--level 0-9] [--json] [--quiet]

Writes a gzip'd snapshot archive from Raft metadata (META.json in the reference's JSON form, as
'raftsnap extract' writes it; its Size is replaced by the size of STATE) and the FSM state file.
OUT is written atomically: a temporary file next to it (mode 0600), fsync'd, renamed only on
success (a symbolic link is followed, and the file it points to replaced). A pipe or device is
written straight through, and - is standard output (the summary then goes to stderr).

  --level N          gzip level 0-9 for every block (default: 6, as the Go tools, except
                     that blocks which look random, such as ciphertext, are stored)
  --seal-key-file K  also write SHA256SUMS.sealed with this AES-256-GCM key
  --json             print { out, index, size, checksum, sealed } as JSON (exact integers)
  --engine E         auto (gzip members by libdeflate where the build made its addon, see
                     'raftsnap --version'), or wasm or native (one gzip member by node:zlib)
  --quiet, -q        no progress and no summary

Exit codes: 0 written, 1 failed (reason on stderr; OUT untouched), 2 usage error.

Examples:
  raftsnap create --meta restored/meta.json --state restored/state.bin -o new.snap
  raftsnap create --meta m.json --state s.bin --level 1 -o fast.snap
  raftsnap create --meta m.json --state s.bin -o - | aws s3 cp - s3://backups/new.snap`,
  async run(argv, { signal }) {
    const p = parseArgs(argv, {
      ...common,
      meta: { value: true },
      state: { value: true },
      out: { value: true, short: 'o' },
      level: { value: true },
    });
    positional(p, 0, 'no positional arguments');
    const metaPath = p.options.get('meta');
    const statePath = p.options.get('state');
    const out = p.options.get('out');
    if (typeof metaPath !== 'string' || typeof statePath !== 'string' || typeof out !== 'string') {
      throw new UsageError('--meta, --state and -o are required');
    }
    checkPath(metaPath, '--meta');
    checkPath(statePath, '--state');
    checkPath(out, '-o');
    let level: number | undefined;
    const lv = p.options.get('level');
    if (lv !== undefined) {
      level = Number(lv);
      if (!/^[0-9]$/.test(String(lv))) throw new UsageError('--level must be 0-9');
    }
    const keyPath = p.options.get('seal-key-file');
    for (const [flag, input] of [
      ['--meta', metaPath],
      ['--state', statePath],
      ...(typeof keyPath === 'string' ? [['--seal-key-file', keyPath] as const] : []),
    ] as const) {
      if (out !== '-' && (await replacesFile(out, input))) {
        throw new UsageError(
          `-o ${out} is the ${flag} file itself, which the archive would replace`,
        );
      }
    }
    const sealer = await sealerOf(p);
    let metaBytes: Uint8Array;
    let stateSize: number;
    try {
      const read = await readSmallFile(metaPath, META_LIMIT);
      if (read.tooLong) {
        throw new SnapshotError(
          'META',
          `${metaPath}: more than ${META_LIMIT / 1024} KiB, too long for a snapshot's metadata (its meta.json must stay under 8192 bytes)`,
        );
      }
      metaBytes = read.bytes;
    } catch (err) {
      throw isSnapshotError(err) ? err : ioError(err, 'cannot read', metaPath);
    }
    try {
      stateSize = await fileSize(statePath, { regular: true });
    } catch (err) {
      throw ioError(err, 'cannot read', statePath);
    }
    let meta: ReturnType<typeof decodeMeta>;
    try {
      meta = decodeMeta(metaBytes);
    } catch (err) {
      throw new SnapshotError('META', `${metaPath}: ${(err as Error).message}`);
    }
    meta.size = BigInt(stateSize);
    const progress = progressReporter(p.options.has('quiet') || p.options.has('json'), 'writing');
    const opts = {
      sealer,
      level,
      engine: engineOf(p),
      onProgress: (x: { bytes: number }) => progress.update({ bytes: x.bytes, total: stateSize }),
      signal,
    };
    const toStdout = await prepareOutput(out);
    const result = toStdout
      ? await writeSnapshot(meta, fileChunksReused(statePath), process.stdout, opts)
      : await createFile(meta, statePath, out, opts);
    progress.done();
    if (p.options.has('json')) {
      (toStdout ? process.stderr : process.stdout).write(
        `${exactJson({ out, index: meta.index, size: result.bytes, checksum: result.checksum, sealed: !!sealer })}\n`,
      );
    } else {
      say(
        p,
        `Created snapshot ${toStdout ? '(standard output)' : out} at index ${meta.index} (${humanBytes(result.bytes)}, ${result.checksum})\n`,
        toStdout,
      );
    }
    return 0;
  },
};

/**
 * The commands by name. save and restore load on first use: only they need the HTTP adapters,
 * and the other commands should not pay for loading them.
 */
export const commands: Record<string, Command | (() => Promise<Command>)> = {
  save: async () => (await import('./operator.js')).saveCmd,
  restore: async () => (await import('./operator.js')).restoreCmd,
  verify: verifyCmd,
  inspect: inspectCmd,
  extract: extractCmd,
  create: createCmd,
};

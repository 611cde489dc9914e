/** The operators' commands: save from and restore to Consul, Vault, Nomad and OpenBao. */

import { durationMs } from '../adapters/env.js';
import {
  consul,
  HttpError,
  nomad,
  openbao,
  type ProductName,
  type ProductOptions,
  type SnapshotService,
  vault,
} from '../adapters/index.js';
import type { SnapshotInfo } from '../snapshot.js';
import type { Parsed } from './args.js';
import { parseArgs, UsageError } from './args.js';
import type { Command } from './commands.js';
import {
  engineOf,
  inputOf,
  positional,
  prepareOutput,
  type RunContext,
  say,
  sealerOf,
  withNote,
} from './common.js';
import { exactJson, humanBytes } from './format.js';
import { progressReporter } from './progress.js';

const PRODUCTS: Record<
  ProductName,
  (
    o: ProductOptions & {
      namespace?: string;
      datacenter?: string;
      region?: string;
      stale?: boolean;
    },
  ) => SnapshotService
> = {
  consul,
  vault,
  nomad,
  openbao,
};

/** The products as their names are written. */
const PRODUCT_NAMES: Record<ProductName, string> = {
  consul: 'Consul',
  vault: 'Vault',
  nomad: 'Nomad',
  openbao: 'OpenBao',
};

const connection = {
  addr: { value: true },
  token: { value: true },
  namespace: { value: true },
  datacenter: { value: true },
  region: { value: true },
  'ca-file': { value: true },
  'ca-path': { value: true },
  'client-cert': { value: true },
  'client-key': { value: true },
  'tls-server-name': { value: true },
  'tls-skip-verify': {},
  timeout: { value: true },
  json: {},
  quiet: { short: 'q' },
  engine: { value: true },
  'seal-key-file': { value: true },
} as const;

/** Parses a duration: `90` (seconds), `500ms`, `30s`, `1m30s`, `1h`. Returns milliseconds. */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new UsageError(
      `--timeout must be a duration like 30s, 5m, 1m30s or 500ms, not ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

function productOf(p: Parsed, flag: 'from' | 'to'): ProductName {
  const v = p.options.get(flag);
  if (typeof v !== 'string')
    throw new UsageError(`--${flag} consul|vault|nomad|openbao is required`);
  if (!(v in PRODUCTS))
    throw new UsageError(
      `--${flag} must be consul, vault, nomad or openbao, not ${JSON.stringify(v)}`,
    );
  return v as ProductName;
}

/** Which products take a product-specific flag. */
const ONLY: Record<string, ProductName[]> = {
  namespace: ['vault', 'openbao'],
  datacenter: ['consul'],
  region: ['nomad'],
  stale: ['consul', 'nomad'],
};

function serviceOf(p: Parsed, product: ProductName): SnapshotService {
  const str = (k: string) => {
    const v = p.options.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const timeout = str('timeout');
  for (const [flag, products] of Object.entries(ONLY)) {
    if (p.options.has(flag) && !products.includes(product)) {
      throw new UsageError(`--${flag} applies to ${products.join(' and ')} only`);
    }
  }
  return PRODUCTS[product]({
    addr: str('addr'),
    token: str('token'),
    namespace: str('namespace'),
    datacenter: str('datacenter'),
    region: str('region'),
    stale: p.options.has('stale') ? true : undefined,
    caFile: str('ca-file'),
    caPath: str('ca-path'),
    certFile: str('client-cert'),
    keyFile: str('client-key'),
    tlsServerName: str('tls-server-name'),
    tlsSkipVerify: p.options.has('tls-skip-verify') ? true : undefined,
    timeoutMs: timeout === undefined ? undefined : parseDuration(timeout),
    optionNames: FLAGS,
  });
}

/** The flags that set what messages point to. */
const FLAGS = {
  addr: '--addr',
  token: '--token',
  caFile: '--ca-file',
  certFile: '--client-cert',
  keyFile: '--client-key',
  tlsServerName: '--tls-server-name',
  timeout: '--timeout',
};

const ENV_HELP = `Environment (as the products' own CLIs):
  consul   CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN_FILE (else CONSUL_HTTP_TOKEN), CONSUL_HTTP_SSL,
           CONSUL_CACERT, CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY,
           CONSUL_TLS_SERVER_NAME, CONSUL_HTTP_SSL_VERIFY
  vault    VAULT_ADDR, VAULT_TOKEN (else ~/.vault-token), VAULT_NAMESPACE, VAULT_CACERT,
           VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME,
           VAULT_SKIP_VERIFY, VAULT_CLIENT_TIMEOUT
  nomad    NOMAD_ADDR, NOMAD_TOKEN, NOMAD_REGION, NOMAD_CACERT, NOMAD_CAPATH,
           NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY, NOMAD_TLS_SERVER_NAME, NOMAD_SKIP_VERIFY
  openbao  BAO_ADDR, BAO_TOKEN (else ~/.vault-token), BAO_NAMESPACE, BAO_CACERT, BAO_CAPATH,
           BAO_CLIENT_CERT, BAO_CLIENT_KEY, BAO_TLS_SERVER_NAME, BAO_SKIP_VERIFY,
           BAO_CLIENT_TIMEOUT
  all      HTTPS_PROXY / HTTP_PROXY (http://, https:// or socks5:// proxies), NO_PROXY, as the
           products' clients
Options override the environment (but CONSUL_HTTP_SSL=true makes even an http:// --addr https,
as Consul's CLI does). Tokens and keys are never printed.`;

const CONNECTION_HELP = `  --addr URL          the product's API address
  --token T           the API token (better: the environment variable)
  --namespace NS      Vault/OpenBao namespace
  --datacenter DC     Consul: the datacenter to talk to (default: the agent's)
  --region R          Nomad: the region to talk to (default: NOMAD_REGION, else the agent's)
  --ca-file F         PEM CA certificate(s) to trust
  --ca-path D         a directory of PEM CA certificates to trust
  --client-cert F     PEM client certificate, with --client-key F, for mutual TLS
  --tls-server-name N the name to expect in the server's certificate (and send as SNI)
  --tls-skip-verify   do not verify the server certificate (insecure)
  --timeout D         give up after D without progress (e.g. 30s, 5m; 0: never): connecting,
                      the answer and every pause count (default: Vault/OpenBao 60 s or
                      *_CLIENT_TIMEOUT, Consul/Nomad 5 minutes)
  --engine E          auto, wasm or native hot-path engines for the verification
  --quiet, -q         no progress bar and no summary (errors and warnings still show)`;

export const saveCmd: Command = {
  help: `Usage: raftsnap save --from consul|vault|nomad|openbao [options] OUT

Streams a snapshot from the product's API and verifies it as it arrives, writing OUT through a
temporary file in the same directory that is fsync'd and renamed only when the whole archive
verified (and matched the server's Digest header, when it sends one). On any failure nothing is
left: no OUT, no temporary file. Stale temporary files of killed runs in that directory are removed.
OUT may be - for standard output (or a pipe such as >(gpg -e ...)): the bytes then go out as they
arrive (through a pipe given by path, in pieces of up to 1 MiB) and the exit code says whether
they verified; on a failure the reader has part of a snapshot and must discard it. The summary
goes to stderr.

${CONNECTION_HELP}
  --stale             Consul/Nomad: let any server answer, not only the leader (as their
                      -stale; what a cluster without a leader can still give)
  --seal-key-file K   also open and check SHA256SUMS.sealed with this AES-256-GCM key
  --json              print { product, out, index, term, size, stateSize, checksum, seconds }
                      (on stderr when OUT is -)

${ENV_HELP}

Exit codes: 0 saved and verified, 1 failed (no OUT file left; - or a pipe: discard what came),
2 usage error.

Examples:
  VAULT_ADDR=https://vault:8200 VAULT_TOKEN=... raftsnap save --from vault backup.snap
  raftsnap save --from consul --addr http://127.0.0.1:8500 consul-$(date +%F).snap
  # cron, nightly at 02:00 (silent unless it fails):
  0 2 * * * raftsnap save --from nomad --quiet /backups/nomad-$(date +\\%F).snap`,
  async run(argv, { signal }: RunContext) {
    const p = parseArgs(argv, { ...connection, from: { value: true }, stale: {} });
    const [out] = positional(p, 1, 'OUT');
    const product = productOf(p, 'from');
    const service = serviceOf(p, product);
    const sealer = await sealerOf(p);
    const toStdout = await prepareOutput(out);
    const progress = progressReporter(
      p.options.has('quiet') || p.options.has('json'),
      `saving from ${product}`,
    );
    const start = Date.now();
    const opts = { sealer, engine: engineOf(p), onProgress: progress.update, signal };
    let info: SnapshotInfo;
    try {
      info = toStdout
        ? await service.saveTo(process.stdout, opts)
        : await service.saveFile(out, opts);
    } finally {
      progress.done();
    }
    const secs = (Date.now() - start) / 1000;
    if (p.options.has('json')) {
      (toStdout ? process.stderr : process.stdout).write(
        `${exactJson({ product, out, index: info.meta.index, term: info.meta.term, size: info.archiveSize, stateSize: info.stateSize, checksum: info.checksum, seconds: secs })}\n`,
      );
    } else {
      say(
        p,
        `Saved and verified snapshot to index ${info.meta.index}: ${toStdout ? '(standard output)' : out} (${humanBytes(info.archiveSize)} in ${secs.toFixed(1)}s, ${info.checksum})\n`,
        toStdout,
      );
    }
    return 0;
  },
};

export const restoreCmd: Command = {
  help: `Usage: raftsnap restore --to consul|vault|nomad|openbao [options] [--force] FILE

Verifies FILE completely first (with --seal-key-file, the sealed sums too); only then streams it
to the product's restore endpoint. Nothing is sent when verification fails. A file whose archive
is whole but whose gzip stream is damaged after it (which the product's restore never reads) is
sent with a warning; raftsnap verify rejects such a file. FILE may be - for standard input; that
and a pipe are copied to a temporary file as they are verified (in TMPDIR, default /tmp).

${CONNECTION_HELP}
  --force             Vault/OpenBao: use snapshot-force (a snapshot from another cluster,
                      or one without SHA256SUMS.sealed, which Vault otherwise refuses)
  --seal-key-file K   also open and check SHA256SUMS.sealed with this AES-256-GCM key
                      (raftsnap's sealer; Vault's own seal is opened by Vault alone)
  --json              print { product, file, index, term, state: restored|accepted, seconds }

${ENV_HELP}

Consul and Nomad answer once the snapshot is restored; Vault and OpenBao once they have checked
it, and restore it in the background (sealing themselves should that fail).

Exit codes: 0 restored (Vault/OpenBao: accepted), 1 invalid snapshot or restore failed,
2 usage error.

Examples:
  raftsnap restore --to consul backup.snap
  raftsnap restore --to vault --force dr.snap`,
  async run(argv, { signal }: RunContext) {
    const p = parseArgs(argv, { ...connection, to: { value: true }, force: {} });
    const [file] = positional(p, 1, 'FILE');
    const product = productOf(p, 'to');
    const service = serviceOf(p, product);
    const sealer = await sealerOf(p);
    const quiet = p.options.has('quiet') || p.options.has('json');
    const progress = progressReporter(quiet, 'verifying');
    // Made when the upload starts, so that its rate counts the upload alone.
    let upload: ReturnType<typeof progressReporter> | undefined;
    const start = Date.now();
    const warnings: string[] = [];
    // Vault and OpenBao answer once they have checked the upload and restore it afterwards.
    const background = product === 'vault' || product === 'openbao';
    const name = PRODUCT_NAMES[product];
    let sent: { bytes: number; total?: number } = { bytes: 0 };
    // The server that took the snapshot: the active node, after a standby's redirect.
    let answeredBy = service.addr;
    let meta: Awaited<ReturnType<typeof service.restore>>;
    try {
      meta = await service.restore(inputOf(file), {
        sealer,
        force: p.options.has('force'),
        engine: engineOf(p),
        onProgress: progress.update,
        onUploadProgress: (x) => {
          if (!upload) {
            progress.done();
            upload = progressReporter(quiet, `sending to ${product}`, {
              whenComplete: `sent; waiting for ${name} to ${background ? 'check' : 'restore'} it`,
            });
          }
          sent = x;
          upload.update(x);
        },
        onWarning: (m) => warnings.push(m),
        onAnswered: (url) => {
          answeredBy = new URL(url).origin;
        },
        signal,
      });
    } catch (err) {
      if (
        !upload &&
        (signal.aborted || !(err instanceof HttpError)) &&
        !String((err as Error)?.message).includes('nothing was sent')
      ) {
        // Refused or stopped here, before any of the upload: the cluster is as it was.
        throw withNote(err, `nothing was sent to ${name}`);
      }
      // Stopped after the last byte went out: the server may have the snapshot and restore it.
      if (signal.aborted && sent.total !== undefined && sent.bytes >= sent.total) {
        warnings.push(
          `the whole snapshot had been sent to ${name} when the restore was stopped, and it may still restore it: check it before restoring again`,
        );
      }
      throw err;
    } finally {
      progress.done();
      upload?.done();
      for (const m of warnings) process.stderr.write(`warning: ${file}: ${m}\n`);
    }
    const secs = (Date.now() - start) / 1000;
    if (p.options.has('json')) {
      process.stdout.write(
        `${exactJson({ product, file, index: meta.index, term: meta.term, state: background ? 'accepted' : 'restored', seconds: secs })}\n`,
      );
    } else if (background) {
      say(
        p,
        `${name} at ${answeredBy} accepted the snapshot at index ${meta.index} (${secs.toFixed(1)}s) and is restoring it; should that fail, ${name} seals itself (see its log)\n`,
      );
    } else {
      say(
        p,
        `Restored snapshot at index ${meta.index} to ${product} at ${answeredBy} (${secs.toFixed(1)}s)\n`,
      );
    }
    return 0;
  },
};

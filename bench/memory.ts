/**
 * Peak memory of the raftsnap CLI on large states: `create`, `verify`, `extract` and `restore`
 * of one generated state per shape (default 1 GiB), each run as a whole process and measured
 * like the throughput benchmark (GNU time's maximum RSS, else VmHWM polled from /proc); and,
 * where Go is installed, `verify` of the Go baseline's archive of the same state (one gzip
 * member, as the reference writes it). Every figure is checked against the 96 MiB target.
 *
 * `restore --to consul` streams into a local HTTP server in this process that accepts
 * `PUT /v1/snapshot` and discards the body: a stand-in for Consul's endpoint (no Consul runs
 * here; the real-cluster restores are in test/raft-dr.test.ts), so only raftsnap's side is
 * measured.
 *
 * Writes bench/data/memory-SIZE.md (memory-1GiB.md, memory-4GiB.md). Run directly:
 * `node dist/bench/memory.js [--size 1GiB] [--shapes consul,vault]`.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatSize, parseSize, SHAPES, type Shape } from './gen.js';
import {
  buildGoBaseline,
  describeFailure,
  ensureState,
  goVersion,
  measure,
  parseThroughputArgs,
} from './throughput.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;
const OPS = ['create', 'verify', 'extract', 'restore', 'verify-go'] as const;
const OP_LABEL: Record<(typeof OPS)[number], string> = {
  create: 'create',
  verify: 'verify',
  extract: 'extract',
  restore: 'restore',
  'verify-go': "verify, Go's archive",
};
/** Issue #4's bound on the peak RSS of each operation. */
const TARGET = 96 * MiB;

/** One measured operation. */
export interface MemoryRow {
  shape: Shape;
  op: (typeof OPS)[number];
  wallSeconds: number;
  peakRss?: number;
  error?: string;
}

/** Accepts PUT /v1/snapshot, reads the body to its end and answers 200. */
function discardServer(): Promise<Server> {
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(req.method === 'PUT' && req.url?.startsWith('/v1/snapshot') ? 200 : 404);
      res.end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Measures every operation on each shape at `size`; prints and writes the table. */
export async function benchMemory(
  options: { size?: number | string; shapes?: readonly Shape[] } = {},
): Promise<MemoryRow[]> {
  const size = typeof options.size === 'number' ? options.size : parseSize(options.size ?? '1GiB');
  const shapes = options.shapes ?? SHAPES;
  const dataDir = join(root, 'bench', 'data');
  const cli = join(root, 'dist', 'src', 'cli', 'raftsnap.js');
  const node = process.execPath;
  const server = await discardServer();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONSUL_HTTP_ADDR: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
  delete env.RAFTSNAP_ENGINE;
  const work = await mkdtemp(join(tmpdir(), 'raftsnap-memory-'));
  const go = goVersion();
  const goBinary = go ? await buildGoBaseline(dataDir, go) : undefined;
  const rows: MemoryRow[] = [];
  console.log(`\nPeak memory of the CLI, ${formatSize(size)} state per shape`);
  try {
    for (const shape of shapes) {
      const files = await ensureState(dataDir, shape, size, 1, (l) => console.log(l));
      const archive = join(work, `${shape}.snap`);
      const goArchive = join(work, `${shape}-go.snap`);
      if (goBinary) {
        const made = await measure([goBinary, 'create', files.meta, files.state, goArchive]);
        if (made.code !== 0) throw new Error(`go-baseline create: ${describeFailure(made)}`);
      }
      const argv: Record<(typeof OPS)[number], string[]> = {
        create: ['create', '--meta', files.meta, '--state', files.state, '-o', archive],
        verify: ['verify', archive],
        extract: ['extract', archive, join(work, `${shape}-extracted`)],
        restore: ['restore', '--to', 'consul', archive],
        'verify-go': ['verify', goArchive],
      };
      for (const op of OPS) {
        if (op === 'verify-go' && !goBinary) continue;
        const r = await measure([node, cli, ...argv[op], '--quiet'], env);
        const row: MemoryRow = { shape, op, wallSeconds: r.wallSeconds, peakRss: r.peakRss };
        if (r.code !== 0) row.error = describeFailure(r);
        rows.push(row);
        const rss = row.peakRss === undefined ? '?' : `${(row.peakRss / MiB).toFixed(0)} MiB`;
        console.log(
          `  ${shape.padEnd(7)} ${OP_LABEL[op].padEnd(20)} ${r.wallSeconds.toFixed(2).padStart(7)} s  peak RSS ${rss}${row.error ? `  FAILED: ${row.error}` : ''}`,
        );
      }
      const extracted = join(work, `${shape}-extracted`, 'state.bin');
      if ((await stat(extracted)).size !== size) throw new Error(`${extracted} has the wrong size`);
      await rm(join(work, `${shape}-extracted`), { recursive: true, force: true });
      await rm(archive, { force: true });
      await rm(goArchive, { force: true });
    }
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
  const over = rows.filter((r) => r.peakRss !== undefined && r.peakRss > TARGET);
  const measured = rows.filter((r) => !r.error && r.peakRss !== undefined);
  const verdict = !measured.length
    ? 'n/a   peak RSS ≤ 96 MiB: nothing measured'
    : over.length
      ? `MISS  peak RSS ≤ 96 MiB: ${over.map((r) => `${r.shape}-like ${OP_LABEL[r.op]} ${(r.peakRss! / MiB).toFixed(0)} MiB`).join(', ')}`
      : `met   peak RSS ≤ 96 MiB: at most ${(Math.max(...measured.map((r) => r.peakRss!)) / MiB).toFixed(0)} MiB`;
  console.log(`  target (issue #4): ${verdict}`);
  const ops = OPS.filter((op) => rows.some((r) => r.op === op));
  const md = [
    `Peak RSS of the raftsnap CLI, ${formatSize(size)} state, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    `| state | ${ops.map((op) => OP_LABEL[op]).join(' | ')} |`,
    `|---|${ops.map(() => '---:').join('|')}|`,
    ...shapes.map(
      (shape) =>
        `| ${shape}-like | ${ops
          .map((op) => {
            const r = rows.find((x) => x.shape === shape && x.op === op);
            return r?.error || r?.peakRss === undefined
              ? 'failed'
              : `${(r.peakRss / MiB).toFixed(0)} MiB (${r.wallSeconds.toFixed(1)} s)`;
          })
          .join(' | ')} |`,
    ),
    '',
    `Target (issue #4): ${verdict}`,
    '',
  ].join('\n');
  await writeFile(join(dataDir, `memory-${formatSize(size)}.md`), md);
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts = parseThroughputArgs(process.argv.slice(2));
  benchMemory({ size: opts.size ?? '1GiB', shapes: opts.shapes }).then(
    (rows) => {
      process.exitCode = rows.some((r) => r.error) ? 1 : 0;
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

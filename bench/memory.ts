/**
 * Peak memory of the raftsnap CLI on large states: `create`, `verify`, `extract` and `restore`
 * of one generated state per shape (default 1 GiB), each run as a whole process and measured
 * like the throughput benchmark (GNU time's maximum RSS, else VmHWM polled from /proc).
 *
 * `restore --to consul` streams into a local HTTP server in this process that accepts
 * `PUT /v1/snapshot` and discards the body: a stand-in for Consul's endpoint (no Consul runs
 * here; the real-cluster restores are in test/raft-dr.test.ts), so only raftsnap's side is
 * measured.
 *
 * Writes bench/data/memory.md. Run directly:
 * `node dist/bench/memory.js [--size 1GiB] [--shapes consul,vault]`.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { formatSize, parseSize, SHAPES, type Shape } from './gen.js';
import { describeFailure, ensureState, measure, parseThroughputArgs } from './throughput.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;
const OPS = ['create', 'verify', 'extract', 'restore'] as const;

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
  const rows: MemoryRow[] = [];
  console.log(`\nPeak memory of the CLI, ${formatSize(size)} state per shape`);
  try {
    for (const shape of shapes) {
      const files = await ensureState(dataDir, shape, size, 1, (l) => console.log(l));
      const archive = join(work, `${shape}.snap`);
      const argv: Record<(typeof OPS)[number], string[]> = {
        create: ['create', '--meta', files.meta, '--state', files.state, '-o', archive],
        verify: ['verify', archive],
        extract: ['extract', archive, join(work, `${shape}-extracted`)],
        restore: ['restore', '--to', 'consul', archive],
      };
      for (const op of OPS) {
        const r = await measure([node, cli, ...argv[op], '--quiet'], env);
        const row: MemoryRow = { shape, op, wallSeconds: r.wallSeconds, peakRss: r.peakRss };
        if (r.code !== 0) row.error = describeFailure(r);
        rows.push(row);
        const rss = row.peakRss === undefined ? '?' : `${(row.peakRss / MiB).toFixed(0)} MiB`;
        console.log(
          `  ${shape.padEnd(7)} ${op.padEnd(8)} ${r.wallSeconds.toFixed(2).padStart(7)} s  peak RSS ${rss}${row.error ? `  FAILED: ${row.error}` : ''}`,
        );
      }
      const extracted = join(work, `${shape}-extracted`, 'state.bin');
      if ((await stat(extracted)).size !== size) throw new Error(`${extracted} has the wrong size`);
      await rm(join(work, `${shape}-extracted`), { recursive: true, force: true });
      await rm(archive, { force: true });
    }
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
  const md = [
    `Peak RSS of the raftsnap CLI, ${formatSize(size)} state, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    '| state | create | verify | extract | restore |',
    '|---|---:|---:|---:|---:|',
    ...shapes.map(
      (shape) =>
        `| ${shape}-like | ${OPS.map((op) => {
          const r = rows.find((x) => x.shape === shape && x.op === op);
          return r?.error || r?.peakRss === undefined
            ? 'failed'
            : `${(r.peakRss / MiB).toFixed(0)} MiB (${r.wallSeconds.toFixed(1)} s)`;
        }).join(' | ')} |`,
    ),
    '',
  ].join('\n');
  await writeFile(join(dataDir, 'memory.md'), md);
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

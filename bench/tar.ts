/**
 * Tar framing micro-benchmarks: raftsnap's WebAssembly tar kernel (src/wasm/tar.ts) against the
 * pure TypeScript codec (src/format/tar-header.ts) on the per-header work — the reader's
 * zero-test + checksum + header parse of one 512-byte block, the checksum verdict alone, the
 * writer's header encoding — and end to end: TarReader over an archive of many small entries
 * and TarWriter.header, with the kernel installed and without it.
 *
 * Each contender is warmed up, then timed over several rounds (round-robin, so that machine
 * noise hits all alike); the best round counts. Both sides must give the same results (checked
 * before timing).
 *
 * Run directly with `node dist/bench/tar.js`, or call benchTar().
 */
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  encodeHeader,
  FORMAT_PAX,
  FORMAT_USTAR,
  type HeaderFields,
  installTarKernel,
  isZeroBlock,
  parseHeaderBlock,
  type TarKernel,
  verifyChecksum,
  ZERO_BLOCK,
} from '../src/format/tar-header.js';
import { TarReader } from '../src/format/tar-reader.js';
import { TarWriter } from '../src/format/tar-writer.js';
import { ByteReader } from '../src/io/byte-reader.js';
import '../src/wasm/embedded.js';
import { loadWasmTar } from '../src/wasm/tar.js';

const ROUNDS = 7;

interface Row {
  name: string;
  ts: number;
  wasm: number;
}

/** Best time in ms of `rounds` runs of each function, interleaved. */
async function best(
  fns: Array<() => unknown | Promise<unknown>>,
  rounds = ROUNDS,
): Promise<number[]> {
  const out = fns.map(() => Infinity);
  for (const f of fns) await f(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [i, f] of fns.entries()) {
      const t0 = performance.now();
      await f();
      out[i] = Math.min(out[i], performance.now() - t0);
    }
  }
  return out;
}

function equalParsed(a: unknown, b: unknown): boolean {
  return (
    JSON.stringify(a, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)) ===
    JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))
  );
}

export async function benchTar(): Promise<void> {
  const wasm = await loadWasmTar();

  // Header blocks as raft-snapshot writes them (USTAR), plus PAX main blocks.
  const w = new TarWriter();
  const blocks: Uint8Array[] = [];
  for (let i = 0; i < 4096; i++) {
    const long = i % 8 === 7;
    const name = long ? `${'dir/'.repeat(30)}state-${i}.bin` : `snapshot/file-${i}.json`;
    const h = w.header(name, (i * 7919) % 100000, 1700000000000 + i * 1000);
    blocks.push(h.slice(h.length - 512));
  }
  const parseTS = (b: Uint8Array) => (isZeroBlock(b) ? ZERO_BLOCK : parseHeaderBlock(b));
  for (const b of blocks) {
    if (!equalParsed(wasm.scanHeaderBlock(b), parseTS(b))) throw new Error('scan mismatch');
  }
  const REPS = 50;
  let sink = 0;
  const rows: Row[] = [];

  {
    const [ts, wa] = await best([
      () => {
        for (let r = 0; r < REPS; r++) {
          for (const b of blocks) {
            const p = parseTS(b);
            if (p !== null && p !== ZERO_BLOCK) sink += p.typeflag;
          }
        }
      },
      () => {
        for (let r = 0; r < REPS; r++) {
          for (const b of blocks) {
            const p = wasm.scanHeaderBlock(b);
            if (p !== null && p !== ZERO_BLOCK) sink += p.typeflag;
          }
        }
      },
    ]);
    rows.push({ name: 'header parse (zero test + parseHeaderBlock)', ts, wasm: wa });
  }
  {
    const [ts, wa] = await best([
      () => {
        for (let r = 0; r < REPS; r++) for (const b of blocks) sink += verifyChecksum(b) ? 1 : 0;
      },
      () => {
        for (let r = 0; r < REPS; r++) {
          for (const b of blocks) sink += wasm.verifyChecksum(b) ? 1 : 0;
        }
      },
    ]);
    rows.push({ name: 'checksum verdict only (verifyChecksum)', ts, wasm: wa });
  }
  {
    const fields: HeaderFields[] = [];
    for (let i = 0; i < 4096; i++) {
      fields.push({
        typeflag: 0x30,
        name: `snapshot/file-${i}.json`,
        mode: 0o600n,
        size: BigInt((i * 7919) % 100000),
        mtime: BigInt(1700000000 + i),
      });
    }
    for (const f of fields) {
      for (const fmt of [FORMAT_USTAR, FORMAT_PAX]) {
        const a = wasm.encodeHeader(f, fmt)!;
        const b = encodeHeader(f, fmt);
        if (a.some((x, i) => x !== b[i])) throw new Error('encode mismatch');
      }
    }
    const [ts, wa] = await best([
      () => {
        for (let r = 0; r < REPS / 5; r++) {
          for (const f of fields) sink += encodeHeader(f, FORMAT_USTAR)[148];
        }
      },
      () => {
        for (let r = 0; r < REPS / 5; r++) {
          for (const f of fields) sink += wasm.encodeHeader(f, FORMAT_USTAR)![148];
        }
      },
    ]);
    rows.push({
      name: 'header encode (encodeHeader, USTAR)',
      ts: ts * 5,
      wasm: wa * 5,
    });
  }

  // End to end: TarWriter.header and TarReader with the kernel installed vs not.
  const names = blocks.map((_, i) => (i % 8 === 7 ? `${'dir/'.repeat(30)}x-${i}` : `f/${i}.json`));
  const writeAll = () => {
    const tw = new TarWriter();
    for (const [i, n] of names.entries()) sink += tw.header(n, i * 13, 1700000000000).length;
  };
  const entries = 20000;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < entries; i++) {
    const size = (i * 131) % 1024;
    parts.push(w.header(`snapshot/entry-${i}.bin`, size, 1700000000000), new Uint8Array(size));
    parts.push(w.padding(size));
  }
  parts.push(w.end());
  const tar = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    tar.set(p, off);
    off += p.length;
  }
  const readAll = async () => {
    async function* src() {
      for (let i = 0; i < tar.length; i += 65536) yield tar.subarray(i, i + 65536);
    }
    const r = new TarReader(new ByteReader(src()));
    let n = 0;
    while ((await r.next()) !== null) n++;
    if (n !== entries) throw new Error(`read ${n} entries`);
  };
  const withKernel = (k: TarKernel | null, f: () => unknown) => async () => {
    installTarKernel(k);
    try {
      await f();
    } finally {
      installTarKernel(null);
    }
  };
  {
    const [ts, wa] = await best([withKernel(null, writeAll), withKernel(wasm, writeAll)]);
    rows.push({ name: 'TarWriter.header (1/8 PAX)', ts, wasm: wa });
  }
  {
    const [ts, wa] = await best([withKernel(null, readAll), withKernel(wasm, readAll)], 5);
    rows.push({ name: 'TarReader.next, 20k small entries', ts, wasm: wa });
  }

  const counts: Record<string, number> = {
    'header parse (zero test + parseHeaderBlock)': blocks.length * REPS,
    'checksum verdict only (verifyChecksum)': blocks.length * REPS,
    'header encode (encodeHeader, USTAR)': blocks.length * REPS,
    'TarWriter.header (1/8 PAX)': names.length,
    'TarReader.next, 20k small entries': entries,
  };
  const cpu = cpus();
  console.log(`\nTar framing: WebAssembly kernel vs pure TypeScript, best of ${ROUNDS} rounds`);
  console.log(
    `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}`,
  );
  console.log(
    `${'operation'.padEnd(46)}${'TS ns/op'.padStart(10)}${'WASM ns/op'.padStart(12)}${'WASM speed-up'.padStart(15)}`,
  );
  for (const r of rows) {
    const n = counts[r.name];
    const tsNs = (r.ts * 1e6) / n;
    const waNs = (r.wasm * 1e6) / n;
    console.log(
      `${r.name.padEnd(46)}${tsNs.toFixed(0).padStart(10)}${waNs.toFixed(0).padStart(12)}${`${(tsNs / waNs).toFixed(2)}×`.padStart(15)}`,
    );
  }
  if (sink === -1) console.log(sink); // keeps the work observable
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchTar();
}

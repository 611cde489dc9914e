/**
 * `npm run demo`: the main job on a bundled sample. A Raft (in memory) holding a small
 * Consul-like KV state is snapshotted into an archive, which is verified, inspected, extracted,
 * and restored into a fresh Raft; then a corrupted copy is shown to be refused before it can
 * reach Raft.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { extract, inspect, MemoryRaft, restore, Snapshot, verify } from 'raftsnap';

const log = (s = '') => process.stdout.write(`${s}\n`);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha = async (b: Uint8Array) =>
  hex(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(b))));

const work = await mkdtemp(join(tmpdir(), 'raftsnap-demo-'));
try {
  const sample = await readFile(new URL('../../demo/sample-state.jsonl', import.meta.url));
  const source = new MemoryRaft(new Uint8Array(sample), 41n, {
    id: 'server-1',
    address: '10.0.0.1:8300',
    term: 3n,
  });
  log(
    `1. A Raft at index ${source.index}, term ${source.term}, with ${sample.length} bytes of KV state`,
  );

  const snap = await Snapshot.create(source);
  const file = join(work, 'backup.snap');
  await writeFile(file, Readable.fromWeb(snap.stream() as NodeReadableStream<Uint8Array>));
  log(`2. Snapshot.create → ${file}`);
  log(`   index ${snap.index}, ${await snap.size()} bytes, checksum ${snap.checksum}`);
  await snap.close();

  const meta = await verify(file);
  log(`3. verify → valid: index ${meta.index}, term ${meta.term}, state ${meta.size} bytes`);

  const info = await inspect(file);
  log('4. inspect →');
  log(
    `   ID ${info.meta.id}, Version ${info.meta.version}, ConfigurationIndex ${info.meta.configurationIndex}`,
  );
  for (const s of info.meta.configuration.servers ?? [])
    log(`   server ${s.id} at ${s.address} (suffrage ${s.suffrage})`);
  log(
    `   archive ${info.archiveSize} bytes, sealed: ${info.sealed}, engines: ${info.engines.hash}/${info.engines.inflate}`,
  );

  const dir = join(work, 'extracted');
  await extract(file, dir);
  const state = await readFile(join(dir, 'state.bin'));
  log(`5. extract → ${dir}/meta.json and state.bin (sha256 ${await sha(state)})`);
  log(`   identical to the source state: ${(await sha(state)) === (await sha(sample))}`);

  const target = new MemoryRaft(new Uint8Array(0), 1n, { id: 'server-9' });
  await restore(file, target);
  log(
    `6. restore into a fresh Raft → index ${target.index}, state sha256 ${await sha(target.state)}`,
  );
  log(`   equal to the source: ${(await sha(target.state)) === (await sha(sample))}`);

  const bad = new Uint8Array(await readFile(file));
  bad[bad.length >> 1] ^= 0x40;
  const badFile = join(work, 'corrupt.snap');
  await writeFile(badFile, bad);
  const untouched = new MemoryRaft(new Uint8Array([1, 2, 3]), 7n);
  try {
    await restore(badFile, untouched);
    log('7. corrupted copy: restored (unexpected!)');
    process.exitCode = 1;
  } catch (err) {
    log(`7. a copy with one flipped byte is refused: ${(err as Error).message}`);
    log(
      `   the target Raft was not touched: index ${untouched.index}, restores ${untouched.restores}`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

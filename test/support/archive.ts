/** Hand-made snapshot archives for tests: any entries, in any order, gzip'd as Go's writer does. */
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { sha256hex } from './bytes.js';

/** A gzip'd tar of `entries` (mode 0600), in the order given. */
export async function gzipTar(entries: [name: string, data: Uint8Array][]): Promise<Uint8Array> {
  const pack = tarStream.pack();
  for (const [name, data] of entries) pack.entry({ name, mode: 0o600 }, Buffer.from(data));
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of pack) parts.push(c as Buffer);
  return new Uint8Array(gzipSync(Buffer.concat(parts)));
}

/**
 * A snapshot archive of `metaJson` (meta.json's text, as it is) and `state`, with SHA256SUMS
 * that match both: one the reference verifies whatever meta.json says.
 */
export function archiveWithMeta(metaJson: string, state: Uint8Array): Promise<Uint8Array> {
  const meta = new TextEncoder().encode(metaJson);
  const sums = `${sha256hex(meta)}  meta.json\n${sha256hex(state)}  state.bin\n`;
  return gzipTar([
    ['meta.json', meta],
    ['state.bin', state],
    ['SHA256SUMS', new TextEncoder().encode(sums)],
  ]);
}

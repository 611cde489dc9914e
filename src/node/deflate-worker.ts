/**
 * Worker thread for {@link parallelGzip}: compresses one block of raw DEFLATE per message, primed
 * with the 32 KiB that precede the block (so the output is as small as one sequential stream),
 * ending non-final blocks with a sync flush so that the blocks concatenate into one stream.
 */
import { parentPort } from 'node:worker_threads';
import { constants, deflateRawSync } from 'node:zlib';

export interface DeflateJob {
  id: number;
  data: Uint8Array;
  dictionary: Uint8Array;
  level: number;
  last: boolean;
}

/** Output buffer size; a block's compressed form nearly always fits in one. */
const OUT_CHUNK = 1 << 20;

parentPort?.on('message', (job: DeflateJob) => {
  const out = deflateRawSync(job.data, {
    level: job.level,
    dictionary: job.dictionary.length ? job.dictionary : undefined,
    finishFlush: job.last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
    // One output buffer per block: zlib's default 16 KiB chunks make a worker many times slower.
    chunkSize: OUT_CHUNK,
  });
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
  parentPort?.postMessage({ id: job.id, data: bytes }, [bytes.buffer as ArrayBuffer]);
});

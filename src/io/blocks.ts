/**
 * Cutting a byte stream into fixed-size blocks, for the block-parallel compressors.
 */

/** A block of the input: full (`size` bytes) unless it is the last, which may be empty. */
export interface Block {
  data: Uint8Array;
  last: boolean;
}

/**
 * Copies `input` into blocks of `size` bytes, each in a buffer from `buffer()` (called when a
 * block starts filling, so a consumer may hand back buffers it is done with). Yields every full
 * block, then the remainder as the last block (empty when the input is a multiple of `size`).
 */
export async function* fixedBlocks(
  input: AsyncIterable<Uint8Array>,
  size: number,
  buffer: () => Uint8Array,
): AsyncGenerator<Block> {
  let block = buffer();
  let fill = 0;
  for await (const chunk of input) {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, size - fill);
      block.set(chunk.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield { data: block, last: false };
        block = buffer();
        fill = 0;
      }
    }
  }
  yield { data: block.subarray(0, fill), last: true };
}

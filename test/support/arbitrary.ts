/** fast-check generators for snapshot metadata and states. */
import fc from 'fast-check';
import type { SnapshotMeta } from 'raftsnap';

const U64 = (1n << 64n) - 1n;
/** Records with Object.prototype, like the objects decodeMeta returns. */
const plain = { noNullPrototype: true } as const;
const I64 = (1n << 63n) - 1n;

export const uint64 = fc.oneof(
  fc.constantFrom(0n, 1n, (1n << 53n) + 1n, U64),
  fc.bigInt({ min: 0n, max: U64 }),
);

export const meta = (size: bigint): fc.Arbitrary<SnapshotMeta> =>
  fc.record(
    {
      version: fc.integer({ min: 0, max: 2 ** 31 }),
      id: fc.string({ unit: 'binary', maxLength: 40 }),
      index: uint64,
      term: uint64,
      peers: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
      configuration: fc.record(
        {
          servers: fc.option(
            fc.array(
              fc.record(
                {
                  suffrage: fc.integer({ min: 0, max: 2 }),
                  id: fc.string({ maxLength: 20 }),
                  address: fc.string({ maxLength: 30 }),
                },
                plain,
              ),
              { maxLength: 5 },
            ),
            { nil: null },
          ),
        },
        plain,
      ),
      configurationIndex: uint64,
      size: fc.constant(size),
    },
    plain,
  );

export { I64, U64 };

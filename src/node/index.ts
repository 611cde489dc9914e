/**
 * raftsnap for Node (also Deno and Bun through their Node compatibility): the portable API plus
 * file paths, temporary files, Snapshot, restore and extract, with native zlib and crypto.
 */
import { registerEngines } from '../engines/registry.js';
import { registerOutputAdapter } from '../io/input.js';
import { nodeEngines } from './engines.js';
import { guardNodeWritable, nodeWritableSink } from './writable-sink.js';

// Rank 1: kept when the portable entry loads after this one in the same process.
registerEngines(nodeEngines, 1);
registerOutputAdapter(nodeWritableSink, guardNodeWritable);

export * from '../adapters/index.js';
export * from '../api.js';
export { cleanStaleTemps, fileInput, fileStream } from './files.js';
export {
  createFile,
  extract,
  inspect,
  type NodeInput,
  parse,
  type RestoreOptions,
  restore,
  Snapshot,
  type TempState,
  verify,
  writeToTempFile,
} from './snapshot.js';

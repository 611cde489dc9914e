/** The portable public API, shared by every entry point. */
export { type EngineChoice, getEngines } from './engines/registry.js';
export type { HashEngine, Sha256 } from './engines/sha256.js';
export { isSnapshotError, SnapshotError, type SnapshotErrorCode } from './errors.js';
export { type ArchiveInfo, MAX_SMALL_FILE, readArchive, writeArchive } from './format/archive.js';
export {
  decodeMeta,
  encodeMeta,
  type SnapshotMeta,
  type SnapshotServer,
  zeroMeta,
} from './format/meta.js';
export type { ByteInput, ByteOutput } from './io/input.js';
export { MemoryRaft, type MemoryRaftOptions } from './memory-raft.js';
export type { Raft, RaftRestoreOptions, RaftSnapshot } from './raft.js';
export { aesGcmSealer, parseKeyHex, type Sealer } from './sealer.js';
export {
  archiveBytes,
  type CommonOptions,
  type InspectOptions,
  inspect,
  isAfterArchiveError,
  type ParseOptions,
  type Progress,
  parse,
  type ReadOptions,
  type SnapshotInfo,
  verify,
  type WriteOptions,
  type WriteResult,
  write,
  writeSnapshot,
} from './snapshot.js';
export { createSha256 } from './wasm/sha256.js';

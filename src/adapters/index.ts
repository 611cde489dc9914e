/**
 * Product adapters (Node): snapshot save and restore against Consul, Vault, Nomad and OpenBao
 * over HTTP, verified with raftsnap on the way in and before the way out.
 */
export type { Env } from './env.js';
export { HttpError, type HttpErrorKind, type TlsOptions } from './http.js';
export {
  type ConsulOptions,
  consul,
  type NomadOptions,
  nomad,
  openbao,
  type ProductName,
  type ProductOptions,
  type ProductRestoreOptions,
  type SaveOptions,
  type SnapshotService,
  type VaultOptions,
  vault,
} from './products.js';
export {
  type VerifiedStream,
  type VerifiedStreamOptions,
  verifiedStream,
} from './verified-stream.js';

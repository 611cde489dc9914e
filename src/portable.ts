/**
 * raftsnap — Raft snapshot archives (hashicorp/raft-snapshot format: Consul, Vault, Nomad,
 * OpenBao) for every JavaScript runtime: the portable API and engines, no Node built-ins, and no
 * WebAssembly kernels of its own — the entries (src/index.ts, src/workerd.ts) supply those.
 */
import { portableEngines } from './engines/portable.js';
import { registerEngines } from './engines/registry.js';

registerEngines(portableEngines);

export * from './api.js';

/**
 * raftsnap — Raft snapshot archives (hashicorp/raft-snapshot format: Consul, Vault, Nomad,
 * OpenBao) for every JavaScript runtime. This is the portable entry: no Node built-ins, the
 * WebAssembly kernels embedded.
 */
import './wasm/embedded.js';

export * from './portable.js';

/**
 * raftsnap — Raft snapshot archives (hashicorp/raft-snapshot format: Consul, Vault, Nomad,
 * OpenBao) for every JavaScript runtime. This is the portable entry: no Node built-ins.
 */
import { portableEngines } from './engines/portable.js';
import { registerEngines } from './engines/registry.js';

registerEngines(portableEngines);

export * from './api.js';

/** Running the built raftsnap CLI as a real process, with a controlled environment. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

/** The CLI entry of the build. */
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'raftsnap.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `raftsnap args` to completion (60 s at most). The environment is this process's without
 * the products' and raftsnap's own variables (CONSUL_*, VAULT_*, NOMAD_*, BAO_*, RAFTSNAP_*),
 * plus `env`; `input` is written to its standard input.
 */
export function runCli(
  args: string[],
  opts: { input?: Uint8Array; env?: Record<string, string> } = {},
): CliResult {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(CONSUL_|VAULT_|NOMAD_|BAO_|RAFTSNAP_)/.test(k)) clean[k] = v;
  }
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    input: opts.input,
    env: { ...clean, ...opts.env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Output formatting for the CLI: exact JSON (bigints as numbers), tables and sizes. */
import type { SnapshotMeta } from '../format/meta.js';

/** JSON.stringify that writes bigint values as exact JSON numbers. */
export function exactJson(value: unknown, indent = 2): string {
  const marks: string[] = [];
  const text = JSON.stringify(
    value,
    (_k, v) => {
      if (typeof v === 'bigint') {
        marks.push(v.toString());
        return `\u0000${marks.length - 1}\u0000`;
      }
      if (v instanceof Uint8Array) return btoa(String.fromCharCode(...v));
      return v;
    },
    indent,
  );
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_m, i) => marks[Number(i)]);
}

/** Human-readable byte count (binary units), e.g. "1.5 MiB". */
export function humanBytes(n: number | bigint): string {
  const v = Number(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let x = v;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${x.toFixed(1)} ${units[u]}`;
}

/** Left-aligned two-column table with a leading space, as `consul snapshot inspect` prints. */
export function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => ` ${k.padEnd(w)}  ${v}`).join('\n');
}

const SUFFRAGE = ['Voter', 'Nonvoter', 'Staging'];

/** Raft's name for a server suffrage value. */
export function suffrageName(s: number): string {
  return SUFFRAGE[s] ?? `ServerSuffrage(${s})`;
}

/** The metadata as a plain object with Go's field names (for --json outputs). */
export function metaObject(meta: SnapshotMeta): Record<string, unknown> {
  return {
    Version: meta.version,
    ID: meta.id,
    Index: meta.index,
    Term: meta.term,
    Peers: meta.peers,
    Configuration: {
      Servers:
        meta.configuration.servers?.map((s) => ({
          Suffrage: s.suffrage,
          ID: s.id,
          Address: s.address,
        })) ?? null,
    },
    ConfigurationIndex: meta.configurationIndex,
    Size: meta.size,
  };
}

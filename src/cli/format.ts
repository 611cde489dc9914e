/** Output formatting for the CLI: exact JSON (bigints as numbers), tables and sizes. */
import type { SnapshotMeta } from '../format/meta.js';

/**
 * JSON as JSON.stringify writes it (same indentation and escapes; undefined members left out),
 * except that bigint values are exact JSON numbers and Uint8Arrays are base64 strings.
 */
export function exactJson(value: unknown, indent = 2): string {
  const pad = ' '.repeat(indent);
  const write = (v: unknown, at: string): string | undefined => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return JSON.stringify(btoa(String.fromCharCode(...v)));
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const inner = at + pad;
    const open = indent ? `\n${inner}` : '';
    const close = indent ? `\n${at}` : '';
    const sep = indent ? `,\n${inner}` : ',';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${open}${v.map((x) => write(x, inner) ?? 'null').join(sep)}${close}]`;
    }
    const members = Object.entries(v).flatMap(([k, x]) => {
      const text = write(x, inner);
      return text === undefined ? [] : [`${JSON.stringify(k)}:${indent ? ' ' : ''}${text}`];
    });
    if (members.length === 0) return '{}';
    return `{${open}${members.join(sep)}${close}}`;
  };
  return write(value, '') ?? 'null';
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

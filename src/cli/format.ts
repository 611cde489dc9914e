/** Output formatting for the CLI: exact JSON (bigints as numbers), tables and sizes. */
import { exactGoInt, type SnapshotMeta, type SnapshotServer } from '../format/meta.js';

/**
 * JSON as JSON.stringify writes it (same indentation and escapes, toJSON, undefined members left
 * out, holes as null), except that bigint values are exact JSON numbers and Uint8Arrays (Buffers
 * too) are base64 strings, as Go's encoding/json writes []byte.
 */
export function exactJson(value: unknown, indent = 2): string {
  const pad = ' '.repeat(indent);
  const write = (raw: unknown, at: string, key = ''): string | undefined => {
    // Bytes (a Buffer too, whose toJSON would give its numbers) as base64, as Go's []byte.
    if (raw instanceof Uint8Array) return JSON.stringify(btoa(String.fromCharCode(...raw)));
    const v =
      typeof (raw as { toJSON?: unknown })?.toJSON === 'function'
        ? (raw as { toJSON(key: string): unknown }).toJSON(key)
        : raw;
    if (typeof v === 'bigint') return v.toString();
    if (v === null || typeof v !== 'object') return JSON.stringify(v);
    const inner = at + pad;
    const open = indent ? `\n${inner}` : '';
    const close = indent ? `\n${at}` : '';
    const sep = indent ? `,\n${inner}` : ',';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      // Array.from visits holes too, which JSON writes as null.
      const items = Array.from(v, (x, i) => write(x, inner, String(i)) ?? 'null');
      return `[${open}${items.join(sep)}${close}]`;
    }
    const members = Object.entries(v).flatMap(([k, x]) => {
      const text = write(x, inner, k);
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

/**
 * `text` for a terminal: control characters (C0, DEL, C1) written as `\u00XX`, so that a
 * snapshot's strings (server IDs and addresses come from whoever wrote it) cannot move the
 * cursor, recolour or retitle the terminal, or break a line.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const SUFFRAGE = ['Voter', 'Nonvoter', 'Staging'];

/** Raft's name for a server suffrage value. */
export function suffrageName(server: SnapshotServer): string {
  return SUFFRAGE[server.suffrage] ?? `ServerSuffrage(${exactGoInt(server.suffrage, server)})`;
}

/** The metadata as a plain object with Go's field names (for --json outputs). */
export function metaObject(meta: SnapshotMeta): Record<string, unknown> {
  return {
    Version: exactGoInt(meta.version, meta),
    ID: meta.id,
    Index: meta.index,
    Term: meta.term,
    Peers: meta.peers,
    Configuration: {
      Servers:
        meta.configuration.servers?.map((s) => ({
          Suffrage: exactGoInt(s.suffrage, s),
          ID: s.id,
          Address: s.address,
        })) ?? null,
    },
    ConfigurationIndex: meta.configurationIndex,
    Size: meta.size,
  };
}

/**
 * The web page of raftsnap (web/index.html): a person drops or chooses a Raft snapshot file and
 * sees, within the browser, whether it verifies — with an optional AES-256-GCM key for
 * SHA256SUMS.sealed — its metadata and a progress indicator. The file is read as a stream
 * (Blob.stream()), never whole, and nothing is sent anywhere.
 *
 * Bundled for browsers by test/runtimes/bundle.ts (buildWebPage) into dist/web/.
 */
import {
  aesGcmSealer,
  inspect,
  isAfterArchiveError,
  isSnapshotError,
  parseKeyHex,
  type Sealer,
  type SnapshotInfo,
  type SnapshotServer,
} from 'raftsnap';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

const fileInput = byId<HTMLInputElement>('file');
const drop = byId<HTMLDivElement>('drop');
const keyInput = byId<HTMLInputElement>('key');
const progress = byId<HTMLProgressElement>('progress');
const progressText = byId<HTMLSpanElement>('progress-text');
const cancel = byId<HTMLButtonElement>('cancel');
const result = byId<HTMLElement>('result');

/** A DOM element with text children (text is never parsed as HTML). */
function el(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** `1234567` → `1,234,567 bytes (1.2 MiB)`. */
function size(n: number | bigint): string {
  const v = Number(n);
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let unit = '';
  let x = v;
  for (const u of units) {
    if (x < 1024) break;
    x /= 1024;
    unit = u;
  }
  const exact = `${BigInt(n).toLocaleString('en-US')} bytes`;
  return unit ? `${exact} (${x.toFixed(1)} ${unit})` : exact;
}

function short(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

const SUFFRAGE = ['Voter', 'Nonvoter', 'Staging'];

function suffrage(s: number): string {
  return SUFFRAGE[s] ?? `Suffrage ${s}`;
}

function row(label: string, value: string, mono = false): HTMLElement {
  return el(
    'tr',
    {},
    el('th', { scope: 'row' }, label),
    el('td', mono ? { class: 'mono' } : {}, value),
  );
}

function serversTable(servers: SnapshotServer[] | null): HTMLElement {
  if (servers === null || servers.length === 0) {
    return el(
      'p',
      {},
      servers === null ? 'Configuration: no servers (null)' : 'Configuration: no servers',
    );
  }
  return el(
    'table',
    { class: 'servers', 'aria-label': 'Servers' },
    el(
      'thead',
      {},
      el('tr', {}, el('th', {}, 'Server ID'), el('th', {}, 'Address'), el('th', {}, 'Suffrage')),
    ),
    el(
      'tbody',
      {},
      ...servers.map((s) =>
        el(
          'tr',
          {},
          el('td', { class: 'mono' }, s.id),
          el('td', { class: 'mono' }, s.address),
          el('td', {}, suffrage(s.suffrage)),
        ),
      ),
    ),
  );
}

function show(state: string, ...children: Node[]): void {
  result.dataset.state = state;
  result.replaceChildren(...children);
}

function fileLine(file: File): HTMLElement {
  return el('p', { class: 'file' }, `${file.name} — ${size(file.size)}`);
}

function showValid(file: File, info: SnapshotInfo, keyed: boolean, ms: number): void {
  const m = info.meta;
  const sealed = info.sealed
    ? keyed
      ? 'yes — SHA256SUMS.sealed opened with the key and checked'
      : 'yes — SHA256SUMS.sealed present, not checked (no key given)'
    : 'no';
  const rate =
    ms > 0 ? ` (${(info.archiveSize / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s)` : '';
  show(
    'valid',
    el('h2', {}, '✔ Valid snapshot'),
    fileLine(file),
    el(
      'table',
      { 'aria-label': 'Snapshot metadata' },
      el(
        'tbody',
        {},
        row('ID', m.id, true),
        row('Index', m.index.toString()),
        row('Term', m.term.toString()),
        row('Version', String(m.version)),
        row('ConfigurationIndex', m.configurationIndex.toString()),
        row('Size (meta.json)', size(m.size)),
        row('State size', size(info.stateSize)),
        row('Archive size', size(info.archiveSize)),
        row('Checksum', info.checksum, true),
        row('Sealed', sealed),
        row('Servers', String(m.configuration.servers?.length ?? 0)),
      ),
    ),
    serversTable(m.configuration.servers),
    el(
      'p',
      { class: 'file' },
      `Verified in ${Math.round(ms)} ms${rate} with the ${info.engines.inflate} inflate and ${info.engines.hash} SHA-256 engines.`,
    ),
  );
}

/**
 * Shows why `file` does not verify. `restorable`: the archive itself is whole (a restore, which
 * reads no further than the archive, accepts it) and only the gzip stream after it is damaged.
 */
function showInvalid(file: File, err: unknown, restorable: boolean): void {
  if (isSnapshotError(err) && err.code === 'ABORTED') {
    show('idle', el('h2', {}, 'Cancelled'), fileLine(file));
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  const code = isSnapshotError(err) ? err.code : 'ERROR';
  // IO: this page could not read the file or lacks what it needs; the archive was not judged.
  const judged = isSnapshotError(err) && err.code !== 'IO';
  show(
    judged ? 'invalid' : 'error',
    el('h2', {}, judged ? '✘ Invalid snapshot' : '✘ Could not check the file'),
    fileLine(file),
    el('p', { class: 'reason' }, `${code}: ${message}`),
    el('p', { class: 'file' }, verdictNote(err, judged, restorable)),
  );
}

/** What the error means for a restore of the file. */
function verdictNote(err: unknown, judged: boolean, restorable: boolean): string {
  if (!judged) return 'The file was not judged; nothing can be said about a restore of it.';
  if (restorable) {
    return 'The archive itself is whole and its sums match; only the gzip stream after it is damaged. Consul, Vault, Nomad and OpenBao read no further than the archive when they restore, so they would accept this file, though a verify (raftsnap verify, the reference Verify) refuses it.';
  }
  if (isSnapshotError(err) && err.code === 'SEAL') {
    return 'The sealed sums do not open with this key: a wrong key, or a sealed list that was altered. Vault restores with its own key; check that this is the one it sealed with.';
  }
  return 'Consul, Vault, Nomad and OpenBao would refuse to restore this archive.';
}

/** How often the progress is redrawn while a file streams through. */
const PROGRESS_INTERVAL_MS = 50;

/** Shows the progress through a file of `total` bytes after `bytes`. */
let drawn = 0;
function drawProgress(bytes: number, total: number): void {
  const pct = total > 0 ? Math.min(100, (bytes / total) * 100) : 100;
  progress.value = pct;
  progressText.textContent = `${short(bytes)} of ${short(total)} (${Math.floor(pct)}%)`;
  progress.dataset.events = String(++drawn);
}

let running: AbortController | undefined;
let lastFile: File | undefined;

/** Checks `file` with the key in the key field, streaming it through raftsnap. */
async function check(file: File): Promise<void> {
  running?.abort();
  const ctl = new AbortController();
  running = ctl;
  lastFile = file;
  drawn = 0;

  let sealer: Sealer | undefined;
  const keyText = keyInput.value.trim();
  // An emptied field is valid again: the archive is checked without a key.
  if (keyText === '') keyInput.setCustomValidity('');
  if (keyText !== '') {
    try {
      sealer = aesGcmSealer(parseKeyHex(keyText));
      keyInput.setCustomValidity('');
    } catch (err) {
      keyInput.setCustomValidity('64 hexadecimal characters');
      // The check before this one (if any) was cancelled above: nothing is running now.
      running = undefined;
      cancel.hidden = true;
      progressText.textContent = '';
      show(
        'error',
        el('h2', {}, '✘ The key is not valid'),
        el('p', { class: 'reason' }, err instanceof Error ? err.message : String(err)),
        el('p', { class: 'file' }, 'Fix the key or leave it empty; the file was not read.'),
      );
      return;
    }
  }

  drawProgress(0, file.size);
  cancel.hidden = false;
  show('busy', el('h2', {}, 'Checking…'), fileLine(file));
  let seen = 0;
  const started = performance.now();
  let drawnAt = started;
  try {
    const info = await inspect(file.stream(), {
      sealer,
      signal: ctl.signal,
      onProgress: ({ bytes }) => {
        seen = bytes;
        const now = performance.now();
        if (now - drawnAt >= PROGRESS_INTERVAL_MS) {
          drawnAt = now;
          drawProgress(seen, file.size);
        }
      },
    });
    if (running !== ctl) return;
    drawProgress(seen, file.size);
    showValid(file, info, sealer !== undefined, performance.now() - started);
  } catch (err) {
    if (running !== ctl) return;
    progressText.textContent =
      isSnapshotError(err) && err.code === 'ABORTED' ? 'Cancelled' : 'Stopped at the error';
    showInvalid(file, err, isAfterArchiveError(err));
  } finally {
    if (running === ctl) {
      cancel.hidden = true;
      running = undefined;
    }
  }
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) void check(file);
});

keyInput.addEventListener('change', () => {
  if (lastFile) void check(lastFile);
});

cancel.addEventListener('click', () => running?.abort());

drop.addEventListener('click', (e) => {
  // The label and the input open the file chooser themselves.
  if (!(e.target instanceof HTMLLabelElement || e.target instanceof HTMLInputElement)) {
    fileInput.click();
  }
});
for (const type of ['dragenter', 'dragover'] as const) {
  document.addEventListener(type, (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
}
document.addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null) drop.classList.remove('over');
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (file) void check(file);
});

result.dataset.ready = 'true';

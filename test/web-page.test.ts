/**
 * The web page (web/) works for a person in a real browser: built into dist/web, served from
 * 127.0.0.1 by node:http, driven in headless Chromium by choosing files as a person would. A
 * valid snapshot shows its metadata; an invalid one the reason; a sealed one verifies with its
 * key and not with another; a malformed key is refused before reading; a larger file shows
 * progress while it streams. Screenshots are saved in dist/web-page-screenshots/ and checked: the
 * result region lies within the viewport and is not blank. The page's TypeScript is type-checked
 * strictly (it is bundled by esbuild, which does not check types).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import ts from 'typescript';
import { buildWebPage, repoRoot } from './runtimes/bundle.js';
import { gzipMember, snapshotTar } from './runtimes/cases.js';
import { type LocalServer, launchChromium, serve } from './runtimes/hosts.js';
import { stateBytes } from './runtimes/runner.js';
import { fixture } from './support/fixtures.js';

const shotsDir = join(repoRoot, 'dist', 'web-page-screenshots');
const VIEWPORT = { width: 1200, height: 1000 };

let server: LocalServer;
let tmp: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

before(async () => {
  const [dir] = await Promise.all([buildWebPage(), mkdir(shotsDir, { recursive: true })]);
  server = await serve({}, dir);
  tmp = await mkdtemp(join(tmpdir(), 'raftsnap-web-'));
  browser = await launchChromium();
  page = await browser.newPage({ viewport: VIEWPORT });
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`console error: ${m.text()}`);
  });
  await page.goto(`${server.url}/`);
  await page.waitForSelector('#result[data-ready="true"]');
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Chooses `file` in the file input, as a person would, and waits for the verdict. */
async function choose(file: string | { name: string; buffer: Buffer }): Promise<string> {
  await page.evaluate(() => {
    document.getElementById('result')!.dataset.state = 'idle';
  });
  await page.setInputFiles(
    '#file',
    typeof file === 'string' ? file : { ...file, mimeType: 'application/octet-stream' },
  );
  return verdict();
}

async function verdict(): Promise<string> {
  const handle = await page.waitForFunction(
    () => {
      const s = document.getElementById('result')?.dataset.state;
      return s === 'valid' || s === 'invalid' || s === 'error' ? s : null;
    },
    undefined,
    { timeout: 20_000 },
  );
  return (await handle.jsonValue()) as string;
}

/** The result region's text as rendered (table cells apart), as a person reads it. */
const resultText = (): Promise<string> =>
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person reads
  page.locator('#result').innerText();

/**
 * Screenshots the page into dist/web-page-screenshots/NAME.png and checks the result region:
 * inside the viewport, of a reasonable size, and not blank in the screenshot (Chromium decodes the
 * PNG; the region must have many colours and some ink, as rendered text has).
 */
async function screenshot(name: string): Promise<void> {
  const box = await page.locator('#result').boundingBox();
  assert.ok(box, 'the result region is rendered');
  assert.ok(box.width >= 300 && box.height >= 60, `result region is ${box.width}×${box.height}`);
  assert.ok(
    box.x >= 0 &&
      box.y >= 0 &&
      box.x + box.width <= VIEWPORT.width &&
      box.y + box.height <= VIEWPORT.height,
    `result region ${JSON.stringify(box)} is within the ${VIEWPORT.width}×${VIEWPORT.height} viewport`,
  );
  const png = await page.screenshot({ path: join(shotsDir, `${name}.png`) });
  assert.ok(png.length > 10_000, `screenshot is ${png.length} bytes`);
  const analyzer = await browser.newPage();
  try {
    const stats = await analyzer.evaluate(
      async ({ b64, r }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(r.x, r.y, r.width, r.height).data;
        const counts = new Map<number, number>();
        for (let i = 0; i < d.length; i += 4) {
          const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        const top = Math.max(...counts.values());
        return { width: img.width, colors: counts.size, ink: 1 - top / (d.length / 4) };
      },
      {
        b64: png.toString('base64'),
        r: {
          x: Math.floor(box.x),
          y: Math.floor(box.y),
          width: Math.floor(box.width),
          height: Math.floor(box.height),
        },
      },
    );
    assert.equal(stats.width, VIEWPORT.width);
    assert.ok(stats.colors >= 16, `result region has ${stats.colors} colours`);
    assert.ok(stats.ink > 0.01 && stats.ink < 0.9, `result region has ${stats.ink} ink`);
  } finally {
    await analyzer.close();
  }
}

test("the page's TypeScript type-checks strictly", () => {
  const program = ts.createProgram([join(repoRoot, 'web', 'app.ts')], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: [],
    skipLibCheck: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file
      ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: `
      : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
  assert.deepEqual(diagnostics, []);
});

test('a valid snapshot: verdict and metadata', async () => {
  assert.equal(await choose(fixture('reference-written', 'real-raft-1000-entries.snap')), 'valid');
  const text = await resultText();
  assert.match(text, /Valid snapshot/);
  assert.match(text, /real-raft-1000-entries\.snap/);
  assert.match(text, /Index\s+1002\b/);
  assert.match(text, /Term\s+2\b/);
  assert.match(text, /Version\s+1\b/);
  assert.match(text, /ConfigurationIndex\s+1\b/);
  assert.match(text, /State size\s+259,003 bytes/);
  assert.match(text, /sha-256=fkP8Iv11Fd5T8O6RpI2r510W0u2iIxp09UnqS94tGkQ=/);
  assert.match(text, /Sealed\s+no/);
  assert.match(text, /Voter/);
  assert.equal(
    await page.locator('#progress').evaluate((p) => (p as HTMLProgressElement).value),
    100,
  );
  await screenshot('valid');
});

test('dropping a file on the page: a real Vault snapshot, sealed, no key', async () => {
  const bytes = await readFile(fixture('real-world', 'vault-1.15-test.snap'));
  await page.evaluate(() => {
    document.getElementById('result')!.dataset.state = 'idle';
  });
  // What the browser does when a person drags a file from the desktop onto the drop zone.
  await page.evaluate(
    ({ b64, name }) => {
      const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([data], name));
      const drop = document.getElementById('drop')!;
      for (const type of ['dragenter', 'dragover', 'drop']) {
        drop.dispatchEvent(
          new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }),
        );
      }
    },
    { b64: bytes.toString('base64'), name: 'vault-1.15-test.snap' },
  );
  assert.equal(await verdict(), 'valid');
  const text = await resultText();
  assert.match(text, /vault-1\.15-test\.snap/);
  assert.match(text, /ID\s+bolt-snapshot/);
  assert.match(text, /Index\s+38\b/);
  assert.match(text, /SHA256SUMS\.sealed present, not checked \(no key given\)/);
  for (const i of [0, 1, 2])
    assert.match(text, new RegExp(`vault-${i}\\s+vault-${i}:8201\\s+Voter`));
});

test('an invalid snapshot: the reason', async () => {
  const tar = await readFile(fixture('reference-testdata', 'corrupt-state.tar'));
  assert.equal(await choose({ name: 'corrupt-state.snap', buffer: gzipSync(tar) }), 'invalid');
  const text = await resultText();
  assert.match(text, /Invalid snapshot/);
  assert.match(
    text,
    /INTEGRITY: failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state\.bin"/,
  );
  assert.match(text, /would refuse to restore this archive/);
  await screenshot('invalid');
});

test('a whole archive whose gzip trailer is damaged: invalid, and a restore would accept it', async () => {
  const bytes = await readFile(fixture('reference-written', 'real-raft-1000-entries.snap'));
  bytes[bytes.length - 8] ^= 1; // the trailer's CRC-32
  assert.equal(await choose({ name: 'damaged-trailer.snap', buffer: bytes }), 'invalid');
  const text = await resultText();
  assert.match(text, /GZIP: gzip: invalid checksum/);
  assert.match(text, /only the gzip stream after it is damaged/);
  assert.match(text, /would accept this file/);
});

test('a sealed snapshot: valid with its key, invalid with another', async () => {
  const key = (
    await readFile(fixture('reference-written', 'sealed-aes256gcm.key.hex'), 'utf8')
  ).trim();
  await page.fill('#key', key);
  assert.equal(await choose(fixture('reference-written', 'sealed-aes256gcm.snap')), 'valid');
  const text = await resultText();
  assert.match(text, /Index\s+4242\b/);
  assert.match(text, /Term\s+3\b/);
  assert.match(text, /SHA256SUMS\.sealed opened with the key and checked/);
  await screenshot('sealed');

  // Another key: the person edits the key field; the page checks the same file again.
  const other = (key[0] === '0' ? '1' : '0') + key.slice(1);
  await page.evaluate(() => {
    document.getElementById('result')!.dataset.state = 'idle';
  });
  await page.fill('#key', other);
  await page.press('#key', 'Tab');
  assert.equal(await verdict(), 'invalid');
  assert.match(await resultText(), /SEAL: .*failed to open the sealed hashes/);
  assert.match(await resultText(), /do not open with this key/);

  // A malformed key is refused without reading the file.
  await page.evaluate(() => {
    document.getElementById('result')!.dataset.state = 'idle';
  });
  await page.fill('#key', 'abc');
  await page.press('#key', 'Tab');
  assert.equal(await verdict(), 'error');
  assert.match(await resultText(), /The key is not valid/);
  assert.ok(await page.isHidden('#cancel'), 'no Cancel button for a check that is not running');
  assert.equal(await page.$eval('#key', (k) => (k as HTMLInputElement).validity.valid), false);
  // Emptied, the field is valid again and the file is checked without a key.
  await page.evaluate(() => {
    document.getElementById('result')!.dataset.state = 'idle';
  });
  await page.fill('#key', '');
  await page.press('#key', 'Tab');
  assert.equal(await verdict(), 'valid');
  assert.equal(await page.$eval('#key', (k) => (k as HTMLInputElement).validity.valid), true);
});

test('a larger file streams through with progress shown along the way', async () => {
  const state = stateBytes(24 * 1024 * 1024, 11);
  const meta =
    '{"Version":1,"ID":"3-555-1700000000000","Index":555,"Term":3,"Peers":null,"Configuration":{"Servers":[{"Suffrage":0,"ID":"a","Address":"10.0.0.1:8300"}]},"ConfigurationIndex":500,"Size":25165824}\n';
  const path = join(tmp, 'large.snap');
  await writeFile(path, gzipMember(snapshotTar(meta, state), { level: 1 }));
  // Record what the progress text says while the file streams.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { progressSeen: string[] }).progressSeen = seen;
    const t = document.getElementById('progress-text')!;
    new MutationObserver(() => seen.push(t.textContent ?? '')).observe(t, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  assert.equal(await choose(path), 'valid');
  assert.match(await resultText(), /Index\s+555\b/);
  const seen = await page.evaluate(
    () => (window as unknown as { progressSeen: string[] }).progressSeen,
  );
  const percents = seen.map((s) => Number(/\((\d+)%\)/.exec(s)?.[1]));
  assert.ok(
    percents.some((p) => p > 0 && p < 100),
    `progress went through intermediate values: ${JSON.stringify(seen)}`,
  );
  assert.equal(percents.at(-1), 100);
  await screenshot('large');
});

test('no page errors, no console errors (CSP included)', () => {
  assert.deepEqual(pageErrors, []);
});

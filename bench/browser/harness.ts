/**
 * Runs bench/browser/page.ts in headless Chromium and returns what the page posts back.
 *
 * A local HTTP server (127.0.0.1, a free port) serves the page, its script bundled with esbuild,
 * the runtime's .wasm, onnxruntime-web's own dist files (its bundled WASM, nothing fetched from
 * outside), and the caller's files (plans, ONNX models, inputs) under /files/. The page reads
 * /config.json, does its work and POSTs the result to /result (an error to /error); then Chromium is
 * ended. No DevTools protocol is needed: the page reports over plain HTTP.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const WASM_PATH = join(root, 'native', 'build', 'wasm', 'lowbit_runtime.wasm');
const ORT_DIST = join(root, 'node_modules', 'onnxruntime-web', 'dist');

/** The chromium binary, or null when there is none (scripts/setup.sh installs Debian's). */
export function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) if (p && existsSync(p)) return p;
  return null;
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

export interface BrowserRun {
  /** JSON the page reads from /config.json. */
  config: unknown;
  /** Files the page may fetch as /files/NAME. */
  files: Record<string, Uint8Array>;
  /** Give up after this many seconds (default 300). */
  timeoutSeconds?: number;
  /** Progress lines the page posts to /log. */
  onLog?: (line: string) => void;
}

async function bundlePage(): Promise<string> {
  const r = await build({ entryPoints: [join(here, 'page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'chrome120', write: false, logLevel: 'error' });
  return r.outputFiles[0].text;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Serves the page, starts Chromium on it and resolves with the JSON the page posts to /result. */
export async function runInChromium<T>(run: BrowserRun): Promise<T> {
  const chromium = chromiumPath();
  if (chromium === null) throw new Error('no chromium found (install Debian\'s chromium, or set CHROMIUM)');
  const script = await bundlePage();
  const page = `<!doctype html><meta charset="utf-8"><title>lowbit runtime</title><pre id="log"></pre><script type="module" src="/page.js"></script>`;
  let settle!: { resolve: (v: T) => void; reject: (e: Error) => void };
  const done = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  const send = (res: ServerResponse, status: number, type: string, data: string | Uint8Array) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(data);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = decodeURIComponent(url.pathname);
      if (req.method === 'POST') {
        const text = await body(req);
        send(res, 200, 'text/plain', 'ok');
        if (path === '/result') settle.resolve(JSON.parse(text) as T);
        else if (path === '/error') settle.reject(new Error(`page: ${text}`));
        else if (path === '/log') run.onLog?.(text);
        return;
      }
      if (path === '/' || path === '/index.html') return send(res, 200, TYPES['.html'], page);
      if (path === '/page.js') return send(res, 200, TYPES['.js'], script);
      if (path === '/config.json') return send(res, 200, TYPES['.json'], JSON.stringify(run.config));
      if (path === '/lowbit_runtime.wasm') return send(res, 200, TYPES['.wasm'], readFileSync(WASM_PATH));
      if (path.startsWith('/files/') && run.files[path.slice(7)] !== undefined) return send(res, 200, 'application/octet-stream', run.files[path.slice(7)]);
      const ortFile = path.startsWith('/ort/') ? join(ORT_DIST, path.slice(5)) : '';
      if (ortFile !== '' && !path.includes('..') && existsSync(ortFile)) return send(res, 200, TYPES[extname(ortFile)] ?? 'application/octet-stream', readFileSync(ortFile));
      send(res, 404, 'text/plain', 'not found');
    })().catch((err: Error) => settle.reject(err));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const profile = mkdtempSync(join(tmpdir(), 'lowbit-chromium-'));
  // nice: this machine's other work comes first. One renderer process; no GPU, no sandbox (root).
  const proc = spawn('nice', ['-n', '15', chromium, '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', '--disable-background-networking', `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  proc.on('exit', (code) => settle.reject(new Error(`chromium exited (${code}) before the page reported: ${stderr}`)));
  const timer = setTimeout(() => settle.reject(new Error(`the page did not report within ${run.timeoutSeconds ?? 300} s`)), 1000 * (run.timeoutSeconds ?? 300));
  try {
    return await done;
  } finally {
    clearTimeout(timer);
    proc.removeAllListeners('exit');
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    server.close();
    // Chromium's helper processes can still be writing into the profile after the main one exits
    // (ENOTEMPTY): retry, and leave a temp folder behind rather than fail a run whose result is in.
    try {
      rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    } catch {
      // best effort
    }
  }
}

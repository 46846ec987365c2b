/**
 * The page bench/browser/harness.ts serves: lowbit's WebAssembly runtime on plan files and
 * onnxruntime-web (its wasm backend, bundled WASM served locally) on ONNX models, one thread each.
 *
 * config.json:
 *   { mode: 'check', ints: [{ name, file }], pixels: FILE, n }          -> { logits: { name: number[] } }
 *   { mode: 'bench', ints: [{ name, file }], floats: [{ name, file, inputShape }], batches, reps,
 *     minSeconds, mean, std }                                           -> { userAgent, results: [...] }
 */
import { WasmRuntime } from '../../src/runtime/web.ts';

interface Side {
  name: string;
  file: string;
  inputShape?: number[];
}

interface PageConfig {
  mode: 'check' | 'bench';
  ints: Side[];
  floats?: Side[];
  pixels?: string;
  n?: number;
  batches?: number[];
  reps?: number;
  minSeconds?: number;
  mean?: number;
  std?: number;
}

interface OrtModule {
  env: { wasm: { numThreads: number; wasmPaths: string; simd?: boolean } };
  InferenceSession: { create(bytes: Uint8Array, opts: object): Promise<{ inputNames: string[]; run(feeds: object): Promise<object> }> };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => object;
}

async function bytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function post(path: string, value: unknown): Promise<Response> {
  return fetch(path, { method: 'POST', body: typeof value === 'string' ? value : JSON.stringify(value) });
}

function log(line: string): void {
  document.getElementById('log')!.textContent += line + '\n';
  void post('/log', line);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Like bench/runtime: reps repetitions of >= minSeconds each (after one warm-up run), images/s of each. */
async function time(run: () => unknown, batch: number, reps: number, minSeconds: number): Promise<number[]> {
  await run();
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    let runs = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      await run();
      runs++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < minSeconds);
    samples.push((runs * batch) / dt);
  }
  return samples;
}

async function main(): Promise<void> {
  const cfg = (await (await fetch('/config.json')).json()) as PageConfig;
  const rt = await WasmRuntime.instantiate(await bytes('/lowbit_runtime.wasm'));
  if (cfg.mode === 'check') {
    const pixels = await bytes(`/files/${cfg.pixels}`);
    const logits: Record<string, number[]> = {};
    for (const s of cfg.ints) {
      const { plan } = rt.loadPlan(await bytes(`/files/${s.file}`), s.file);
      logits[s.name] = Array.from(plan.run(pixels, cfg.n!));
      plan.dispose();
    }
    await post('/result', { logits });
    return;
  }
  // Every (side, batch) is set up first, then the repetitions go round robin over them, so that on a
  // shared machine each side sees the same load over time (run one after the other, a side that
  // happens to meet a busy minute loses to one that does not).
  const runs: { side: string; batch: number; run: () => unknown }[] = [];
  const maxBatch = Math.max(...cfg.batches!);
  for (const s of cfg.ints) {
    const { plan, meta } = rt.loadPlan(await bytes(`/files/${s.file}`), s.file);
    const [h, w] = meta.modelConfig.inputSize;
    const pixels = new Uint8Array(maxBatch * h * w * meta.modelConfig.inChannels);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 131 + (i >> 7)) & 255;
    for (const batch of cfg.batches!) runs.push({ side: s.name, batch, run: () => plan.run(pixels, batch) });
  }
  if ((cfg.floats ?? []).length > 0) {
    // A computed specifier: the bundler leaves it alone and the browser loads onnxruntime-web's own file.
    const ortUrl = '/ort/ort.wasm.min.mjs';
    const ort = (await import(/* @vite-ignore */ ortUrl)) as OrtModule;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.wasmPaths = '/ort/';
    for (const s of cfg.floats!) {
      const session = await ort.InferenceSession.create(await bytes(`/files/${s.file}`), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const per = s.inputShape!.reduce((a, b) => a * b, 1);
      for (const batch of cfg.batches!) {
        const x = new Float32Array(batch * per);
        for (let i = 0; i < x.length; i++) x[i] = (((i * 131 + (i >> 7)) & 255) / 255 - cfg.mean!) / cfg.std!;
        const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, [batch, ...s.inputShape!]) };
        runs.push({ side: s.name, batch, run: () => session.run(feeds) });
      }
    }
  }
  const samples = runs.map(() => [] as number[]);
  for (const r of runs) await time(r.run, r.batch, 1, cfg.minSeconds!); // warm-up: first calls compile and allocate
  for (let rep = 0; rep < cfg.reps!; rep++) {
    for (const [i, r] of runs.entries()) samples[i].push(...(await time(r.run, r.batch, 1, cfg.minSeconds!)));
    log(`repetition ${rep + 1} of ${cfg.reps}`);
  }
  const results = runs.map((r, i) => ({ side: r.side, batch: r.batch, imagesPerSecond: median(samples[i]), best: Math.max(...samples[i]), samples: samples[i] }));
  for (const r of results) log(`${r.side} batch ${r.batch}: ${r.imagesPerSecond.toFixed(0)} images/s (best ${r.best.toFixed(0)})`);
  await post('/result', { userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated, results });
}

main().catch((err: Error) => void post('/error', `${err.message}\n${err.stack ?? ''}`));

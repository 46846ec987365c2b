/**
 * bench/runtime-browser: lowbit's WebAssembly runtime against onnxruntime-web in headless Chromium,
 * every side in the same page, one thread each.
 *
 *   node --import tsx bench/runtime-browser.ts [--w2a2 MODEL] [--w4a4 MODEL] [--float results/float/resnet20.safetensors]
 *          [--batches 1,64] [--reps 15] [--out bench/results/runtime-browser.json]
 *
 * Sides (ResNet-20, 28x28x1): the integer plans of a W2A2 and a W4A4 model (first/last layer 8-bit)
 * in lowbit_runtime.wasm (128-bit SIMD) through src/runtime/web.ts; onnxruntime-web 1.30 (wasm
 * backend, its bundled SIMD build served from node_modules, numThreads 1, graph optimization 'all')
 * on the float ONNX of the float checkpoint. MODEL is anything `lowbit run --model` takes (a QAT
 * checkpoint, its ONNX, a plan); without one, the float checkpoint is quantized as `lowbit qat`
 * starts (SAWB weights, PACT activations), untrained: the same shapes, bit widths and kernels, so
 * the same speed (the kernels do not skip zeros), but not a model to measure accuracy with.
 * images/s: median of `reps` repetitions of >= 0.15 s each, taken round robin over the sides (each side
 * meets the same load over time), and the best one (on a shared machine the undisturbed repetition);
 * ratios are against onnxruntime-web float at the same batch.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromiumPath, runInChromium } from './browser/harness.ts';
import { DATASET_CATALOG } from '../src/data/index.ts';
import { exportOnnx } from '../src/export/index.ts';
import { quantizeModel } from '../src/quant/index.ts';
import { compileResNet, encodePlan, loadIntModel } from '../src/runtime/index.ts';
import { loadCheckpoint } from '../src/train/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

interface PageResult {
  side: string;
  batch: number;
  imagesPerSecond: number;
  best: number;
  samples: number[];
}

const { values } = parseArgs({
  options: {
    w2a2: { type: 'string' },
    w4a4: { type: 'string' },
    float: { type: 'string', default: join(root, 'results', 'float', 'resnet20.safetensors') },
    batches: { type: 'string', default: '1,64' },
    reps: { type: 'string', default: '15' },
    out: { type: 'string', default: join(root, 'bench', 'results', 'runtime-browser.json') },
  },
});

const norm = DATASET_CATALOG['fashion-mnist'];

/** A plan file's bytes: from the given model, or the float checkpoint quantized (untrained) at `bits`. */
async function planBytes(bits: number, given: string | undefined): Promise<{ bytes: Uint8Array; source: string }> {
  if (given !== undefined) {
    const m = await loadIntModel(given);
    return { bytes: encodePlan(m.plan, { modelConfig: m.modelConfig }), source: given };
  }
  const { model, modelConfig } = loadCheckpoint(values.float!);
  quantizeModel(model, { weight: { kind: 'sawb', bits }, act: { kind: 'pact', bits }, firstLast: { bits: 8 } });
  model.eval();
  const plan = compileResNet(model, { mean: norm.mean, std: norm.std, inputSize: modelConfig.inputSize });
  return { bytes: encodePlan(plan, { modelConfig }), source: `${values.float} quantized W${bits}A${bits} (SAWB/PACT, untrained)` };
}

async function main(): Promise<void> {
  const batches = values.batches!.split(',').map(Number);
  const w2 = await planBytes(2, values.w2a2);
  const w4 = await planBytes(4, values.w4a4);
  const { model, modelConfig } = loadCheckpoint(values.float!);
  const inputShape = [modelConfig.inChannels, ...modelConfig.inputSize];
  const floatOnnx = exportOnnx(model, { inputShape }).bytes;
  const loadBefore = loadavg();
  const page = await runInChromium<{ userAgent: string; results: PageResult[] }>({
    config: {
      mode: 'bench',
      ints: [{ name: 'lowbit-wasm-w2a2', file: 'w2a2.lbit' }, { name: 'lowbit-wasm-w4a4', file: 'w4a4.lbit' }],
      floats: [{ name: 'ort-web-float', file: 'float.onnx', inputShape }],
      batches,
      reps: Number(values.reps),
      minSeconds: 0.15,
      mean: norm.mean[0],
      std: norm.std[0],
    },
    files: { 'w2a2.lbit': w2.bytes, 'w4a4.lbit': w4.bytes, 'float.onnx': floatOnnx },
    timeoutSeconds: 900,
    onLog: (line) => process.stderr.write(`${line}\n`),
  });
  const loadAfter = loadavg();
  const lines = ['', '| batch | side | images/s median | x ort-web float | images/s best | x ort-web float |', '|---|---|---|---|---|---|'];
  for (const batch of batches) {
    const group = page.results.filter((r) => r.batch === batch);
    const base = group.find((r) => r.side === 'ort-web-float')!;
    for (const r of group) {
      lines.push(`| ${batch} | ${r.side} | ${r.imagesPerSecond.toFixed(0)} | ${(r.imagesPerSecond / base.imagesPerSecond).toFixed(2)} | ${r.best.toFixed(0)} | ${(r.best / base.best).toFixed(2)} |`);
    }
  }
  const chromium = execFileSync(chromiumPath()!, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  process.stdout.write(`${chromium}; load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after\n${lines.join('\n')}\n`);
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(
    values.out!,
    JSON.stringify({ date: new Date().toISOString(), loadavgBefore: loadBefore, loadavgAfter: loadAfter, chromium, userAgent: page.userAgent, models: { w2a2: w2.source, w4a4: w4.source, float: values.float }, results: page.results }, null, 2) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`bench/runtime-browser: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

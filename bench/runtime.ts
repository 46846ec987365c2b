/**
 * bench/runtime: the integer runtime against float inference, every side in the same run.
 *
 *   node --import tsx bench/runtime.ts --w2a2 RUN/model.safetensors --w4a4 RUN/model.safetensors [--float results/float/resnet20.safetensors]
 *          [--threads 1,2] [--batches 1,64] [--out bench/results/runtime.json]
 *
 * Sides (ResNet-20, 28x28x1 Fashion-MNIST shapes): lowbit's integer plan of the W2A2 and W4A4 QAT
 * checkpoints (saved with `lowbit run --save` and loaded from that file, without libtorch); lowbit's float inference (ATen/oneDNN fp32, channels-last) of the float checkpoint;
 * onnxruntime-node (default optimization level) on the float ONNX and on the QDQ ONNX of each QAT
 * checkpoint (written with `lowbit export` when missing). Each side runs in its own child process so
 * its peak RSS is its own; images/s is the median of 15 repetitions of >= 0.15 s each, and the best
 * repetition is shown too: on a shared machine a run is either undisturbed or descheduled for
 * hundreds of ms (measured: 1.6 ms or 100-700 ms per W2A2 batch of 8), so the best repetition is the
 * comparable number when the median is not. Ratios are against the fastest float side (ATen or
 * onnxruntime on the float model) at the same batch and thread count, for the median and the best.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

interface SideResult {
  side: string;
  batch: number;
  threads: number;
  imagesPerSecond: number;
  best: number;
  samples: number[];
  maxRssMiB: number;
  isa?: string;
}

type Side = 'int-w2a2' | 'int-w4a4' | 'aten-float' | 'ort-float' | 'ort-qdq-w2a2' | 'ort-qdq-w4a4';
const SIDES: Side[] = ['int-w2a2', 'int-w4a4', 'aten-float', 'ort-float', 'ort-qdq-w2a2', 'ort-qdq-w4a4'];
// The float baselines: a QDQ model also runs in float (DequantizeLinear, then a float conv), shown for reference.
const FLOAT_SIDES: Side[] = ['aten-float', 'ort-float'];
const REPS = 15;
const MIN_SECONDS = 0.15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Normalized float input [n, 1, 28, 28] and the same images as uint8 pixels. */
function inputs(n: number): { pixels: Uint8Array; floats: Float32Array } {
  const pixels = new Uint8Array(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 131 + (i >> 7)) & 255;
  const floats = Float32Array.from(pixels, (p) => (p / 255 - 0.286) / 0.353);
  return { pixels, floats };
}

async function timeAsync(run: () => Promise<void> | void, batch: number): Promise<number[]> {
  await run();
  const samples: number[] = [];
  for (let r = 0; r < REPS; r++) {
    let runs = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      await run();
      runs++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < MIN_SECONDS);
    samples.push((runs * batch) / dt);
  }
  return samples;
}

/** One side in this (child) process. */
async function child(side: Side, batch: number, threads: number, files: Record<string, string>): Promise<SideResult> {
  const { pixels, floats } = inputs(batch);
  let samples: number[];
  let isa: string | undefined;
  if (side === 'int-w2a2' || side === 'int-w4a4') {
    // A saved plan, through the modules that do not load libtorch: the side's RSS is the runtime's own.
    const { setRuntimeThreads } = await import('../src/runtime/native.ts');
    const { loadIntModel } = await import('../src/runtime/load.ts');
    setRuntimeThreads(threads);
    const model = await loadIntModel(side === 'int-w2a2' ? files.w2a2Plan : files.w4a4Plan);
    isa = model.plan.isa;
    samples = await timeAsync(() => void model.plan.run(pixels, batch), batch);
  } else if (side === 'aten-float') {
    const t = await import('../src/tensor/index.ts');
    const { loadCheckpoint } = await import('../src/train/index.ts');
    t.setNumThreads(threads);
    const { model } = loadCheckpoint(files.float);
    model.eval();
    const x = t.fromArray(floats, [batch, 1, 28, 28]).contiguous('channelsLast');
    samples = await timeAsync(() => t.scope(() => t.noGrad(() => void model.call(x).toFloat32Array())), batch);
  } else {
    const ort = await import('onnxruntime-node');
    const path = side === 'ort-float' ? files.floatOnnx : side === 'ort-qdq-w2a2' ? files.w2a2Onnx : files.w4a4Onnx;
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', floats, [batch, 1, 28, 28]) };
    samples = await timeAsync(async () => void (await session.run(feeds)), batch);
  }
  return { side, batch, threads, imagesPerSecond: median(samples), best: Math.max(...samples), samples, maxRssMiB: process.resourceUsage().maxRSS / 1024, isa };
}

function ensureOnnx(checkpoint: string, out: string): void {
  if (existsSync(out)) return;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'lowbit.js'), 'export', '--checkpoint', checkpoint, '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lowbit export of ${checkpoint} failed: ${r.stderr}`);
}

function ensurePlan(checkpoint: string, out: string): void {
  if (existsSync(out)) return;
  const r = spawnSync(process.execPath, [join(root, 'bin', 'lowbit.js'), 'run', '--model', checkpoint, '--save', out, '--bench', '--batch', '1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lowbit run --save of ${checkpoint} failed: ${r.stderr}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      w2a2: { type: 'string' },
      w4a4: { type: 'string' },
      float: { type: 'string', default: join(root, 'results', 'float', 'resnet20.safetensors') },
      threads: { type: 'string', default: '1,2' },
      batches: { type: 'string', default: '1,64' },
      out: { type: 'string', default: join(root, 'bench', 'results', 'runtime.json') },
      onnxDir: { type: 'string', default: join(root, 'bench', 'results', 'runtime-onnx') },
      side: { type: 'string' },
      batch: { type: 'string' },
      files: { type: 'string' },
    },
  });
  if (values.side) {
    const files = JSON.parse(values.files!) as Record<string, string>;
    const r = await child(values.side as Side, Number(values.batch), Number(values.threads), files);
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  if (!values.w2a2 || !values.w4a4) {
    throw new Error("pass --w2a2 and --w4a4 QAT checkpoints (e.g. 'lowbit qat --checkpoint results/float/resnet20.safetensors --wbits 2 --abits 2 --out RUN')");
  }
  mkdirSync(values.onnxDir!, { recursive: true });
  const files = {
    w2a2: values.w2a2,
    w4a4: values.w4a4,
    float: values.float!,
    floatOnnx: join(values.onnxDir!, 'float.onnx'),
    w2a2Onnx: join(values.onnxDir!, 'w2a2-qdq.onnx'),
    w4a4Onnx: join(values.onnxDir!, 'w4a4-qdq.onnx'),
    w2a2Plan: join(values.onnxDir!, 'w2a2.lbit'),
    w4a4Plan: join(values.onnxDir!, 'w4a4.lbit'),
  };
  ensurePlan(files.w2a2, files.w2a2Plan);
  ensurePlan(files.w4a4, files.w4a4Plan);
  ensureOnnx(files.float, files.floatOnnx);
  ensureOnnx(files.w2a2, files.w2a2Onnx);
  ensureOnnx(files.w4a4, files.w4a4Onnx);
  const results: SideResult[] = [];
  const threadList = values.threads!.split(',').map(Number);
  const batchList = values.batches!.split(',').map(Number);
  for (const threads of threadList) {
    for (const batch of batchList) {
      for (const side of SIDES) {
        const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--side', side, '--batch', String(batch), '--threads', String(threads), '--files', JSON.stringify(files)], {
          encoding: 'utf8',
          env: { ...process.env, OMP_NUM_THREADS: String(threads) },
        });
        if (r.status !== 0) throw new Error(`side ${side} failed: ${r.stderr}`);
        const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as SideResult;
        results.push(res);
        process.stderr.write(`${side} batch ${batch} threads ${threads}: ${res.imagesPerSecond.toFixed(0)} img/s (best ${res.best.toFixed(0)}), ${res.maxRssMiB.toFixed(0)} MiB\n`);
      }
    }
  }
  const lines: string[] = ['', '| threads | batch | side | images/s median | x fastest float | images/s best | x fastest float | peak RSS MiB |', '|---|---|---|---|---|---|---|---|'];
  for (const threads of threadList) {
    for (const batch of batchList) {
      const group = results.filter((r) => r.threads === threads && r.batch === batch);
      const floats = group.filter((r) => FLOAT_SIDES.includes(r.side as Side));
      const fastestFloat = Math.max(...floats.map((r) => r.imagesPerSecond));
      const fastestBest = Math.max(...floats.map((r) => r.best));
      for (const r of group) {
        lines.push(
          `| ${threads} | ${batch} | ${r.side}${r.isa ? ` (${r.isa})` : ''} | ${r.imagesPerSecond.toFixed(0)} | ${(r.imagesPerSecond / fastestFloat).toFixed(2)} | ` +
            `${r.best.toFixed(0)} | ${(r.best / fastestBest).toFixed(2)} | ${r.maxRssMiB.toFixed(0)} |`,
        );
      }
    }
  }
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(dirname(values.out!), { recursive: true });
  writeFileSync(values.out!, JSON.stringify({ date: new Date().toISOString(), loadavg: (await import('node:os')).loadavg(), results }, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench/runtime: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

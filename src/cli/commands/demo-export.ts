/**
 * Demo stage `export`: the most accurate 2-bit-weight model the other stages left (PTQ W2, QAT W2A2,
 * NCE W2A2) and the float model are written as ONNX, both files run in onnxruntime-node on the test set,
 * and their sizes are set side by side (the safetensors float checkpoint too).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, loadDataset } from '../../data/index.ts';
import { LowbitError } from '../../errors.ts';
import { saveOnnx } from '../../export/index.ts';
import type { Module } from '../../nn/index.ts';
import { evaluate, loadCheckpoint, RunDir, subset } from '../../train/index.ts';
import { info } from '../output.ts';
import { DEMO_DATASET, type DemoContext } from './demo-context.ts';
import { readStageRecord, type StageRunner } from './demo-stages.ts';

const EXPORT_DIR = 'export';

export interface ExportCandidate {
  dir: string;
  label: string;
  wbits: number;
  abits: number;
  testAccuracy: number;
  checkpoint: string;
}

/** 2-bit-weight models the finished stages left in the demo directory, from their result.json. */
export function exportCandidates(out: string): ExportCandidate[] {
  const found: ExportCandidate[] = [];
  const read = (dir: string) => {
    const p = join(out, dir, 'result.json');
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : null;
  };
  const ptq = readStageRecord(out, 'ptq');
  for (const r of (ptq?.summary.runs ?? []) as { dir: string; method: string; bits: number }[]) {
    const res = read(r.dir);
    if (r.bits === 2 && res) found.push({ dir: r.dir, label: `${r.method.toUpperCase()} PTQ W2 (float activations)`, wbits: 2, abits: Number(res.abits ?? 32), testAccuracy: Number(res.quantizedAccuracy), checkpoint: join(out, r.dir, 'model.safetensors') });
  }
  const qat = readStageRecord(out, 'qat');
  for (const r of (qat?.summary.runs ?? []) as { dir: string; label: string }[]) {
    const res = read(r.dir);
    if (res) found.push({ dir: r.dir, label: `${r.label} W2A2`, wbits: 2, abits: 2, testAccuracy: Number(res.testAccuracy), checkpoint: join(out, r.dir, 'model.safetensors') });
  }
  if (readStageRecord(out, 'nce')) {
    const res = read('nce-retrain');
    if (res) found.push({ dir: 'nce-retrain', label: 'NCE-searched widths, W2A2', wbits: 2, abits: 2, testAccuracy: Number(res.testAccuracy), checkpoint: String(res.checkpoint) });
  }
  return found.filter((c) => Number.isFinite(c.testAccuracy) && existsSync(c.checkpoint));
}

async function ortAccuracy(bytes: Uint8Array, test: DataLoader): Promise<number> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  let correct = 0;
  let count = 0;
  try {
    for (const batch of test) {
      const x = batch.images.contiguous();
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.toFloat32Array(), x.shape) };
      const logits = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
      const labels = batch.labels.toArray();
      const classes = logits.length / labels.length;
      labels.forEach((y, i) => {
        let best = 0;
        for (let c = 1; c < classes; c++) if (logits[i * classes + c] > logits[i * classes + best]) best = c;
        if (best === Number(y)) correct++;
      });
      count += labels.length;
      x.dispose();
    }
  } finally {
    await session.release();
  }
  return correct / count;
}

export function exportStage(ctx: DemoContext): StageRunner {
  const budget = ctx.budget.export;
  return {
    // A rerun of an upstream stage changes its finishedAt, and with it the model to export.
    key: () => ({ budget, float: ctx.floatCheckpoint, upstream: (['ptq', 'qat', 'nce'] as const).map((s) => readStageRecord(ctx.out, s)?.finishedAt ?? null) }),
    dirs: () => [EXPORT_DIR],
    async run() {
      const candidates = exportCandidates(ctx.out);
      if (candidates.length === 0) throw new LowbitError('demo export: no 2-bit model in the demo directory; run the ptq, qat or nce stage first (e.g. --stages ptq,export)');
      const best = candidates.reduce((a, b) => (b.testAccuracy > a.testAccuracy ? b : a));
      const runDir = new RunDir(join(ctx.out, EXPORT_DIR));
      const test = new DataLoader(subset(loadDataset(DEMO_DATASET, 'test'), budget.testSubset), { batchSize: 500, shuffle: false });
      runDir.writeConfig({ command: 'demo export', dataset: DEMO_DATASET, candidates, chosen: best.dir, float: ctx.floatCheckpoint, testImages: test.dataset.length });
      const files: Record<string, unknown>[] = [];
      const exportOne = async (role: 'float' | 'quantized', label: string, checkpoint: string, file: string) => {
        const { model, modelConfig, extraTensors } = loadCheckpoint(checkpoint);
        for (const t of extraTensors.values()) t.dispose();
        const onnxPath = runDir.file(file);
        const r = saveOnnx(onnxPath, model, { inputShape: [modelConfig.inChannels, ...modelConfig.inputSize], docString: `lowbit demo export of ${checkpoint}` });
        const lowbit = evaluate(model as Module, test).accuracy;
        model.dispose();
        const ort = await ortAccuracy(r.bytes, test);
        info(`  ${file}: ${r.bytes.length} bytes (opset ${r.opset}), onnxruntime ${(100 * ort).toFixed(2)}%, lowbit ${(100 * lowbit).toFixed(2)}%`);
        files.push({
          role,
          label,
          checkpoint,
          checkpointBytes: statSync(checkpoint).size,
          onnx: file,
          onnxBytes: r.bytes.length,
          opset: r.opset,
          integerLayers: r.layers.filter((l) => l.format !== 'float').length,
          layers: r.layers.length,
          ortAccuracy: ort,
          lowbitAccuracy: lowbit,
        });
      };
      await exportOne('float', 'float ResNet-20', ctx.floatCheckpoint, 'float.onnx');
      await exportOne('quantized', best.label, best.checkpoint, 'best-2bit.onnx');
      const summary = { command: 'demo export', chosen: best, candidates, testImages: test.dataset.length, files };
      runDir.writeResult(summary);
      return summary;
    },
  };
}

/** Demo stage `qat`: W2A2 fine-tuning of the float model, plain and with the full-precision auxiliary module. */
import { join } from 'node:path';
import type { Module } from '../../nn/index.ts';
import { runAuxQat, runQat, type QatRun, type RunQatArgs } from '../../qat/index.ts';
import type { QuantizedLayer } from '../../quant/index.ts';
import { RunDir } from '../../train/index.ts';
import { info } from '../output.ts';
import { DEMO_DATASET, type DemoContext } from './demo-context.ts';
import { recordWeightStorage, weightBytes, type StageRunner } from './demo-stages.ts';
import { trainingProgress } from './train.ts';

export const QAT_ARMS = [
  { dir: 'qat-w2a2', arm: 'plain', label: 'plain QAT' },
  { dir: 'qat-w2a2-aux', arm: 'aux', label: 'QAT + auxiliary module' },
] as const;

/** Conv/linear weights of a quantized model at the bits its layers got (float layers at 32). */
export function modelWeightBytes(model: Module, layers: readonly QuantizedLayer[]): { bytes: number; floatBytes: number } {
  return weightBytes(
    layers
      .filter((l) => l.type === 'conv2d' || l.type === 'linear')
      .map((l) => ({ numel: (model.getSubmodule(l.name) as unknown as { weight: { shape: number[] } }).weight.shape.reduce((a, b) => a * b, 1), bits: l.weight?.bits ?? 32 })),
  );
}

export function qatStage(ctx: DemoContext): StageRunner {
  const budget = ctx.budget.qat;
  return {
    key: () => ({ budget, float: ctx.floatCheckpoint, seed: ctx.seed }),
    dirs: () => QAT_ARMS.map((a) => a.dir),
    run() {
      const runs: Record<string, unknown>[] = [];
      for (const { dir, arm, label } of QAT_ARMS) {
        const args: RunQatArgs = {
          checkpoint: ctx.floatCheckpoint,
          quant: { wbits: 2, abits: 2 },
          options: { dataset: DEMO_DATASET, epochs: budget.epochs, seed: ctx.seed, ...(budget.trainSubset !== undefined ? { trainSubset: budget.trainSubset } : {}) },
          runDir: new RunDir(join(ctx.out, dir)),
          config: { demo: { stage: 'qat', arm } },
          ...trainingProgress(`demo qat (${label})`),
        };
        const start = performance.now();
        const run: QatRun = arm === 'aux' ? runAuxQat({ ...args, aux: { stages: 1 } }) : runQat(args);
        const seconds = (performance.now() - start) / 1000;
        const storage = modelWeightBytes(run.model, run.layers);
        run.model.dispose();
        recordWeightStorage(join(ctx.out, dir), storage);
        info(`  ${label}: W2A2 test accuracy ${(100 * Number(run.summary.testAccuracy)).toFixed(2)}% (${seconds.toFixed(1)} s)`);
        runs.push({ dir, arm, label, testAccuracy: run.summary.testAccuracy, seconds, imagesPerSecond: run.summary.imagesPerSecond, weightStorage: storage });
      }
      return { runs };
    },
  };
}

/** Demo stage `ptq`: RTN and GPFQ at each budgeted bit width, each run from its own copy of the float model. */
import { join } from 'node:path';
import { calibrationSet, DataLoader, loadDataset } from '../../data/index.ts';
import { runPtq, type PtqConfig } from '../../ptq/index.ts';
import { manualSeed } from '../../tensor/index.ts';
import { copyCheckpointModel, loadCheckpoint, RunDir, subset } from '../../train/index.ts';
import { info } from '../output.ts';
import { Progress } from '../progress.ts';
import { DEMO_DATASET, type DemoContext } from './demo-context.ts';
import type { StageRunner } from './demo-stages.ts';

const METHODS: NonNullable<PtqConfig['method']>[] = ['rtn', 'gpfq'];
const ptqDir = (method: string, bits: number) => `ptq-${method}-w${bits}`;

export function ptqStage(ctx: DemoContext): StageRunner {
  const budget = ctx.budget.ptq;
  return {
    key: () => ({ budget, float: ctx.floatCheckpoint, seed: ctx.seed }),
    dirs: () => budget.bits.flatMap((b) => METHODS.map((m) => ptqDir(m, b))),
    run() {
      manualSeed(ctx.seed);
      const calibration = calibrationSet(DEMO_DATASET, budget.calib, ctx.seed);
      const float = loadCheckpoint(ctx.floatCheckpoint);
      for (const t of float.extraTensors.values()) t.dispose();
      const test = new DataLoader(subset(loadDataset(DEMO_DATASET, 'test'), budget.testSubset), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
      let floatAccuracy: number | undefined;
      const runs: Record<string, unknown>[] = [];
      for (const bits of [...budget.bits].sort((a, b) => b - a)) {
        for (const method of METHODS) {
          const runDir = new RunDir(join(ctx.out, ptqDir(method, bits)));
          const config: PtqConfig = { method, bits, firstLastBits: 8, solver: 'fast', convention: 'signed', granularity: 'channel' };
          runDir.writeConfig({ command: 'demo ptq', checkpoint: ctx.floatCheckpoint, dataset: DEMO_DATASET, ptq: config, calib: budget.calib, testImages: test.dataset.length, seed: ctx.seed });
          // PTQ's layer-order probe runs one image through the float model in training mode, which moves
          // its BN running statistics; a fresh copy per run keeps that from compounding over the runs.
          const analog = copyCheckpointModel(float.model, float.modelConfig);
          let bar: Progress | null = null;
          const onLayer = (p: { layers: number; name: string; done: boolean; layer: number }) => {
            bar ??= new Progress({ label: `${method} W${bits}`, total: p.layers, unit: 'layers' });
            if (p.done) bar.tick(1, p.name);
            if (p.done && p.layer === p.layers - 1) bar.finish();
          };
          const run = runPtq({ model: analog, modelConfig: float.modelConfig, config, calibration, test, runDir, onLayer, ...(floatAccuracy !== undefined ? { floatAccuracy } : {}) });
          const r = run.result;
          run.dispose();
          analog.dispose();
          floatAccuracy = r.floatAccuracy;
          info(`  ${method.toUpperCase().padEnd(4)} W${bits}: ${(100 * r.quantizedAccuracy).toFixed(2)}% (drop ${(100 * r.drop).toFixed(2)} pp, ${r.seconds.toFixed(1)} s)`);
          runs.push({ dir: ptqDir(method, bits), method, bits, testAccuracy: r.quantizedAccuracy, seconds: r.seconds });
        }
      }
      float.model.dispose();
      calibration.dispose();
      return { floatAccuracy, testImages: test.dataset.length, runs };
    },
  };
}

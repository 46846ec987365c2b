import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { calibrationSet, DataLoader, loadDataset } from '../../data/index.ts';
import { runPtq, type PtqConfig, type PtqRunResult } from '../../ptq/index.ts';
import { manualSeed } from '../../tensor/index.ts';
import { writeReport } from '../../report/index.ts';
import { copyCheckpointModel, loadCheckpoint, RunDir, trainModel } from '../../train/index.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { intOption, type Command } from '../command.ts';
import { info, output } from '../output.ts';
import { trainingProgress } from './train.ts';

const BITS = [8, 4, 3, 2];
/** Float baselines trained by experiments/float-baselines.sh and committed with the code. */
const COMMITTED_FLOAT = fileURLToPath(new URL('../../../results/float/', import.meta.url));
const METHODS: NonNullable<PtqConfig['method']>[] = ['rtn', 'gpfq'];

export const demoCommand: Command = {
  name: 'demo',
  summary: 'the main job: train (or reuse) a float model, quantize it with RTN and GPFQ at 8/4/3/2 bits, write a report',
  usage: 'lowbit demo [--model NAME] [--epochs N] [--calib N] [--out DIR]',
  examples: ['npm run demo', 'lowbit demo --model mlp --epochs 5 --out runs/demo-mlp'],
  options: {
    model: { type: 'string', default: 'resnet20', description: 'architecture of the float model' },
    epochs: { type: 'string', default: '3', metavar: 'N', description: 'float training epochs (a short recipe; the model is cached in --out)' },
    calib: { type: 'string', default: '1024', metavar: 'N', description: 'calibration images' },
    out: { type: 'string', short: 'o', default: 'runs/demo', metavar: 'DIR', description: 'demo directory (float model cached in DIR/float)' },
    seed: { type: 'string', default: '0', metavar: 'N', description: 'seed' },
    retrain: { type: 'boolean', description: 'train the float model with the short recipe even when a committed baseline exists' },
  },
  run(o) {
    const out = String(o.out);
    const seed = intOption(o, 'seed', 0);
    manualSeed(seed);
    const modelName = String(o.model);
    const floatDir = new RunDir(join(out, `float-${modelName}`));
    const committed = join(COMMITTED_FLOAT, `${modelName}.safetensors`);
    const useCommitted = !o.retrain && !existsSync(floatDir.file('model.safetensors')) && existsSync(committed);
    const checkpoint = useCommitted ? committed : floatDir.file('model.safetensors');
    let trainInfo: string;
    if (useCommitted) {
      info(`demo: using the committed float baseline ${committed} (see results/float/${modelName}.json for its recipe; --retrain trains a new one)`);
      trainInfo = `Float model: the committed baseline \`results/float/${modelName}.safetensors\` (recipe and command in \`results/float/${modelName}.json\`).`;
    } else if (existsSync(checkpoint)) {
      info(`demo: reusing the float model in ${checkpoint}`);
      trainInfo = `Float model reused from \`${checkpoint}\`.`;
    } else {
      info(`demo: training a float ${modelName} for ${o.epochs} epochs (cached for the next run)`);
      trainModel({
        model: modelName,
        options: {
          dataset: 'fashion-mnist',
          batchSize: 128,
          seed,
          epochs: intOption(o, 'epochs', 1),
          optimizer: { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
          schedule: 'cosine',
          labelSmoothing: 0,
          augment: true,
        },
        runDir: floatDir,
        resume: existsSync(join(floatDir.checkpointDir, 'last.safetensors')),
        command: 'demo-train',
        config: { options: o },
        ...trainingProgress('demo-train'),
      });
      trainInfo = `Float model trained by the demo: SGD (Nesterov, lr 0.1 cosine, wd 5e-4), batch 128, crop+flip, ${o.epochs} epochs.`;
    }
    const calibration = calibrationSet('fashion-mnist', intOption(o, 'calib', 1), seed);
    // The float model is loaded once; every PTQ run starts from its own copy of it.
    const float = loadCheckpoint(checkpoint);
    for (const t of float.extraTensors.values()) t.dispose();
    const test = new DataLoader(loadDataset('fashion-mnist', 'test'), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
    const runs: PtqRunResult[] = [];
    let floatAccuracy: number | undefined;
    for (const bits of BITS) {
      for (const method of METHODS) {
        const runDir = new RunDir(join(out, `ptq-${method}-w${bits}`));
        const config: PtqConfig = { method, bits, firstLastBits: 8, solver: 'fast', convention: 'signed', granularity: 'channel' };
        runDir.writeConfig({ command: 'demo-ptq', checkpoint, ptq: config, calib: calibration.shape[0], seed });
        // PTQ's layer-order probe runs one image through the float model in training mode, which moves
        // its BN running statistics; a fresh copy per run keeps that from compounding over the runs.
        const analog = copyCheckpointModel(float.model, float.modelConfig);
        const run = runPtq({ model: analog, modelConfig: float.modelConfig, config, calibration, test, runDir, ...(floatAccuracy !== undefined ? { floatAccuracy } : {}) });
        const r = run.result;
        run.dispose();
        analog.dispose();
        floatAccuracy = r.floatAccuracy;
        info(`  ${method.toUpperCase().padEnd(4)} W${bits}: ${(100 * r.quantizedAccuracy).toFixed(2)}% (drop ${(100 * r.drop).toFixed(2)} pp, ${r.seconds.toFixed(1)} s)`);
        runs.push(r);
      }
    }
    float.model.dispose();
    const calibrationSize = calibration.shape[0];
    calibration.dispose();
    writeFileAtomic(join(out, 'result.json'), JSON.stringify({ model: modelName, floatAccuracy, runs }, null, 2) + '\n');
    const report = writeReport(out, {
      title: `lowbit demo: post-training quantization of ${modelName} on Fashion-MNIST`,
      notes: [
        trainInfo,
        `Weights quantized to b bits (2^b levels, one step per layer), first and last layer at 8 bits, activations float; calibration on ${calibrationSize} training images.`,
      ],
    });
    output(
      o,
      { report: report.markdown, html: report.html, floatAccuracy, runs: runs.map(({ layers: _l, ...r }) => r) },
      `${readFileSync(report.markdown, 'utf8')}\nreport written to ${report.markdown} and ${report.html}`,
    );
  },
};

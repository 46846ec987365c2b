import { join } from 'node:path';
import { UsageError } from '../../errors.ts';
import { createModel, MODEL_NAMES, complexity, type ModelConfig } from '../../models/index.ts';
import { CosineAnnealingLR, MultiStepLR, SGD, Adam, AdamW, type LRScheduler, type Optimizer } from '../../optim/index.ts';
import { Generator, manualSeed, type Tensor } from '../../tensor/index.ts';
import { fit, RunDir, saveCheckpoint, lastCheckpointPath } from '../../train/index.ts';
import type { Module } from '../../nn/index.ts';
import { intOption, numberOption, stringOption, type Command, type ParsedOptions } from '../command.ts';
import { DATA_OPTIONS, makeLoaders } from '../data-setup.ts';
import { Progress } from '../progress.ts';
import { existsSync } from 'node:fs';
import { output, info } from '../output.ts';

export const OPTIMIZER_OPTIONS = {
  epochs: { type: 'string', default: '10', metavar: 'N', description: 'training epochs' },
  lr: { type: 'string', default: '0.1', metavar: 'X', description: 'initial learning rate' },
  optimizer: { type: 'string', default: 'sgd', choices: ['sgd', 'adam', 'adamw'], description: 'optimizer' },
  momentum: { type: 'string', default: '0.9', metavar: 'X', description: 'SGD momentum' },
  'plain-momentum': { type: 'boolean', description: 'classical instead of Nesterov momentum (SGD)' },
  'weight-decay': { type: 'string', default: '5e-4', metavar: 'X', description: 'weight decay (L2 for SGD/Adam, decoupled for AdamW)' },
  schedule: { type: 'string', default: 'cosine', choices: ['cosine', 'multistep', 'constant'], description: 'learning-rate schedule over the epochs' },
  'label-smoothing': { type: 'string', default: '0', metavar: 'X', description: 'label smoothing of the cross entropy' },
  'no-augment': { type: 'boolean', description: 'turn off random crop + horizontal flip' },
  out: { type: 'string', short: 'o', metavar: 'DIR', description: 'run directory (default runs/<command>-<model>-<time>)' },
  resume: { type: 'boolean', description: "continue the run in --out from its last checkpoint" },
} as const;

/** Builds the optimizer from the common flags; groups let quantizer parameters get their own settings. */
export function makeOptimizer(o: ParsedOptions, params: Tensor[] | { params: Tensor[]; weightDecay?: number }[]): Optimizer {
  const lr = numberOption(o, 'lr', 0);
  const weightDecay = numberOption(o, 'weight-decay', 0);
  switch (o.optimizer) {
    case 'adam':
      return new Adam(params, { lr, weightDecay });
    case 'adamw':
      return new AdamW(params, { lr, weightDecay });
    default:
      return new SGD(params, { lr, momentum: numberOption(o, 'momentum', 0), nesterov: !o['plain-momentum'], weightDecay });
  }
}

export function makeScheduler(o: ParsedOptions, optimizer: Optimizer, epochs: number): LRScheduler | undefined {
  if (o.schedule === 'cosine') return new CosineAnnealingLR(optimizer, { tMax: epochs });
  if (o.schedule === 'multistep') return new MultiStepLR(optimizer, { milestones: [Math.floor(epochs / 2), Math.floor((3 * epochs) / 4)], gamma: 0.1 });
  return undefined;
}

export function defaultRunDir(command: string, model: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return join('runs', `${command}-${model}-${stamp}`);
}

/** Trains with progress and the run directory's records; shared by train and qat. */
export function runTraining(args: {
  o: ParsedOptions;
  command: string;
  model: Module;
  modelConfig: Record<string, unknown>;
  optimizer: Optimizer;
  runDir: RunDir;
  config: Record<string, unknown>;
}): Record<string, unknown> {
  const { o, model, optimizer, runDir } = args;
  const epochs = intOption(o, 'epochs', 1);
  const resume = Boolean(o.resume);
  if (!resume && existsSync(lastCheckpointPath(runDir))) {
    throw new UsageError(`${runDir.path} already holds a run: pass --resume to continue it, or choose another --out`);
  }
  const loaders = makeLoaders(o, { augment: !o['no-augment'] });
  const scheduler = makeScheduler(o, optimizer, epochs);
  if (!resume || runDir.readConfig() === null) runDir.writeConfig(args.config);
  info(`${args.command}: ${loaders.trainSet.name} (${loaders.trainSet.length} images) -> ${runDir.path}`);
  let bar: Progress | null = null;
  const result = fit({
    model,
    optimizer,
    scheduler,
    train: loaders.train,
    test: loaders.test,
    epochs,
    modelConfig: args.modelConfig,
    runDir,
    resume,
    labelSmoothing: numberOption(o, 'label-smoothing', 0),
    onStep: (s) => {
      if (s.step === 1) bar = new Progress({ label: `epoch ${s.epoch + 1}/${s.epochs}`, total: loaders.train.length === s.steps ? loaders.trainSet.length : s.steps * loaders.train.batchSize, unit: 'img' });
      bar?.tick(s.images, `loss ${s.loss.toFixed(4)}`);
    },
    onEpoch: (m) => {
      bar?.finish(`train loss ${m.trainLoss.toFixed(4)} acc ${(100 * m.trainAccuracy).toFixed(2)}%  test acc ${(100 * m.testAccuracy).toFixed(2)}%`);
      bar = null;
    },
  });
  if (result.resumedFromEpoch > 0) info(`resumed from epoch ${result.resumedFromEpoch}`);
  const weightsPath = runDir.file('model.safetensors');
  saveCheckpoint(weightsPath, model, args.modelConfig);
  const final = result.final;
  const summary = {
    command: args.command,
    testAccuracy: final?.testAccuracy ?? null,
    bestTestAccuracy: result.bestTestAccuracy,
    epochs,
    imagesPerSecond: final?.imagesPerSecond ?? null,
    checkpoint: weightsPath,
    history: result.history,
  };
  runDir.writeResult(summary);
  return summary;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a float model of the zoo on a data set',
  usage: 'lowbit train --model NAME [--dataset NAME] [--epochs N] [--batch-size N] [--lr X] [--out DIR] [--resume]',
  examples: [
    'lowbit train --model resnet20 --dataset fashion-mnist --epochs 12 --out runs/r20',
    'lowbit train --model lenet5 --epochs 10 --lr 0.05 --out runs/lenet',
    'lowbit train --model resnet20 --epochs 12 --out runs/r20 --resume   # after an interruption',
  ],
  options: {
    model: { type: 'string', short: 'm', default: 'resnet20', choices: MODEL_NAMES, description: 'architecture' },
    widths: { type: 'string', metavar: 'LIST', description: 'comma-separated per-layer widths (see the model zoo)' },
    ...DATA_OPTIONS,
    ...OPTIMIZER_OPTIONS,
  },
  run(o) {
    const seed = intOption(o, 'seed', 0);
    manualSeed(seed);
    const out = typeof o.out === 'string' ? o.out : defaultRunDir('train', String(o.model));
    const runDir = new RunDir(out);
    const modelName = stringOption(o, 'model');
    const shape = o.dataset === 'cifar10' ? { inChannels: 3, inputSize: [32, 32] as [number, number] } : { inChannels: 1, inputSize: [28, 28] as [number, number] };
    const modelConfig: ModelConfig = {
      name: modelName,
      numClasses: 10,
      ...shape,
      ...(typeof o.widths === 'string' ? { widths: o.widths.split(',').map(Number) } : {}),
    };
    // The loaders hand out channels-last batches; channels-last weights make ATen use its NHWC kernels.
    const model = createModel(modelConfig, { generator: new Generator(seed) }).toMemoryFormat_('channelsLast');
    const optimizer = makeOptimizer(o, model.parameters());
    const c = complexity(model, [modelConfig.inChannels, ...modelConfig.inputSize]);
    info(`${modelName}: ${(c.params / 1e6).toFixed(3)} M params, ${(c.macs / 1e6).toFixed(2)} M MACs per image`);
    const summary = runTraining({
      o,
      command: 'train',
      model,
      modelConfig: modelConfig as unknown as Record<string, unknown>,
      optimizer,
      runDir,
      config: { command: 'train', model: modelConfig, options: o, params: c.params, macs: c.macs },
    });
    output(o, summary, `test accuracy ${(100 * Number(summary.testAccuracy)).toFixed(2)}% (best ${(100 * Number(summary.bestTestAccuracy)).toFixed(2)}%), weights in ${summary.checkpoint}`);
  },
};

import { join } from 'node:path';
import { MODEL_NAMES } from '../../models/index.ts';
import { OPTIMIZER_NAMES, SCHEDULE_NAMES } from '../../optim/index.ts';
import type { DataSpec } from '../../data/index.ts';
import { lastCheckpointPath, RunDir, trainModel, TRAINING_DEFAULTS, type TrainingCallbacks, type TrainingOptions } from '../../train/index.ts';
import { intOption, numberOption, stringOption, type Command, type ParsedOptions } from '../command.ts';
import { dataOptions, dataSpecFrom, describeData, USER_DATA_OPTIONS } from '../data-setup.ts';
import { setErrorContext } from '../error-context.ts';
import { Progress } from '../progress.ts';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { output, info } from '../output.ts';
import { FORCE_OPTION, openRunDir, resumeOptions } from '../run-dir-setup.ts';

const D = TRAINING_DEFAULTS;

export const OPTIMIZER_OPTIONS = {
  epochs: { type: 'string', default: String(D.epochs), metavar: 'N', description: 'training epochs' },
  lr: { type: 'string', default: String(D.optimizer.lr), metavar: 'X', description: 'initial learning rate' },
  optimizer: { type: 'string', default: D.optimizer.name, choices: OPTIMIZER_NAMES, description: 'optimizer' },
  momentum: { type: 'string', default: String(D.optimizer.momentum), metavar: 'X', description: 'SGD momentum' },
  'plain-momentum': { type: 'boolean', description: 'classical instead of Nesterov momentum (SGD)' },
  'weight-decay': { type: 'string', default: String(D.optimizer.weightDecay), metavar: 'X', description: 'weight decay (L2 for SGD/Adam, decoupled for AdamW)' },
  schedule: { type: 'string', default: D.schedule, choices: SCHEDULE_NAMES, description: 'learning-rate schedule over the epochs' },
  'label-smoothing': { type: 'string', default: String(D.labelSmoothing), metavar: 'X', description: 'label smoothing of the cross entropy' },
  'no-augment': { type: 'boolean', description: "turn off the data set's augmentation (random crop; horizontal flip where mirrored images keep their class, not for MNIST)" },
  out: { type: 'string', short: 'o', metavar: 'DIR', description: 'run directory (default runs/<command>-<model>-<time>); an existing non-empty one needs --resume or --force' },
  resume: { type: 'boolean', description: "continue the run in --out from its last checkpoint, with the run's recorded flags" },
  force: FORCE_OPTION,
} as const;

/** The data and optimizer flags as the library's TrainingOptions. */
export function trainingOptionsFrom(o: ParsedOptions, dataset: DataSpec): TrainingOptions {
  return {
    ...dataOptions(o, !o['no-augment'], dataset),
    epochs: intOption(o, 'epochs', 1),
    optimizer: {
      name: o.optimizer as TrainingOptions['optimizer']['name'],
      lr: numberOption(o, 'lr', 0),
      momentum: numberOption(o, 'momentum', 0),
      nesterov: !o['plain-momentum'],
      weightDecay: numberOption(o, 'weight-decay', 0),
    },
    schedule: o.schedule as TrainingOptions['schedule'],
    labelSmoothing: numberOption(o, 'label-smoothing', 0),
  };
}

/** The files a run writes, removed by --force before a new run goes into the directory. */
const RUN_FILES = ['config.json', 'metrics.jsonl', 'result.json', 'report.md', 'report.html', 'model.safetensors', 'codes.safetensors', 'model.onnx', 'aux.safetensors', 'checkpoints', 'stage1'];

export function clearRunFiles(runDir: RunDir): void {
  for (const f of RUN_FILES) rmSync(runDir.file(f), { recursive: true, force: true });
  mkdirSync(runDir.checkpointDir, { recursive: true });
}

export function defaultRunDir(command: string, model: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return join('runs', `${command}-${model}-${stamp}`);
}

/**
 * --force over a finished or interrupted run starts it anew, so its files go first. (--resume where no
 * checkpoint is yet starts the run: queues pass it whenever the folder exists.)
 */
export function checkResume(o: ParsedOptions, runDir: RunDir): boolean {
  if (o.force) clearRunFiles(runDir);
  return Boolean(o.resume) && existsSync(lastCheckpointPath(runDir));
}

/** The progress bar per epoch and the lines a training command prints. */
export function trainingProgress(command: string): TrainingCallbacks {
  let bar: Progress | null = null;
  let images = 0;
  return {
    onStart: (s) => {
      images = s.trainImages;
      info(`${command}: ${s.trainSet} (${s.trainImages} images) -> ${s.runDir}`);
    },
    onStep: (s) => {
      if (s.step === 1) bar = new Progress({ label: `epoch ${s.epoch + 1}/${s.epochs}`, total: images, unit: 'img' });
      bar?.tick(s.images, `loss ${s.loss.toFixed(4)}${s.metrics?.auxLoss === undefined ? '' : `  aux loss ${s.metrics.auxLoss.toFixed(4)}`}`);
    },
    onEpoch: (m) => {
      const aux = m.extra?.auxLoss === undefined ? '' : `  aux head: loss ${m.extra.auxLoss.toFixed(4)} acc ${(100 * (m.extra.auxAccuracy ?? NaN)).toFixed(2)}%`;
      bar?.finish(`train loss ${m.trainLoss.toFixed(4)} acc ${(100 * m.trainAccuracy).toFixed(2)}%  test acc ${(100 * m.testAccuracy).toFixed(2)}%${aux}`);
      bar = null;
    },
    onResume: (r) => info(`resumed from epoch ${r.epoch}`),
  };
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
    ...USER_DATA_OPTIONS,
    ...OPTIMIZER_OPTIONS,
  },
  run(given) {
    const runDir = openRunDir(given, defaultRunDir('train', stringOption(given, 'model')), { resumable: true });
    const o = resumeOptions(given, runDir);
    const modelName = stringOption(o, 'model');
    const dataset = dataSpecFrom(o);
    const options = trainingOptionsFrom(o, dataset);
    const resume = checkResume(o, runDir);
    setErrorContext({ model: `model ${modelName}`, data: describeData(dataset) });
    const { summary } = trainModel({
      model: modelName,
      ...(typeof o.widths === 'string' ? { widths: o.widths.split(',').map(Number) } : {}),
      options,
      runDir,
      resume,
      config: { options: o },
      onModel: ({ params, macs }) => info(`${modelName}: ${(params / 1e6).toFixed(3)} M params, ${(macs / 1e6).toFixed(2)} M MACs per image`),
      ...trainingProgress('train'),
    });
    output(o, summary, `test accuracy ${(100 * Number(summary.testAccuracy)).toFixed(2)}% (best ${(100 * Number(summary.bestTestAccuracy)).toFixed(2)}%), weights in ${summary.checkpoint}`);
  },
};

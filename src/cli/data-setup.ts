import { existsSync } from 'node:fs';
import { checkDatasetMatches, dataSpecName, DATASET_NAMES, isUserData, readDatasetMetadata, type DataProvenance, type DatasetName, type DataSpec } from '../data/index.ts';
import { readSafetensorsMetadata } from '../nn/index.ts';
import { TRAINING_DEFAULTS, type DataOptions } from '../train/index.ts';
import { UsageError } from '../errors.ts';
import type { OptionSpec, ParsedOptions } from './command.ts';
import { intOption, optionalInt } from './command.ts';
import { info } from './output.ts';

export const DATA_OPTIONS = {
  dataset: { type: 'string', default: TRAINING_DEFAULTS.dataset as string, choices: DATASET_NAMES, description: 'data set' },
  'batch-size': { type: 'string', default: String(TRAINING_DEFAULTS.batchSize), metavar: 'N', description: 'batch size' },
  'train-subset': { type: 'string', metavar: 'N', description: 'use only the first N training images (quick runs)' },
  seed: { type: 'string', default: String(TRAINING_DEFAULTS.seed), metavar: 'N', description: 'seed of initialization, shuffling and augmentation' },
} as const;

/**
 * The data flags of the commands that take a user's own data (train, eval, ptq, qat): a built-in
 * --dataset (default: the one the checkpoint records, else fashion-mnist) or --data PATH with its
 * normalization and input size.
 */
export const USER_DATA_OPTIONS: Record<string, OptionSpec> = {
  dataset: { type: 'string', choices: DATASET_NAMES, description: `built-in data set (default: the one the checkpoint records, else ${TRAINING_DEFAULTS.dataset})` },
  data: {
    type: 'string',
    metavar: 'PATH',
    description:
      'your own data instead of --dataset: a folder with one sub-folder of PNG/JPEG images per class, a folder with train/ and test/ such folders, IDX files (MNIST names in a folder, or an images file), or .npy arrays (images file, or x_train.npy/y_train.npy... in a folder)',
  },
  labels: { type: 'string', metavar: 'FILE', description: 'labels file of an IDX / .npy images file given with --data (default: its name with images -> labels, x -> y)' },
  mean: { type: 'string', metavar: 'LIST', description: "per-channel mean of x/255 of --data (comma-separated; default: the checkpoint's)" },
  std: { type: 'string', metavar: 'LIST', description: "per-channel std of x/255 of --data (comma-separated; default: the checkpoint's)" },
  'input-size': { type: 'string', metavar: 'HxW', description: "image size of --data: folder images are resized to it (default: the model's input size)" },
  'batch-size': DATA_OPTIONS['batch-size'],
  'train-subset': DATA_OPTIONS['train-subset'],
  seed: DATA_OPTIONS.seed,
};

export function datasetName(o: ParsedOptions): DatasetName {
  return (o.dataset ?? TRAINING_DEFAULTS.dataset) as DatasetName;
}

/** What a model file records about its data (lowbit checkpoints' or ONNX files' metadata), null if nothing. */
export function recordedProvenance(metadata: Record<string, string>, source: string): DataProvenance | null {
  return readDatasetMetadata(metadata, source);
}

/** The provenance a checkpoint records, read from its header only (no tensors loaded). */
export function checkpointProvenance(path: string): DataProvenance | null {
  if (!existsSync(path)) return null;
  return readDatasetMetadata(readSafetensorsMetadata(path), path);
}

function numberList(o: ParsedOptions, name: string): number[] | undefined {
  const raw = o[name];
  if (raw === undefined) return undefined;
  const v = String(raw).split(',').map((x) => Number(x.trim()));
  if (String(raw).trim() === '' || v.some((x) => !Number.isFinite(x))) throw new UsageError(`--${name} ${String(raw)}: expected numbers separated by commas, e.g. --${name} 0.1307 or --${name} 0.49,0.48,0.45`);
  return v;
}

function inputSizeOption(o: ParsedOptions): [number, number] | undefined {
  const raw = o['input-size'];
  if (raw === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/.exec(String(raw).trim());
  const size = m ? ([Number(m[1]), Number(m[2] ?? m[1])] as [number, number]) : null;
  if (size === null || size[0] < 1 || size[1] < 1) throw new UsageError(`--input-size ${String(raw)}: expected HxW (e.g. 28x28) or one number for square images`);
  return size;
}

export interface DataSpecContext {
  /** What the model records about its data (null: nothing recorded, or a fresh model). */
  recorded: DataProvenance | null;
  /** The model file, for messages. */
  source?: string;
  /** The model's input [H, W]: the default --input-size. */
  inputSize?: [number, number];
}

/**
 * The data the flags name, checked against what the model recorded: --dataset or --data (with --mean,
 * --std, --input-size), else the recorded data set, else the default. An explicit --dataset that is not
 * the recorded one is refused (a model's accuracy on other data is meaningless).
 */
export function dataSpecFrom(o: ParsedOptions, ctx: DataSpecContext = { recorded: null }): DataSpec {
  const { recorded } = ctx;
  const source = ctx.source ?? 'the model';
  const userFlags = ['labels', 'mean', 'std', 'input-size'].filter((f) => o[f] !== undefined);
  if (typeof o.data === 'string') {
    if (o.dataset !== undefined) throw new UsageError(`--data and --dataset both name the data; give one (--data ${o.data} for your own files, --dataset ${String(o.dataset)} for a built-in set)`);
    if (o.data === '') throw new UsageError('--data is empty: give the path of your data (a folder of class sub-folders, IDX or .npy files)');
    const mean = numberList(o, 'mean') ?? recorded?.mean;
    const std = numberList(o, 'std') ?? recorded?.std;
    if (mean === undefined || std === undefined) {
      throw new UsageError(`--data needs the normalization the model takes: --mean and --std of x/255 per channel (e.g. --mean 0.1307 --std 0.3081 for MNIST-like digits)`);
    }
    if (recorded !== null) checkDatasetMatches(recorded, { dataset: recorded.dataset, mean, std }, source);
    const inputSize = inputSizeOption(o) ?? ctx.inputSize;
    return { path: o.data, ...(typeof o.labels === 'string' ? { labels: o.labels } : {}), mean, std, ...(inputSize ? { inputSize } : {}), ...(recorded?.classes ? { classes: recorded.classes } : {}) };
  }
  if (userFlags.length > 0) throw new UsageError(`--${userFlags[0]} applies to --data (your own files); the built-in data sets have their own normalization and size`);
  if (typeof o.dataset === 'string') {
    if (recorded !== null && recorded.dataset !== o.dataset) {
      throw new UsageError(`--dataset ${o.dataset} contradicts ${source}, which was trained on ${recorded.dataset}: drop --dataset (the recorded data set is the default)${(DATASET_NAMES as readonly string[]).includes(recorded.dataset) ? '' : ', and give that data with --data PATH'}`);
    }
    return o.dataset as DatasetName;
  }
  if (recorded !== null) {
    if ((DATASET_NAMES as readonly string[]).includes(recorded.dataset)) return recorded.dataset as DatasetName;
    throw new UsageError(`${source} was trained on your own data '${recorded.dataset}': give it with --data PATH (its normalization is recorded and used by default)`);
  }
  // An existing model that records no data set (another tool's file, an older checkpoint): the default
  // is a guess, said once so a wrong one is not silently recorded with the results.
  if (ctx.source !== undefined && !assumedFor.has(ctx.source)) {
    assumedFor.add(ctx.source);
    info(`${ctx.source} records no data set; assuming ${TRAINING_DEFAULTS.dataset} (pass --dataset or --data if it was trained on other data)`);
  }
  return TRAINING_DEFAULTS.dataset as DatasetName;
}

const assumedFor = new Set<string>();

/** The data flags as the library's DataOptions; `augment` comes from the command's own flag. */
export function dataOptions(o: ParsedOptions, augment: boolean, dataset: DataSpec = datasetName(o)): DataOptions {
  const trainSubset = optionalInt(o, 'train-subset', 1);
  return {
    dataset,
    batchSize: intOption(o, 'batch-size', 1),
    ...(trainSubset !== undefined ? { trainSubset } : {}),
    augment,
    seed: intOption(o, 'seed', 0),
  };
}

/** A data spec for messages: 'mnist', or the user's path. */
export function describeData(spec: DataSpec): string {
  return isUserData(spec) ? `${dataSpecName(spec)} (${spec.path})` : spec;
}

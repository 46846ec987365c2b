import { DATASET_NAMES, type DatasetName } from '../data/index.ts';
import { TRAINING_DEFAULTS, type DataOptions } from '../train/index.ts';
import type { ParsedOptions } from './command.ts';
import { intOption, optionalInt } from './command.ts';

export const DATA_OPTIONS = {
  dataset: { type: 'string', default: TRAINING_DEFAULTS.dataset, choices: DATASET_NAMES, description: 'data set' },
  'batch-size': { type: 'string', default: String(TRAINING_DEFAULTS.batchSize), metavar: 'N', description: 'batch size' },
  'train-subset': { type: 'string', metavar: 'N', description: 'use only the first N training images (quick runs)' },
  seed: { type: 'string', default: String(TRAINING_DEFAULTS.seed), metavar: 'N', description: 'seed of initialization, shuffling and augmentation' },
} as const;

export function datasetName(o: ParsedOptions): DatasetName {
  return o.dataset as DatasetName;
}

/** The data flags as the library's DataOptions; `augment` comes from the command's own flag. */
export function dataOptions(o: ParsedOptions, augment: boolean): DataOptions {
  const trainSubset = optionalInt(o, 'train-subset', 1);
  return {
    dataset: datasetName(o),
    batchSize: intOption(o, 'batch-size', 1),
    ...(trainSubset !== undefined ? { trainSubset } : {}),
    augment,
    seed: intOption(o, 'seed', 0),
  };
}

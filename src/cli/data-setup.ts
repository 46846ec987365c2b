import { UsageError } from '../errors.ts';
import { DataLoader, Dataset, DATASET_NAMES, loadDataset, RandomCrop, RandomHorizontalFlip, type DatasetName } from '../data/index.ts';
import type { ParsedOptions } from './command.ts';
import { intOption, optionalInt } from './command.ts';

export const DATA_OPTIONS = {
  dataset: { type: 'string', default: 'fashion-mnist', choices: DATASET_NAMES, description: 'data set' },
  'batch-size': { type: 'string', default: '128', metavar: 'N', description: 'batch size' },
  'train-subset': { type: 'string', metavar: 'N', description: 'use only the first N training images (quick runs)' },
  seed: { type: 'string', default: '0', metavar: 'N', description: 'seed of initialization, shuffling and augmentation' },
} as const;

export function datasetName(o: ParsedOptions): DatasetName {
  return o.dataset as DatasetName;
}

/** The first n samples of a data set (a cheap view for quick runs and calibration sets). */
export function subset(ds: Dataset, n: number | undefined): Dataset {
  if (n === undefined || n >= ds.length) return ds;
  if (n < 1) throw new UsageError(`subset size must be >= 1, got ${n}`);
  return new Dataset({
    name: `${ds.name}[:${n}]`,
    images: ds.images.narrow(0, 0, n),
    labels: ds.labels.narrow(0, 0, n),
    classes: ds.classes,
    mean: ds.mean,
    std: ds.std,
  });
}

export interface Loaders {
  train: DataLoader;
  test: DataLoader;
  trainSet: Dataset;
  testSet: Dataset;
}

/** Training loader (shuffled, optionally augmented, channels-last) and test loader from the common flags. */
export function makeLoaders(o: ParsedOptions, opts: { augment: boolean }): Loaders {
  const name = datasetName(o);
  const batchSize = intOption(o, 'batch-size', 1);
  const seed = intOption(o, 'seed', 0);
  const trainSet = subset(loadDataset(name, 'train'), optionalInt(o, 'train-subset', 1));
  const testSet = loadDataset(name, 'test');
  const pad = trainSet.images.shape[2] <= 28 ? 2 : 4;
  const train = new DataLoader(trainSet, {
    batchSize,
    shuffle: true,
    seed,
    transform: opts.augment ? [new RandomCrop(pad), new RandomHorizontalFlip()] : undefined,
    memoryFormat: 'channelsLast',
  });
  const test = new DataLoader(testSet, { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
  return { train, test, trainSet, testSet };
}

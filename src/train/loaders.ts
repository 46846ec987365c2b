import { LowbitError } from '../errors.ts';
import { baseDatasetName, DataLoader, Dataset, defaultAugmentation, loadData } from '../data/index.ts';
import type { DataOptions } from './training-options.ts';

/** The first n samples of a data set (a cheap view for quick runs). */
export function subset(ds: Dataset, n: number | undefined): Dataset {
  if (n === undefined || n >= ds.length) return ds;
  if (n < 1) throw new LowbitError(`subset size must be >= 1, got ${n}`);
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

/**
 * The training loader (shuffled with the seed, optionally augmented with the data set's default
 * augmentation: a random crop, and a horizontal flip only where mirrored images keep their class, not
 * for MNIST digits; channels-last) and the test loader (batches of 500).
 */
export function trainingLoaders(o: DataOptions): Loaders {
  const trainSet = subset(loadData(o.dataset, 'train'), o.trainSubset);
  const testSet = loadData(o.dataset, 'test');
  const train = new DataLoader(trainSet, {
    batchSize: o.batchSize,
    shuffle: true,
    seed: o.seed,
    transform: o.augment ? defaultAugmentation(baseDatasetName(trainSet.name), trainSet.images.shape[2]) : undefined,
    memoryFormat: 'channelsLast',
  });
  const test = new DataLoader(testSet, { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
  return { train, test, trainSet, testSet };
}

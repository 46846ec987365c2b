import { LowbitError } from '../errors.ts';
import { DataLoader, Dataset, loadDataset, RandomCrop, RandomHorizontalFlip } from '../data/index.ts';
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
 * The training loader (shuffled with the seed, optionally augmented with a random crop of padding 2 for
 * 28x28 images, 4 for larger, and a horizontal flip; channels-last) and the test loader (batches of 500).
 */
export function trainingLoaders(o: DataOptions): Loaders {
  const trainSet = subset(loadDataset(o.dataset, 'train'), o.trainSubset);
  const testSet = loadDataset(o.dataset, 'test');
  const pad = trainSet.images.shape[2] <= 28 ? 2 : 4;
  const train = new DataLoader(trainSet, {
    batchSize: o.batchSize,
    shuffle: true,
    seed: o.seed,
    transform: o.augment ? [new RandomCrop(pad), new RandomHorizontalFlip()] : undefined,
    memoryFormat: 'channelsLast',
  });
  const test = new DataLoader(testSet, { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
  return { train, test, trainSet, testSet };
}

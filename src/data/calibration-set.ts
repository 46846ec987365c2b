import { LowbitError } from '../errors.ts';
import { keep, type Tensor } from '../tensor/index.ts';
import { DataLoader } from './data-loader.ts';
import type { Dataset } from './dataset.ts';
import { loadDataset, type DatasetName } from './load-dataset.ts';

/**
 * `count` images drawn at random (seeded, without replacement) from a data set's training split (or
 * from `source` itself when it is a Dataset), normalized like training batches, NCHW. The caller owns
 * the returned tensor.
 */
export function calibrationSet(source: DatasetName | Dataset, count: number, seed: number): Tensor {
  const train = typeof source === 'string' ? loadDataset(source, 'train') : source;
  if (!(Number.isInteger(count) && count >= 1)) throw new LowbitError(`calibrationSet: count must be a positive integer, got ${count}`);
  if (count > train.length) throw new LowbitError(`calibrationSet: ${count} images asked for, but ${train.name} has only ${train.length}`);
  const loader = new DataLoader(train, { batchSize: count, seed, shuffle: true });
  for (const batch of loader) {
    batch.labels.dispose();
    return keep(batch.images);
  }
  throw new LowbitError(`calibrationSet: ${train.name} is empty`);
}

// The training loaders take the data set's own augmentation (issue 20): MNIST digits are never
// flipped (a mirrored 2 is no digit), Fashion-MNIST garments are; a user's own data is cropped only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Compose, RandomCrop, RandomHorizontalFlip } from '../../src/data/index.ts';
import { TRAINING_DEFAULTS, trainingLoaders } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

test('trainingLoaders: per-data-set augmentation, no horizontal flip for MNIST', () => {
  const { dir, cleanup } = makeTempDir();
  const saved = process.env.LOWBIT_DATA;
  try {
    for (const name of ['mnist', 'fashion-mnist', 'mine']) {
      mkdirSync(join(dir, name));
      writeIdxSplit(join(dir, name), 'train', 16, 28, 28, { gzip: false, seed: 1 });
      writeIdxSplit(join(dir, name), 't10k', 8, 28, 28, { gzip: false, seed: 2 });
    }
    process.env.LOWBIT_DATA = dir;
    const kinds = (dataset: Parameters<typeof trainingLoaders>[0]['dataset']) => {
      const t = trainingLoaders({ ...TRAINING_DEFAULTS, dataset }).train.transform;
      assert.ok(t instanceof Compose);
      return t.transforms.map((x) => (x instanceof RandomCrop ? 'crop' : x instanceof RandomHorizontalFlip ? 'flip' : 'other'));
    };
    assert.deepEqual(kinds('mnist'), ['crop']);
    assert.deepEqual(kinds('fashion-mnist'), ['crop', 'flip']);
    assert.deepEqual(kinds({ path: join(dir, 'mine'), mean: [0.5], std: [0.25] }), ['crop']);
  } finally {
    if (saved === undefined) delete process.env.LOWBIT_DATA;
    else process.env.LOWBIT_DATA = saved;
    cleanup();
  }
});

// loadDataset on generated files (where it looks, what it builds, what it says when files are missing
// or inconsistent), and on the real Fashion-MNIST when the Debian package is installed.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { candidateDirs, DATASET_CATALOG, loadDataset, type Dataset } from '../../src/data/index.ts';
import { scope } from '../../src/tensor/index.ts';
import { cifarBytes, idxBytes, makeTempDir, writeIdxSplit } from './fixtures.ts';

const tmp = makeTempDir();
after(tmp.cleanup);

function assertLowbitError(fn: () => unknown, ...patterns: (RegExp | string)[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LowbitError, `expected a LowbitError, got ${String(err)}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(p)}`);
      else assert.match(err.message, p);
    }
    return true;
  });
}

/** Runs fn with LOWBIT_DATA set to value (or unset), restoring it afterwards. */
function withDataEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.LOWBIT_DATA;
  if (value === undefined) delete process.env.LOWBIT_DATA;
  else process.env.LOWBIT_DATA = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.LOWBIT_DATA;
    else process.env.LOWBIT_DATA = saved;
  }
}

function checkAgainst(ds: Dataset, split: { pixels: Uint8Array; labels: Uint8Array }, count: number, rows: number, cols: number): void {
  assert.deepEqual(ds.images.shape, [count, 1, rows, cols]);
  assert.equal(ds.images.dtype, 'uint8');
  assert.equal(ds.labels.dtype, 'int64');
  assert.deepEqual(Array.from(ds.images.toTypedArray() as Uint8Array), Array.from(split.pixels));
  assert.deepEqual(ds.labels.toArray(), Array.from(split.labels));
}

test('Fashion-MNIST from a folder of raw IDX files: pixels, labels and metadata', () => {
  const dir = join(tmp.dir, 'raw-fmnist');
  const train = writeIdxSplit(dir, 'train', 6, 3, 2, { gzip: false, seed: 1 });
  const test_ = writeIdxSplit(dir, 't10k', 4, 3, 2, { gzip: false, seed: 2 });
  const ds = loadDataset('fashion-mnist', 'train', { dir });
  checkAgainst(ds, train, 6, 3, 2);
  assert.equal(ds.name, 'fashion-mnist/train');
  assert.equal(ds.classes.length, 10);
  assert.equal(ds.classes[9], 'Ankle boot');
  assert.deepEqual(ds.mean, [0.286]);
  assert.deepEqual(ds.std, [0.353]);
  checkAgainst(loadDataset('fashion-mnist', 'test', { dir }), test_, 4, 3, 2);
});

test('MNIST under $LOWBIT_DATA/mnist and under opts.root, gzipped', () => {
  const root = join(tmp.dir, 'root-gz');
  const train = writeIdxSplit(join(root, 'mnist'), 'train', 5, 2, 2, { gzip: true, seed: 3 });
  const fromEnv = withDataEnv(root, () => loadDataset('mnist', 'train'));
  checkAgainst(fromEnv, train, 5, 2, 2);
  assert.deepEqual(fromEnv.mean, [0.1307]);
  checkAgainst(withDataEnv(undefined, () => loadDataset('mnist', 'train', { root })), train, 5, 2, 2);
});

test('the search order: opts.dir alone; else $LOWBIT_DATA/<folder>, then the Debian folder', () => {
  assert.deepEqual(candidateDirs('fashion-mnist', { dir: '/x', root: '/y' }), ['/x']);
  assert.deepEqual(withDataEnv('/data', () => candidateDirs('fashion-mnist')), ['/data/fashion-mnist', '/usr/share/datasets/fashion-mnist']);
  assert.deepEqual(withDataEnv('/data', () => candidateDirs('cifar10', { root: '/r' })), ['/r/cifar-10-batches-bin']);
  assert.deepEqual(withDataEnv(undefined, () => candidateDirs('mnist')), []);
});

test('image/label count mismatch names both files', () => {
  const dir = join(tmp.dir, 'mismatch');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes(2051, [3, 2, 2], new Uint8Array(12)));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idxBytes(2049, [2], Uint8Array.from([1, 2])));
  assertLowbitError(
    () => loadDataset('mnist', 'train', { dir }),
    `MNIST train: ${join(dir, 'train-images-idx3-ubyte')} holds 3 images but ${join(dir, 'train-labels-idx1-ubyte')} holds 2 labels`,
  );
});

test('a label outside 0..9 is refused', () => {
  const dir = join(tmp.dir, 'bad-label');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idxBytes(2051, [2, 1, 1], Uint8Array.from([0, 255])));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idxBytes(2049, [2], Uint8Array.from([3, 10])));
  assertLowbitError(() => loadDataset('mnist', 'test', { dir }), `t10k-labels-idx1-ubyte: label 10 found, MNIST has classes 0..9`);
});

test('corrupt files surface the reader error with the path', () => {
  const dir = join(tmp.dir, 'corrupt');
  writeIdxSplit(dir, 'train', 2, 2, 2, { gzip: false, seed: 4 });
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), idxBytes(2049, [8], new Uint8Array(8)));
  assertLowbitError(() => loadDataset('fashion-mnist', 'train', { dir }), `${join(dir, 'train-images-idx3-ubyte')}: bad magic number 2049`);
});

test('missing files and folders say where lowbit looked and how to get the data', () => {
  const dir = join(tmp.dir, 'only-images');
  writeIdxSplit(dir, 't10k', 2, 2, 2, { gzip: true, seed: 5 });
  rmSync(join(dir, 't10k-labels-idx1-ubyte.gz'));
  assertLowbitError(
    () => loadDataset('fashion-mnist', 'test', { dir }),
    `Fashion-MNIST: missing file ${join(dir, 't10k-labels-idx1-ubyte.gz')} (or uncompressed ${join(dir, 't10k-labels-idx1-ubyte')})`,
    'apt-get install dataset-fashion-mnist',
    'LOWBIT_DATA',
  );
  assertLowbitError(() => withDataEnv(undefined, () => loadDataset('mnist', 'train')), 'MNIST not found (LOWBIT_DATA is not set)', 'Set LOWBIT_DATA to a folder whose mnist/');
  const empty = join(tmp.dir, 'empty-root');
  mkdirSync(empty, { recursive: true });
  assertLowbitError(
    () => withDataEnv(empty, () => loadDataset('cifar10', 'train')),
    `CIFAR-10 not found (looked in ${join(empty, 'cifar-10-batches-bin')})`,
    'cifar-10-binary.tar.gz',
  );
});

test('CIFAR-10: train stacks data_batch_1..5 in order, test reads test_batch; a missing batch is named', () => {
  const dir = join(tmp.dir, 'cifar');
  mkdirSync(dir, { recursive: true });
  const batches = [1, 2, 3, 4, 5].map((i) => cifarBytes([i, (i + 5) % 10], 10 * i));
  batches.forEach((b, k) => writeFileSync(join(dir, `data_batch_${k + 1}.bin`), b.bytes));
  const testBatch = cifarBytes([0, 9, 8], 99);
  writeFileSync(join(dir, 'test_batch.bin'), testBatch.bytes);

  const train = loadDataset('cifar10', 'train', { dir });
  assert.deepEqual(train.images.shape, [10, 3, 32, 32]);
  assert.deepEqual(train.labels.toArray(), [1, 6, 2, 7, 3, 8, 4, 9, 5, 0]);
  const pixels = train.images.toTypedArray() as Uint8Array;
  assert.deepEqual(Array.from(pixels.subarray(7 * 3072, 8 * 3072)), Array.from(batches[3].pixels[1]));
  assert.equal(train.name, 'cifar10/train');
  assert.deepEqual(train.mean, [0.4914, 0.4822, 0.4465]);
  assert.equal(train.classes[0], 'airplane');

  const test_ = loadDataset('cifar10', 'test', { dir });
  assert.deepEqual(test_.labels.toArray(), [0, 9, 8]);
  assert.deepEqual(Array.from((test_.images.toTypedArray() as Uint8Array).subarray(3072 * 2)), Array.from(testBatch.pixels[2]));

  rmSync(join(dir, 'data_batch_4.bin'));
  assertLowbitError(() => loadDataset('cifar10', 'train', { dir }), `CIFAR-10: missing file ${join(dir, 'data_batch_4.bin')}.`);
});

test('unknown names and splits (as from a CLI string) are refused', () => {
  assertLowbitError(() => loadDataset('imagenet' as never, 'train'), `unknown data set 'imagenet'; choose one of fashion-mnist, mnist, cifar10`);
  assertLowbitError(() => loadDataset('mnist', 'val' as never), `unknown split 'val'; choose train or test`);
});

const FMNIST = '/usr/share/datasets/fashion-mnist';
test('the real Fashion-MNIST train set: 60,000 x 1 x 28 x 28, 6,000 of each class, catalog mean/std match', { skip: !existsSync(FMNIST) && `${FMNIST} not installed` }, () => {
  const ds = withDataEnv(undefined, () => loadDataset('fashion-mnist', 'train'));
  try {
    assert.deepEqual(ds.images.shape, [60000, 1, 28, 28]);
    const { values, counts } = ds.labels.unique({ returnCounts: true });
    assert.deepEqual(values.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(counts.toArray(), new Array(10).fill(6000));
    // The catalog's statistics (4 digits) against the data, from exact integer sums of x and x^2 taken
    // in chunks so that no full-size wide copy is made.
    let sum = 0;
    let sumSquares = 0;
    for (let start = 0; start < 60000; start += 10000) {
      scope(() => {
        const x = ds.images.narrow(0, start, 10000).to('int32');
        sum += x.sum().item();
        sumSquares += x.mul(x).sum().item();
      });
    }
    const n = 60000 * 28 * 28;
    const mean = sum / n / 255;
    const std = Math.sqrt(sumSquares / n / 255 ** 2 - mean ** 2);
    assert.ok(Math.abs(mean - DATASET_CATALOG['fashion-mnist'].mean[0]) < 5e-5, `mean ${mean}`);
    assert.ok(Math.abs(std - DATASET_CATALOG['fashion-mnist'].std[0]) < 5e-5, `std ${std}`);
  } finally {
    ds.dispose();
  }
});

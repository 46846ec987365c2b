// The DataLoader on a small synthetic data set whose label is the sample index, so every batch says
// which samples it holds: coverage per epoch, drop_last, reproducible and restorable order,
// normalization against hand-computed values, layout, and augmentation applied per batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { DataLoader, Dataset, deriveSeed, RandomCrop, RandomHorizontalFlip, type Batch } from '../../src/data/index.ts';
import { fromArray, Generator, randperm } from '../../src/tensor/index.ts';

const C = 2;
const H = 3;
const W = 4;
const PLANE = C * H * W;
const MEAN = [0.5, 0.25];
const STD = [0.2, 0.4];

/** Sample i: label i, pixel k of its C*H*W values = (37 * i + 5 * k) mod 256. */
function pixelOf(i: number, k: number): number {
  return (37 * i + 5 * k) % 256;
}

function syntheticDataset(n: number): Dataset {
  const pixels = Uint8Array.from({ length: n * PLANE }, (_, f) => pixelOf(Math.floor(f / PLANE), f % PLANE));
  return new Dataset({
    name: 'synthetic',
    images: fromArray(pixels, [n, C, H, W]),
    labels: fromArray(BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [n]),
    classes: Array.from({ length: n }, (_, i) => String(i)),
    mean: MEAN,
    std: STD,
  });
}

/** Runs one epoch and returns each batch's sample indices (= labels), disposing the batches. */
function epochOrder(batches: Iterable<Batch>): number[][] {
  const order: number[][] = [];
  for (const b of batches) {
    order.push(b.labels.toArray());
    b.dispose();
  }
  return order;
}

const ds = syntheticDataset(50);

test('each epoch visits every sample exactly once; the last batch is short; length counts batches', () => {
  const loader = new DataLoader(ds, { batchSize: 16, seed: 3 });
  assert.equal(loader.length, 4);
  const order = epochOrder(loader);
  assert.deepEqual(order.map((b) => b.length), [16, 16, 16, 2]);
  const flat = order.flat();
  assert.deepEqual([...flat].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(flat, Array.from({ length: 50 }, (_, i) => i), 'shuffled');
});

test('dropLast drops the short batch, and only it', () => {
  const loader = new DataLoader(ds, { batchSize: 16, seed: 3, dropLast: true });
  assert.equal(loader.length, 3);
  const order = epochOrder(loader);
  assert.deepEqual(order.map((b) => b.length), [16, 16, 16]);
  assert.equal(new Set(order.flat()).size, 48);
  // The samples kept are the first 48 of the same permutation the loader without dropLast uses.
  const full = epochOrder(new DataLoader(ds, { batchSize: 16, seed: 3 }).batches(0)).flat();
  assert.deepEqual(order.flat(), full.slice(0, 48));
  assert.equal(new DataLoader(ds, { batchSize: 50, dropLast: true }).length, 1);
  assert.equal(new DataLoader(ds, { batchSize: 51, dropLast: true }).length, 0);
});

test('the order is a function of (seed, epoch): same -> same, other epoch or seed -> other; it is randperm from deriveSeed', () => {
  const a = new DataLoader(ds, { batchSize: 8, seed: 11 });
  const b = new DataLoader(ds, { batchSize: 8, seed: 11 });
  const a0 = epochOrder(a.batches(0)).flat();
  assert.deepEqual(epochOrder(b.batches(0)).flat(), a0);
  const a1 = epochOrder(a.batches(1)).flat();
  assert.notDeepEqual(a1, a0);
  assert.notDeepEqual(epochOrder(new DataLoader(ds, { batchSize: 8, seed: 12 }).batches(0)).flat(), a0);
  // The documented recipe, usable to restore the order without a loader.
  assert.deepEqual(randperm(50, { generator: new Generator(deriveSeed(11, 1, 1)) }).toArray(), a1);
  assert.deepEqual(a.permutation(1).toArray(), a1);
  // Batch size does not change the order, only how it is cut.
  assert.deepEqual(epochOrder(new DataLoader(ds, { batchSize: 7, seed: 11 }).batches(1)).flat(), a1);
  assert.deepEqual(epochOrder(new DataLoader(ds, { batchSize: 8, shuffle: false }).batches(5)).flat(), Array.from({ length: 50 }, (_, i) => i));
});

test('for-of runs loader.epoch and advances it only when the epoch completes', () => {
  const loader = new DataLoader(ds, { batchSize: 20, seed: 1 });
  const e0 = epochOrder(loader).flat();
  assert.equal(loader.epoch, 1);
  for (const batch of loader) {
    batch.dispose();
    break;
  }
  assert.equal(loader.epoch, 1, 'a loop left early does not advance the epoch');
  assert.deepEqual(epochOrder(loader).flat(), loader.permutation(1).toArray());
  assert.equal(loader.epoch, 2);
  const resumed = new DataLoader(ds, { batchSize: 20, seed: 1, epoch: 0 });
  assert.deepEqual(epochOrder(resumed).flat(), e0);
});

test('images are (x/255 - mean_c)/std_c of the labelled sample (hand-computed), float32; labels int64', () => {
  const loader = new DataLoader(ds, { batchSize: 16, seed: 5 });
  for (const batch of loader) {
    assert.equal(batch.images.dtype, 'float32');
    assert.equal(batch.labels.dtype, 'int64');
    const ids = batch.labels.toArray();
    assert.deepEqual(batch.images.shape, [ids.length, C, H, W]);
    const got = batch.images.toFloat32Array();
    ids.forEach((i, r) => {
      for (let k = 0; k < PLANE; k++) {
        const c = Math.floor(k / (H * W));
        const expected = (pixelOf(i, k) / 255 - MEAN[c]) / STD[c];
        const actual = got[r * PLANE + k];
        if (Math.abs(actual - expected) > 1e-5) assert.fail(`sample ${i} value ${k}: got ${actual}, expected ${expected}`);
      }
    });
    batch.dispose();
  }
  // normalize: false gives x/255.
  const raw = new DataLoader(ds, { batchSize: 50, shuffle: false, normalize: false }).batches(0).next().value as Batch;
  const v = raw.images.toFloat32Array();
  assert.ok(Math.abs(v[3 * PLANE + 7] - pixelOf(3, 7) / 255) < 1e-7);
  raw.dispose();
});

test('channelsLast batches hold the same values in NHWC memory', () => {
  const nchw = new DataLoader(ds, { batchSize: 10, seed: 2 }).batches(0).next().value as Batch;
  const nhwc = new DataLoader(ds, { batchSize: 10, seed: 2, memoryFormat: 'channelsLast' }).batches(0).next().value as Batch;
  assert.deepEqual(nhwc.images.shape, [10, C, H, W]);
  assert.ok(nhwc.images.isContiguous('channelsLast'));
  assert.ok(!nhwc.images.isContiguous());
  assert.ok(nhwc.images.equal(nchw.images));
  assert.ok(nchw.images.isContiguous());
});

test('transforms run on each uint8 batch before normalization, seeded per (seed, epoch, batch)', () => {
  // A horizontal flip with p = 1: every sample mirrored, checked per pixel.
  const flipped = new DataLoader(ds, { batchSize: 16, seed: 4, transform: new RandomHorizontalFlip(1), normalize: false });
  for (const batch of flipped) {
    const got = batch.images.toFloat32Array();
    batch.labels.toArray().forEach((i, r) => {
      for (let k = 0; k < PLANE; k++) {
        const mirrored = k - (k % W) + (W - 1 - (k % W));
        assert.ok(Math.abs(got[r * PLANE + k] - pixelOf(i, mirrored) / 255) < 1e-7);
      }
    });
    batch.dispose();
  }
  // Crop + flip: each batch equals the transform applied by hand with augmentationGenerator(epoch, index),
  // and the padding is 0 before normalization, i.e. (0 - mean)/std after it.
  const crop = new RandomCrop(2);
  const flip = new RandomHorizontalFlip();
  const loader = new DataLoader(ds, { batchSize: 16, seed: 4, transform: [crop, flip] });
  const plain = new DataLoader(ds, { batchSize: 16, seed: 4, normalize: false });
  const plainBatches = [...plain.batches(3)];
  let sawPadding = false;
  for (const batch of loader.batches(3)) {
    const ids = plainBatches[batch.index].labels;
    const g = loader.augmentationGenerator(3, batch.index);
    const uint8 = ds.images.indexSelect(0, ids);
    const expected = flip.apply(crop.apply(uint8, g), g).to('float32').div(255).sub(fromArray(Float32Array.from(MEAN), [1, C, 1, 1])).div(fromArray(Float32Array.from(STD), [1, C, 1, 1]));
    assert.ok(batch.images.allclose(expected, 0, 1e-6), `batch ${batch.index}`);
    sawPadding ||= batch.images.sub(-MEAN[0] / STD[0]).abs().lt(1e-6).any().item() === 1;
    batch.dispose();
  }
  assert.ok(sawPadding, 'some crop shows the zero padding');
});

test('batches(epoch, startBatch) resumes mid-epoch with the same batches, augmentation included', () => {
  const loader = new DataLoader(ds, { batchSize: 8, seed: 9, transform: [new RandomCrop(1), new RandomHorizontalFlip()] });
  const full = [...loader.batches(2)];
  const tail = [...loader.batches(2, 4)];
  assert.equal(tail.length, full.length - 4);
  tail.forEach((b, k) => {
    assert.equal(b.index, k + 4);
    assert.ok(b.images.equal(full[k + 4].images));
    assert.ok(b.labels.equal(full[k + 4].labels));
  });
  assert.equal([...loader.batches(2, loader.length)].length, 0);
  assert.throws(() => [...loader.batches(2, loader.length + 1)], /startBatch must be in 0..7, got 8/);
});

test('bad options are refused', () => {
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), (e: unknown) => e instanceof LowbitError && /batchSize must be a positive integer, got 0/.test(e.message));
  assert.throws(() => new DataLoader(ds, { batchSize: 4, seed: -1 }), /seed must be a non-negative integer/);
  assert.throws(() => deriveSeed(1.5), /non-negative safe integers, got 1.5/);
  assert.ok(deriveSeed(1, 2, 3) !== deriveSeed(1, 3, 2) && Number.isSafeInteger(deriveSeed(2 ** 40, 7)));
});

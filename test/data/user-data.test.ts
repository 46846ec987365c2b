// A user's own data: IDX files, a folder of PNG images (one class per sub-folder), .npy arrays, with
// the caller's normalization and input size; then the checks against a model's input and classes,
// the per-data-set augmentation defaults, and the data set recorded with a model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  augmentationPolicy,
  checkDatasetFits,
  checkDatasetMatches,
  datasetMetadata,
  DataLoader,
  defaultAugmentation,
  encodeNpy,
  loadData,
  loadUserData,
  parseNpy,
  RandomHorizontalFlip,
  readDatasetMetadata,
  type UserDataOptions,
} from '../../src/data/index.ts';
import { LowbitError } from '../../src/errors.ts';
import jpeg from 'jpeg-js';
import { encodePng } from './png-encode.ts';
import { idxBytes, pseudoRandomBytes } from './fixtures.ts';

const MNIST_NORM: UserDataOptions = { normalization: { mean: [0.1307], std: [0.3081] } };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'lowbit-userdata-'));
}

function throwsLowbit(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LowbitError, `expected a LowbitError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match(e.message, re);
    return true;
  });
}

test('IDX files: pixels, labels, shape and classes as given; the batches normalized with the given mean/std', () => {
  const dir = tempDir();
  try {
    const pixels = pseudoRandomBytes(5 * 4 * 3, 1);
    writeFileSync(join(dir, 'x.idx'), idxBytes(2051, [5, 4, 3], pixels));
    writeFileSync(join(dir, 'y.idx'), idxBytes(2049, [5], Uint8Array.from([0, 2, 1, 2, 0])));
    const ds = loadUserData({ kind: 'idx', images: join(dir, 'x.idx'), labels: join(dir, 'y.idx') }, { normalization: { mean: [0.5], std: [0.25] }, inputSize: [4, 3], name: 'digits' });
    assert.equal(ds.describe(), 'digits: 5 images of 1x4x3 (C x H x W), 3 classes (0, 1, 2)');
    assert.deepEqual(Array.from(ds.images.toTypedArray() as Uint8Array), Array.from(pixels));
    const batch = [...new DataLoader(ds, { batchSize: 5, shuffle: false })][0];
    const x = batch.images.toFloat32Array();
    assert.ok(Math.abs(x[7] - (pixels[7] / 255 - 0.5) / 0.25) < 1e-5);
    assert.deepEqual(Array.from(batch.labels.toTypedArray() as BigInt64Array, Number), [0, 2, 1, 2, 0]);
    // 14x56 or 1x784 where 28x28 is expected: refused with both sizes named.
    writeFileSync(join(dir, 'wide.idx'), idxBytes(2051, [2, 14, 56], new Uint8Array(2 * 784)));
    writeFileSync(join(dir, 'y2.idx'), idxBytes(2049, [2], Uint8Array.from([0, 1])));
    throwsLowbit(() => loadUserData({ kind: 'idx', images: join(dir, 'wide.idx'), labels: join(dir, 'y2.idx') }, { ...MNIST_NORM, inputSize: [28, 28] }), /wide\.idx: images are 14x56 \(H x W\), the input size is 28x28/);
    throwsLowbit(() => loadUserData({ kind: 'idx', images: join(dir, 'x.idx'), labels: join(dir, 'y2.idx') }, MNIST_NORM), /x\.idx holds 5 images but .*y2\.idx holds 2 labels/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder of PNG images, one class per sub-folder: classes sorted, grey or RGB, resized to the input size', () => {
  const dir = tempDir();
  try {
    for (const [cls, n, shade] of [['cat', 2, 40], ['dog', 3, 200]] as const) {
      mkdirSync(join(dir, cls));
      for (let i = 0; i < n; i++) writeFileSync(join(dir, cls, `${i}.png`), encodePng(6, 4, 2, 8, (x) => [shade, shade, x * 10]));
    }
    writeFileSync(join(dir, 'dog', 'notes.txt'), 'not an image');
    const ds = loadUserData({ kind: 'folder', dir }, { normalization: { mean: [0.5], std: [0.5] }, name: 'pets' });
    assert.equal(ds.describe(), 'pets: 5 images of 3x4x6 (C x H x W), 2 classes (cat, dog)');
    assert.deepEqual(Array.from(ds.labels.toTypedArray() as BigInt64Array, Number), [0, 0, 1, 1, 1]);
    assert.deepEqual(ds.mean, [0.5, 0.5, 0.5]);
    // channel 2 of image 0, row 0: x * 10
    const px = ds.images.toTypedArray() as Uint8Array;
    assert.deepEqual(Array.from(px.subarray(2 * 24, 2 * 24 + 6)), [0, 10, 20, 30, 40, 50]);
    const grey = loadUserData({ kind: 'folder', dir }, { normalization: { mean: [0.5], std: [0.5] }, channels: 1, inputSize: [2, 3] });
    assert.deepEqual(grey.images.shape, [5, 1, 2, 3]);
    // a uniform-shade image stays that shade through grey conversion and resizing: 0.299 * 40 + 0.587 * 40 + 0.114 * x*10, averaged
    const g = grey.images.toTypedArray() as Uint8Array;
    assert.ok(g.slice(0, 6).every((v) => v >= 35 && v <= 42), `${Array.from(g.slice(0, 6))}`);
    mkdirSync(join(dir, 'empty'));
    throwsLowbit(() => loadUserData({ kind: 'folder', dir }, MNIST_NORM), /class folder\(s\) empty hold no images/);
    throwsLowbit(() => loadUserData({ kind: 'folder', dir: join(dir, 'nope') }, MNIST_NORM), /image folder .*nope does not exist/);
    rmSync(join(dir, 'empty'), { recursive: true });
    writeFileSync(join(dir, 'cat', 'big.png'), encodePng(8, 8, 0, 8, () => [1]));
    throwsLowbit(() => loadUserData({ kind: 'folder', dir }, { normalization: { mean: [0.5], std: [0.5] } }), /big\.png is 8x8, the first image .* is 6x4; give an input size/);
    writeFileSync(join(dir, 'cat', 'fake.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]));
    throwsLowbit(() => loadUserData({ kind: 'folder', dir }, { normalization: { mean: [0.5], std: [0.5] }, inputSize: [4, 6] }), /fake\.jpg: corrupt or unsupported JPEG/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JPEG images decode (colour to RGB, or grey when asked) through the jpeg-js dependency', () => {
  const dir = tempDir();
  try {
    const [w, h] = [8, 8];
    const rgba = (r: number, g: number, b: number) => Buffer.from(Array.from({ length: w * h }, () => [r, g, b, 255]).flat());
    for (const [cls, [r, g, b]] of [['red', [200, 30, 30]], ['blue', [20, 40, 220]]] as const) {
      mkdirSync(join(dir, cls));
      writeFileSync(join(dir, cls, 'a.jpg'), jpeg.encode({ width: w, height: h, data: rgba(r, g, b) }, 95).data);
    }
    const ds = loadUserData({ kind: 'folder', dir }, { normalization: { mean: [0.5], std: [0.5] } });
    assert.deepEqual(ds.images.shape, [2, 3, 8, 8]);
    assert.deepEqual(ds.classes, ['blue', 'red']);
    const px = ds.images.toTypedArray() as Uint8Array;
    // JPEG is lossy: a flat colour comes back within a few levels. Image 1 is red, channel 0.
    const red = px[3 * 64];
    const blueOfBlue = px[2 * 64];
    assert.ok(Math.abs(red - 200) <= 6 && Math.abs(blueOfBlue - 220) <= 6, `red ${red}, blue ${blueOfBlue}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train/ and test/ folders: the test labels index the training classes, so a class missing from test/ shifts nothing', () => {
  const dir = tempDir();
  try {
    const put = (split: string, cls: string, shade: number) => {
      mkdirSync(join(dir, split, cls), { recursive: true });
      writeFileSync(join(dir, split, cls, '0.png'), encodePng(4, 4, 0, 8, () => [shade]));
    };
    for (const [cls, shade] of [['ant', 10], ['bee', 20], ['cat', 30]] as const) put('train', cls, shade);
    put('test', 'bee', 20);
    put('test', 'cat', 30);
    const spec = { path: dir, mean: [0.5], std: [0.5] };
    const test = loadData(spec, 'test');
    // bee and cat are training classes 1 and 2; folder indexes of test/ alone would say 0 and 1.
    assert.deepEqual(Array.from(test.labels.toTypedArray() as BigInt64Array, Number), [1, 2]);
    assert.deepEqual(test.classes, ['ant', 'bee', 'cat']);
    put('test', 'dog', 40);
    throwsLowbit(() => loadData(spec, 'test'), /test: class folder\(s\) dog are not among the classes the labels are numbered by \(ant, bee, cat: /);
    // The class names travel with the model; given back, they number the labels of any folder.
    const train = loadData(spec, 'train');
    const recorded = readDatasetMetadata(datasetMetadata(train), 'm.safetensors');
    assert.deepEqual(recorded?.classes, ['ant', 'bee', 'cat']);
    rmSync(join(dir, 'test', 'dog'), { recursive: true });
    const byModel = loadData({ path: join(dir, 'test'), mean: [0.5], std: [0.5], classes: ['cat', 'bee', 'ant'] }, 'test');
    assert.deepEqual(Array.from(byModel.labels.toTypedArray() as BigInt64Array, Number), [1, 0], 'bee and cat by the model\'s order');
    // Numeric labels (IDX, .npy) and the built-in sets record no class names.
    assert.equal(readDatasetMetadata(datasetMetadata({ dataset: 'mnist', mean: [0.1], std: [0.3] }), 'x')?.classes, undefined);
    assert.throws(() => readDatasetMetadata({ ...datasetMetadata(train), 'lowbit.classes': '[1, 2]' }, 'bad.safetensors'), /bad\.safetensors: corrupt 'lowbit\.classes' metadata/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an IDX or .npy file with no images is refused by name, not as a model with 0 classes', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'x.idx'), idxBytes(2051, [0, 4, 4], new Uint8Array(0)));
    writeFileSync(join(dir, 'y.idx'), idxBytes(2049, [0], new Uint8Array(0)));
    throwsLowbit(() => loadUserData({ kind: 'idx', images: join(dir, 'x.idx'), labels: join(dir, 'y.idx') }, MNIST_NORM), /x\.idx holds no images/);
    writeFileSync(join(dir, 'x.npy'), encodeNpy('uint8', [0, 4, 4], []));
    writeFileSync(join(dir, 'y.npy'), encodeNpy('uint8', [0], []));
    throwsLowbit(() => loadUserData({ kind: 'npy', images: join(dir, 'x.npy'), labels: join(dir, 'y.npy') }, MNIST_NORM), /x\.npy holds no images/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.npy arrays: uint8 NHW / NCHW / NHWC and float [0, 1] images, integer labels; dtype lies and bad values refused', () => {
  const dir = tempDir();
  try {
    const pixels = pseudoRandomBytes(3 * 2 * 2 * 3, 5);
    const labels = [1, 0, 1];
    writeFileSync(join(dir, 'y.npy'), encodeNpy('int64', [3], labels));
    // NHWC uint8 -> NCHW
    writeFileSync(join(dir, 'x.npy'), encodeNpy('uint8', [3, 2, 2, 3], pixels));
    const ds = loadUserData({ kind: 'npy', images: join(dir, 'x.npy'), labels: join(dir, 'y.npy') }, { normalization: { mean: [0.4, 0.4, 0.4], std: [0.2, 0.2, 0.2] } });
    assert.deepEqual(ds.images.shape, [3, 3, 2, 2]);
    const nchw = ds.images.toTypedArray() as Uint8Array;
    // sample 1, channel 2, y 1, x 0 == NHWC[1, 1, 0, 2]
    assert.equal(nchw[((1 * 3 + 2) * 2 + 1) * 2 + 0], pixels[((1 * 2 + 1) * 2 + 0) * 3 + 2]);
    // float [0, 1]
    writeFileSync(join(dir, 'xf.npy'), encodeNpy('float32', [3, 2, 2], Array.from({ length: 12 }, (_, i) => i / 11)));
    const f = loadUserData({ kind: 'npy', images: join(dir, 'xf.npy'), labels: join(dir, 'y.npy') }, MNIST_NORM);
    assert.deepEqual(Array.from(f.images.toTypedArray() as Uint8Array).slice(0, 3), [0, 23, 46]);
    writeFileSync(join(dir, 'x255.npy'), encodeNpy('float32', [3, 2, 2], new Array(12).fill(128)));
    throwsLowbit(() => loadUserData({ kind: 'npy', images: join(dir, 'x255.npy'), labels: join(dir, 'y.npy') }, MNIST_NORM), /float images must hold values in \[0, 1\] \(element 0 is 128\)/);
    // an int32 header over the bytes of float64 data: the byte count does not match
    const lie = Buffer.from(encodeNpy('float32', [3, 2, 2], new Array(12).fill(0.5)));
    const fake = Buffer.concat([Buffer.from(lie.subarray(0, lie.length - 48).toString('latin1').replace("'<f4'", "'<i4'"), 'latin1'), Buffer.alloc(96)]);
    throwsLowbit(() => parseNpy(fake, 'lie.npy'), /lie\.npy: the header says <i4 \[3, 2, 2\] = 48 bytes of data but 96 follow/);
    writeFileSync(join(dir, 'yf.npy'), encodeNpy('float32', [3], [1, 0, 1]));
    throwsLowbit(() => loadUserData({ kind: 'npy', images: join(dir, 'x.npy'), labels: join(dir, 'yf.npy') }, MNIST_NORM), /yf\.npy: labels must be a 1-D integer array/);
    throwsLowbit(() => parseNpy(Buffer.from('PK\x03\x04 zip'), 'a.npz'), /a\.npz: not a \.npy file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('normalization given on the wrong scale or with the wrong length is refused', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'x.idx'), idxBytes(2051, [1, 2, 2], new Uint8Array(4)));
    writeFileSync(join(dir, 'y.idx'), idxBytes(2049, [1], new Uint8Array(1)));
    const src = { kind: 'idx' as const, images: join(dir, 'x.idx'), labels: join(dir, 'y.idx') };
    throwsLowbit(() => loadUserData(src, { normalization: { mean: [33.3], std: [78.6] } }), /look like pixel values; give them on the 0\.\.1 scale/);
    throwsLowbit(() => loadUserData(src, { normalization: { mean: [0.1, 0.2], std: [0.3, 0.3] } }), /mean has 2 values for 1-channel images/);
    throwsLowbit(() => loadUserData(src, { normalization: { mean: [0.1], std: [0] } }), /std \[0\] must be positive/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data set is checked against the model: input shape (14x56, 1x784 vs 28x28), channels, classes, empty', () => {
  const dir = tempDir();
  try {
    const make = (name: string, rows: number, cols: number, count: number, labels: number[]) => {
      writeFileSync(join(dir, `${name}-x`), idxBytes(2051, [count, rows, cols], new Uint8Array(count * rows * cols)));
      writeFileSync(join(dir, `${name}-y`), idxBytes(2049, [count], Uint8Array.from(labels)));
      return loadUserData({ kind: 'idx', images: join(dir, `${name}-x`), labels: join(dir, `${name}-y`) }, { ...MNIST_NORM, name });
    };
    const model = { inputShape: [1, 28, 28], numClasses: 10, source: 'checkpoint m.safetensors' };
    throwsLowbit(() => checkDatasetFits(make('wide', 14, 56, 2, [0, 1]), model), /data set wide has images of 1x14x56 \(C x H x W\) but checkpoint m\.safetensors takes 1x28x28 \(the same number of pixels in another shape/);
    throwsLowbit(() => checkDatasetFits(make('flat', 1, 784, 2, [0, 1]), model), /data set flat has images of 1x1x784 .* takes 1x28x28/);
    throwsLowbit(() => checkDatasetFits(make('empty', 28, 28, 0, []), model), /empty-x holds no images/);
    throwsLowbit(() => checkDatasetFits(make('many', 28, 28, 2, [3, 12]), model), /data set many has label 12 but checkpoint m\.safetensors has 10 classes/);
    throwsLowbit(() => checkDatasetFits(make('grey', 28, 28, 1, [0]), { inputShape: [3, 28, 28] }), /1 channel\(s\) where the model takes 3/);
    checkDatasetFits(make('ok', 28, 28, 2, [0, 9]), model);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('augmentation defaults: no horizontal flip for MNIST digits or users\' data, flips for CIFAR-10 and Fashion-MNIST', () => {
  assert.deepEqual(augmentationPolicy('mnist/train', 28), { cropPadding: 2, horizontalFlip: false });
  assert.deepEqual(augmentationPolicy('cifar10', 32), { cropPadding: 4, horizontalFlip: true });
  assert.equal(augmentationPolicy('fashion-mnist/train', 28).horizontalFlip, true);
  assert.equal(augmentationPolicy('my-digits', 28).horizontalFlip, false);
  assert.ok(!defaultAugmentation('mnist', 28).some((t) => t instanceof RandomHorizontalFlip));
  assert.ok(defaultAugmentation('cifar10', 32).some((t) => t instanceof RandomHorizontalFlip));
});

test('the data set recorded with a model: metadata round trip, mismatch of data set or normalization refused, corrupt entries named', () => {
  const meta = datasetMetadata({ dataset: 'mnist', mean: [0.1307], std: [0.3081] });
  assert.deepEqual(meta, { 'lowbit.dataset': 'mnist', 'lowbit.normalization': '{"mean":[0.1307],"std":[0.3081]}' });
  const rec = readDatasetMetadata(meta, 'm.safetensors');
  assert.deepEqual(rec, { dataset: 'mnist', mean: [0.1307], std: [0.3081] });
  assert.equal(readDatasetMetadata({}, 'old.safetensors'), null);
  checkDatasetMatches(rec, { dataset: 'mnist', mean: [0.1307], std: [0.3081] }, 'm.safetensors');
  checkDatasetMatches(null, { dataset: 'anything', mean: [0], std: [1] }, 'old.safetensors');
  throwsLowbit(() => checkDatasetMatches(rec, { dataset: 'fashion-mnist', mean: [0.286], std: [0.353] }, 'm.safetensors'), /m\.safetensors was trained on mnist, not fashion-mnist/);
  throwsLowbit(() => checkDatasetMatches(rec, { dataset: 'mnist', mean: [0.5], std: [0.5] }, 'm.safetensors'), /trained with normalization mean \[0\.1307\] std \[0\.3081\], the data is normalized with mean \[0\.5\]/);
  throwsLowbit(() => readDatasetMetadata({ 'lowbit.dataset': 'mnist', 'lowbit.normalization': '{"mean": [0.1' }, 'c.safetensors'), /c\.safetensors: corrupt 'lowbit\.dataset' \/ 'lowbit\.normalization' metadata/);
});

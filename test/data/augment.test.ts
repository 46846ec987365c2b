// Batched augmentation against naive per-pixel references: crops of the padded image at the drawn
// offsets, mirrored rows where the mask says so, and composition drawing from one generator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Compose, cropWithPadding, flipWhere, RandomCrop, RandomHorizontalFlip } from '../../src/data/index.ts';
import { fromArray, Generator, tensor, type Tensor } from '../../src/tensor/index.ts';
import { pseudoRandomBytes } from './fixtures.ts';

function batch(shape: [number, number, number, number], seed: number): { x: Tensor; data: Uint8Array } {
  const data = pseudoRandomBytes(shape.reduce((a, b) => a * b, 1), seed);
  return { x: fromArray(data, shape), data };
}

/** Naive crop: pixel (b, c, i, j) of the output is padded[b, c, dy + i, dx + j], fill outside the image. */
function naiveCrop(data: Uint8Array, [B, C, H, W]: number[], p: number, dy: number[], dx: number[], fill = 0): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const y = dy[b] + i - p;
          const x = dx[b] + j - p;
          out.push(y >= 0 && y < H && x >= 0 && x < W ? data[((b * C + c) * H + y) * W + x] : fill);
        }
      }
    }
  }
  return out;
}

function naiveFlip(data: Uint8Array, [B, C, H, W]: number[], mask: boolean[]): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) out.push(data[((b * C + c) * H + i) * W + (mask[b] ? W - 1 - j : j)]);
      }
    }
  }
  return out;
}

const long = (v: number[]) => tensor(v, { dtype: 'int64' });

test('cropWithPadding equals a naive crop of the padded image at given offsets, corners included', () => {
  const shape: [number, number, number, number] = [5, 3, 4, 6];
  const { x, data } = batch(shape, 1);
  const p = 2;
  const dy = [0, 4, 2, 1, 3];
  const dx = [4, 0, 2, 3, 1];
  const out = cropWithPadding(x, p, { dy: long(dy), dx: long(dx) });
  assert.deepEqual(out.shape, shape);
  assert.equal(out.dtype, 'uint8');
  assert.deepEqual(out.toArray(), naiveCrop(data, shape, p, dy, dx));
  // Offset (p, p) is the identity; a fill value shows in the padding.
  assert.ok(cropWithPadding(x, p, { dy: long([2, 2, 2, 2, 2]), dx: long([2, 2, 2, 2, 2]) }).equal(x));
  assert.deepEqual(cropWithPadding(x, p, { dy: long(dy), dx: long(dx) }, 7).toArray(), naiveCrop(data, shape, p, dy, dx, 7));
  // Works on float batches too (the gather is dtype-agnostic).
  const xf = x.to('float32');
  assert.deepEqual(cropWithPadding(xf, p, { dy: long(dy), dx: long(dx) }).toArray(), naiveCrop(data, shape, p, dy, dx));
});

test('RandomCrop.apply crops at exactly the offsets sampleOffsets draws from the same seed, over the whole range', () => {
  const shape: [number, number, number, number] = [64, 2, 5, 5];
  const { x, data } = batch(shape, 2);
  const crop = new RandomCrop(3);
  const offsets = crop.sampleOffsets(64, new Generator(42));
  const dy = offsets.dy.toArray();
  const dx = offsets.dx.toArray();
  assert.ok(dy.every((v) => Number.isInteger(v) && v >= 0 && v <= 6) && dx.every((v) => v >= 0 && v <= 6));
  // 64 draws from 7 values: each offset value shows up (fails only if the range were wrong).
  assert.equal(new Set(dy).size, 7);
  assert.equal(new Set(dx).size, 7);
  const out = crop.apply(x, new Generator(42));
  assert.deepEqual(out.toArray(), naiveCrop(data, shape, 3, dy, dx));
  // Another seed gives another crop.
  assert.ok(!crop.apply(x, new Generator(43)).equal(out));
  assert.ok(new RandomCrop(0).apply(x, new Generator(1)).equal(x), 'padding 0 is the identity');
});

test('flipWhere mirrors exactly the masked samples; RandomHorizontalFlip draws the mask from its generator', () => {
  const shape: [number, number, number, number] = [4, 2, 3, 5];
  const { x, data } = batch(shape, 3);
  const mask = [true, false, false, true];
  assert.deepEqual(flipWhere(x, tensor(mask)).toArray(), naiveFlip(data, shape, mask));

  const flip = new RandomHorizontalFlip(0.5);
  const big = batch([200, 1, 2, 3], 4);
  const drawn = flip.sampleMask(200, new Generator(7));
  assert.equal(drawn.dtype, 'bool');
  const drawnArr = drawn.toArray().map(Boolean);
  const flipped = drawnArr.filter(Boolean).length;
  assert.ok(flipped > 60 && flipped < 140, `${flipped} of 200 flipped at p = 0.5`);
  assert.deepEqual(flip.apply(big.x, new Generator(7)).toArray(), naiveFlip(big.data, [200, 1, 2, 3], drawnArr));
  assert.ok(new RandomHorizontalFlip(0).apply(x, new Generator(1)).equal(x));
  assert.deepEqual(new RandomHorizontalFlip(1).apply(x, new Generator(1)).toArray(), naiveFlip(data, shape, [true, true, true, true]));
});

test('Compose applies its transforms in order from one generator', () => {
  const shape: [number, number, number, number] = [16, 3, 4, 4];
  const { x } = batch(shape, 5);
  const crop = new RandomCrop(1);
  const flip = new RandomHorizontalFlip();
  const composed = new Compose([crop, flip]).apply(x, new Generator(9));
  const g = new Generator(9);
  const byHand = flip.apply(crop.apply(x, g), g);
  assert.ok(composed.equal(byHand));
  // The order matters (the draws differ), so this is not vacuous.
  const g2 = new Generator(9);
  assert.ok(!crop.apply(flip.apply(x, g2), g2).equal(composed));
});

test('bad parameters and non-batch inputs are refused', () => {
  assert.throws(() => new RandomCrop(-1), LowbitError);
  assert.throws(() => new RandomCrop(1.5), /padding must be a non-negative integer, got 1.5/);
  assert.throws(() => new RandomHorizontalFlip(2), /p must be in \[0, 1\], got 2/);
  assert.throws(() => new RandomCrop(2).apply(fromArray(new Uint8Array(12), [3, 4]), new Generator(0)), /expected a \(B, C, H, W\) batch, got shape \[3, 4\]/);
});

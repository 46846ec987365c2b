// ReLU, ReLU6 and Hardtanh elementwise against their definitions, boundaries included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hardtanh, ReLU, ReLU6 } from '../../../src/nn/index.ts';
import { fromArray } from '../../../src/tensor/index.ts';

const VALUES = [-7, -2, -1.5, -1, -0.25, 0, 0.25, 1, 1.5, 2.999, 3, 5.5, 6, 6.5, 100];
const x = fromArray(new Float32Array(VALUES), [3, 5]);
const f32 = (v: number) => Math.fround(v);

test('ReLU is max(x, 0)', () => {
  const y = new ReLU().call(x);
  assert.deepEqual(y.shape, [3, 5]);
  assert.deepEqual(y.toArray(), VALUES.map((v) => f32(Math.max(v, 0))));
});

test('ReLU6 is min(max(x, 0), 6)', () => {
  assert.deepEqual(new ReLU6().call(x).toArray(), VALUES.map((v) => f32(Math.min(Math.max(v, 0), 6))));
});

test('Hardtanh clips to [minVal, maxVal], default [-1, 1]', () => {
  assert.deepEqual(new Hardtanh().call(x).toArray(), VALUES.map((v) => f32(Math.min(Math.max(v, -1), 1))));
  const h = new Hardtanh(-2, 3);
  assert.deepEqual(h.call(x).toArray(), VALUES.map((v) => f32(Math.min(Math.max(v, -2), 3))));
  assert.equal(h.describe(), 'Hardtanh(-2, 3)');
});

test('ReLU passes gradient 1 where x > 0 and 0 where x < 0', () => {
  const xs = fromArray(new Float32Array([-2, -0.5, 0.5, 2]), [4]).requiresGrad_(true);
  new ReLU().call(xs).sum().backward();
  assert.deepEqual(xs.grad!.toArray(), [0, 0, 1, 1]);
});

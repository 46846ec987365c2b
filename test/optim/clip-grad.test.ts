import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipGradNorm, clipGradValue } from '../../src/optim/index.ts';
import { fromArray, type Tensor } from '../../src/tensor/index.ts';
import { maxAbsDiff, param } from './naive-rules.ts';

function withGrads(...grads: (number[] | null)[]): Tensor[] {
  return grads.map((g) => {
    const p = param(new Array((g ?? [0]).length).fill(0));
    if (g !== null) p.grad = fromArray(Float64Array.from(g));
    return p;
  });
}
const gradOf = (p: Tensor) => Array.from(p.grad?.toFloat64Array() ?? []);

test('clipGradNorm: total 2-norm over all tensors, every gradient scaled by maxNorm / (total + 1e-6)', () => {
  const params = withGrads([3, 4], [12], null);
  // sqrt(9 + 16 + 144) = 13
  const total = clipGradNorm(params, 6.5);
  assert.ok(Math.abs(total - 13) < 1e-12);
  const k = 6.5 / (13 + 1e-6);
  assert.ok(maxAbsDiff(gradOf(params[0]), [3 * k, 4 * k]) < 1e-12);
  assert.ok(maxAbsDiff(gradOf(params[1]), [12 * k]) < 1e-12);
  assert.equal(params[2].grad, null);
  // The clipped norm is maxNorm (up to the 1e-6 guard).
  assert.ok(Math.abs(Math.hypot(...gradOf(params[0]), ...gradOf(params[1])) - 6.5) < 1e-6);
});

test('clipGradNorm leaves gradients under the limit alone and still reports their norm', () => {
  const params = withGrads([0.3, -0.4]);
  assert.ok(Math.abs(clipGradNorm(params, 1) - 0.5) < 1e-12);
  assert.deepEqual(gradOf(params[0]), [0.3, -0.4]);
});

test('clipGradNorm with the 1-norm and the infinity norm', () => {
  const one = withGrads([1, -2], [-3]);
  assert.equal(clipGradNorm(one, 3, 1), 6);
  assert.ok(maxAbsDiff(gradOf(one[1]), [(-3 * 3) / (6 + 1e-6)]) < 1e-12);
  const inf = withGrads([1, -5], [2]);
  assert.equal(clipGradNorm(inf, 1, Infinity), 5);
  assert.ok(maxAbsDiff(gradOf(inf[0]), [1 / (5 + 1e-6), -5 / (5 + 1e-6)]) < 1e-12);
});

test('clipGradNorm mixes float32 and float64 gradients, returns 0 without gradients, reports non-finite norms', () => {
  const a = param([0, 0]);
  a.grad = fromArray(Float64Array.from([3, 0]));
  const b = fromArray(Float32Array.from([0]), [1], { requiresGrad: true });
  b.grad = fromArray(Float32Array.from([4]));
  assert.ok(Math.abs(clipGradNorm([a, b], 100) - 5) < 1e-6);
  assert.equal(clipGradNorm(withGrads(null), 1), 0);
  const bad = withGrads([NaN, 1]);
  assert.ok(Number.isNaN(clipGradNorm(bad, 1)));
  assert.throws(() => clipGradNorm(withGrads([Infinity]), 1, 2, { errorIfNonfinite: true }), /total 2-norm of the gradients is Infinity/);
});

test('clipGradValue clamps every gradient element to [-v, v]', () => {
  const params = withGrads([-3, 0.5, 2], [0.1], null);
  clipGradValue(params, 1);
  assert.deepEqual(gradOf(params[0]), [-1, 0.5, 1]);
  assert.deepEqual(gradOf(params[1]), [0.1]);
  assert.throws(() => clipGradValue(params, -1), /clipValue must be >= 0/);
});

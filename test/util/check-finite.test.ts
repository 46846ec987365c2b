// checkFinite names the first tensor holding NaN or Inf, with counts; finite and integer tensors pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { fromArray } from '../../src/tensor/index.ts';
import { checkFinite } from '../../src/util/check-finite.ts';

test('NaN and Inf are refused with the tensor named and counted; finite and integer tensors pass', () => {
  const ok = fromArray(Float32Array.from([1, -2, 3e38]), [3]);
  const ints = fromArray(Int32Array.from([1, 2]), [2]);
  checkFinite([['a', ok], ['b', ints]], 'm.safetensors');
  const bad = fromArray(Float32Array.from([1, NaN, Infinity, -Infinity, NaN]), [5]);
  assert.throws(
    () => checkFinite([['a', ok], ['layer1.0.conv1.weight', bad]], 'm.safetensors'),
    (e: unknown) => e instanceof LowbitError && e.message === "m.safetensors: tensor 'layer1.0.conv1.weight' holds 2 NaN and 2 infinite value(s) of 5; the training diverged or the file is corrupt. Use an earlier checkpoint, or retrain with a lower learning rate",
  );
  const f64 = fromArray(Float64Array.from([0, -Infinity]), [2], { dtype: 'float64' });
  assert.throws(() => checkFinite([['x', f64]], 's'), /tensor 'x' holds 1 infinite value\(s\) of 2/);
});

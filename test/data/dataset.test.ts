// The Dataset container: what it accepts, what it refuses, and that it owns its tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Dataset } from '../../src/data/index.ts';
import { fromArray, scope, zeros } from '../../src/tensor/index.ts';

const CLASSES = ['a', 'b'];

test('sizes come from the image tensor, and the tensors outlive the scope that made them', () => {
  const ds = scope(() => {
    const images = fromArray(Uint8Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i), [2, 3, 4, 5]);
    const labels = fromArray(BigInt64Array.from([1n, 0n]), [2]);
    // A Dataset is not a plain object, so the scope does not look inside it: only keep() saves its tensors.
    return new Dataset({ name: 't', images, labels, classes: CLASSES, mean: [0.1, 0.2, 0.3], std: [1, 1, 1] });
  });
  assert.deepEqual([ds.length, ds.channels, ds.height, ds.width], [2, 3, 4, 5]);
  assert.equal(ds.images.isDisposed, false);
  assert.deepEqual(ds.labels.toArray(), [1, 0]);
  assert.equal((ds.images.toTypedArray() as Uint8Array)[119], 119);
  ds.dispose();
  assert.equal(ds.images.isDisposed, true);
  assert.equal(ds.labels.isDisposed, true);
});

test('wrong dtypes, shapes, counts and statistics are refused with the reason', () => {
  const u8 = (shape: number[]) => zeros(shape, { dtype: 'uint8' });
  const i64 = (n: number) => zeros([n], { dtype: 'int64' });
  const base = { name: 'bad', classes: CLASSES, mean: [0.5], std: [0.5] };
  const cases: [() => unknown, RegExp][] = [
    [() => new Dataset({ ...base, images: zeros([2, 1, 3, 3]), labels: i64(2) }), /images must be uint8 \(N, C, H, W\), got float32 \[2, 1, 3, 3\]/],
    [() => new Dataset({ ...base, images: u8([2, 3, 3]), labels: i64(2) }), /images must be uint8 \(N, C, H, W\), got uint8 \[2, 3, 3\]/],
    [() => new Dataset({ ...base, images: u8([2, 1, 3, 3]), labels: zeros([2], { dtype: 'int32' }) }), /labels must be int64 \(N\), got int32/],
    [() => new Dataset({ ...base, images: u8([2, 1, 3, 3]), labels: i64(3) }), /Dataset bad: 2 images but 3 labels/],
    [() => new Dataset({ ...base, images: u8([2, 3, 3, 3]), labels: i64(2) }), /one value per channel \(3\), got 1 and 1/],
    [() => new Dataset({ ...base, std: [0], images: u8([2, 1, 3, 3]), labels: i64(2) }), /std must be positive, got \[0\]/],
  ];
  for (const [fn, pattern] of cases) assert.throws(fn, (e: unknown) => e instanceof LowbitError && pattern.test(e.message), String(pattern));
});

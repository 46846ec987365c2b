// Gram accumulation: sums over uneven batches equal X~'X, X~'X~ and X'X computed by plain loops; the
// float32 product mode stays within float32 accuracy; misuse is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { scope } from '../../src/tensor/index.ts';
import { GramAccumulator } from '../../src/ptq/index.ts';
import { randomLayer } from './gpfq-fixtures.ts';

/** P'Q by explicit loops over the samples. */
function naiveCross(p: Float64Array, q: Float64Array, m: number, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += p[r * n + i] * q[r * n + j];
      out[i * n + j] = s;
    }
  }
  return out;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    d = Math.max(d, Math.abs(a[i] - b[i]));
  }
  return d / scale;
}

test('sums over uneven batches equal the Gram matrices of the whole calibration set', () => {
  scope(() => {
    const m = 257;
    const n0 = 13;
    const layer = randomLayer(1, m, n0, 2, 0.3);
    const x = layer.x.toFloat64Array();
    const xt = layer.xTilde.toFloat64Array();
    const acc = new GramAccumulator(n0, { analogGram: true, productDtype: 'float64' });
    let start = 0;
    for (const size of [1, 100, 0, 56, 100]) {
      acc.add(layer.x.narrow(0, start, size), layer.xTilde.narrow(0, start, size));
      start += size;
    }
    assert.equal(start, m);
    assert.equal(acc.rows, m);
    assert.equal(acc.a.dtype, 'float64');
    assert.ok(maxRelDiff(acc.a.toFloat64Array(), naiveCross(xt, x, m, n0)) < 1e-13);
    assert.ok(maxRelDiff(acc.b.toFloat64Array(), naiveCross(xt, xt, m, n0)) < 1e-13);
    assert.ok(maxRelDiff(acc.c!.toFloat64Array(), naiveCross(x, x, m, n0)) < 1e-13);
    // A = X~'X is not symmetric when X~ != X: the orientation matters to the solver.
    const a = acc.a.toFloat64Array();
    assert.ok(Math.abs(a[1] - a[n0]) > 1e-6);
    acc.dispose();
  });
});

test('without X\'X, A is summed on and below the diagonal (all the solver reads) and B in full', () => {
  scope(() => {
    const m = 300;
    const n0 = 150; // more than one row block of the lower-triangle products
    const layer = randomLayer(4, m, n0, 2, 0.3);
    const acc = new GramAccumulator(n0, { productDtype: 'float64' });
    acc.add(layer.x.narrow(0, 0, 120), layer.xTilde.narrow(0, 0, 120));
    const bEarly = acc.b.toFloat64Array(); // reading mirrors; later batches must still add up
    acc.add(layer.x.narrow(0, 120, 180), layer.xTilde.narrow(0, 120, 180));
    const x = layer.x.toFloat64Array();
    const xt = layer.xTilde.toFloat64Array();
    const a = acc.a.tril().toFloat64Array();
    const aTrue = naiveCross(xt, x, m, n0);
    for (let i = 0; i < n0; i++) for (let j = i + 1; j < n0; j++) aTrue[i * n0 + j] = 0;
    assert.ok(maxRelDiff(a, aTrue) < 1e-13);
    const b = acc.b.toFloat64Array();
    assert.ok(maxRelDiff(b, naiveCross(xt, xt, m, n0)) < 1e-13);
    for (let i = 0; i < n0; i++) for (let j = 0; j < i; j++) assert.equal(b[i * n0 + j], b[j * n0 + i]);
    assert.ok(maxRelDiff(bEarly, naiveCross(xt.subarray(0, 120 * n0), xt.subarray(0, 120 * n0), 120, n0)) < 1e-13);
    assert.equal(acc.c, null);
    acc.dispose();
  });
});

test('float32 products summed in float64 agree to float32 accuracy; float32 batches are accepted', () => {
  scope(() => {
    const layer = randomLayer(2, 3000, 20, 2, 0.1);
    const exact = new GramAccumulator(20, { productDtype: 'float64' });
    const fast = new GramAccumulator(20, { productDtype: 'float32' });
    for (let s = 0; s < 3000; s += 1000) {
      exact.add(layer.x.narrow(0, s, 1000), layer.xTilde.narrow(0, s, 1000));
      fast.add(layer.x.narrow(0, s, 1000).to('float32'), layer.xTilde.narrow(0, s, 1000).to('float32'));
    }
    const d = maxRelDiff(fast.b.toFloat64Array(), exact.b.toFloat64Array());
    assert.ok(d < 1e-5 && d > 0, `relative difference ${d}`);
    assert.equal(fast.c, null);
    exact.dispose();
    fast.dispose();
  });
});

test('mismatched batches and use after dispose are LowbitErrors', () => {
  scope(() => {
    const layer = randomLayer(3, 10, 4, 2);
    const acc = new GramAccumulator(4);
    assert.throws(() => acc.add(layer.x, layer.xTilde.narrow(0, 0, 5)), /same samples/);
    assert.throws(() => acc.add(layer.x.narrow(1, 0, 3), layer.xTilde.narrow(1, 0, 3)), /mb x 4/);
    assert.throws(() => new GramAccumulator(0), LowbitError);
    acc.dispose();
    assert.throws(() => acc.add(layer.x, layer.xTilde), /after dispose/);
    assert.throws(() => acc.b, /after dispose/);
  });
});

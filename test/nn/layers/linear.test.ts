// Linear against y = x W^T + b computed by loops, its gradients by hand, and its argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../../src/errors.ts';
import { Linear } from '../../../src/nn/index.ts';
import { Generator, fromArray, randn, scope } from '../../../src/tensor/index.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** y[n][o] = sum_i x[n][i] W[o][i] + b[o] over rows of x flattened to (rows, in). */
function linearNaive(x: ArrayLike<number>, rows: number, w: ArrayLike<number>, b: ArrayLike<number> | null, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let n = 0; n < rows; n++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[n * inF + i] * w[o * inF + i];
      y[n * outF + o] = s;
    }
  }
  return y;
}

test('forward equals x W^T + b by loops, for 2-D and 3-D inputs', () => {
  const lin = new Linear(7, 3, { generator: new Generator(1) });
  assert.deepEqual(lin.weight.shape, [3, 7]);
  assert.deepEqual(lin.bias!.shape, [3]);
  const w = lin.weight.toFloat64Array();
  const b = lin.bias!.toFloat64Array();
  scope(() => {
    const x = randn([5, 7], { generator: new Generator(2) });
    const y = lin.call(x);
    assert.deepEqual(y.shape, [5, 3]);
    assertClose(y.toFloat64Array(), linearNaive(x.toFloat64Array(), 5, w, b, 7, 3), 1e-5, 'y');
    const x3 = randn([2, 4, 7], { generator: new Generator(3) });
    const y3 = lin.call(x3);
    assert.deepEqual(y3.shape, [2, 4, 3]);
    assertClose(y3.toFloat64Array(), linearNaive(x3.toFloat64Array(), 8, w, b, 7, 3), 1e-5, 'y3');
  });
  lin.dispose();
});

test('bias: false has no bias parameter and no offset', () => {
  const lin = new Linear(4, 2, { bias: false, generator: new Generator(4) });
  assert.equal(lin.bias, null);
  assert.deepEqual([...lin.namedParameters()].map(([n]) => n), ['weight']);
  const x = fromArray(new Float32Array([1, -2, 0.5, 3]), [1, 4]);
  assertClose(lin.call(x).toFloat64Array(), linearNaive(x.toFloat64Array(), 1, lin.weight.toFloat64Array(), null, 4, 2), 1e-6, 'y');
  lin.dispose();
});

test('gradients of sum(y): dW[o][i] = sum_n x[n][i], db[o] = N', () => {
  const lin = new Linear(3, 2, { generator: new Generator(5) });
  const xs = [1, 2, 3, -1, 0.5, 4];
  scope(() => lin.call(fromArray(new Float32Array(xs), [2, 3])).sum().backward());
  const colSums = [xs[0] + xs[3], xs[1] + xs[4], xs[2] + xs[5]];
  assertClose(lin.weight.grad!.toFloat64Array(), [...colSums, ...colSums], 1e-6, 'dW');
  assert.deepEqual(lin.bias!.grad!.toArray(), [2, 2]);
  lin.dispose();
});

test('bad feature counts are a LowbitError', () => {
  assert.throws(() => new Linear(0, 3), LowbitError);
  assert.throws(() => new Linear(3, 2.5), LowbitError);
  assert.equal(new Linear(3, 2, { bias: false }).describe(), 'Linear(3 -> 2, no bias)');
});

// Functions over several tensors: cat, stack, where, addmm, and the linear algebra GPFQ relies on
// (Cholesky, triangular solves, inverse), checked by reconstruction and naive substitution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, addmm, arange, cat, cholesky, fromArray, inverse, ones, solveTriangular, stack, tensor, where, zeros } from '../../src/tensor/index.ts';
import { rng } from '../helpers/rng.ts';

function randomData(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
}
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}
function matmulNaive(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): number[] {
  const out = new Array<number>(n * m).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let p = 0; p < k; p++) out[i * m + j] += a[i * k + p] * b[p * m + j];
  return out;
}
const transpose = (a: ArrayLike<number>, n: number, m: number) => Array.from({ length: n * m }, (_, i) => a[(i % n) * m + Math.floor(i / n)]);

/** A symmetric positive-definite n x n matrix M M^T + n I in float64. */
function spd(n: number, seed: number): Float64Array {
  const m = randomData(n * n, seed);
  const a = matmulNaive(m, transpose(m, n, n), n, n, n);
  for (let i = 0; i < n; i++) a[i * n + i] += n;
  return Float64Array.from(a);
}

test('cat along each dim, with different sizes in the cat dim', () => {
  const a = arange(6).reshape(2, 3);
  const b = arange(6, 9).reshape(1, 3);
  const c0 = cat([a, b]);
  assert.deepEqual(c0.shape, [3, 3]);
  assert.deepEqual(c0.toArray(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  const d = arange(10, 14).reshape(2, 2);
  const c1 = cat([a, d], 1);
  assert.deepEqual(c1.shape, [2, 5]);
  assert.deepEqual(c1.toArray(), [0, 1, 2, 10, 11, 3, 4, 5, 12, 13]);
  assert.deepEqual(cat([a, d], -1).toArray(), c1.toArray());
  assert.deepEqual(cat([a]).toArray(), a.toArray());
  // mixed dtypes promote
  assert.equal(cat([ones([1]), ones([1], { dtype: 'float64' })]).dtype, 'float64');
  assert.throws(() => cat([a, d]), /Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2/);
  assert.throws(() => cat([]), /expected a non-empty list of Tensors/);
  assert.throws(() => cat([a, 3 as unknown as Tensor]), /expected an array of Tensors/);
});

test('stack adds a new dim at any position', () => {
  const xs = [0, 1, 2].map((k) => arange(k * 4, k * 4 + 4).reshape(2, 2));
  const s0 = stack(xs);
  assert.deepEqual(s0.shape, [3, 2, 2]);
  assert.deepEqual(s0.toArray(), Array.from({ length: 12 }, (_, i) => i));
  const s2 = stack(xs, 2);
  assert.deepEqual(s2.shape, [2, 2, 3]);
  // s2[i][j][k] = xs[k][i][j]
  const v = s2.toArray();
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) assert.equal(v[i * 6 + j * 3 + k], k * 4 + i * 2 + j);
  assert.throws(() => stack([ones([2]), ones([3])]), /stack expects each tensor to be equal size/);
});

test('where with tensor and number branches, broadcasting the condition', () => {
  const cond = tensor([[true], [false]]);
  const a = tensor([[1, 2, 3]]);
  const b = tensor([[10, 20, 30], [40, 50, 60]]);
  assert.deepEqual(where(cond, a, b).toArray(), [1, 2, 3, 40, 50, 60]);
  assert.deepEqual(where(cond, a, -1).toArray(), [1, 2, 3, -1, -1, -1]);
  assert.deepEqual(where(cond, 7, b).toArray(), [7, 7, 7, 40, 50, 60]);
  assert.deepEqual(where(cond, 1, 0).shape, [2, 1]);
  assert.deepEqual(where(cond, 1, 0).toArray(), [1, 0]);
  const x = tensor([-2, -0.5, 0, 0.5, 2]);
  assert.deepEqual(where(x.gt(0), x, x.mul(0.1)).toArray(), [-0.2, -0.05, 0, 0.5, 2].map(Math.fround));
  assert.throws(() => where(ones([2]), a, b), /where expected condition to be a boolean tensor|condition must be a bool tensor/);
});

test('addmm: beta * input + alpha * (m1 @ m2), with a broadcast bias row', () => {
  const n = 4;
  const k = 5;
  const m = 3;
  const m1 = randomData(n * k, 1);
  const m2 = randomData(k * m, 2);
  const bias = randomData(m, 3);
  const prod = matmulNaive(m1, m2, n, k, m);
  const t1 = fromArray(m1, [n, k]);
  const t2 = fromArray(m2, [k, m]);
  const tb = fromArray(bias, [m]);
  assertClose(addmm(tb, t1, t2).toArray(), prod.map((v, i) => v + bias[i % m]), 1e-12, 'addmm');
  assertClose(addmm(tb, t1, t2, 0.5, -2).toArray(), prod.map((v, i) => 0.5 * bias[i % m] - 2 * v), 1e-12, 'addmm beta alpha');
  assertClose(addmm(tb, t1, t2, 0).toArray(), prod, 1e-12, 'beta 0 ignores input');
  assert.throws(() => addmm(tb, t1, t1), /mat1 and mat2 shapes cannot be multiplied \(4x5 and 4x5\)/);
});

test('cholesky: L L^T reconstructs A, L is lower-triangular with a positive diagonal; upper gives U^T U', () => {
  const n = 6;
  const a = spd(n, 4);
  const A = fromArray(a, [n, n]);
  const L = cholesky(A);
  const l = L.toArray();
  for (let i = 0; i < n; i++) {
    assert.ok(l[i * n + i] > 0, 'positive diagonal');
    for (let j = i + 1; j < n; j++) assert.equal(l[i * n + j], 0, 'zero above the diagonal');
  }
  assertClose(matmulNaive(l, transpose(l, n, n), n, n, n), a, 1e-12, 'L L^T = A');
  const U = cholesky(A, true).toArray();
  assertClose(U, transpose(l, n, n), 1e-12, 'U = L^T');
  // float32 works too, with float32 accuracy
  const L32 = cholesky(A.to('float32')).toArray();
  assertClose(L32, l, 1e-5, 'float32 factor');
  assert.throws(() => cholesky(tensor([[1, 2], [2, 1]])), /not positive-definite \(the leading minor of order 2/);
  assert.throws(() => cholesky(ones([2, 3])), /must be batches of square matrices/);
});

test('solveTriangular against naive forward/back substitution, left and right, unitriangular', () => {
  const n = 5;
  const k = 3;
  const L = cholesky(fromArray(spd(n, 5), [n, n]));
  const l = L.toArray();
  const u = transpose(l, n, n);
  const b = randomData(n * k, 6);
  const B = fromArray(b, [n, k]);

  // forward substitution: L X = B
  const fwd = new Array<number>(n * k).fill(0);
  for (let c = 0; c < k; c++)
    for (let i = 0; i < n; i++) {
      let s = b[i * k + c];
      for (let j = 0; j < i; j++) s -= l[i * n + j] * fwd[j * k + c];
      fwd[i * k + c] = s / l[i * n + i];
    }
  const X = solveTriangular(L, B, { upper: false });
  assertClose(X.toArray(), fwd, 1e-12, 'forward substitution');
  assertClose(matmulNaive(l, X.toArray(), n, n, k), b, 1e-12, 'L X = B');

  // back substitution: U X = B
  const bwd = new Array<number>(n * k).fill(0);
  for (let c = 0; c < k; c++)
    for (let i = n - 1; i >= 0; i--) {
      let s = b[i * k + c];
      for (let j = i + 1; j < n; j++) s -= u[i * n + j] * bwd[j * k + c];
      bwd[i * k + c] = s / u[i * n + i];
    }
  const Xu = solveTriangular(fromArray(Float64Array.from(u), [n, n]), B, { upper: true });
  assertClose(Xu.toArray(), bwd, 1e-12, 'back substitution');

  // right side: X U = C with C (k x n)
  const c = randomData(k * n, 7);
  const Xr = solveTriangular(fromArray(Float64Array.from(u), [n, n]), fromArray(c, [k, n]), { upper: true, left: false });
  assert.deepEqual(Xr.shape, [k, n]);
  assertClose(matmulNaive(Xr.toArray(), u, k, n, n), c, 1e-12, 'X U = C');

  // unitriangular ignores the stored diagonal and takes it as 1
  const withOnes = l.map((v, i) => (i % (n + 1) === 0 ? 1 : v));
  const Xunit = solveTriangular(L, B, { upper: false, unitriangular: true });
  assertClose(matmulNaive(withOnes, Xunit.toArray(), n, n, k), b, 1e-12, 'unit-diagonal L X = B');
});

test('inverse: A A^-1 = I', () => {
  const n = 5;
  const a = spd(n, 8);
  const inv = inverse(fromArray(a, [n, n])).toArray();
  const eye = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  const prod = matmulNaive(a, inv, n, n, n);
  prod.forEach((v, i) => assert.ok(Math.abs(v - eye[i]) < 1e-12, `A A^-1 [${i}] = ${v}`));
  assert.throws(() => inverse(zeros([2, 2])), /singular|not invertible/);
});

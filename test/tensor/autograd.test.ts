// Gradients against central finite differences (float64), the straight-through estimator, grad(),
// backward with an explicit gradient, noGrad/enableGrad and detach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  F,
  Tensor,
  addmm,
  enableGrad,
  fromArray,
  getNumThreads,
  grad,
  isGradEnabled,
  noGrad,
  ones,
  scope,
  setNumThreads,
  tensor,
  zeros,
} from '../../src/tensor/index.ts';
import { rng } from '../helpers/rng.ts';

interface Input {
  shape: number[];
  data: Float64Array;
}
function input(shape: number[], seed: number, lo = -1, hi = 1): Input {
  const r = rng(seed);
  return { shape, data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()) };
}

/**
 * Checks autograd's gradient of loss(inputs) against central differences (f(x + h) - f(x - h)) / 2h
 * for every element of every input, all in float64 where the truncation error is ~h^2 and rounding ~1e-16/h.
 */
function checkGradients(name: string, loss: (xs: Tensor[]) => Tensor, inputs: Input[], tol = 1e-6, h = 1e-6): void {
  const analytic = scope(() => {
    const xs = inputs.map((i) => fromArray(i.data, i.shape, { requiresGrad: true }));
    loss(xs).backward();
    return xs.map((x) => x.grad!.toFloat64Array());
  });
  // The finite differences run hundreds of tiny forward passes: one thread, because OpenMP's hand-off
  // costs milliseconds per op on a busy 2-core machine (measured: maxPool2d 5.9 ms with 2 threads, 0.04 ms with 1).
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    inputs.forEach((inp, k) => checkInput(inp, k));
  } finally {
    setNumThreads(threads);
  }
  function checkInput(inp: Input, k: number): void {
    const at = (data: Float64Array) =>
      noGrad(() => scope(() => loss(inputs.map((i, j) => fromArray(j === k ? data : i.data, i.shape))).item()));
    for (let e = 0; e < inp.data.length; e++) {
      const plus = inp.data.slice();
      const minus = inp.data.slice();
      plus[e] += h;
      minus[e] -= h;
      const numeric = (at(plus) - at(minus)) / (2 * h);
      const a = analytic[k][e];
      if (!(Math.abs(a - numeric) <= tol * (1 + Math.abs(numeric)))) {
        assert.fail(`${name}: d/d input${k}[${e}]: autograd ${a}, finite differences ${numeric}`);
      }
    }
  }
}

/** A fixed random projection turns a tensor output into a scalar with a generic gradient. */
const project = (y: Tensor, seed: number) => y.mul(fromArray(input(y.shape, seed).data, y.shape)).sum();

test('conv2d gradients (input, weight, bias) match finite differences', () => {
  const x = input([2, 4, 5, 5], 1);
  const w = input([4, 2, 3, 3], 2);
  const b = input([4], 3);
  checkGradients('conv2d s2 p1 g2', ([xt, wt, bt]) => project(F.conv2d(xt, wt, bt, { stride: 2, padding: 1, groups: 2 }), 4), [x, w, b]);
  const w1 = input([3, 4, 2, 2], 5);
  checkGradients('conv2d dilation 2', ([xt, wt]) => project(F.conv2d(xt, wt, null, { dilation: 2, padding: [1, 0] }), 6), [x, w1]);
});

test('linear, matmul and addmm gradients match finite differences', () => {
  const x = input([3, 5], 7);
  const w = input([4, 5], 8);
  const b = input([4], 9);
  checkGradients('linear', ([xt, wt, bt]) => project(F.linear(xt, wt, bt), 10), [x, w, b]);
  const a = input([2, 3, 4], 11);
  const m = input([4, 2], 12);
  checkGradients('batched matmul with broadcasting', ([at, mt]) => project(at.matmul(mt), 13), [a, m]);
  const bias = input([2], 14);
  checkGradients('addmm', ([bt, m1, m2]) => project(addmm(bt, m1, m2, 0.5, 2), 15), [bias, input([3, 4], 16), m]);
});

test('batchNorm (training, batch statistics) gradients match finite differences', () => {
  const x = input([4, 3, 2, 3], 17, -2, 2);
  const g = input([3], 18, 0.5, 1.5);
  const b = input([3], 19);
  checkGradients('batchNorm train', ([xt, gt, bt]) => project(F.batchNorm(xt, { weight: gt, bias: bt, training: true, eps: 1e-3 }), 20), [x, g, b]);
  checkGradients('batchNorm (N, C)', ([xt]) => project(F.batchNorm(xt, { training: true }).square(), 21), [input([5, 2], 22)]);
});

test('max/avg/adaptive pool gradients match finite differences', () => {
  // random float64 values have no ties, so max pooling is differentiable at these points
  const x = input([2, 2, 6, 5], 23);
  checkGradients('maxPool2d k3 s2 p1', ([xt]) => project(F.maxPool2d(xt, 3, { stride: 2, padding: 1 }), 24), [x]);
  checkGradients('maxPool2d k2', ([xt]) => project(F.maxPool2d(xt, 2), 25), [x]);
  checkGradients('avgPool2d k3 s2 p1', ([xt]) => project(F.avgPool2d(xt, 3, { stride: 2, padding: 1 }), 26), [x]);
  checkGradients('avgPool2d exclude pad', ([xt]) => project(F.avgPool2d(xt, [2, 3], { stride: 1, padding: 1, countIncludePad: false }), 27), [x]);
  checkGradients('adaptiveAvgPool2d', ([xt]) => project(F.adaptiveAvgPool2d(xt, [4, 3]), 28), [x]);
});

test('crossEntropy gradients (weights, label smoothing, probability targets) match finite differences', () => {
  const logits = input([5, 4], 29, -3, 3);
  const target = tensor([3, 0, 1, 1, 2], { dtype: 'int64' });
  const weight = tensor([0.5, 2, 1, 3], { dtype: 'float64' });
  checkGradients('crossEntropy', ([z]) => F.crossEntropy(z, target), [logits]);
  checkGradients('crossEntropy weighted smoothed', ([z]) => F.crossEntropy(z, target, { weight, labelSmoothing: 0.2 }), [logits]);
  checkGradients('crossEntropy sum', ([z]) => F.crossEntropy(z, target, { reduction: 'sum', labelSmoothing: 0.1 }), [logits]);
  const probs = F.softmax(fromArray(input([5, 4], 30).data, [5, 4]));
  checkGradients('crossEntropy soft targets', ([z]) => F.crossEntropy(z, probs), [logits]);
  // d/dz of mean CE is (softmax(z) - onehot(y)) / N exactly
  const z = fromArray(logits.data, [5, 4], { requiresGrad: true });
  F.crossEntropy(z, target).backward();
  const expected = F.softmax(z.detach()).sub(F.oneHot(target, 4)).div(5);
  assert.ok(z.grad!.allclose(expected, 1e-12, 1e-14));
});

test('clamp and hardtanh gradients: 1 inside the bounds, 0 outside (finite differences away from the kinks)', () => {
  // keep every value at least 0.01 from a bound so that x +- h never crosses it
  const x = input([20], 31, -2, 2);
  x.data.forEach((v, i) => {
    if (Math.abs(v - 1) < 0.01 || Math.abs(v + 0.5) < 0.01) x.data[i] = v + 0.05;
  });
  checkGradients('clamp', ([xt]) => project(xt.clamp(-0.5, 1), 32), [x]);
  checkGradients('clamp min only', ([xt]) => project(xt.clamp(-0.5), 33), [x]);
  checkGradients('hardtanh', ([xt]) => project(F.hardtanh(xt, -0.5, 1), 34), [x]);
  const xt = fromArray(x.data, [20], { requiresGrad: true });
  xt.clamp(-0.5, 1).sum().backward();
  assert.deepEqual(xt.grad!.toArray(), Array.from(x.data, (v) => (v >= -0.5 && v <= 1 ? 1 : 0)));
});

test('straight-through estimator x + (round(x) - x).detach(): forward rounds, gradient is exactly 1', () => {
  const values = [-2.5, -1.49, -0.5, 0.2, 0.5, 1.5, 2.51, 3.7];
  for (const dtype of ['float32', 'float64'] as const) {
    const x = tensor(values, { dtype, requiresGrad: true });
    const q = x.add(x.round().sub(x).detach());
    assert.deepEqual(q.toArray().map((v) => v + 0), [-2, -1, 0, 0, 0, 2, 3, 4]);
    const upstream = tensor([1, -2, 3, 0.5, 7, -1, 0.25, 4], { dtype });
    q.backward(upstream);
    assert.deepEqual(x.grad!.toArray(), upstream.toArray(), `${dtype}: the upstream gradient passes through unchanged`);
  }
  // round() alone has zero gradient almost everywhere: the detach trick is what makes it trainable
  const y = tensor([0.3, 1.7], { requiresGrad: true });
  y.round().sum().backward();
  assert.deepEqual(y.grad!.toArray(), [0, 0]);
});

test('grad(outputs, inputs) equals backward() without touching .grad; gradOutputs, allowUnused, createGraph', () => {
  const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const w = tensor([0.5, -1, 2], { dtype: 'float64', requiresGrad: true });
  const unused = tensor([1], { dtype: 'float64', requiresGrad: true });
  const y = x.mul(w).square().sum(); // dy/dx = 2 x w^2, dy/dw = 2 w x^2
  const [gx, gw] = grad(y, [x, w], { retainGraph: true });
  assert.deepEqual(gx!.toArray(), [0.5, 4, 24]);
  assert.deepEqual(gw!.toArray(), [1, -8, 36]);
  assert.equal(x.grad, null, 'grad() does not accumulate into .grad');
  assert.throws(() => grad(y, [x, unused], { retainGraph: true }), /One of the differentiated Tensors appears to not have been used in the graph/);
  const withUnused = grad(y, [x, unused], { allowUnused: true, retainGraph: true });
  assert.equal(withUnused[1], null);
  // a non-scalar output needs gradOutputs (the vector in the vector-Jacobian product)
  const v = x.mul(w);
  const [vjp] = grad(v, x, { gradOutputs: [tensor([1, 10, 100], { dtype: 'float64' })] });
  assert.deepEqual(vjp!.toArray(), [0.5, -10, 200]);
  assert.throws(() => grad(x.mul(w), x), /grad can be implicitly created only for scalar outputs/);
  // createGraph: second derivative of sum(x^3) is 6x
  const [first] = grad(x.pow(3).sum(), x, { createGraph: true });
  assert.deepEqual(first!.toArray(), [3, 12, 27]);
  const [second] = grad(first!.sum(), x);
  assert.deepEqual(second!.toArray(), [6, 12, 18]);
  assert.throws(() => grad(tensor([1]).sum(), tensor([1])), /does not require grad/);
  y.backward();
  assert.deepEqual(x.grad!.toArray(), gx!.toArray(), 'backward() agrees with grad()');
});

test('backward with an explicit gradient, accumulation, retainGraph, retainGrad and isLeaf', () => {
  const x = tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
  assert.equal(x.isLeaf, true);
  const y = x.square();
  assert.equal(y.isLeaf, false);
  assert.equal(y.requiresGrad, true);
  y.retainGrad();
  const g = tensor([[1, 0.5], [-1, 2]], { dtype: 'float64' });
  y.backward(g, { retainGraph: true });
  assert.deepEqual(x.grad!.toArray(), [2, 2, -6, 16], 'dy/dx = 2 x g');
  assert.deepEqual(y.grad!.toArray(), g.toArray(), 'retained non-leaf gradient');
  y.backward(g);
  assert.deepEqual(x.grad!.toArray(), [4, 4, -12, 32], 'gradients accumulate');
  assert.throws(() => y.backward(g), /Trying to backward through the graph a second time/);
  assert.throws(() => x.square().backward(), /grad can be implicitly created only for scalar outputs/);
  assert.throws(() => x.square().backward(ones([3], { dtype: 'float64' })), /invalid gradient at index 0 - got \[3\] but expected shape compatible with \[2, 2\]/);
  x.grad = null;
  assert.equal(x.grad, null);
  x.grad = zeros([2, 2], { dtype: 'float64' });
  x.square().sum().backward();
  assert.deepEqual(x.grad!.toArray(), [2, 4, 6, 8]);
  x.requiresGrad = false;
  assert.equal(x.requiresGrad, false);
  assert.equal(x.square().requiresGrad, false);
});

test('noGrad records no graph and restores the mode, even after an exception; enableGrad re-enables', () => {
  const w = tensor([1, 2], { requiresGrad: true });
  assert.equal(isGradEnabled(), true);
  const y = noGrad(() => {
    assert.equal(isGradEnabled(), false);
    return w.mul(3);
  });
  assert.equal(y.requiresGrad, false, 'no graph recorded');
  assert.throws(() => y.sum().backward(), /element 0 of tensors does not require grad and does not have a grad_fn/);
  assert.equal(isGradEnabled(), true);
  assert.throws(() =>
    noGrad(() => {
      throw new Error('boom');
    }),
  );
  assert.equal(isGradEnabled(), true, 'restored after an exception');
  noGrad(() => {
    const inner = enableGrad(() => w.mul(2));
    assert.equal(inner.requiresGrad, true);
    assert.equal(isGradEnabled(), false, 'back to noGrad after enableGrad');
    noGrad(() => noGrad(() => assert.equal(isGradEnabled(), false)));
    assert.equal(isGradEnabled(), false, 'nested noGrad keeps it off');
  });
  // the SGD update: an in-place change of a leaf that requires grad is only allowed under noGrad
  w.mul(w).sum().backward();
  assert.throws(() => w.sub_(w.grad!.mul(0.1)), /a leaf Variable that requires grad is being used in an in-place operation/);
  noGrad(() => w.add_(w.grad!, -0.1));
  assert.deepEqual(w.toArray(), [0.8, 1.6].map(Math.fround));
  assert.equal(w.requiresGrad, true);
});

test('detach shares data, drops requiresGrad and stops the gradient', () => {
  const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.ok(d.sharesStorageWith(x));
  x.mul(d).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [1, 2, 3], 'd(x * stop(x))/dx = x, not 2x');
  noGrad(() => x.mul_(2));
  assert.deepEqual(d.toArray(), [2, 4, 6], 'a detached tensor sees changes to the same storage');
});

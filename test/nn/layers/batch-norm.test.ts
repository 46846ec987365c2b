// BatchNorm2d against hand-computed statistics: batch normalization in training, running mean/var
// updated with momentum and the unbiased variance, eval on the running statistics, the int64
// num_batches_tracked counter, and the affine=false variant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../../src/errors.ts';
import { BatchNorm2d } from '../../../src/nn/index.ts';
import { Generator, fromArray, noGrad, randn, scope, type Tensor } from '../../../src/tensor/index.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const [N, C, H, W] = [4, 3, 2, 5];
const M = N * H * W;

/** Per-channel mean, biased and unbiased variance of an NCHW array. */
function channelStats(x: Float64Array): { mean: number[]; varBiased: number[]; varUnbiased: number[] } {
  const mean = new Array<number>(C).fill(0);
  const sq = new Array<number>(C).fill(0);
  const at = (n: number, c: number, i: number) => x[(n * C + c) * H * W + i];
  for (let c = 0; c < C; c++) {
    for (let n = 0; n < N; n++) for (let i = 0; i < H * W; i++) mean[c] += at(n, c, i) / M;
    for (let n = 0; n < N; n++) for (let i = 0; i < H * W; i++) sq[c] += (at(n, c, i) - mean[c]) ** 2;
  }
  return { mean, varBiased: sq.map((s) => s / M), varUnbiased: sq.map((s) => s / (M - 1)) };
}

function normalizeNaive(x: Float64Array, mean: number[], variance: number[], gamma: number[], beta: number[], eps: number): Float64Array {
  return x.map((v, idx) => {
    const c = Math.floor(idx / (H * W)) % C;
    return ((v - mean[c]) / Math.sqrt(variance[c] + eps)) * gamma[c] + beta[c];
  });
}

function input(seed: number, shift: number): Tensor {
  // Channels with different means and scales so the statistics are not all alike.
  return scope(() => randn([N, C, H, W], { generator: new Generator(seed) }).mul(fromArray(new Float32Array([1, 3, 0.5]), [1, C, 1, 1])).add(shift));
}

test('training: batch statistics normalize, running stats follow momentum with unbiased variance', () => {
  const bn = new BatchNorm2d(C, { momentum: 0.3, eps: 1e-3 });
  const gamma = [1.5, -0.5, 2];
  const beta = [0.1, 0.2, -0.3];
  noGrad(() => {
    bn.weight!.copy_(fromArray(new Float32Array(gamma)));
    bn.bias!.copy_(fromArray(new Float32Array(beta)));
  });
  assert.deepEqual(bn.runningMean.toArray(), [0, 0, 0]);
  assert.deepEqual(bn.runningVar.toArray(), [1, 1, 1]);
  assert.equal(bn.numBatchesTracked.dtype, 'int64');
  assert.equal(bn.numBatchesTracked.item(), 0);

  let rm = [0, 0, 0];
  let rv = [1, 1, 1];
  for (const [step, seed, shift] of [
    [1, 1, 2],
    [2, 2, -1],
  ]) {
    const x = input(seed, shift);
    const xs = x.toFloat64Array();
    const st = channelStats(xs);
    const y = bn.call(x);
    assertClose(y.toFloat64Array(), normalizeNaive(xs, st.mean, st.varBiased, gamma, beta, 1e-3), 1e-4, `y step ${step}`);
    rm = rm.map((r, c) => 0.7 * r + 0.3 * st.mean[c]);
    rv = rv.map((r, c) => 0.7 * r + 0.3 * st.varUnbiased[c]);
    assertClose(bn.runningMean.toFloat64Array(), rm, 1e-5, `running_mean step ${step}`);
    assertClose(bn.runningVar.toFloat64Array(), rv, 1e-5, `running_var step ${step}`);
    assert.equal(bn.numBatchesTracked.item(), step);
  }
  bn.dispose();
});

test('eval: running statistics normalize and nothing is updated', () => {
  const bn = new BatchNorm2d(C);
  bn.call(input(3, 1)); // momentum 0.1 default
  bn.eval();
  const rm = bn.runningMean.toFloat64Array();
  const rv = bn.runningVar.toFloat64Array();
  const x = input(4, 5);
  const y = bn.call(x);
  assertClose(y.toFloat64Array(), normalizeNaive(x.toFloat64Array(), [...rm], [...rv], [1, 1, 1], [0, 0, 0], 1e-5), 1e-4, 'y eval');
  assert.deepEqual([...bn.runningMean.toFloat64Array()], [...rm]);
  assert.deepEqual([...bn.runningVar.toFloat64Array()], [...rv]);
  assert.equal(bn.numBatchesTracked.item(), 1);
  // Default momentum 0.1 from the first (training) call.
  const st = channelStats(input(3, 1).toFloat64Array());
  assertClose(rm, st.mean.map((m) => 0.1 * m), 1e-5, 'running_mean momentum 0.1');
  assertClose(rv, st.varUnbiased.map((v) => 0.9 + 0.1 * v), 1e-5, 'running_var momentum 0.1');
  bn.dispose();
});

test('training-mode gradients: sum(y) does not depend on x, dgamma = sum of x-hat = 0, dbeta = N*H*W', () => {
  const bn = new BatchNorm2d(C);
  const x = input(5, 0).requiresGrad_(true);
  scope(() => bn.call(x).sum().backward());
  assert.ok(x.grad!.abs().amax().item() < 1e-5);
  assertClose(bn.bias!.grad!.toFloat64Array(), [M, M, M], 1e-6, 'dbeta');
  assert.ok(bn.weight!.grad!.abs().amax().item() < 1e-4);
  bn.dispose();
});

test('affine: false has buffers but no parameters; names are PyTorch state-dict keys', () => {
  const bn = new BatchNorm2d(2, { affine: false });
  assert.equal(bn.weight, null);
  assert.deepEqual(bn.parameters(), []);
  assert.deepEqual([...bn.stateDict().keys()], ['running_mean', 'running_var', 'num_batches_tracked']);
  const x = fromArray(new Float32Array([1, 10, 3, 30]), [2, 2, 1, 1]);
  // Channel 0 holds {1, 3}, channel 1 {10, 30}: each normalizes to -+1 (up to eps).
  assertClose(bn.call(x).toFloat64Array(), [-1, -1, 1, 1], 1e-3, 'y');
  assert.deepEqual([...new BatchNorm2d(2).stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
  bn.dispose();
});

test('a bad channel count is a LowbitError', () => {
  assert.throws(() => new BatchNorm2d(0), LowbitError);
  assert.throws(() => new BatchNorm2d(2.5), LowbitError);
});

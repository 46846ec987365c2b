// F (torch.nn.functional) against naive TypeScript loops: convolution, pools, batch norm, activations,
// losses, dropout, linear, one-hot, padding and im2col; channels-last convolution equals NCHW.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { F, Generator, Tensor, fromArray, manualSeed, ones, rand, tensor, zeros } from '../../src/tensor/index.ts';
import { rng } from '../helpers/rng.ts';

// ---------------------------------------------------------------------------------------- helpers
/** A float32 tensor and the (float32-exact) values it holds. */
function randomTensor(shape: number[], seed: number, lo = -1, hi = 1): { t: Tensor; data: Float64Array } {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
  return { t: fromArray(Float32Array.from(data), shape), data };
}
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}
type P2 = [number, number];
const outSize = (size: number, k: number, s: number, p: number, d: number) => Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

function conv2dNaive(
  x: ArrayLike<number>,
  [N, C, H, W]: number[],
  w: ArrayLike<number>,
  [O, Cg, kh, kw]: number[],
  bias: ArrayLike<number> | null,
  [sh, sw]: P2,
  [ph, pw]: P2,
  [dh, dw]: P2,
  groups: number,
): { data: number[]; shape: number[] } {
  const OH = outSize(H, kh, sh, ph, dh);
  const OW = outSize(W, kw, sw, pw, dw);
  const Og = O / groups;
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = bias ? bias[o] : 0;
          for (let c = 0; c < Cg; c++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * sh - ph + ky * dh;
                const ix = ox * sw - pw + kx * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += x[((n * C + g * Cg + c) * H + iy) * W + ix] * w[((o * Cg + c) * kh + ky) * kw + kx];
              }
          out.push(s);
        }
    }
  return { data: out, shape: [N, O, OH, OW] };
}

/** Visits every pooling window of every plane; fn gets the in-bounds values and the window's size. */
function poolNaive(
  x: ArrayLike<number>,
  [N, C, H, W]: number[],
  [kh, kw]: P2,
  [sh, sw]: P2,
  [ph, pw]: P2,
  [dh, dw]: P2,
  fn: (values: number[], windowSize: number) => number,
): { data: number[]; shape: number[] } {
  const OH = outSize(H, kh, sh, ph, dh);
  const OW = outSize(W, kw, sw, pw, dw);
  const out: number[] = [];
  for (let p = 0; p < N * C; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        const vals: number[] = [];
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = oy * sh - ph + ky * dh;
            const ix = ox * sw - pw + kx * dw;
            if (iy >= 0 && iy < H && ix >= 0 && ix < W) vals.push(x[(p * H + iy) * W + ix]);
          }
        out.push(fn(vals, kh * kw));
      }
  return { data: out, shape: [N, C, OH, OW] };
}

function logSoftmaxRows(x: ArrayLike<number>, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: cols }, (_, c) => x[r * cols + c]);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    out.push(...row.map((v) => v - lse));
  }
  return out;
}

// ------------------------------------------------------------------------------------ convolution
test('conv2d matches a naive convolution over stride, padding, dilation, groups and bias', () => {
  const cases: { x: number[]; w: number[]; stride: P2; padding: P2; dilation: P2; groups: number; bias: boolean }[] = [
    { x: [2, 3, 7, 6], w: [4, 3, 3, 3], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: false },
    { x: [2, 3, 7, 6], w: [4, 3, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1, bias: true },
    { x: [1, 4, 9, 8], w: [6, 2, 3, 2], stride: [2, 3], padding: [1, 2], dilation: [1, 1], groups: 2, bias: true },
    { x: [2, 2, 9, 9], w: [3, 2, 3, 3], stride: [1, 2], padding: [2, 0], dilation: [2, 3], groups: 1, bias: true },
    { x: [1, 4, 6, 6], w: [4, 1, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 4, bias: false }, // depthwise
    { x: [3, 5, 4, 4], w: [7, 5, 1, 1], stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, bias: true }, // pointwise
  ];
  cases.forEach((c, k) => {
    const { t: x, data: xd } = randomTensor(c.x, 100 + k);
    const { t: w, data: wd } = randomTensor(c.w, 200 + k);
    const { t: b, data: bd } = randomTensor([c.w[0]], 300 + k);
    const ref = conv2dNaive(xd, c.x, wd, c.w, c.bias ? bd : null, c.stride, c.padding, c.dilation, c.groups);
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    const y = F.conv2d(x, w, c.bias ? b : null, opts);
    assert.deepEqual(y.shape, ref.shape, `case ${k} shape`);
    assertClose(y.toArray(), ref.data, 1e-5, `case ${k}`);
    // float64 takes a different kernel path in ATen; it must agree too
    const y64 = F.conv2d(x.to('float64'), w.to('float64'), c.bias ? b.to('float64') : null, opts);
    assertClose(y64.toArray(), ref.data, 1e-12, `case ${k} float64`);
  });
  // scalar stride/padding apply to both axes
  const { t: x, data: xd } = randomTensor([1, 1, 5, 5], 7);
  const { t: w, data: wd } = randomTensor([1, 1, 3, 3], 8);
  assertClose(F.conv2d(x, w, null, { stride: 2, padding: 1 }).toArray(), conv2dNaive(xd, [1, 1, 5, 5], wd, [1, 1, 3, 3], null, [2, 2], [1, 1], [1, 1], 1).data, 1e-5, 'scalar options');
});

test('conv2d on a channels-last input equals conv2d on NCHW', () => {
  const { t: x } = randomTensor([2, 8, 10, 10], 9);
  const { t: w } = randomTensor([16, 8, 3, 3], 10);
  const { t: b } = randomTensor([16], 11);
  const xcl = x.contiguous('channelsLast');
  assert.equal(xcl.isContiguous('channelsLast'), true);
  const { t: wg } = randomTensor([16, 4, 3, 3], 32);
  for (const opts of [{ padding: 1 }, { stride: 2, padding: 1 }, { groups: 2, padding: 1 }, { dilation: 2 }]) {
    const weight = opts.groups === 2 ? wg : w;
    const ref = F.conv2d(x, weight, b, opts);
    const out = F.conv2d(xcl, weight.contiguous('channelsLast'), b, opts);
    assert.deepEqual(out.shape, ref.shape);
    assert.equal(out.isContiguous('channelsLast'), true, 'channels-last in, channels-last out');
    assertClose(out.toArray(), ref.toArray(), 1e-5, `channels-last ${JSON.stringify(opts)}`);
  }
});

test('conv2d with wrong shapes gives an Error that names the mismatch', () => {
  const x = ones([1, 3, 5, 5]);
  assert.throws(() => F.conv2d(x, ones([4, 2, 3, 3])), (e: unknown) => e instanceof Error && /expected input\[1, 3, 5, 5\] to have 2 channels, but got 3 channels/.test(e.message));
  assert.throws(() => F.conv2d(ones([3, 5, 5, 2, 2]), ones([4, 3, 3, 3])), /Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d/);
  assert.throws(() => F.conv2d(x, ones([4, 3, 7, 7])), /Kernel size can't be greater than actual input size/);
  assert.throws(() => F.conv2d(x, ones([4, 3, 3, 3]), ones([5])), /bias|Expected/);
  assert.throws(() => F.conv2d(ones([1, 4, 5, 5]), ones([3, 2, 3, 3]), null, { groups: 2 }), /out_channels|divisible/);
  assert.throws(() => F.conv2d(x, 'w' as unknown as Tensor), /expected a Tensor|Cannot read/);
});

// ------------------------------------------------------------------------------------------ pools
test('maxPool2d matches a naive max over stride, padding and dilation', () => {
  const shape = [2, 3, 9, 8];
  const { t: x, data } = randomTensor(shape, 12);
  const cases: { k: P2; s: P2; p: P2; d: P2 }[] = [
    { k: [2, 2], s: [2, 2], p: [0, 0], d: [1, 1] },
    { k: [3, 3], s: [2, 2], p: [1, 1], d: [1, 1] },
    { k: [3, 2], s: [1, 2], p: [1, 0], d: [2, 1] },
  ];
  for (const c of cases) {
    const ref = poolNaive(data, shape, c.k, c.s, c.p, c.d, (v) => Math.max(...v));
    const y = F.maxPool2d(x, c.k, { stride: c.s, padding: c.p, dilation: c.d });
    assert.deepEqual(y.shape, ref.shape);
    assertClose(y.toArray(), ref.data, 0, `maxPool ${JSON.stringify(c)}`);
  }
  // stride defaults to the kernel size
  assert.deepEqual(F.maxPool2d(x, 2).shape, [2, 3, 4, 4]);
  assert.deepEqual(F.maxPool2d(x, 2, { ceilMode: true }).shape, [2, 3, 5, 4]);
});

test('avgPool2d matches a naive mean, counting the padding or not', () => {
  const shape = [2, 2, 7, 6];
  const { t: x, data } = randomTensor(shape, 13);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const withPad = (v: number[], size: number) => v.reduce((a, b) => a + b, 0) / size;
  for (const c of [
    { k: [2, 2] as P2, s: [2, 2] as P2, p: [0, 0] as P2 },
    { k: [3, 3] as P2, s: [2, 2] as P2, p: [1, 1] as P2 },
    { k: [3, 2] as P2, s: [1, 1] as P2, p: [1, 1] as P2 },
  ]) {
    const incl = F.avgPool2d(x, c.k, { stride: c.s, padding: c.p });
    const excl = F.avgPool2d(x, c.k, { stride: c.s, padding: c.p, countIncludePad: false });
    assertClose(incl.toArray(), poolNaive(data, shape, c.k, c.s, c.p, [1, 1], withPad).data, 1e-6, `avg incl ${JSON.stringify(c)}`);
    assertClose(excl.toArray(), poolNaive(data, shape, c.k, c.s, c.p, [1, 1], mean).data, 1e-6, `avg excl ${JSON.stringify(c)}`);
  }
});

test('adaptiveAvgPool2d matches the floor/ceil window rule, and (1, 1) is the global mean', () => {
  const shape = [2, 3, 7, 5];
  const { t: x, data } = randomTensor(shape, 14);
  for (const [oh, ow] of [[3, 2], [1, 1], [7, 5], [4, 4]] as P2[]) {
    const ref: number[] = [];
    for (let p = 0; p < 6; p++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const [y0, y1] = [Math.floor((i * 7) / oh), Math.ceil(((i + 1) * 7) / oh)];
          const [x0, x1] = [Math.floor((j * 5) / ow), Math.ceil(((j + 1) * 5) / ow)];
          let s = 0;
          for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) s += data[(p * 7 + y) * 5 + xx];
          ref.push(s / ((y1 - y0) * (x1 - x0)));
        }
    const out = F.adaptiveAvgPool2d(x, [oh, ow]);
    assert.deepEqual(out.shape, [2, 3, oh, ow]);
    assertClose(out.toArray(), ref, 1e-6, `adaptive ${oh}x${ow}`);
  }
  assertClose(F.adaptiveAvgPool2d(x, 1).flatten().toArray(), x.mean([2, 3]).toArray(), 1e-6, 'global mean');
});

// ------------------------------------------------------------------------------------- batch norm
test('batchNorm in training uses batch statistics and updates running stats with momentum; eval uses running stats', () => {
  const [N, C, H, W] = [4, 3, 3, 2];
  const { t: x, data } = randomTensor([N, C, H, W], 15, -2, 3);
  const { t: weight, data: wd } = randomTensor([C], 16, 0.5, 1.5);
  const { t: bias, data: bd } = randomTensor([C], 17);
  const rm0 = [0.1, -0.2, 0.3];
  const rv0 = [1.5, 0.5, 2];
  const runningMean = tensor(rm0);
  const runningVar = tensor(rv0);
  const momentum = 0.3;
  const eps = 1e-3;
  const y = F.batchNorm(x, { weight, bias, runningMean, runningVar, training: true, momentum, eps });
  const count = N * H * W;
  const vals = (c: number) => {
    const v: number[] = [];
    for (let n = 0; n < N; n++) for (let k = 0; k < H * W; k++) v.push(data[(n * C + c) * H * W + k]);
    return v;
  };
  const mu = [0, 1, 2].map((c) => vals(c).reduce((a, b) => a + b, 0) / count);
  const varB = [0, 1, 2].map((c) => vals(c).reduce((a, b) => a + (b - mu[c]) ** 2, 0) / count);
  const ref = Array.from(data, (v, i) => {
    const c = Math.floor(i / (H * W)) % C;
    return ((v - mu[c]) / Math.sqrt(varB[c] + eps)) * wd[c] + bd[c];
  });
  assertClose(y.toArray(), ref, 1e-5, 'train output');
  // running_mean <- (1 - m) running_mean + m mean; running_var uses the unbiased batch variance
  const rm1 = rm0.map((r, c) => (1 - momentum) * r + momentum * mu[c]);
  const rv1 = rv0.map((r, c) => (1 - momentum) * r + momentum * varB[c] * (count / (count - 1)));
  assertClose(runningMean.toArray(), rm1, 1e-5, 'running mean');
  assertClose(runningVar.toArray(), rv1, 1e-5, 'running var');

  const e = F.batchNorm(x, { weight, bias, runningMean, runningVar, training: false, eps });
  const refEval = Array.from(data, (v, i) => {
    const c = Math.floor(i / (H * W)) % C;
    return ((v - rm1[c]) / Math.sqrt(rv1[c] + eps)) * wd[c] + bd[c];
  });
  assertClose(e.toArray(), refEval, 1e-5, 'eval output');
  assertClose(runningMean.toArray(), rm1, 1e-6, 'eval leaves running stats alone');

  // without affine parameters: plain normalization; 2-D (N, C) inputs too
  const plain = F.batchNorm(x, { training: true });
  assertClose(plain.mean([0, 2, 3]).toArray(), [0, 0, 0], 1e-5, 'normalized mean');
  assertClose(plain.var([0, 2, 3], { unbiased: false }).toArray(), varB.map((v) => v / (v + 1e-5)), 1e-4, 'normalized var');
  const flat = F.batchNorm(tensor([[1, 10], [3, 30]]), { training: true, eps: 0 });
  assertClose(flat.toArray(), [-1, -1, 1, 1], 1e-6, '(N, C) input');
  assert.throws(() => F.batchNorm(x, { training: false }), /running_mean must be defined in evaluation mode/);
});

// ------------------------------------------------------------------------------------ activations
test('relu, relu6, hardtanh, leakyRelu, softmax and logSoftmax against their formulas', () => {
  const { t: x, data } = randomTensor([4, 5], 18, -8, 8);
  assertClose(F.relu(x).toArray(), Array.from(data, (v) => Math.max(0, v)), 0, 'relu');
  assertClose(F.relu6(x).toArray(), Array.from(data, (v) => Math.min(6, Math.max(0, v))), 0, 'relu6');
  assertClose(F.hardtanh(x).toArray(), Array.from(data, (v) => Math.min(1, Math.max(-1, v))), 0, 'hardtanh');
  assertClose(F.hardtanh(x, -2, 3).toArray(), Array.from(data, (v) => Math.min(3, Math.max(-2, v))), 0, 'hardtanh(-2, 3)');
  assertClose(F.leakyRelu(x, 0.2).toArray(), Array.from(data, (v) => (v > 0 ? v : 0.2 * v)), 1e-6, 'leakyRelu');
  const ls = logSoftmaxRows(data, 4, 5);
  assertClose(F.logSoftmax(x).toArray(), ls, 1e-5, 'logSoftmax');
  assertClose(F.softmax(x).toArray(), ls.map(Math.exp), 1e-5, 'softmax');
  // along dim 0: transpose, compute by rows, transpose back
  const tData = Array.from({ length: 20 }, (_, i) => data[(i % 4) * 5 + Math.floor(i / 4)]);
  const ls0 = logSoftmaxRows(tData, 5, 4);
  assertClose(F.logSoftmax(x, 0).toArray(), Array.from({ length: 20 }, (_, i) => ls0[(i % 5) * 4 + Math.floor(i / 5)]), 1e-5, 'logSoftmax dim 0');
  // stable for large logits
  assertClose(F.logSoftmax(tensor([[1000, 0]])).toArray(), [0, -1000], 1e-6, 'no overflow');
});

// ------------------------------------------------------------------------------------------ losses
test('crossEntropy with class indices: mean/sum/none, weights, ignoreIndex, label smoothing', () => {
  const [N, C] = [6, 4];
  const { t: logits, data } = randomTensor([N, C], 19, -3, 3);
  const labels = [0, 3, 1, 1, 2, 3];
  const target = tensor(labels, { dtype: 'int64' });
  const lp = logSoftmaxRows(data, N, C);
  const nll = labels.map((y, i) => -lp[i * C + y]);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  assertClose([F.crossEntropy(logits, target).item()], [sum(nll) / N], 1e-5, 'mean');
  assertClose([F.crossEntropy(logits, target, { reduction: 'sum' }).item()], [sum(nll)], 1e-5, 'sum');
  assertClose(F.crossEntropy(logits, target, { reduction: 'none' }).toArray(), nll, 1e-5, 'none');

  // class weights: the mean divides by the summed weights of the targets
  const w = [0.5, 2, 1, 3];
  const weight = tensor(w);
  const wNll = labels.map((y, i) => w[y] * nll[i]);
  const wSum = sum(labels.map((y) => w[y]));
  assertClose([F.crossEntropy(logits, target, { weight }).item()], [sum(wNll) / wSum], 1e-5, 'weighted mean');

  // ignoreIndex drops samples from the sum and the count
  const ignored = tensor([0, -1, 1, 1, -1, 3], { dtype: 'int64' });
  const kept = [0, 2, 3, 5];
  assertClose([F.crossEntropy(logits, ignored, { ignoreIndex: -1 }).item()], [sum(kept.map((i) => nll[i])) / kept.length], 1e-5, 'ignoreIndex');

  // label smoothing eps: (1 - eps) * nll + eps / C * sum_c -log p_c
  for (const eps of [0.1, 0.3, 1]) {
    const smooth = labels.map((y, i) => {
      let s = 0;
      for (let c = 0; c < C; c++) s -= lp[i * C + c];
      return (1 - eps) * nll[i] + (eps / C) * s;
    });
    assertClose([F.crossEntropy(logits, target, { labelSmoothing: eps }).item()], [sum(smooth) / N], 1e-5, `smoothing ${eps}`);
    assertClose(F.crossEntropy(logits, target, { labelSmoothing: eps, reduction: 'none' }).toArray(), smooth, 1e-5, `smoothing ${eps} none`);
    // with weights, the smoothing term weights each class and divides by the target weights too
    const smoothW = labels.map((y, i) => {
      let s = 0;
      for (let c = 0; c < C; c++) s -= w[c] * lp[i * C + c];
      return { nll: w[y] * nll[i], s };
    });
    const refW = (1 - eps) * (sum(smoothW.map((v) => v.nll)) / wSum) + (eps / C) * (sum(smoothW.map((v) => v.s)) / wSum);
    assertClose([F.crossEntropy(logits, target, { labelSmoothing: eps, weight }).item()], [refW], 1e-5, `smoothing ${eps} weighted`);
  }

  // probabilities as targets: -sum_c t_c log p_c, averaged over the batch
  const { t: probsRaw } = randomTensor([N, C], 20, 0, 1);
  const probs = probsRaw.div(probsRaw.sum([1], true));
  const pd = probs.toArray();
  const soft = Array.from({ length: N }, (_, i) => -sum(Array.from({ length: C }, (_, c) => pd[i * C + c] * lp[i * C + c])));
  assertClose([F.crossEntropy(logits, probs).item()], [sum(soft) / N], 1e-5, 'probability targets');

  assert.throws(() => F.crossEntropy(logits, target, { labelSmoothing: 1.5 }), /labelSmoothing must be in \[0, 1\], got 1.5/);
  assert.throws(() => F.crossEntropy(logits, tensor([0, 1], { dtype: 'int64' })), /Expected input batch_size \(6\) to match target batch_size \(2\)/);
  assert.throws(() => F.crossEntropy(logits, target, { reduction: 'batchmean' }), /'batchmean' only applies to klDiv/);
});

test('nllLoss, klDiv (all reductions, log targets) and mseLoss against formulas', () => {
  const [N, C] = [5, 3];
  const { t: logits, data } = randomTensor([N, C], 21, -2, 2);
  const lpT = F.logSoftmax(logits);
  const lp = lpT.toArray();
  const labels = [2, 0, 1, 2, 2];
  const target = tensor(labels, { dtype: 'int64' });
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  const nll = labels.map((y, i) => -lp[i * C + y]);
  assertClose([F.nllLoss(lpT, target).item()], [sum(nll) / N], 1e-6, 'nll mean');
  assertClose(F.nllLoss(lpT, target, { reduction: 'none' }).toArray(), nll, 1e-6, 'nll none');
  assertClose([F.nllLoss(lpT, target, { reduction: 'sum' }).item()], [sum(nll)], 1e-6, 'nll sum');
  assertClose([F.crossEntropy(logits, target).item()], [F.nllLoss(lpT, target).item()], 1e-6, 'crossEntropy = nll(logSoftmax)');

  const { t: tRaw } = randomTensor([N, C], 22, 0.05, 1);
  const q = tRaw.div(tRaw.sum([1], true));
  const qd = q.toArray();
  const pointwise = qd.map((t, i) => t * (Math.log(t) - lp[i]));
  assertClose(F.klDiv(lpT, q, { reduction: 'none' }).toArray(), pointwise, 1e-5, 'kl none');
  assertClose([F.klDiv(lpT, q, { reduction: 'sum' }).item()], [sum(pointwise)], 1e-5, 'kl sum');
  assertClose([F.klDiv(lpT, q).item()], [sum(pointwise) / (N * C)], 1e-5, 'kl mean (over elements)');
  assertClose([F.klDiv(lpT, q, { reduction: 'batchmean' }).item()], [sum(pointwise) / N], 1e-5, 'kl batchmean');
  assertClose([F.klDiv(lpT, q.log(), { reduction: 'sum', logTarget: true }).item()], [sum(pointwise)], 1e-5, 'kl log target');
  assertClose([F.klDiv(lpT, lpT.exp(), { reduction: 'sum' }).item()], [0], 1e-5, 'KL(p || p) = 0');

  const { t: other, data: od } = randomTensor([N, C], 23);
  const sq = Array.from(data, (v, i) => (v - od[i]) ** 2);
  assertClose([F.mseLoss(logits, other).item()], [sum(sq) / (N * C)], 1e-5, 'mse mean');
  assertClose([F.mseLoss(logits, other, 'sum').item()], [sum(sq)], 1e-5, 'mse sum');
  assertClose(F.mseLoss(logits, other, 'none').toArray(), sq, 1e-5, 'mse none');
});

// --------------------------------------------------------------------------------------- the rest
test('dropout zeroes at rate p and scales survivors by 1/(1-p) in training; identity otherwise', () => {
  manualSeed(31);
  const n = 100_000;
  for (const p of [0.1, 0.5, 0.8]) {
    const y = F.dropout(ones([n]), p).toFloat64Array();
    let zeros = 0;
    for (const v of y) {
      if (v === 0) zeros++;
      else assert.ok(Math.abs(v - 1 / (1 - p)) < 1e-6, `survivor scaled to ${v}`);
    }
    // > 6 standard errors: sqrt(p (1 - p) / n) <= 0.0016
    assert.ok(Math.abs(zeros / n - p) < 0.01, `p = ${p}: zero rate ${zeros / n}`);
  }
  const { t: x, data } = randomTensor([3, 4], 24);
  assertClose(F.dropout(x, 0.5, false).toArray(), data, 0, 'eval is identity');
  assertClose(F.dropout(x, 0).toArray(), data, 0, 'p = 0 is identity');
  assert.ok(F.dropout(x, 1).toArray().every((v) => v === 0), 'p = 1 drops everything');
  // repeatable under a seed
  manualSeed(5);
  const a = F.dropout(ones([64]), 0.5).toArray();
  manualSeed(5);
  assert.deepEqual(F.dropout(ones([64]), 0.5).toArray(), a);
  assert.throws(() => F.dropout(x, 1.2), /dropout: p must be in \[0, 1\], got 1.2/);
});

test('linear is x W^T + b, for 2-D and batched 3-D inputs', () => {
  const [B, T, I, O] = [2, 3, 5, 4];
  const { t: x, data: xd } = randomTensor([B, T, I], 25);
  const { t: w, data: wd } = randomTensor([O, I], 26);
  const { t: b, data: bd } = randomTensor([O], 27);
  const ref = (withBias: boolean) => {
    const out: number[] = [];
    for (let r = 0; r < B * T; r++)
      for (let o = 0; o < O; o++) {
        let s = withBias ? bd[o] : 0;
        for (let i = 0; i < I; i++) s += xd[r * I + i] * wd[o * I + i];
        out.push(s);
      }
    return out;
  };
  const y = F.linear(x, w, b);
  assert.deepEqual(y.shape, [B, T, O]);
  assertClose(y.toArray(), ref(true), 1e-5, 'linear 3-D');
  assertClose(F.linear(x.reshape(B * T, I), w).toArray(), ref(false), 1e-5, 'linear 2-D no bias');
  assert.throws(() => F.linear(x, w.t()), /shapes cannot be multiplied/);
});

test('oneHot against a naive encoding, with inferred and explicit class counts', () => {
  const labels = [2, 0, 3, 3];
  const idx = tensor(labels, { dtype: 'int64' });
  const inferred = F.oneHot(idx);
  assert.deepEqual(inferred.shape, [4, 4]);
  assert.equal(inferred.dtype, 'int64');
  assert.deepEqual(inferred.toArray(), labels.flatMap((y) => [0, 1, 2, 3].map((c) => Number(c === y))));
  const six = F.oneHot(idx, 6);
  assert.deepEqual(six.shape, [4, 6]);
  assert.deepEqual(six.toArray(), labels.flatMap((y) => [0, 1, 2, 3, 4, 5].map((c) => Number(c === y))));
  assert.deepEqual(F.oneHot(tensor([[1], [0]], { dtype: 'int64' }), 2).shape, [2, 1, 2]);
  assert.throws(() => F.oneHot(idx, 3), /Class values must be smaller than num_classes/);
  assert.throws(() => F.oneHot(tensor([1.5])), /one_hot is only applicable to index tensor/);
});

test('pad: constant (including negative crops), reflect and replicate by hand', () => {
  const x = tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
  const c = F.pad(x, [1, 0, 0, 2], 'constant', -1);
  assert.deepEqual(c.shape, [1, 1, 5, 4]);
  assert.deepEqual(c.toArray(), [-1, 1, 2, 3, -1, 4, 5, 6, -1, 7, 8, 9, -1, -1, -1, -1, -1, -1, -1, -1]);
  assert.deepEqual(F.pad(x, [-1, 0]).toArray(), [2, 3, 5, 6, 8, 9], 'negative pads crop');
  assert.deepEqual(F.pad(tensor([1, 2]), [2, 1]).toArray(), [0, 0, 1, 2, 0], 'any rank, last dim');
  const r = F.pad(x, [1, 1, 1, 0], 'reflect');
  assert.deepEqual(r.shape, [1, 1, 4, 5]);
  assert.deepEqual(r.toArray(), [5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 8, 7, 8, 9, 8]);
  const p = F.pad(x, [2, 0, 0, 1], 'replicate');
  assert.deepEqual(p.toArray(), [1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 7, 7, 7, 8, 9, 7, 7, 7, 8, 9]);
  assert.throws(() => F.pad(tensor([1, 2, 3]), [1, 1], 'reflect'), /pad: mode 'reflect' needs a 4-D input and 4 pad values/);
});

test('unfold matches a naive im2col; fold is its adjoint and inverts unfold on non-overlapping patches', () => {
  const shape = [2, 3, 6, 5];
  const [N, C, H, W] = shape;
  const { t: x, data } = randomTensor(shape, 28);
  for (const o of [
    { k: [2, 2] as P2, s: [1, 1] as P2, p: [0, 0] as P2, d: [1, 1] as P2 },
    { k: [3, 2] as P2, s: [2, 1] as P2, p: [1, 1] as P2, d: [1, 2] as P2 },
  ]) {
    const OH = outSize(H, o.k[0], o.s[0], o.p[0], o.d[0]);
    const OW = outSize(W, o.k[1], o.s[1], o.p[1], o.d[1]);
    const L = OH * OW;
    const rows = C * o.k[0] * o.k[1];
    const ref = new Array<number>(N * rows * L).fill(0);
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let ky = 0; ky < o.k[0]; ky++)
          for (let kx = 0; kx < o.k[1]; kx++)
            for (let oy = 0; oy < OH; oy++)
              for (let ox = 0; ox < OW; ox++) {
                const iy = oy * o.s[0] - o.p[0] + ky * o.d[0];
                const ix = ox * o.s[1] - o.p[1] + kx * o.d[1];
                const row = (c * o.k[0] + ky) * o.k[1] + kx;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) ref[(n * rows + row) * L + oy * OW + ox] = data[((n * C + c) * H + iy) * W + ix];
              }
    const opts = { stride: o.s, padding: o.p, dilation: o.d };
    const cols = F.unfold(x, o.k, opts);
    assert.deepEqual(cols.shape, [N, rows, L]);
    assertClose(cols.toArray(), ref, 0, `unfold ${JSON.stringify(o)}`);

    // <unfold(x), y> = <x, fold(y)>
    const { t: y, data: yd } = randomTensor([N, rows, L], 29);
    const folded = F.fold(y, [H, W], o.k, opts);
    assert.deepEqual(folded.shape, shape);
    const lhs = ref.reduce((a, v, i) => a + v * yd[i], 0);
    const fd = folded.toArray();
    const rhs = Array.from(data).reduce((a, v, i) => a + v * fd[i], 0);
    assert.ok(Math.abs(lhs - rhs) < 1e-4 * (1 + Math.abs(lhs)), `adjoint: ${lhs} vs ${rhs}`);
  }
  // conv as im2col + matmul: the reason unfold exists here
  const { t: w, data: wd } = randomTensor([4, C, 3, 3], 30);
  const cols = F.unfold(x, 3, { padding: 1 });
  const viaMatmul = w.reshape(4, -1).matmul(cols).reshape(N, 4, H, W);
  assertClose(viaMatmul.toArray(), conv2dNaive(data, shape, wd, [4, C, 3, 3], null, [1, 1], [1, 1], [1, 1], 1).data, 1e-5, 'im2col conv');
  const nonOverlap = F.fold(F.unfold(x.narrow(2, 0, 6).narrow(3, 0, 4), 2, { stride: 2 }), [6, 4], 2, { stride: 2 });
  assert.ok(nonOverlap.equal(x.narrow(2, 0, 6).narrow(3, 0, 4).contiguous()));
});

test('functional ops accept tensors from any source: rand with a Generator feeds conv2d deterministically', () => {
  const g1 = new Generator(9);
  const g2 = new Generator(9);
  const a = F.conv2d(rand([1, 2, 5, 5], { generator: g1 }), rand([3, 2, 3, 3], { generator: g1 }));
  const b = F.conv2d(rand([1, 2, 5, 5], { generator: g2 }), rand([3, 2, 3, 3], { generator: g2 }));
  assert.ok(a.equal(b));
  assert.ok(!a.equal(zeros(a.shape)));
});

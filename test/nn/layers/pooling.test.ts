// MaxPool2d, AvgPool2d and AdaptiveAvgPool2d against naive window loops (PyTorch's window rules:
// padding, count_include_pad, adaptive bins floor(i*H/o) .. ceil((i+1)*H/o)).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from '../../../src/nn/index.ts';
import { Generator, randn, type Tensor } from '../../../src/tensor/index.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const [N, C, H, W] = [2, 3, 7, 6];
const x: Tensor = randn([N, C, H, W], { generator: new Generator(1) });
const xs = x.toFloat64Array();
const at = (p: number, i: number, j: number) => xs[(p * H + i) * W + j];

/** Windows of size k with stride s and padding pd along each axis (floor mode). */
function poolNaive(k: number, s: number, pd: number, reduce: (vals: number[], windowArea: number) => number): { out: number[]; oh: number; ow: number } {
  const oh = Math.floor((H + 2 * pd - k) / s) + 1;
  const ow = Math.floor((W + 2 * pd - k) / s) + 1;
  const out: number[] = [];
  for (let p = 0; p < N * C; p++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++) {
        const vals: number[] = [];
        const y0 = y * s - pd;
        const x0 = xo * s - pd;
        // PyTorch counts the padded window clipped to the padded input for count_include_pad.
        const area = (Math.min(y0 + k, H + pd) - y0) * (Math.min(x0 + k, W + pd) - x0);
        for (let i = y0; i < y0 + k; i++) for (let j = x0; j < x0 + k; j++) if (i >= 0 && i < H && j >= 0 && j < W) vals.push(at(p, i, j));
        out.push(reduce(vals, area));
      }
  return { out, oh, ow };
}

test('MaxPool2d: 2x2 default stride, and 3x3 stride 2 padding 1', () => {
  const a = poolNaive(2, 2, 0, (v) => Math.max(...v));
  const ya = new MaxPool2d(2).call(x);
  assert.deepEqual(ya.shape, [N, C, a.oh, a.ow]);
  assertClose(ya.toFloat64Array(), a.out, 0, 'max 2x2');
  const b = poolNaive(3, 2, 1, (v) => Math.max(...v));
  const yb = new MaxPool2d(3, { stride: 2, padding: 1 }).call(x);
  assert.deepEqual(yb.shape, [N, C, b.oh, b.ow]);
  assertClose(yb.toFloat64Array(), b.out, 0, 'max 3x3 s2 p1');
});

test('AvgPool2d with and without counting the padding', () => {
  const mean = (v: number[]) => v.reduce((s, t) => s + t, 0) / v.length;
  const a = poolNaive(2, 2, 0, mean);
  assertClose(new AvgPool2d(2).call(x).toFloat64Array(), a.out, 1e-6, 'avg 2x2');
  const incl = poolNaive(3, 2, 1, (v, area) => v.reduce((s, t) => s + t, 0) / area);
  const yi = new AvgPool2d(3, { stride: 2, padding: 1 }).call(x);
  assert.deepEqual(yi.shape, [N, C, incl.oh, incl.ow]);
  assertClose(yi.toFloat64Array(), incl.out, 1e-6, 'avg include pad');
  const excl = poolNaive(3, 2, 1, mean);
  assertClose(new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).call(x).toFloat64Array(), excl.out, 1e-6, 'avg exclude pad');
});

test('AdaptiveAvgPool2d: global average, and uneven bins', () => {
  const glob: number[] = [];
  for (let p = 0; p < N * C; p++) {
    let s = 0;
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) s += at(p, i, j);
    glob.push(s / (H * W));
  }
  const y1 = new AdaptiveAvgPool2d(1).call(x);
  assert.deepEqual(y1.shape, [N, C, 1, 1]);
  assertClose(y1.toFloat64Array(), glob, 1e-6, 'global');

  const [oh, ow] = [3, 4];
  const bins: number[] = [];
  for (let p = 0; p < N * C; p++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        const [i0, i1] = [Math.floor((i * H) / oh), Math.ceil(((i + 1) * H) / oh)];
        const [j0, j1] = [Math.floor((j * W) / ow), Math.ceil(((j + 1) * W) / ow)];
        let s = 0;
        for (let a = i0; a < i1; a++) for (let b = j0; b < j1; b++) s += at(p, a, b);
        bins.push(s / ((i1 - i0) * (j1 - j0)));
      }
  const y = new AdaptiveAvgPool2d([oh, ow]).call(x);
  assert.deepEqual(y.shape, [N, C, oh, ow]);
  assertClose(y.toFloat64Array(), bins, 1e-6, 'adaptive 3x4');
});

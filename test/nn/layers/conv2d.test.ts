// Conv2d against a naive loop convolution (stride, padding, dilation, groups, bias) and F.conv2d,
// outputSize() against real output shapes, and its argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../../src/errors.ts';
import { Conv2d, type Conv2dOptions } from '../../../src/nn/index.ts';
import { F, Generator, randn, scope } from '../../../src/tensor/index.ts';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])))) {
      assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

interface Geometry {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  groups: number;
}

/** out[n][o][y][x] = b[o] + sum over the group's input channels and the kernel window, zero padded. */
function conv2dNaive(x: Float64Array, wt: Float64Array, b: Float64Array | null, g: Geometry): { out: Float64Array; oh: number; ow: number } {
  const oh = Math.floor((g.h + 2 * g.p[0] - g.d[0] * (g.k[0] - 1) - 1) / g.s[0]) + 1;
  const ow = Math.floor((g.w + 2 * g.p[1] - g.d[1] * (g.k[1] - 1) - 1) / g.s[1]) + 1;
  const cg = g.c / g.groups;
  const og = g.o / g.groups;
  const out = new Float64Array(g.n * g.o * oh * ow);
  for (let n = 0; n < g.n; n++)
    for (let o = 0; o < g.o; o++) {
      const grp = Math.floor(o / og);
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let s = b ? b[o] : 0;
          for (let ci = 0; ci < cg; ci++) {
            const c = grp * cg + ci;
            for (let ky = 0; ky < g.k[0]; ky++)
              for (let kx = 0; kx < g.k[1]; kx++) {
                const iy = y * g.s[0] - g.p[0] + ky * g.d[0];
                const ix = xo * g.s[1] - g.p[1] + kx * g.d[1];
                if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
                s += x[((n * g.c + c) * g.h + iy) * g.w + ix] * wt[((o * cg + ci) * g.k[0] + ky) * g.k[1] + kx];
              }
          }
          out[((n * g.o + o) * oh + y) * ow + xo] = s;
        }
    }
  return { out, oh, ow };
}

const CASES: (Partial<Geometry> & { bias?: boolean })[] = [
  {},
  { s: [2, 2], p: [1, 1] },
  { k: [1, 1], s: [2, 2] },
  { k: [3, 2], s: [1, 2], p: [2, 0], bias: false },
  { d: [2, 2], p: [2, 2] },
  { groups: 2, c: 4, o: 6, p: [1, 1] },
  { groups: 4, c: 4, o: 4, s: [2, 1], p: [1, 1], bias: false }, // depthwise
  { h: 8, w: 5, k: [5, 5], p: [2, 2], s: [3, 3] },
];

test('forward equals a naive convolution and F.conv2d; outputSize matches the output', () => {
  CASES.forEach((override, idx) => {
    const g: Geometry = { n: 2, c: 3, h: 7, w: 6, o: 4, k: [3, 3], s: [1, 1], p: [0, 0], d: [1, 1], groups: 1, ...override };
    const opts: Conv2dOptions = { stride: g.s, padding: g.p, dilation: g.d, groups: g.groups, bias: override.bias, generator: new Generator(idx) };
    const conv = new Conv2d(g.c, g.o, g.k, opts);
    assert.deepEqual(conv.weight.shape, [g.o, g.c / g.groups, ...g.k], `case ${idx}: weight shape`);
    assert.equal(conv.bias === null, override.bias === false, `case ${idx}: bias`);
    scope(() => {
      const x = randn([g.n, g.c, g.h, g.w], { generator: new Generator(100 + idx) });
      const y = conv.call(x);
      const ref = conv2dNaive(x.toFloat64Array(), conv.weight.toFloat64Array(), conv.bias?.toFloat64Array() ?? null, g);
      assert.deepEqual(y.shape, [g.n, g.o, ref.oh, ref.ow], `case ${idx}: shape`);
      assert.deepEqual(conv.outputSize(g.h, g.w), [ref.oh, ref.ow], `case ${idx}: outputSize`);
      assertClose(y.toFloat64Array(), ref.out, 1e-5, `case ${idx}`);
      const direct = F.conv2d(x, conv.weight, conv.bias, { stride: g.s, padding: g.p, dilation: g.d, groups: g.groups });
      assert.ok(direct.equal(y), `case ${idx}: F.conv2d with the same weights`);
    });
    conv.dispose();
  });
});

test('outputSize agrees with the real output over a sweep of sizes', () => {
  for (const [k, s, p, d] of [
    [3, 1, 1, 1],
    [3, 2, 1, 1],
    [5, 2, 0, 1],
    [3, 3, 2, 2],
    [1, 2, 0, 1],
    [4, 3, 1, 1],
  ]) {
    const conv = new Conv2d(1, 1, k, { stride: s, padding: p, dilation: d, bias: false });
    for (const [h, w] of [
      [9, 9],
      [10, 13],
      [16, 7],
      [28, 32],
    ]) {
      const shape = scope(() => conv.call(randn([1, 1, h, w])).shape);
      assert.deepEqual(conv.outputSize(h, w), shape.slice(2), `k${k} s${s} p${p} d${d} on ${h}x${w}`);
    }
    conv.dispose();
  }
});

test('bad channel counts and groups are a LowbitError', () => {
  assert.throws(() => new Conv2d(0, 4, 3), LowbitError);
  assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), (e: unknown) => e instanceof LowbitError && e.message.includes('groups=2'));
  assert.throws(() => new Conv2d(4, 3, 3, { groups: 2 }), LowbitError);
  assert.equal(new Conv2d(3, 8, 3, { stride: 2, padding: 1, bias: false }).describe(), 'Conv2d(3 -> 8, k=3x3, stride=2x2, pad=1x1, no bias)');
});

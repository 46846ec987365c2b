// The Tensor class against naive TypeScript references: metadata, data out, shape ops, elementwise
// math with broadcasting and dtype promotion, reductions, sorting, matrix products, in-place ops,
// channels-last memory and the errors a user sees for misuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Tensor, fromArray, tensor, zeros, ones, arange, scope } from '../../src/tensor/index.ts';
import { rng } from '../helpers/rng.ts';

// ---------------------------------------------------------------------------------------- helpers
function randomData(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}
/** A float32 tensor and the float32-rounded values it holds, for float64 references. */
function randomTensor(shape: number[], seed: number, lo = -1, hi = 1): { t: Tensor; data: Float64Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = randomData(n, seed, lo, hi).map(Math.fround);
  return { t: fromArray(Float32Array.from(data), shape), data };
}
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (!(Math.abs(a - e) <= tol * (1 + Math.abs(e)))) assert.fail(`${what}[${i}]: got ${a}, expected ${e} (tol ${tol})`);
  }
}
const stridesOf = (shape: number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
};
const unravel = (flat: number, shape: number[]): number[] => {
  const st = stridesOf(shape);
  return shape.map((_, i) => Math.floor(flat / st[i]) % shape[i]);
};
const ravel = (idx: number[], shape: number[]): number => {
  const st = stridesOf(shape);
  return idx.reduce((acc, v, i) => acc + v * st[i], 0);
};
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Reduces `dims` of a row-major array with fn over each group, as torch reductions do. */
function reduceNaive(
  data: ArrayLike<number>,
  shape: number[],
  dims: number[],
  keepdim: boolean,
  fn: (values: number[]) => number,
): { data: number[]; shape: number[] } {
  const d = dims.map((x) => (x < 0 ? x + shape.length : x));
  const keepShape = shape.map((s, i) => (d.includes(i) ? 1 : s));
  const groups: number[][] = Array.from({ length: numel(keepShape) }, () => []);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape).map((v, k) => (d.includes(k) ? 0 : v));
    groups[ravel(idx, keepShape)].push(data[i]);
  }
  return { data: groups.map(fn), shape: keepdim ? keepShape : shape.filter((_, i) => !d.includes(i)) };
}
/** Elementwise op with NumPy broadcasting, the reference for every binary op. */
function broadcastNaive(
  a: ArrayLike<number>,
  aShape: number[],
  b: ArrayLike<number>,
  bShape: number[],
  fn: (x: number, y: number) => number,
): { data: number[]; shape: number[] } {
  const n = Math.max(aShape.length, bShape.length);
  const pa = [...new Array<number>(n - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(n - bShape.length).fill(1), ...bShape];
  const shape = pa.map((s, i) => Math.max(s, pb[i]));
  const out: number[] = [];
  for (let i = 0; i < numel(shape); i++) {
    const idx = unravel(i, shape);
    out.push(fn(a[ravel(idx.map((v, k) => (pa[k] === 1 ? 0 : v)), pa)], b[ravel(idx.map((v, k) => (pb[k] === 1 ? 0 : v)), pb)]));
  }
  return { data: out, shape };
}
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const mean = (v: number[]) => sum(v) / v.length;
const variance = (v: number[], unbiased: boolean) => {
  const m = mean(v);
  return sum(v.map((x) => (x - m) ** 2)) / (v.length - (unbiased ? 1 : 0));
};

// ------------------------------------------------------------------------------------------- meta
test('metadata: shape, ndim, size, strides, numel, dtype, device, toString', () => {
  const t = zeros([2, 3, 4]);
  assert.deepEqual(t.shape, [2, 3, 4]);
  assert.equal(t.ndim, 3);
  assert.equal(t.size(-1), 4);
  assert.equal(t.size(0), 2);
  assert.deepEqual(t.strides, [12, 4, 1]);
  assert.equal(t.numel, 24);
  assert.equal(t.dtype, 'float32');
  assert.equal(t.device, 'cpu');
  assert.equal(t.toString(), 'Tensor(shape=[2, 3, 4], dtype=float32)');
  // shape returns a copy: mutating it must not corrupt the cached shape
  t.shape.push(9);
  assert.deepEqual(t.shape, [2, 3, 4]);
});

test('item(): 0-d, one-element, bool and int64 tensors; more than one element is an error', () => {
  assert.equal(tensor(3.5, { dtype: 'float64' }).item(), 3.5);
  assert.equal(tensor([[7]]).item(), 7);
  assert.equal(tensor([true]).item(), 1);
  assert.equal(tensor([false]).item(), 0);
  assert.equal(fromArray(new BigInt64Array([-42n])).item(), -42);
  assert.throws(() => tensor([1, 2]).item(), /item\(\) needs a tensor with one element, this one has 2/);
});

test('data out: toTypedArray keeps the dtype, toFloat32Array/toFloat64Array/toArray convert', () => {
  const i = tensor([1, -2, 3], { dtype: 'int32' });
  assert.ok(i.toTypedArray() instanceof Int32Array);
  assert.deepEqual(Array.from(i.toFloat32Array()), [1, -2, 3]);
  assert.ok(i.toFloat64Array() instanceof Float64Array);
  const l = tensor([5, 6], { dtype: 'int64' });
  assert.ok(l.toTypedArray() instanceof BigInt64Array);
  assert.deepEqual(l.toArray(), [5, 6]);
  const b = tensor([true, false, true]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(Array.from(b.toTypedArray() as Uint8Array), [1, 0, 1]);
  const h = tensor([1.5, -2.25], { dtype: 'float16' });
  assert.ok(h.toTypedArray() instanceof Float32Array, 'float16 comes out as float32');
  assert.deepEqual(h.toArray(), [1.5, -2.25]);
  assert.equal(h.toBytes().length, 4, 'float16 raw bytes: 2 per element');
  // data out of a non-contiguous view is in logical (row-major) order
  assert.deepEqual(arange(6).reshape(2, 3).t().toArray(), [0, 3, 1, 4, 2, 5]);
});

// ------------------------------------------------------------------------------------- shape ops
test('reshape and view keep row-major order; view shares storage; -1 is inferred', () => {
  const x = arange(24).reshape(2, 3, 4);
  assert.deepEqual(x.shape, [2, 3, 4]);
  const v = x.view([4, -1]);
  assert.deepEqual(v.shape, [4, 6]);
  assert.deepEqual(v.toArray(), Array.from({ length: 24 }, (_, i) => i));
  assert.ok(v.sharesStorageWith(x));
  const tr = x.transpose(0, 2);
  assert.throws(() => tr.view(24), /view size is not compatible/);
  const r = tr.reshape(24);
  assert.ok(!r.sharesStorageWith(x), 'reshape of a non-contiguous tensor copies');
  const expected: number[] = [];
  for (let k = 0; k < 4; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) expected.push(i * 12 + j * 4 + k);
  assert.deepEqual(r.toArray(), expected);
  assert.throws(() => x.reshape(5, 5), /shape '\[5, 5\]' is invalid for input of size 24/);
});

test('permute, transpose, t and contiguous against index arithmetic', () => {
  const shape = [2, 3, 4];
  const { t: x, data } = randomTensor(shape, 1);
  const p = x.permute(2, 0, 1);
  assert.deepEqual(p.shape, [4, 2, 3]);
  assert.equal(p.isContiguous(), false);
  const pv = p.toArray();
  for (let k = 0; k < 4; k++)
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) assert.equal(pv[ravel([k, i, j], [4, 2, 3])], data[ravel([i, j, k], shape)]);
  const c = p.contiguous();
  assert.equal(c.isContiguous(), true);
  assert.deepEqual(c.strides, [6, 3, 1]);
  assert.deepEqual(c.toArray(), pv);
  const tr = x.transpose(-1, 0);
  assert.deepEqual(tr.shape, [4, 3, 2]);
  assert.equal(tr.toArray()[ravel([3, 1, 0], [4, 3, 2])], data[ravel([0, 1, 3], shape)]);
  const m = arange(6).reshape(2, 3);
  assert.deepEqual(m.t().shape, [3, 2]);
  assert.deepEqual(m.t().toArray(), [0, 3, 1, 4, 2, 5]);
});

test('narrow, slice (with step), select', () => {
  const x = arange(30).reshape(5, 6);
  const n = x.narrow(1, 2, 3);
  assert.deepEqual(n.shape, [5, 3]);
  assert.deepEqual(n.toArray().slice(0, 6), [2, 3, 4, 8, 9, 10]);
  assert.ok(n.sharesStorageWith(x));
  const s = x.slice(0, 1, undefined, 2);
  assert.deepEqual(s.shape, [2, 6]);
  assert.deepEqual(s.toArray(), [6, 7, 8, 9, 10, 11, 18, 19, 20, 21, 22, 23]);
  assert.deepEqual(x.slice(1, -2).toArray(), [4, 5, 10, 11, 16, 17, 22, 23, 28, 29]);
  assert.deepEqual(arange(10).slice(0, 2, 8, 3).toArray(), [2, 5]);
  assert.deepEqual(x.select(1, 4).toArray(), [4, 10, 16, 22, 28]);
});

test('split (equal and explicit sizes) and chunk', () => {
  const x = arange(14).reshape(7, 2);
  const parts = x.split(3);
  assert.deepEqual(parts.map((p) => p.shape), [[3, 2], [3, 2], [1, 2]]);
  assert.deepEqual(parts[2].toArray(), [12, 13]);
  const sized = x.split([2, 5]);
  assert.deepEqual(sized.map((p) => p.shape[0]), [2, 5]);
  assert.deepEqual(sized[1].toArray().slice(0, 2), [4, 5]);
  const cols = x.split(1, 1);
  assert.deepEqual(cols[1].toArray(), [1, 3, 5, 7, 9, 11, 13]);
  const chunks = arange(10).chunk(3);
  assert.deepEqual(chunks.map((c) => c.toArray()), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
});

test('squeeze, unsqueeze, expand (a stride-0 view) and flatten', () => {
  const x = zeros([1, 3, 1, 2]);
  assert.deepEqual(x.squeeze().shape, [3, 2]);
  assert.deepEqual(x.squeeze(2).shape, [1, 3, 2]);
  assert.deepEqual(x.squeeze(1).shape, [1, 3, 1, 2], 'squeezing a non-1 dim is a no-op');
  assert.deepEqual(x.unsqueeze(-1).shape, [1, 3, 1, 2, 1]);
  assert.deepEqual(x.unsqueeze(0).shape, [1, 1, 3, 1, 2]);
  const col = tensor([[1], [2], [3]]);
  const e = col.expand(3, 4);
  assert.deepEqual(e.strides, [1, 0]);
  assert.ok(e.sharesStorageWith(col));
  assert.deepEqual(e.toArray(), [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  assert.deepEqual(col.expand([2, 3, -1]).shape, [2, 3, 1]);
  const y = arange(24).reshape(2, 3, 4);
  assert.deepEqual(y.flatten().shape, [24]);
  assert.deepEqual(y.flatten(1).shape, [2, 12]);
  assert.deepEqual(y.flatten(0, 1).shape, [6, 4]);
  assert.deepEqual(y.flatten(1).toArray(), y.toArray());
});

test('indexSelect, gather, scatter, scatterAdd against naive loops', () => {
  const { t: x, data } = randomTensor([3, 4], 2);
  const idx = tensor([2, 0, 2], { dtype: 'int64' });
  const sel = x.indexSelect(0, idx);
  assertClose(sel.toArray(), [...data.slice(8, 12), ...data.slice(0, 4), ...data.slice(8, 12)], 0);
  const selCols = x.indexSelect(1, tensor([3, 1], { dtype: 'int64' }));
  assertClose(selCols.toArray(), [data[3], data[1], data[7], data[5], data[11], data[9]], 0);

  // gather dim 1: out[i][j] = x[i][index[i][j]]
  const gi = [[0, 3], [1, 1], [2, 0]];
  const g = x.gather(1, tensor(gi, { dtype: 'int64' }));
  assertClose(g.toArray(), gi.flatMap((row, i) => row.map((j) => data[i * 4 + j])), 0);
  // gather dim 0: out[i][j] = x[index[i][j]][j]
  const g0i = [[2, 1, 0, 2]];
  assertClose(x.gather(0, tensor(g0i, { dtype: 'int64' })).toArray(), g0i[0].map((r, j) => data[r * 4 + j]), 0);

  // scatter dim 1: out[i][index[i][j]] = src[i][j]; scatterAdd accumulates repeated targets
  const base = zeros([2, 4]);
  const src = tensor([[10, 20], [30, 40]]);
  const scattered = base.scatter(1, tensor([[3, 0], [1, 2]], { dtype: 'int64' }), src);
  assert.deepEqual(scattered.toArray(), [20, 0, 0, 10, 0, 30, 40, 0]);
  const added = base.scatterAdd(1, tensor([[3, 0], [1, 1]], { dtype: 'int64' }), src);
  assert.deepEqual(added.toArray(), [20, 0, 0, 10, 0, 70, 0, 0]);
  assert.deepEqual(base.toArray(), new Array(8).fill(0), 'scatter is out of place');
});

test('maskedFill and maskedSelect with a broadcast mask', () => {
  const x = arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3);
  const mask = tensor([true, false, true]);
  assert.deepEqual(x.maskedFill(mask, -1).toArray(), [-1, 1, -1, -1, 4, -1]);
  assert.deepEqual(x.maskedSelect(x.gt(2)).toArray(), [3, 4, 5]);
});

test('tril, triu, diag, flip, roll, repeat against hand-computed values', () => {
  const m = arange(9).reshape(3, 3);
  assert.deepEqual(m.tril().toArray(), [0, 0, 0, 3, 4, 0, 6, 7, 8]);
  assert.deepEqual(m.triu(1).toArray(), [0, 1, 2, 0, 0, 5, 0, 0, 0]);
  assert.deepEqual(m.diag().toArray(), [0, 4, 8]);
  assert.deepEqual(m.diagonal(1).toArray(), [1, 5]);
  assert.deepEqual(m.flip([0]).toArray(), [6, 7, 8, 3, 4, 5, 0, 1, 2]);
  assert.deepEqual(arange(5).roll([2], [0]).toArray(), [3, 4, 0, 1, 2]);
  assert.deepEqual(tensor([1, 2]).repeat(2, 2).toArray(), [1, 2, 1, 2, 1, 2, 1, 2]);
  assert.deepEqual(tensor([0, 3, 0, 5]).nonzero().toArray(), [1, 3]);
  const u = tensor([3, 1, 3, 2, 1, 3]).unique({ returnCounts: true });
  assert.deepEqual(u.values.toArray(), [1, 2, 3]);
  assert.deepEqual(u.counts.toArray(), [2, 1, 3]);
});

// ------------------------------------------------------------------------------------------- math
test('binary arithmetic broadcasts like NumPy: add (alpha), sub, mul, div, pow, remainder, maximum', () => {
  const aShape = [2, 3, 1];
  const bShape = [4];
  const { t: a, data: ad } = randomTensor(aShape, 3, 0.5, 2);
  const { t: b, data: bd } = randomTensor(bShape, 4, 0.5, 2);
  const cases: [string, Tensor, (x: number, y: number) => number][] = [
    ['add', a.add(b), (x, y) => x + y],
    ['add alpha', a.add(b, 2.5), (x, y) => x + 2.5 * y],
    ['sub', a.sub(b), (x, y) => x - y],
    ['sub alpha', a.sub(b, -3), (x, y) => x + 3 * y],
    ['mul', a.mul(b), (x, y) => x * y],
    ['div', a.div(b), (x, y) => x / y],
    ['pow', a.pow(b), (x, y) => x ** y],
    ['remainder', a.remainder(b), (x, y) => x - Math.floor(x / y) * y],
    ['maximum', a.maximum(b), Math.max],
    ['minimum', a.minimum(b), Math.min],
  ];
  for (const [name, out, fn] of cases) {
    const ref = broadcastNaive(ad, aShape, bd, bShape, fn);
    assert.deepEqual(out.shape, [2, 3, 4], name);
    assertClose(out.toArray(), ref.data, 1e-5, name);
  }
  // number operands
  assertClose(a.add(1.5).toArray(), Array.from(ad, (x) => x + 1.5), 1e-6, 'add scalar');
  assertClose(a.mul(-2).toArray(), Array.from(ad, (x) => x * -2), 1e-6, 'mul scalar');
  assertClose(a.pow(2).toArray(), Array.from(ad, (x) => x * x), 1e-6, 'pow scalar');
  assertClose(a.rsub(1).toArray(), Array.from(ad, (x) => 1 - x), 1e-6, 'rsub');
  // Python-style remainder: the sign follows the divisor
  assert.deepEqual(tensor([-3, 3, -3.5]).remainder(2).toArray(), [1, 1, 0.5]);
  assert.deepEqual(tensor([3]).remainder(-2).toArray(), [-1]);
  assert.throws(() => ones([2, 3]).add(ones([4])), /size of tensor a \(3\) must match the size of tensor b \(4\)/);
});

test('dtype promotion follows PyTorch: int/int division is true division, int + float is float', () => {
  const i = tensor([3, 4], { dtype: 'int32' });
  const q = i.div(tensor([2, 2], { dtype: 'int32' }));
  assert.equal(q.dtype, 'float32');
  assert.deepEqual(q.toArray(), [1.5, 2]);
  // integer tensors add and subtract with the default (and any integral) alpha
  assert.equal(i.add(i).dtype, 'int32');
  assert.deepEqual(i.add(i).toArray(), [6, 8]);
  assert.deepEqual(i.sub(i, 2).toArray(), [-3, -4]);
  assert.deepEqual(i.clone().add_(i, 3).toArray(), [12, 16]);
  assert.throws(() => i.add(i, 0.5), /alpha must not be a floating point number/);
  // an integral JS number acts as an integer scalar (as a Python int does), a fractional one as a float
  assert.equal(i.add(1).dtype, 'int32');
  assert.deepEqual(i.mul(2).toArray(), [6, 8]);
  assert.equal(tensor([1], { dtype: 'int64' }).add(1).dtype, 'int64');
  assert.equal(i.add(1.5).dtype, 'float32');
  assert.deepEqual(i.add(1.5).toArray(), [4.5, 5.5]);
  assert.equal(tensor([0.5]).add(1).dtype, 'float32', 'an integer scalar never changes a float tensor');
  assert.equal(tensor([0.5], { dtype: 'float16' }).mul(3).dtype, 'float16');
  assert.equal(tensor([1], { dtype: 'int64' }).add(tensor([0.5])).dtype, 'float32');
  assert.equal(tensor([1]).add(tensor([1], { dtype: 'float64' })).dtype, 'float64');
  assert.equal(tensor([1, 2, 3], { dtype: 'uint8' }).sum().dtype, 'int64', 'integer sums accumulate in int64');
});

test('comparisons return bool tensors and broadcast; logical ops', () => {
  const a = tensor([[1, 2, 3]]);
  const b = tensor([[2], [1]]);
  const check = (t: Tensor, fn: (x: number, y: number) => boolean, name: string) => {
    assert.equal(t.dtype, 'bool', name);
    assert.deepEqual(t.shape, [2, 3], name);
    assert.deepEqual(t.toArray(), broadcastNaive([1, 2, 3], [1, 3], [2, 1], [2, 1], (x, y) => Number(fn(x, y))).data, name);
  };
  check(a.eq(b), (x, y) => x === y, 'eq');
  check(a.ne(b), (x, y) => x !== y, 'ne');
  check(a.lt(b), (x, y) => x < y, 'lt');
  check(a.le(b), (x, y) => x <= y, 'le');
  check(a.gt(b), (x, y) => x > y, 'gt');
  check(a.ge(b), (x, y) => x >= y, 'ge');
  assert.deepEqual(a.gt(1.5).toArray(), [0, 1, 1]);
  const p = tensor([true, true, false, false]);
  const q = tensor([true, false, true, false]);
  assert.deepEqual(p.logicalAnd(q).toArray(), [1, 0, 0, 0]);
  assert.deepEqual(p.logicalOr(q).toArray(), [1, 1, 1, 0]);
  assert.deepEqual(p.logicalNot().toArray(), [0, 0, 1, 1]);
  assert.deepEqual(tensor([NaN, 1, Infinity]).isnan().toArray(), [1, 0, 0]);
  assert.deepEqual(tensor([NaN, 1, Infinity]).isfinite().toArray(), [0, 1, 0]);
  assert.equal(p.any().item(), 1);
  assert.equal(p.all().item(), 0);
});

test('clamp with scalar bounds, one-sided bounds and broadcast tensor bounds', () => {
  const { t: x, data } = randomTensor([3, 4], 5, -3, 3);
  assertClose(x.clamp(-1, 2).toArray(), Array.from(data, (v) => Math.min(2, Math.max(-1, v))), 0, 'clamp');
  assertClose(x.clamp(0).toArray(), Array.from(data, (v) => Math.max(0, v)), 0, 'clamp min');
  assertClose(x.clamp(null, 0.5).toArray(), Array.from(data, (v) => Math.min(0.5, v)), 0, 'clamp max');
  const lo = tensor([-2, -1, 0, 1]);
  const hi = tensor([[0], [1], [2]]);
  const ref = Array.from(data, (v, i) => Math.min([0, 1, 2][Math.floor(i / 4)], Math.max([-2, -1, 0, 1][i % 4], v)));
  assertClose(x.clamp(lo, hi).toArray(), ref, 0, 'clamp tensors');
});

test('round is half-to-even; floor, ceil, trunc, sign, abs', () => {
  const v = [0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -2.6, 7];
  assert.deepEqual(tensor(v).round().toArray(), [0, 2, 2, 4, -0, -2, -2, 2, 3, -3, 7]);
  assert.deepEqual(tensor(v, { dtype: 'float64' }).round().toArray(), [0, 2, 2, 4, -0, -2, -2, 2, 3, -3, 7]);
  assert.deepEqual(tensor(v).floor().toArray(), v.map(Math.floor));
  assert.deepEqual(tensor(v).ceil().toArray(), v.map(Math.ceil));
  assert.deepEqual(tensor(v).trunc().toArray(), v.map(Math.trunc));
  assert.deepEqual(tensor([-3, 0, 2.5]).sign().toArray(), [-1, 0, 1]);
  assert.deepEqual(tensor([-3, 0, 2.5]).abs().toArray(), [3, 0, 2.5]);
  assert.deepEqual(tensor([-3, 5], { dtype: 'int32' }).abs().toArray(), [3, 5]);
});

test('unary math against Math.*: exp, log, log2, sqrt, rsqrt, square, reciprocal, tanh, sigmoid, sin, cos, neg, relu', () => {
  const { t: x, data } = randomTensor([50], 6, 0.1, 4);
  const { t: s, data: sd } = randomTensor([50], 7, -4, 4);
  const cases: [string, Tensor, number[]][] = [
    ['exp', s.exp(), Array.from(sd, Math.exp)],
    ['log', x.log(), Array.from(data, Math.log)],
    ['log2', x.log2(), Array.from(data, Math.log2)],
    ['sqrt', x.sqrt(), Array.from(data, Math.sqrt)],
    ['rsqrt', x.rsqrt(), Array.from(data, (v) => 1 / Math.sqrt(v))],
    ['square', s.square(), Array.from(sd, (v) => v * v)],
    ['reciprocal', x.reciprocal(), Array.from(data, (v) => 1 / v)],
    ['tanh', s.tanh(), Array.from(sd, Math.tanh)],
    ['sigmoid', s.sigmoid(), Array.from(sd, (v) => 1 / (1 + Math.exp(-v)))],
    ['sin', s.sin(), Array.from(sd, Math.sin)],
    ['cos', s.cos(), Array.from(sd, Math.cos)],
    ['neg', s.neg(), Array.from(sd, (v) => -v)],
    ['relu', s.relu(), Array.from(sd, (v) => Math.max(0, v))],
  ];
  for (const [name, out, ref] of cases) assertClose(out.toArray(), ref, 2e-6, name);
  assert.deepEqual(tensor([-1, 0]).sqrt().isnan().toArray(), [1, 0]);
  assert.deepEqual(tensor([0]).log().toArray(), [-Infinity]);
});

// ------------------------------------------------------------------------------------- reductions
test('sum, mean, amax, amin, var, std, norm over dims with and without keepdim', () => {
  const shape = [3, 4, 5];
  const { t: x, data } = randomTensor(shape, 8, -2, 2);
  const dimSets: number[][] = [[0], [1], [-1], [0, 2], [0, 1, 2]];
  for (const dims of dimSets) {
    for (const keepdim of [false, true]) {
      const tag = `dims ${dims} keepdim ${keepdim}`;
      const cases: [string, Tensor, (v: number[]) => number][] = [
        ['sum', x.sum(dims, keepdim), sum],
        ['mean', x.mean(dims, keepdim), mean],
        ['amax', x.amax(dims, keepdim), (v) => Math.max(...v)],
        ['amin', x.amin(dims, keepdim), (v) => Math.min(...v)],
        ['var', x.var(dims, { keepdim }), (v) => variance(v, true)],
        ['var biased', x.var(dims, { keepdim, unbiased: false }), (v) => variance(v, false)],
        ['std', x.std(dims, { keepdim }), (v) => Math.sqrt(variance(v, true))],
        ['norm2', x.norm(2, dims, keepdim), (v) => Math.sqrt(sum(v.map((a) => a * a)))],
        ['norm1', x.norm(1, dims, keepdim), (v) => sum(v.map(Math.abs))],
        ['normInf', x.norm(Infinity, dims, keepdim), (v) => Math.max(...v.map(Math.abs))],
      ];
      for (const [name, out, fn] of cases) {
        const ref = reduceNaive(data, shape, dims, keepdim, fn);
        assert.deepEqual(out.shape, ref.shape, `${name} ${tag}`);
        assertClose(out.toArray(), ref.data, 1e-5, `${name} ${tag}`);
      }
    }
  }
  // full reductions give 0-d tensors
  assert.deepEqual(x.sum().shape, []);
  assertClose([x.sum().item()], [sum(Array.from(data))], 1e-5);
  assertClose([x.mean().item()], [mean(Array.from(data))], 1e-5);
  assertClose([x.var().item()], [variance(Array.from(data), true)], 1e-5);
  assertClose([x.std(undefined, { unbiased: false }).item()], [Math.sqrt(variance(Array.from(data), false))], 1e-5);
  assertClose([x.norm().item()], [Math.sqrt(sum(Array.from(data, (a) => a * a)))], 1e-5);
  assert.equal(x.max().item(), Math.max(...data));
  assert.equal(x.min().item(), Math.min(...data));
});

test('max/min(dim) give values and indices; argmax/argmin; prod; cumsum', () => {
  const shape = [4, 6];
  const { t: x, data } = randomTensor(shape, 9);
  for (const dim of [0, 1]) {
    for (const keepdim of [false, true]) {
      const argOf = (v: number[], better: (a: number, b: number) => boolean) => v.reduce((bi, a, i) => (better(a, v[bi]) ? i : bi), 0);
      const mx = x.max(dim, keepdim);
      const mn = x.min(dim, keepdim);
      const refMax = reduceNaive(data, shape, [dim], keepdim, (v) => Math.max(...v));
      const refArgmax = reduceNaive(data, shape, [dim], keepdim, (v) => argOf(v, (a, b) => a > b));
      const refArgmin = reduceNaive(data, shape, [dim], keepdim, (v) => argOf(v, (a, b) => a < b));
      assert.deepEqual(mx.values.shape, refMax.shape);
      assert.deepEqual(mx.values.toArray(), refMax.data);
      assert.equal(mx.indices.dtype, 'int64');
      assert.deepEqual(mx.indices.toArray(), refArgmax.data);
      assert.deepEqual(mn.indices.toArray(), refArgmin.data);
      assert.deepEqual(x.argmax(dim, keepdim).toArray(), refArgmax.data);
      assert.deepEqual(x.argmin(dim, keepdim).toArray(), refArgmin.data);
      assert.deepEqual(x.argmax(dim, keepdim).shape, refArgmax.shape);
    }
  }
  assert.equal(x.argmax().item(), data.indexOf(Math.max(...data)), 'argmax over the flattened tensor');
  assert.deepEqual(tensor([[1, 2, 3], [4, 5, 6]]).prod(1).toArray(), [6, 120]);
  assert.equal(tensor([1, 2, 3, 4]).prod().item(), 24);
  assert.deepEqual(tensor([[1, 2, 3], [4, 5, 6]]).cumsum(1).toArray(), [1, 3, 6, 4, 9, 15]);
  assert.deepEqual(tensor([[1, 2, 3], [4, 5, 6]]).cumsum(0).toArray(), [1, 2, 3, 5, 7, 9]);
});

test('sort, argsort, topk against a JS sort', () => {
  const shape = [3, 7];
  const { t: x, data } = randomTensor(shape, 10);
  const rows = [0, 1, 2].map((r) => Array.from(data.slice(r * 7, r * 7 + 7)));
  for (const descending of [false, true]) {
    const s = x.sort(-1, descending);
    const order = rows.map((row) => row.map((v, i) => [v, i] as const).sort((p, q) => (descending ? q[0] - p[0] : p[0] - q[0])));
    assert.deepEqual(s.values.toArray(), order.flatMap((o) => o.map((p) => p[0])));
    assert.deepEqual(s.indices.toArray(), order.flatMap((o) => o.map((p) => p[1])));
    assert.deepEqual(x.argsort(1, descending).toArray(), s.indices.toArray());
  }
  const cols = x.sort(0);
  for (let c = 0; c < 7; c++) {
    const col = [0, 1, 2].map((r) => data[r * 7 + c]).sort((p, q) => p - q);
    assert.deepEqual([0, 1, 2].map((r) => cols.values.toArray()[r * 7 + c]), col);
  }
  const k = 3;
  const top = x.topk(k);
  const bottom = x.topk(k, -1, false);
  assert.deepEqual(top.values.shape, [3, k]);
  for (let r = 0; r < 3; r++) {
    const desc = [...rows[r]].sort((p, q) => q - p);
    assert.deepEqual(top.values.toArray().slice(r * k, r * k + k), desc.slice(0, k));
    assert.deepEqual(top.indices.toArray().slice(r * k, r * k + k), desc.slice(0, k).map((v) => rows[r].indexOf(v)));
    assert.deepEqual(bottom.values.toArray().slice(r * k, r * k + k), [...rows[r]].sort((p, q) => p - q).slice(0, k));
  }
});

test('quantile (linear interpolation) and median (lower middle) against a naive sort', () => {
  const naiveQuantile = (v: number[], q: number) => {
    const s = [...v].sort((a, b) => a - b);
    const pos = q * (s.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, s.length - 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  const shape = [4, 9];
  const { t: x, data } = randomTensor(shape, 11);
  for (const q of [0, 0.1, 0.25, 0.5, 0.9, 0.999, 1]) {
    assertClose([x.quantile(q).item()], [naiveQuantile(Array.from(data), q)], 1e-6, `quantile ${q}`);
    const ref = reduceNaive(data, shape, [1], false, (v) => naiveQuantile(v, q));
    assertClose(x.quantile(q, 1).toArray(), ref.data, 1e-6, `quantile ${q} dim 1`);
    const refKeep = reduceNaive(data, shape, [0], true, (v) => naiveQuantile(v, q));
    const out = x.quantile(q, 0, true);
    assert.deepEqual(out.shape, refKeep.shape);
    assertClose(out.toArray(), refKeep.data, 1e-6, `quantile ${q} dim 0 keepdim`);
  }
  assert.equal(tensor([1, 2, 3, 4]).quantile(0.5).item(), 2.5);
  // median: the lower of the two middle values for even counts, unlike quantile(0.5)
  assert.equal(tensor([4, 1, 3, 2]).median().item(), 2);
  const evenRows = tensor([[1, 5, 2, 8], [3, 3, 9, 0]]);
  const med = evenRows.median(1);
  assert.deepEqual(med.values.toArray(), [2, 3]);
  assert.deepEqual(evenRows.gather(1, med.indices.unsqueeze(1)).toArray(), [2, 3], 'indices point at the median values');
  const odd = reduceNaive(data, shape, [0], false, (v) => [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) / 2)]);
  assert.deepEqual(x.median(0).values.toArray(), odd.data);
});

// -------------------------------------------------------------------------------- linear algebra
function matmulNaive(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): number[] {
  const out = new Array<number>(n * m).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let p = 0; p < k; p++) out[i * m + j] += a[i * k + p] * b[p * m + j];
  return out;
}

test('matmul, mm, dot, outer against naive loops (2-D, 1-D, batched with broadcasting)', () => {
  const { t: a, data: ad } = randomTensor([5, 7], 12);
  const { t: b, data: bd } = randomTensor([7, 3], 13);
  const ref = matmulNaive(ad, bd, 5, 7, 3);
  assert.deepEqual(a.matmul(b).shape, [5, 3]);
  assertClose(a.matmul(b).toArray(), ref, 1e-5, 'matmul');
  assertClose(a.mm(b).toArray(), ref, 1e-5, 'mm');
  // matmul of a transposed (non-contiguous) operand
  assertClose(b.t().matmul(a.t()).toArray(), transpose2(ref, 5, 3), 1e-5, 'transposed');
  // vector cases
  const { t: v, data: vd } = randomTensor([7], 14);
  assert.deepEqual(a.matmul(v).shape, [5]);
  assertClose(a.matmul(v).toArray(), matmulNaive(ad, vd, 5, 7, 1), 1e-5, 'matrix-vector');
  assert.deepEqual(v.matmul(b).shape, [3]);
  assertClose(v.matmul(b).toArray(), matmulNaive(vd, bd, 1, 7, 3), 1e-5, 'vector-matrix');
  assertClose([v.dot(v).item()], [sum(Array.from(vd, (x) => x * x))], 1e-5, 'dot');
  // batched (2, 5, 7) @ (7, 3) broadcasts the matrix over the batch
  const { t: batch, data: batchD } = randomTensor([2, 5, 7], 15);
  const bm = batch.matmul(b);
  assert.deepEqual(bm.shape, [2, 5, 3]);
  assertClose(bm.toArray(), [...matmulNaive(batchD.slice(0, 35), bd, 5, 7, 3), ...matmulNaive(batchD.slice(35), bd, 5, 7, 3)], 1e-5, 'batched');
  const { t: u, data: ud } = randomTensor([4], 16);
  const o = u.outer(v);
  assert.deepEqual(o.shape, [4, 7]);
  assertClose(o.toArray(), Array.from({ length: 28 }, (_, i) => ud[Math.floor(i / 7)] * vd[i % 7]), 1e-6, 'outer');
});

function transpose2(a: number[], rows: number, cols: number): number[] {
  return Array.from({ length: rows * cols }, (_, i) => a[(i % rows) * cols + Math.floor(i / rows)]);
}

test('bmm against per-batch naive products', () => {
  const { t: a, data: ad } = randomTensor([3, 4, 6], 17);
  const { t: b, data: bd } = randomTensor([3, 6, 2], 18);
  const out = a.bmm(b);
  assert.deepEqual(out.shape, [3, 4, 2]);
  const ref: number[] = [];
  for (let n = 0; n < 3; n++) ref.push(...matmulNaive(ad.slice(n * 24, n * 24 + 24), bd.slice(n * 12, n * 12 + 12), 4, 6, 2));
  assertClose(out.toArray(), ref, 1e-5, 'bmm');
  assert.throws(() => a.bmm(a), /Expected size for first two dimensions of batch2 tensor to be: \[3, 6\] but got: \[3, 4\]/);
});

// -------------------------------------------------------------------------------------- in place
test('in-place ops change the tensor itself (and the views of it) and return it', () => {
  const { t: x, data } = randomTensor([2, 3], 19, 0.5, 2);
  const { t: y, data: yd } = randomTensor([2, 3], 20, 0.5, 2);
  const { t: z, data: zd } = randomTensor([3], 21, 0.5, 2);
  const ref = Array.from(data);
  const step = (t: Tensor, expected: number[], name: string) => {
    assert.equal(t, x, `${name} returns this`);
    assertClose(x.toArray(), expected, 1e-5, name);
  };
  const row = x.select(0, 1); // a view: must see every change
  step(x.add_(y), ref.map((v, i) => (ref[i] = v + yd[i])), 'add_');
  step(x.add_(z, -0.5), ref.map((v, i) => (ref[i] = v - 0.5 * zd[i % 3])), 'add_ broadcast alpha');
  step(x.add_(2), ref.map((v, i) => (ref[i] = v + 2)), 'add_ scalar');
  step(x.sub_(y), ref.map((v, i) => (ref[i] = v - yd[i])), 'sub_');
  step(x.mul_(z), ref.map((v, i) => (ref[i] = v * zd[i % 3])), 'mul_');
  step(x.mul_(0.5), ref.map((v, i) => (ref[i] = v * 0.5)), 'mul_ scalar');
  step(x.div_(y), ref.map((v, i) => (ref[i] = v / yd[i])), 'div_');
  step(x.addcmul_(y, z, 0.3), ref.map((v, i) => (ref[i] = v + 0.3 * yd[i] * zd[i % 3])), 'addcmul_');
  step(x.addcdiv_(y, z, -2), ref.map((v, i) => (ref[i] = v - (2 * yd[i]) / zd[i % 3])), 'addcdiv_');
  step(x.addcmul_(y, y), ref.map((v, i) => (ref[i] = v + yd[i] * yd[i])), 'addcmul_ default value');
  step(x.lerp_(y, 0.25), ref.map((v, i) => (ref[i] = v + 0.25 * (yd[i] - v))), 'lerp_');
  step(x.clamp_(-1, 1), ref.map((v, i) => (ref[i] = Math.min(1, Math.max(-1, v)))), 'clamp_');
  step(x.copy_(y), ref.map((_, i) => (ref[i] = yd[i])), 'copy_');
  step(x.sqrt_(), ref.map((v, i) => (ref[i] = Math.sqrt(v))), 'sqrt_');
  assertClose(row.toArray(), ref.slice(3), 1e-5, 'view sees in-place changes');
  step(x.copy_(z), ref.map((_, i) => (ref[i] = zd[i % 3])), 'copy_ broadcasts');
  step(x.fill_(7), ref.map(() => 7), 'fill_');
  step(x.zero_(), ref.map(() => 0), 'zero_');
  assert.deepEqual(row.toArray(), [0, 0, 0]);
  // copy_ converts dtypes
  const i = zeros([3], { dtype: 'int32' }).copy_(tensor([1.7, -2.2, 3]));
  assert.deepEqual(i.toArray(), [1, -2, 3]);
});

// ----------------------------------------------------------------------------------- channels last
test("contiguous('channelsLast') keeps the logical values and gives NHWC strides", () => {
  const { t: x, data } = randomTensor([2, 3, 4, 5], 22);
  assert.equal(x.isContiguous('channelsLast'), false);
  const cl = x.contiguous('channelsLast');
  assert.equal(cl.isContiguous('channelsLast'), true);
  assert.equal(cl.isContiguous(), false);
  assert.deepEqual(cl.shape, [2, 3, 4, 5]);
  assert.deepEqual(cl.strides, [60, 1, 15, 3]);
  assertClose(cl.toArray(), data, 0, 'logical order unchanged');
  const back = cl.contiguous();
  assert.equal(back.isContiguous(), true);
  assert.deepEqual(back.strides, [60, 20, 5, 1]);
  // ops on channels-last inputs keep the format
  assert.equal(cl.add(1).isContiguous('channelsLast'), true);
  assert.equal(x.clone('channelsLast').isContiguous('channelsLast'), true);
  assert.throws(() => x.contiguous('nhwc' as 'channelsLast'), /unknown memory format 'nhwc': use contiguous, channelsLast or preserve/);
});

// ------------------------------------------------------------------------------------------ errors
test('a disposed tensor gives a clear error that mentions dispose, from methods and as an argument', () => {
  const x = ones([2, 2]);
  const y = ones([2, 2]);
  x.dispose();
  assert.equal(x.isDisposed, true);
  x.dispose(); // twice is harmless
  for (const use of [() => x.add(1), () => x.shape, () => x.toArray(), () => y.add(x), () => y.matmul(x), () => x.item()]) {
    assert.throws(use, (err: unknown) => err instanceof LowbitError && /used after dispose\(\)/.test(err.message) && /keep\(\)/.test(err.message));
  }
  assert.deepEqual(y.toArray(), [1, 1, 1, 1], 'the other operand is untouched');
  // a view outlives the disposal of its base: dispose frees a reference, not the shared storage
  const base = arange(4);
  const view = base.view(2, 2);
  base.dispose();
  assert.deepEqual(view.toArray(), [0, 1, 2, 3]);
});

test('a tensor freed by its scope gives the same dispose error', () => {
  let leaked: Tensor | undefined;
  scope(() => {
    leaked = ones([2]);
  });
  assert.throws(() => leaked!.sum(), /Tensor used after dispose\(\)/);
});

test('wrong shapes, bad dtype strings and non-tensor arguments raise Errors with useful messages', () => {
  const a = ones([2, 3]);
  assert.throws(() => a.matmul(ones([2, 3])), (e: unknown) => e instanceof Error && /mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/.test(e.message));
  assert.throws(() => a.mm(ones([4])), /2D|2-D|matrix/);
  assert.throws(() => a.to('float33' as 'float32'), /unknown dtype 'float33': use float32, float64/);
  const notTensors: unknown[] = [3, 'x', {}, [1, 2], { handle: {} }, { handle: 7 }];
  for (const bad of notTensors) {
    assert.throws(() => a.matmul(bad as Tensor), (e: unknown) => e instanceof Error && /expected a Tensor/.test(e.message), `matmul(${JSON.stringify(bad)})`);
  }
  assert.throws(() => a.add('x' as unknown as Tensor), /argument 1: expected a Tensor/);
  // null/undefined fail in the TypeScript wrapper before reaching the addon: an Error, though JS's own words
  assert.throws(() => a.matmul(null as unknown as Tensor), TypeError);
  assert.throws(() => a.matmul(undefined as unknown as Tensor), TypeError);
  assert.throws(() => a.reshape('a' as unknown as number), /expected an array of integers/);
  assert.throws(() => a.narrow(0, 'x' as unknown as number, 1), /argument 2: expected an integer/);
  assert.throws(() => a.narrow(0, 1, 5), /start \(1\) \+ length \(5\) exceeds dimension size \(2\)/);
  assert.throws(() => a.select(2, 0), /Dimension out of range/);
  assert.throws(() => a.gather(1, ones([2, 3])), /gather\(\): Expected dtype int64 for index/);
  assert.deepEqual(a.shape, [2, 3], 'still usable after the errors');
});

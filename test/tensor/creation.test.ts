// Creation functions: constant fills, ranges, typed-array round trips, nested arrays, and the random
// creators (repeatable under manualSeed and with an explicit Generator, with the right ranges and moments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import {
  Generator,
  arange,
  bernoulli,
  empty,
  eye,
  fromArray,
  full,
  fullLike,
  linspace,
  manualSeed,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  randperm,
  scalar,
  tensor,
  zeros,
  zerosLike,
  type DType,
} from '../../src/tensor/index.ts';

const mean = (v: ArrayLike<number>) => Array.from(v).reduce((a, b) => a + b, 0) / v.length;
const std = (v: ArrayLike<number>) => {
  const m = mean(v);
  return Math.sqrt(Array.from(v).reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
};

test('zeros, ones, full, empty: shape, dtype and values', () => {
  const dtypes: DType[] = ['float32', 'float64', 'int64', 'int32', 'int16', 'int8', 'uint8', 'float16', 'bfloat16'];
  for (const dtype of dtypes) {
    const z = zeros([2, 3], { dtype });
    assert.equal(z.dtype, dtype);
    assert.deepEqual(z.shape, [2, 3]);
    assert.deepEqual(z.toArray(), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(ones([4], { dtype }).toArray(), [1, 1, 1, 1]);
    assert.deepEqual(full([2], 7, { dtype }).toArray(), [7, 7]);
    assert.deepEqual(empty([3, 0], { dtype }).shape, [3, 0]);
  }
  assert.equal(zeros([2]).dtype, 'float32', 'float32 by default');
  assert.deepEqual(full([3], -2.5).toArray(), [-2.5, -2.5, -2.5]);
  assert.deepEqual(zeros([]).shape, [], 'a 0-d tensor');
  assert.equal(full([], 3).item(), 3);
  assert.deepEqual(full([2], 1, { dtype: 'bool' }).toArray(), [1, 1]);
  assert.equal(ones([2], { requiresGrad: true }).requiresGrad, true);
  assert.equal(ones([2]).requiresGrad, false);
});

test('zerosLike, onesLike, fullLike copy shape and dtype', () => {
  const ref = zeros([3, 2], { dtype: 'int32' });
  for (const [t, v] of [
    [zerosLike(ref), 0],
    [onesLike(ref), 1],
    [fullLike(ref, 9), 9],
  ] as const) {
    assert.deepEqual(t.shape, [3, 2]);
    assert.equal(t.dtype, 'int32');
    assert.deepEqual(t.toArray(), new Array(6).fill(v));
  }
});

test('arange: int64 for integer arguments, float32 otherwise, explicit dtype, negative steps', () => {
  const a = arange(5);
  assert.equal(a.dtype, 'int64');
  assert.deepEqual(a.toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(arange(2, 11, 3).toArray(), [2, 5, 8]);
  assert.deepEqual(arange(5, 0, -2).toArray(), [5, 3, 1]);
  const f = arange(0, 1, 0.25);
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(f.toArray(), [0, 0.25, 0.5, 0.75]);
  const d = arange(3, undefined, 1, { dtype: 'float64' });
  assert.equal(d.dtype, 'float64');
  assert.deepEqual(d.toArray(), [0, 1, 2]);
});

test('linspace and eye against their formulas', () => {
  const steps = 7;
  const l = linspace(-1, 2, steps, { dtype: 'float64' });
  const ref = Array.from({ length: steps }, (_, i) => -1 + (3 * i) / (steps - 1));
  l.toArray().forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-12, `linspace[${i}]`));
  assert.deepEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(linspace(3, 3, 1).toArray(), [3]);
  assert.deepEqual(eye(3).toArray(), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const r = eye(2, 3, { dtype: 'int64' });
  assert.deepEqual(r.shape, [2, 3]);
  assert.equal(r.dtype, 'int64');
  assert.deepEqual(r.toArray(), [1, 0, 0, 0, 1, 0]);
});

test('fromArray round trips every typed array exactly, with its natural dtype', () => {
  const cases: [DType, Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int16Array | Int8Array][] = [
    ['float32', new Float32Array([0, -0, 1.5, -3.25, 3.4028234663852886e38, 1e-45, Infinity, -Infinity])],
    ['float64', new Float64Array([0, Math.PI, -1e308, 5e-324, 1 / 3, Number.MAX_SAFE_INTEGER, -Infinity, 0.1])],
    ['int32', new Int32Array([0, 1, -1, 2147483647, -2147483648, 12345, -678, 42])],
    ['int64', new BigInt64Array([0n, -1n, 9223372036854775807n, -9223372036854775808n, 9007199254740993n, 5n, -7n, 123456789012345n])],
    ['uint8', new Uint8Array([0, 1, 127, 128, 255, 3, 4, 5])],
    ['int16', new Int16Array([0, -32768, 32767, 1, -1, 2, 3, 4])],
    ['int8', new Int8Array([0, -128, 127, 1, -1, 2, 3, 4])],
  ];
  for (const [dtype, data] of cases) {
    const t = fromArray(data, [2, 4]);
    assert.equal(t.dtype, dtype);
    assert.deepEqual(t.shape, [2, 4]);
    const back = t.toTypedArray();
    assert.equal(back.constructor, data.constructor, `${dtype}: same array type back`);
    assert.deepEqual(Array.from(back as ArrayLike<number | bigint>), Array.from(data as ArrayLike<number | bigint>), `${dtype}: exact values`);
    // the bytes are copied: changing the source later does not change the tensor
    const before = t.toBytes().slice();
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).fill(0);
    assert.deepEqual(t.toBytes(), before, `${dtype}: tensor owns its copy`);
  }
  // NaN survives too, and -0 keeps its sign
  const nan = fromArray(new Float64Array([NaN, -0])).toTypedArray() as Float64Array;
  assert.ok(Number.isNaN(nan[0]));
  assert.ok(Object.is(nan[1], -0));
  // 1-D by default
  assert.deepEqual(fromArray(new Int32Array([1, 2, 3])).shape, [3]);
});

test('fromArray reads a subarray view at its offset, not from the start of its buffer', () => {
  const whole = new Float32Array([1, 2, 3, 4, 5, 6]);
  const part = whole.subarray(2, 5);
  assert.deepEqual(fromArray(part).toArray(), [3, 4, 5]);
  const bytes = new Uint8Array([9, 8, 7, 6]).subarray(1);
  assert.deepEqual(fromArray(bytes).toArray(), [8, 7, 6]);
});

test('fromArray converts to a requested dtype; bool from Uint8Array is normalized to 0/1', () => {
  const f = fromArray(new Float64Array([0.1, 1e40, -2.5]), [3], { dtype: 'float32' });
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(f.toArray(), [Math.fround(0.1), Infinity, -2.5]);
  const d = fromArray(new Int32Array([7, -8]), [2], { dtype: 'float64' });
  assert.equal(d.dtype, 'float64');
  assert.deepEqual(d.toArray(), [7, -8]);
  const l = fromArray(new Float32Array([1.9, -1.9]), [2], { dtype: 'int64' });
  assert.deepEqual(l.toArray(), [1, -1], 'float to int truncates toward zero');
  const b = fromArray(new Uint8Array([0, 1, 2, 255]), [4], { dtype: 'bool' });
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [0, 1, 1, 1]);
  assert.equal(b.sum().item(), 3);
  const g = fromArray(new Float32Array([1, 2]), [2], { requiresGrad: true });
  assert.equal(g.requiresGrad, true);
});

test('fromArray refuses a wrong element count, a bad shape, an unsupported array and a bad dtype', () => {
  assert.throws(
    () => fromArray(new Float32Array(4), [3]),
    (e: unknown) => e instanceof LowbitError && /shape \[3\] holds 3 elements but the array has 4/.test(e.message),
  );
  assert.throws(() => fromArray(new Float32Array(4), [2, -2]), /shape \[2, -2\] must hold non-negative integers/);
  assert.throws(() => fromArray(new Float32Array(4), [1.5, 2]), /must hold non-negative integers/);
  assert.throws(() => fromArray(new Uint16Array(2) as unknown as Uint8Array), /fromArray: unsupported array type \[object Uint16Array\]/);
  assert.throws(() => fromArray([1, 2] as unknown as Float32Array), /unsupported array type/);
  assert.throws(() => fromArray(new Float32Array(2), [2], { dtype: 'float' as DType }), /unknown dtype 'float'/);
  assert.throws(() => zeros([2], { dtype: 'Float32' as DType }), /unknown dtype 'Float32': use float32, float64/);
  assert.throws(() => zeros([-1]), (e: unknown) => e instanceof LowbitError && /zeros: shape \[-1\]/.test(e.message));
  assert.throws(() => rand([2, NaN]), /rand: shape \[2, NaN\] must hold non-negative integers/);
});

test('tensor() from nested arrays: shape, values, float32 by default, bool, dtype option, 0-d', () => {
  const t = tensor([
    [[1, 2], [3, 4], [5, 6]],
    [[7, 8], [9, 10], [11, 12.5]],
  ]);
  assert.deepEqual(t.shape, [2, 3, 2]);
  assert.equal(t.dtype, 'float32');
  assert.deepEqual(t.toArray(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5]);
  const b = tensor([[true, false]]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [1, 0]);
  assert.equal(tensor([1, 2], { dtype: 'int64' }).dtype, 'int64');
  const d = tensor([0.1], { dtype: 'float64' });
  assert.equal(d.toArray()[0], 0.1, 'float64 keeps full precision');
  assert.equal(tensor([0.1]).toArray()[0], Math.fround(0.1));
  const s = tensor(4.5);
  assert.deepEqual(s.shape, []);
  assert.equal(s.item(), 4.5);
  assert.deepEqual(tensor([]).shape, [0]);
  assert.deepEqual(scalar(2, { dtype: 'int32' }).shape, []);
  assert.equal(scalar(2, { dtype: 'int32' }).dtype, 'int32');
  assert.throws(() => tensor([[1, 2], [3]]), /tensor: ragged nested array \(shape \[2, 2\] expected 4 values, got 3\)/);
});

// -------------------------------------------------------------------------------------------- random
test('rand, randn, randint, randperm repeat exactly after manualSeed, and differ across seeds', () => {
  const draw = () => [rand([50]).toArray(), randn([50]).toArray(), randint(-3, 9, [50]).toArray(), randperm(20).toArray()];
  manualSeed(1234);
  const first = draw();
  manualSeed(1234);
  const second = draw();
  assert.deepEqual(second, first);
  manualSeed(1235);
  const other = draw();
  for (let k = 0; k < 4; k++) assert.notDeepEqual(other[k], first[k], `draw ${k} depends on the seed`);
  // the stream advances: two draws in a row differ
  manualSeed(1234);
  assert.notDeepEqual(rand([50]).toArray(), rand([50]).toArray());
});

test('an explicit Generator repeats per seed and ignores the default stream', () => {
  const drawWith = (g: Generator) => [
    rand([40], { generator: g }).toArray(),
    randn([40], { generator: g, dtype: 'float64' }).toArray(),
    randint(0, 100, [40], { generator: g }).toArray(),
    randperm(30, { generator: g }).toArray(),
    bernoulli(full([40], 0.5), g).toArray(),
  ];
  manualSeed(1);
  const a = drawWith(new Generator(77));
  manualSeed(2);
  rand([1000]); // advance the default stream: must not matter
  const b = drawWith(new Generator(77));
  assert.deepEqual(b, a);
  const c = drawWith(new Generator(78));
  for (let k = 0; k < a.length; k++) assert.notDeepEqual(c[k], a[k]);
  // and the generator does not advance the default stream
  manualSeed(5);
  const plain = rand([10]).toArray();
  manualSeed(5);
  rand([10], { generator: new Generator(77) });
  assert.deepEqual(rand([10]).toArray(), plain);
});

test('random values have the right ranges, dtypes and moments', () => {
  const g = new Generator(2024);
  const n = 200_000;
  const u = rand([n], { generator: g }).toFloat64Array();
  assert.ok(u.every((v) => v >= 0 && v < 1), 'rand in [0, 1)');
  // mean 1/2 and std 1/sqrt(12): tolerances are > 6 standard errors
  assert.ok(Math.abs(mean(u) - 0.5) < 0.004, `rand mean ${mean(u)}`);
  assert.ok(Math.abs(std(u) - 1 / Math.sqrt(12)) < 0.003, `rand std ${std(u)}`);
  const z = randn([n], { generator: g, dtype: 'float64' });
  assert.equal(z.dtype, 'float64');
  const zv = z.toFloat64Array();
  assert.ok(Math.abs(mean(zv)) < 0.015, `randn mean ${mean(zv)}`);
  assert.ok(Math.abs(std(zv) - 1) < 0.01, `randn std ${std(zv)}`);
  const within1 = zv.filter((v) => Math.abs(v) < 1).length / n;
  assert.ok(Math.abs(within1 - 0.6827) < 0.01, `P(|z| < 1) = ${within1}`);
  const ri = randint(-2, 3, [n], { generator: g });
  assert.equal(ri.dtype, 'int64');
  const counts = new Map<number, number>();
  for (const v of ri.toArray()) counts.set(v, (counts.get(v) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort((p, q) => p - q), [-2, -1, 0, 1, 2], 'randint covers [low, high)');
  for (const c of counts.values()) assert.ok(Math.abs(c / n - 0.2) < 0.01, 'randint is uniform');
  assert.equal(randint(0, 5, [3], { dtype: 'int32' }).dtype, 'int32');
  const p = randperm(1000, { generator: g }).toArray();
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i), 'randperm is a permutation');
  assert.notDeepEqual(p.slice(0, 20), Array.from({ length: 20 }, (_, i) => i));
  const probs = tensor([0, 1, 0.3]).reshape(3, 1).expand(3, 20_000).contiguous();
  const draws = bernoulli(probs, g).mean([1]).toArray();
  assert.equal(draws[0], 0);
  assert.equal(draws[1], 1);
  assert.ok(Math.abs(draws[2] - 0.3) < 0.02, `bernoulli rate ${draws[2]}`);
});

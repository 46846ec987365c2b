// GPFQ alphabet: code ranges of both conventions, the reference code's step rule (per layer and per
// channel, max and quantile radius) against hand-computed values, and Q against a brute-force search
// for the nearest alphabet element, exact ties included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Generator, fromArray, randn, tensor } from '../../src/tensor/index.ts';
import {
  alphabetFor,
  minMaxAlphabet,
  codeRange,
  dequantize,
  quantizeCode,
  quantizeToCodes,
  scaleTensor,
  type Alphabet,
} from '../../src/ptq/index.ts';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test('code ranges: the reference alphabet has 2^b + 1 levels, the signed one 2^b', () => {
  for (const bits of [2, 3, 4, 5, 6, 7, 8]) {
    const K = 2 ** (bits - 1);
    assert.deepEqual(codeRange(bits, 'reference'), { kMin: -K, kMax: K });
    assert.deepEqual(codeRange(bits, 'signed'), { kMin: -K, kMax: K - 1 });
    const signed = codeRange(bits, 'signed');
    assert.equal(signed.kMax - signed.kMin + 1, 2 ** bits);
  }
  assert.deepEqual(codeRange(2, 'reference'), { kMin: -2, kMax: 2 });
  for (const bad of [1, 9, 2.5, Number.NaN]) assert.throws(() => codeRange(bad), LowbitError);
});

test('layer step = C * mean of row max |w| / 2^(b-1), as the reference code', () => {
  const w = tensor([
    [1, -3, 0.5],
    [2, 0.5, -1],
  ]);
  const a = alphabetFor(w, { bits: 4, convention: 'reference', granularity: 'layer' });
  assert.equal(a.steps.length, 1);
  close(a.steps[0], (1.16 * ((3 + 2) / 2)) / 8);
  assert.equal(a.convention, 'reference');
  assert.equal(a.granularity, 'layer');
  const b = alphabetFor(w, { bits: 2, radiusFactor: 2, convention: 'reference', granularity: 'layer' });
  close(b.steps[0], (2 * 2.5) / 2);
});

test('channel steps use each row radius; the percentile radius interpolates linearly', () => {
  const w = tensor([
    [1, -3, 0.5],
    [2, 0.5, -1],
  ]);
  const a = alphabetFor(w, { bits: 3, granularity: 'channel', convention: 'reference' });
  assert.equal(a.steps.length, 2);
  close(a.steps[0], (1.16 * 3) / 4);
  close(a.steps[1], (1.16 * 2) / 4);
  // |row 0| sorted = 0.5, 1, 3: the 0.75 quantile is halfway between 1 and 3 = 2; row 1: 0.5, 1, 2 -> 1.5
  const q = alphabetFor(w, { bits: 3, granularity: 'channel', percentile: 0.75, radiusFactor: 1, convention: 'reference' });
  close(q.steps[0], 2 / 4, 1e-6);
  close(q.steps[1], 1.5 / 4, 1e-6);
  const ql = alphabetFor(w, { bits: 3, percentile: 0.75, radiusFactor: 1, convention: 'reference', granularity: 'layer' });
  close(ql.steps[0], 1.75 / 4, 1e-6);
});

test('zero weights: an all-zero row or layer gets step 1, a zero radius on nonzero weights is an error', () => {
  const zeroRow = tensor([
    [0, 0, 0],
    [1, -2, 0],
  ]);
  const a = alphabetFor(zeroRow, { bits: 4, granularity: 'channel', convention: 'reference' });
  assert.equal(a.steps[0], 1);
  close(a.steps[1], (1.16 * 2) / 8);
  assert.equal(alphabetFor(tensor([[0, 0]]), { bits: 4, convention: 'reference', granularity: 'layer' }).steps[0], 1);
  const sparse = tensor([[0, 0, 0, 5]]);
  assert.throws(() => alphabetFor(sparse, { bits: 4, percentile: 0.5, convention: 'reference', granularity: 'layer' }), /raise percentile/);
  assert.throws(() => alphabetFor(tensor([1, 2]), { bits: 4, convention: 'reference', granularity: 'layer' }), LowbitError);
  assert.throws(() => alphabetFor(zeroRow, { bits: 4, percentile: 0, convention: 'reference', granularity: 'layer' }), LowbitError);
  assert.throws(() => alphabetFor(zeroRow, { bits: 4, radiusFactor: -1, convention: 'reference', granularity: 'layer' }), LowbitError);
});

test('Q rounds to nearest with ties toward +infinity and clamps to the range', () => {
  const cases: [number, number][] = [
    [0.49, 0],
    [0.5, 1],
    [-0.5, 0],
    [-0.51, -1],
    [1.5, 2],
    [-1.5, -1],
    [2.4999, 2],
    [-2.5, -2],
    [100, 8],
    [-100, -8],
    [7.5, 8],
    [-8.5, -8],
  ];
  for (const [z, k] of cases) assert.equal(quantizeCode(z, -8, 8), k, `Q(${z})`);
  assert.equal(quantizeCode(7.5, -8, 7), 7);
});

/** The nearest alphabet element by exhaustive search; among equally near ones, the larger. */
function bruteForceCode(z: number, step: number, kMin: number, kMax: number): number {
  let best = kMin;
  for (let k = kMin; k <= kMax; k++) if (Math.abs(z - k * step) <= Math.abs(z - best * step)) best = k;
  return best;
}

test('quantizeToCodes matches a brute-force nearest-element search, per layer and per channel', () => {
  const g = new Generator(3);
  const rows = 6;
  const cols = 200;
  const z = randn([rows, cols], { dtype: 'float64', generator: g }).mul(2);
  const zs = z.toFloat64Array();
  // Exact ties: with power-of-two steps, (k + 1/2) * step is exact in float64.
  for (let c = 0; c < 20; c++) zs[c] = (c - 10 + 0.5) * 0.25;
  const zTies = fromArray(zs, [rows, cols]);
  const alphabets: Alphabet[] = [
    { bits: 3, convention: 'reference', granularity: 'layer', kMin: -4, kMax: 4, steps: [0.25] },
    { bits: 2, convention: 'signed', granularity: 'channel', kMin: -2, kMax: 1, steps: [0.25, 0.5, 1, 0.125, 2, 0.0625] },
  ];
  for (const a of alphabets) {
    const codes = quantizeToCodes(zTies, a);
    assert.equal(codes.dtype, 'int32');
    const got = codes.toArray();
    for (let i = 0; i < rows; i++) {
      const step = a.steps.length === 1 ? a.steps[0] : a.steps[i];
      for (let t = 0; t < cols; t++) {
        assert.equal(got[i * cols + t], bruteForceCode(zs[i * cols + t], step, a.kMin, a.kMax), `row ${i} col ${t} z=${zs[i * cols + t]}`);
      }
    }
  }
});

test('dequantize and the scale tensor give codes * step row by row', () => {
  const a: Alphabet = { bits: 2, convention: 'reference', granularity: 'channel', kMin: -2, kMax: 2, steps: [0.5, 3] };
  const codes = fromArray(Int32Array.from([-2, 0, 1, 2, -1, 1]), [2, 3]);
  assert.deepEqual(dequantize(codes, a).toArray(), [-1, 0, 0.5, 6, -3, 3]);
  assert.deepEqual(scaleTensor(a).shape, [2]);
  assert.deepEqual(scaleTensor(a).toArray(), [0.5, 3]);
  const wrongRows = fromArray(Int32Array.from([1, 2, 3]), [3, 1]);
  assert.throws(() => dequantize(wrongRows, a), /per-channel steps/);
});

test('minMaxAlphabet (the RTN grid): the largest |w| lands on the top code, nothing is clipped', () => {
  const w = fromArray(Float64Array.from([0.5, -1, 0.25, 0.1, -0.2, 0.05]), [2, 3]);
  const layer = minMaxAlphabet(w, { bits: 2, convention: 'signed', granularity: 'layer' });
  assert.deepEqual([layer.kMin, layer.kMax], [-2, 1]);
  assert.deepEqual(layer.steps, [1]); // max |w| = 1, kMax = 1
  const perRow = minMaxAlphabet(w, { bits: 3, convention: 'reference', granularity: 'channel' });
  assert.deepEqual([perRow.kMin, perRow.kMax], [-4, 4]);
  assert.deepEqual(perRow.steps, [1 / 4, 0.2 / 4]);
});

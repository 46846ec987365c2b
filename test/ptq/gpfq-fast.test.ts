// GPFQ from Gram matrices: the same integer codes as the column loop (gpfq-reference.ts) on random and
// ReLU layers of several shapes, bit widths, block sizes and both step granularities, with any
// difference required to be a rounding tie; dead X~ columns give q = 0; the Gram-only layer error
// equals the loop's residual norm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { scope, zeros, type Tensor } from '../../src/tensor/index.ts';
import { GramAccumulator, alphabetFor, gpfqFast, gpfqReference, type Alphabet } from '../../src/ptq/index.ts';
import { compareCodes, gramArrays, randomLayer, reluLayer, type Layer } from './gpfq-fixtures.ts';

function accumulate(layer: Layer, batch: number, analogGram = false): GramAccumulator {
  const acc = new GramAccumulator(layer.x.shape[1], { analogGram, productDtype: 'float64' });
  const m = layer.x.shape[0];
  for (let s = 0; s < m; s += batch) {
    scope(() => acc.add(layer.x.narrow(0, s, Math.min(batch, m - s)), layer.xTilde.narrow(0, s, Math.min(batch, m - s))));
  }
  return acc;
}

/** Runs both solvers and checks that their codes agree except at rounding ties; returns the tie count. */
function agree(layer: Layer, alphabet: Alphabet, blockSize: number, label: string): number {
  return scope(() => {
    const acc = accumulate(layer, 700);
    try {
      const ref = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet).codes.toTypedArray() as Int32Array;
      const fast = gpfqFast(layer.weight, acc, alphabet, { blockSize });
      assert.equal(fast.codes.dtype, 'int32');
      const codes = fast.codes.toTypedArray() as Int32Array;
      const [n1, n0] = layer.weight.shape;
      const { a, b } = gramArrays(layer.x, layer.xTilde);
      const cmp = compareCodes(ref, codes, { a, b, w: layer.weight.toFloat64Array(), n0, n1 }, alphabet);
      assert.deepEqual(cmp.nonTies, [], `${label}: codes differ away from a rounding tie`);
      assert.ok(codes.every((k) => k >= alphabet.kMin && k <= alphabet.kMax), `${label}: code out of range`);
      return cmp.ties;
    } finally {
      acc.dispose();
    }
  });
}

test('same codes as the column loop on random layers: shapes, bits 2/3/4/8, block sizes, X~ != X', (t) => {
  let ties = 0;
  let cases = 0;
  const shapes: [number, number, number][] = [
    [300, 37, 9],
    [1200, 100, 16],
    [2500, 147, 24],
  ];
  for (const [si, [m, n0, n1]] of shapes.entries()) {
    const layer = randomLayer(100 + si, m, n0, n1, 0.15);
    for (const bits of [2, 3, 4, 8]) {
      for (const blockSize of [1, 16, 128]) {
        const granularity = blockSize === 16 ? 'channel' : 'layer';
        const alphabet = alphabetFor(layer.weight, { bits, granularity, convention: 'reference' });
        ties += agree(layer, alphabet, blockSize, `m=${m} N0=${n0} N1=${n1} b=${bits} block=${blockSize}`);
        cases++;
      }
    }
  }
  // Float64 on both sides: an exact rounding tie is vanishingly rare on random data.
  t.diagnostic(`${ties} neurons diverged at a rounding tie over ${cases} cases`);
  assert.ok(ties <= 1, `${ties} rounding ties over ${cases} cases`);
});

test('same codes on ReLU layers with dead inputs, and q = 0 on every dead X~ column', (t) => {
  let ties = 0;
  const n0 = 90;
  const dead = [0, 17, 44];
  const deadTilde = [5, 60, 89];
  const layer = reluLayer(200, 1500, n0, 20, dead, deadTilde);
  for (const bits of [2, 3, 4, 8]) {
    for (const convention of ['reference', 'signed'] as const) {
      const alphabet = alphabetFor(layer.weight, { bits, convention, granularity: bits === 3 ? 'channel' : 'layer' });
      ties += agree(layer, alphabet, 32, `relu b=${bits} ${convention}`);
      scope(() => {
        const acc = accumulate(layer, 512);
        const codes = gpfqFast(layer.weight, acc, alphabet, { blockSize: 32 }).codes.toArray();
        acc.dispose();
        for (let i = 0; i < 20; i++) for (const col of [...dead, ...deadTilde]) assert.equal(codes[i * n0 + col], 0);
      });
    }
  }
  t.diagnostic(`${ties} neurons diverged at a rounding tie`);
  assert.ok(ties <= 1, `${ties} rounding ties`);
});

test('the Gram-only layer error (with X\'X accumulated) equals the loop\'s residual norm', () => {
  scope(() => {
    const layer = reluLayer(300, 1000, 64, 12, [3], [30]);
    const alphabet = alphabetFor(layer.weight, { bits: 3, convention: 'reference', granularity: 'layer' });
    const ref = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet);
    const acc = accumulate(layer, 300, true);
    const fast = gpfqFast(layer.weight, acc, alphabet);
    acc.dispose();
    assert.deepEqual(fast.codes.toArray(), ref.codes.toArray());
    assert.ok(Math.abs(fast.error! - ref.error!) < 1e-7 * ref.error!, `${fast.error} vs ${ref.error}`);
    assert.ok(Math.abs(fast.relativeError! - ref.relativeError!) < 1e-7 * ref.relativeError!);
    // Without X'X the error is not known, and the result says so by leaving it out.
    const acc2 = accumulate(layer, 300);
    assert.equal(gpfqFast(layer.weight, acc2, alphabet).error, undefined);
    acc2.dispose();
  });
});

test('plain Gram matrices work too, and the weight is codes * step', () => {
  scope(() => {
    const layer = randomLayer(400, 400, 24, 6, 0.1);
    const alphabet = alphabetFor(layer.weight, { bits: 4, granularity: 'channel', convention: 'reference' });
    const xt = layer.xTilde.t();
    const gram: { a: Tensor; b: Tensor } = { a: xt.matmul(layer.x), b: xt.matmul(layer.xTilde) };
    const r = gpfqFast(layer.weight, gram, alphabet);
    const ref = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet);
    assert.deepEqual(r.codes.toArray(), ref.codes.toArray());
    const codes = r.codes.toArray();
    const w = r.weight.toArray();
    for (let i = 0; i < 6; i++) for (let t = 0; t < 24; t++) assert.equal(w[i * 24 + t], Math.fround(codes[i * 24 + t] * alphabet.steps[i]));
    assert.deepEqual(r.scales.toArray(), alphabet.steps.map(Math.fround));
  });
});

test('bad inputs are LowbitErrors that name the problem', () => {
  scope(() => {
    const layer = randomLayer(500, 50, 8, 3);
    const alphabet = alphabetFor(layer.weight, { bits: 4, convention: 'reference', granularity: 'layer' });
    const wrong = { a: zeros([7, 7], { dtype: 'float64' }), b: zeros([7, 7], { dtype: 'float64' }) };
    assert.throws(() => gpfqFast(layer.weight, wrong, alphabet), /N0 x N0 = 8 x 8/);
    const acc = accumulate(layer, 50);
    assert.throws(() => gpfqFast(layer.weight, acc, alphabet, { blockSize: 0 }), LowbitError);
    acc.dispose();
    assert.throws(() => gpfqFast(layer.weight, acc, alphabet), /after dispose/);
  });
});

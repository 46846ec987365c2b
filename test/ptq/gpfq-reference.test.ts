// GPFQ column loop: same codes and residuals as a naive one-neuron-at-a-time scalar loop; final residual
// equal to X w - X~ q; codes in range; dead X~ columns give q = 0; the first code is Q(w_1) when X~ = X;
// and the layer error beats round-to-nearest on typical data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { fromArray, scope, zeros } from '../../src/tensor/index.ts';
import { alphabetFor, gpfqReference, quantizeToCodes, dequantize, type Alphabet } from '../../src/ptq/index.ts';
import { naiveGpfq, randomLayer, reluLayer, type Layer } from './gpfq-fixtures.ts';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

test('matches a naive scalar loop on tiny layers (codes exactly, residuals to 1e-12)', () => {
  const m = 30;
  const n0 = 12;
  const n1 = 5;
  const layers: [string, Layer][] = [
    ['random', randomLayer(11, m, n0, n1, 0.3)],
    ['relu with dead columns', reluLayer(12, m, n0, n1, [3], [7])],
  ];
  for (const [name, layer] of layers) {
    for (const bits of [2, 3, 4]) {
      for (const granularity of ['layer', 'channel'] as const) {
        scope(() => {
          const alphabet = alphabetFor(layer.weight, { bits, granularity, convention: 'reference' });
          const r = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet, { keepResidual: true });
          const naive = naiveGpfq(
            layer.x.toFloat64Array(),
            layer.xTilde.toFloat64Array(),
            layer.weight.toFloat64Array(),
            m,
            n0,
            n1,
            alphabet,
          );
          assert.deepEqual(r.codes.toArray(), Array.from(naive.codes), `${name}, ${bits} bits, ${granularity}`);
          assert.ok(maxAbsDiff(r.residual!.toFloat64Array(), naive.residual) < 1e-12);
          // Not a trivial layer: GPFQ moved away from rounding each weight on its own somewhere.
          assert.notDeepEqual(r.codes.toArray(), quantizeToCodes(layer.weight, alphabet).toArray());
        });
      }
    }
  }
});

test('the final residual is X w - X~ q, and error / relativeError are its norms', () => {
  scope(() => {
    const layer = randomLayer(21, 400, 40, 12, 0.2);
    const alphabet = alphabetFor(layer.weight, { bits: 3, convention: 'reference', granularity: 'layer' });
    const r = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet, { keepResidual: true });
    const q = r.codes.to('float64').mul(alphabet.steps[0]); // the float64 values the loop subtracted
    const expected = layer.x.matmul(layer.weight.to('float64').t()).sub(layer.xTilde.matmul(q.t())).t(); // N1 x m
    const scale = expected.abs().amax().item();
    assert.ok(maxAbsDiff(r.residual!.toFloat64Array(), expected.contiguous().toFloat64Array()) < 1e-10 * scale);
    assert.ok(Math.abs(r.error! - expected.norm().item()) < 1e-9 * r.error!);
    const out = layer.x.matmul(layer.weight.to('float64').t()).norm().item();
    assert.ok(Math.abs(r.relativeError! - r.error! / out) < 1e-12);
    // The result's weight is codes * step.
    assert.ok(maxAbsDiff(r.weight.toFloat64Array(), dequantize(r.codes, alphabet).toFloat64Array()) === 0);
    assert.deepEqual(r.scales.toArray(), [Math.fround(alphabet.steps[0])]);
  });
});

test('codes stay in the alphabet range for every bit width and convention', () => {
  scope(() => {
    // Large weights against a small radius factor push many arguments of Q past the top level.
    const layer = randomLayer(31, 200, 30, 10, 0.3);
    for (const bits of [2, 3, 4, 8]) {
      for (const convention of ['reference', 'signed'] as const) {
        const alphabet = alphabetFor(layer.weight, { bits, convention, radiusFactor: 0.3, granularity: 'layer' });
        const codes = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet).codes;
        assert.equal(codes.dtype, 'int32');
        assert.deepEqual(codes.shape, [10, 30]);
        const values = codes.toArray();
        assert.ok(values.every((k) => k >= alphabet.kMin && k <= alphabet.kMax));
        assert.ok(values.includes(alphabet.kMax) && values.includes(alphabet.kMin), 'clamping was exercised');
      }
    }
  });
});

test('a zero column in X~ gives q = 0 for every neuron, as the reference code', () => {
  scope(() => {
    const layer = reluLayer(41, 300, 20, 8, [], [5, 13]);
    // Make the weights on the dead inputs large so that any leak would show as a nonzero code.
    const w = layer.weight.toFloat32Array();
    for (let i = 0; i < 8; i++) {
      w[i * 20 + 5] = 2;
      w[i * 20 + 13] = -2;
    }
    const weight = fromArray(w, [8, 20]);
    const alphabet = alphabetFor(weight, { bits: 4, convention: 'reference', granularity: 'layer' });
    const codes = gpfqReference(weight, layer.x, layer.xTilde, alphabet).codes.toArray();
    for (let i = 0; i < 8; i++) {
      assert.equal(codes[i * 20 + 5], 0);
      assert.equal(codes[i * 20 + 13], 0);
    }
  });
});

test('with X~ = X the first code is Q(w_1): the greedy step starts from u_0 = 0', () => {
  scope(() => {
    const layer = randomLayer(51, 100, 10, 16);
    const alphabet = alphabetFor(layer.weight, { bits: 3, convention: 'reference', granularity: 'layer' });
    const codes = gpfqReference(layer.weight, layer.x, layer.x, alphabet).codes.toArray();
    const rtn = quantizeToCodes(layer.weight, alphabet).toArray();
    for (let i = 0; i < 16; i++) assert.equal(codes[i * 10], rtn[i * 10]);
  });
});

test('float32 inputs (as the reference code runs) give nearly the same codes as float64', () => {
  scope(() => {
    const layer = randomLayer(61, 1000, 64, 32, 0.1);
    const alphabet = alphabetFor(layer.weight, { bits: 4, convention: 'reference', granularity: 'layer' });
    const c64 = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet).codes.toArray();
    const c32 = gpfqReference(layer.weight, layer.x.to('float32'), layer.xTilde.to('float32'), alphabet).codes.toArray();
    let divergent = 0;
    for (let i = 0; i < 32; i++) if (c64.slice(i * 64, (i + 1) * 64).some((k, t) => k !== c32[i * 64 + t])) divergent++;
    assert.ok(divergent <= 2, `${divergent} of 32 neurons diverged between float32 and float64`);
  });
});

test('GPFQ error is below round-to-nearest error on typical random data (fixed seeds)', () => {
  const rtnError = (layer: Layer, alphabet: Alphabet) =>
    scope(() => {
      const q = dequantize(quantizeToCodes(layer.weight, alphabet), alphabet).to('float64');
      return layer.x.matmul(layer.weight.to('float64').t()).sub(layer.xTilde.matmul(q.t())).norm().item();
    });
  const ratios = { random: [] as number[], relu: [] as number[] };
  for (const seed of [71, 72, 73]) {
    // X~ close to X, as after quantizing earlier layers finely: quantization error dominates the mismatch.
    const layers = { random: randomLayer(seed, 500, 48, 16, 0.02), relu: reluLayer(seed, 500, 48, 16, [0, 9], [20]) };
    for (const kind of ['random', 'relu'] as const) {
      const layer = layers[kind];
      for (const bits of [2, 3, 4]) {
        scope(() => {
          const alphabet = alphabetFor(layer.weight, { bits, convention: 'reference', granularity: 'layer' });
          const gpfq = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet).error!;
          const rtn = rtnError(layer, alphabet);
          assert.ok(gpfq < rtn, `${kind} seed ${seed}, ${bits} bits: GPFQ ${gpfq} >= RTN ${rtn}`);
          ratios[kind].push(gpfq / rtn);
        });
      }
    }
  }
  // Error feedback pays off through correlations between inputs: little on i.i.d. Gaussian columns
  // (nearly orthogonal), clearly on correlated ReLU features.
  const mean = (v: number[]) => v.reduce((s, r) => s + r, 0) / v.length;
  assert.ok(mean(ratios.relu) < 0.9, `mean GPFQ/RTN error ratio on ReLU layers ${mean(ratios.relu)}`);
});

test('shape and dtype mismatches are LowbitErrors that name the problem', () => {
  scope(() => {
    const layer = randomLayer(81, 20, 6, 3);
    const alphabet = alphabetFor(layer.weight, { bits: 4, convention: 'reference', granularity: 'layer' });
    assert.throws(() => gpfqReference(layer.weight, layer.x, layer.xTilde.narrow(0, 0, 10), alphabet), /same calibration samples/);
    assert.throws(() => gpfqReference(layer.weight, layer.x.narrow(1, 0, 5), layer.xTilde, alphabet), LowbitError);
    assert.throws(() => gpfqReference(layer.weight, layer.x.to('float32'), layer.xTilde, alphabet), /float32 or both float64/);
    const channel = alphabetFor(zeros([4, 6]).add(1), { bits: 4, granularity: 'channel', convention: 'reference' });
    assert.throws(() => gpfqReference(layer.weight, layer.x, layer.xTilde, channel), /per-channel steps/);
  });
});

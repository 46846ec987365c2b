import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gumbelTemperature, sampleTwo } from '../../src/nas/index.ts';
import { Generator, fromArray, scope } from '../../src/tensor/index.ts';

const LOGITS = [1.2, -0.3, 0.5, 0.0, -1.0];
const softmax = (a: number[]) => {
  const e = a.map((x) => Math.exp(x - Math.max(...a)));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((x) => x / s);
};

/** Frequencies of the first index and of each index being in the pair over n draws. */
function draw(tau: number, n: number, seed: number) {
  const k = LOGITS.length;
  const first = new Array<number>(k).fill(0);
  const inPair = new Array<number>(k).fill(0);
  const g = new Generator(seed);
  const logits = fromArray(Float32Array.from(LOGITS));
  for (let t = 0; t < n; t++) {
    scope(() => {
      const { indices } = sampleTwo(logits, tau, g);
      assert.notEqual(indices[0], indices[1]);
      first[indices[0]]++;
      inPair[indices[0]]++;
      inPair[indices[1]]++;
    });
  }
  return { first: first.map((c) => c / n), inPair: inPair.map((c) => c / n) };
}

// Binomial standard error; 4.5 sigma keeps a false failure below 1e-5 per check.
const within = (got: number, want: number, n: number, what: string) => {
  const tol = 4.5 * Math.sqrt(Math.max(want * (1 - want), 1e-4) / n);
  assert.ok(Math.abs(got - want) <= tol, `${what}: ${got.toFixed(4)} vs ${want.toFixed(4)} (tol ${tol.toFixed(4)})`);
};

test('at a low temperature the pair is a draw without replacement from softmax(alpha)', () => {
  // tau -> 0: the first index is argmax(log p + g), which is distributed as p (Gumbel-max), and the
  // second is the runner-up, i.e. a second draw without replacement.
  const n = 4000;
  const p = softmax(LOGITS);
  const { first, inPair } = draw(1e-3, n, 11);
  p.forEach((pi, i) => {
    within(first[i], pi, n, `first index ${i}`);
    const pairProb = pi + p.reduce((s, pj, j) => (j === i ? s : s + (pj * pi) / (1 - pj)), 0);
    within(inPair[i], pairProb, n, `in pair ${i}`);
  });
});

test('at a high temperature the pair is nearly uniform', () => {
  const n = 3000;
  const { inPair } = draw(1e3, n, 12);
  inPair.forEach((f, i) => within(f, 2 / LOGITS.length, n, `in pair ${i}`));
});

test('pair weights are softmax of the perturbed logits and carry the gradient to alpha', () => {
  scope(() => {
    const logits = fromArray(Float32Array.from(LOGITS)).requiresGrad_(true);
    const { indices, weights } = sampleTwo(logits, 0.7, new Generator(5));
    const w = weights.toArray();
    assert.ok(Math.abs(w[0] + w[1] - 1) < 1e-6);
    // d w_a / d alpha: nonzero on the pair (and, through log_softmax's normalizer, zero sum overall).
    weights.select(0, 0).backward();
    const grad = logits.grad!.toArray();
    assert.ok(Math.abs(grad[indices[0]]) > 1e-4 && Math.abs(grad[indices[1]]) > 1e-4, `grad ${grad}`);
    // log_softmax's shift cancels inside the pair's softmax: only the two sampled logits move w.
    grad.forEach((v, i) => { if (!indices.includes(i)) assert.ok(Math.abs(v) < 1e-6, `grad[${i}] = ${v}`); });
    // w_a = sigmoid((z_a - z_b)): dw_a/dalpha_a = w_a w_b / tau.
    assert.ok(Math.abs(grad[indices[0]] - (w[0] * w[1]) / 0.7) < 1e-5);
  });
});

test('the temperature follows a cosine from tauMax to tauMin', () => {
  assert.equal(gumbelTemperature(0, 11, 5, 0.1), 5);
  assert.ok(Math.abs(gumbelTemperature(10, 11, 5, 0.1) - 0.1) < 1e-12);
  assert.ok(Math.abs(gumbelTemperature(5, 11, 5, 0.1) - 2.55) < 1e-12);
});

// Shared by the GPFQ tests: seeded layers (plain random, and ReLU inputs with dead columns), a naive
// one-neuron-at-a-time GPFQ in plain TypeScript, and a comparison of two code matrices that tells
// rounding ties from real disagreements.
import { Generator, eye, fromArray, randn, scope, type Tensor } from '../../src/tensor/index.ts';
import type { Alphabet } from '../../src/ptq/index.ts';

export interface Layer {
  /** m x N0, float64: input in the float network. */
  x: Tensor;
  /** m x N0, float64: input in the partially quantized network (not equal to x). */
  xTilde: Tensor;
  /** N1 x N0, float32. */
  weight: Tensor;
}

/** Gaussian inputs, X~ = X + noise (relative size `noise`), W ~ N(0, 1/N0). */
export function randomLayer(seed: number, m: number, n0: number, n1: number, noise = 0.1): Layer {
  const g = new Generator(seed);
  return scope(() => {
    const x = randn([m, n0], { dtype: 'float64', generator: g });
    const xTilde = x.add(randn([m, n0], { dtype: 'float64', generator: g }).mul(noise));
    const weight = randn([n1, n0], { generator: g }).div(Math.sqrt(n0));
    return { x, xTilde, weight };
  });
}

/**
 * Real-ish structure: X = relu(Z L + bias) with correlated pre-activations, X~ = relu(same + noise) as if
 * earlier layers were quantized; the columns in `dead` are 0 in both, those in `deadTilde` only in X~.
 */
export function reluLayer(seed: number, m: number, n0: number, n1: number, dead: number[], deadTilde: number[]): Layer {
  const g = new Generator(seed);
  return scope(() => {
    const z = randn([m, n0], { dtype: 'float64', generator: g });
    const mix = randn([n0, n0], { dtype: 'float64', generator: g }).div(Math.sqrt(n0)).add(eye(n0, n0, { dtype: 'float64' }));
    const bias = randn([1, n0], { dtype: 'float64', generator: g }).mul(0.5);
    const pre = z.matmul(mix).add(bias);
    const noisy = pre.add(randn([m, n0], { dtype: 'float64', generator: g }).mul(0.15));
    const x = zeroColumns(pre.relu(), dead);
    const xTilde = zeroColumns(noisy.relu(), [...dead, ...deadTilde]);
    const weight = randn([n1, n0], { generator: g }).div(Math.sqrt(n0));
    return { x, xTilde, weight };
  });
}

function zeroColumns(t: Tensor, cols: number[]): Tensor {
  const [m, n] = t.shape;
  const a = t.toFloat64Array();
  for (const c of cols) for (let r = 0; r < m; r++) a[r * n + c] = 0;
  return fromArray(a, [m, n]);
}

/**
 * GPFQ written as plainly as possible: one neuron at a time, scalar loops over the samples, float64.
 * Independent of the tensor code: u, inner products and Q are all spelled out here.
 */
export function naiveGpfq(
  x: Float64Array,
  xTilde: Float64Array,
  w: Float64Array,
  m: number,
  n0: number,
  n1: number,
  alphabet: Alphabet,
): { codes: Int32Array; residual: Float64Array } {
  const codes = new Int32Array(n1 * n0);
  const residual = new Float64Array(n1 * m);
  for (let i = 0; i < n1; i++) {
    const step = alphabet.steps.length === 1 ? alphabet.steps[0] : alphabet.steps[i];
    const u = new Float64Array(m);
    for (let t = 0; t < n0; t++) {
      const wt = w[i * n0 + t];
      for (let r = 0; r < m; r++) u[r] += wt * x[r * n0 + t];
      let norm = 0;
      let dot = 0;
      for (let r = 0; r < m; r++) {
        const v = xTilde[r * n0 + t];
        norm += v * v;
        dot += v * u[r];
      }
      if (norm === 0) continue;
      let k = Math.floor(dot / norm / step + 0.5);
      k = Math.max(alphabet.kMin, Math.min(alphabet.kMax, k));
      codes[i * n0 + t] = k;
      for (let r = 0; r < m; r++) u[r] -= k * step * xTilde[r * n0 + t];
    }
    residual.set(u, i * m);
  }
  return { codes, residual };
}

export interface CodeComparison {
  /** Neurons whose code rows differ anywhere. */
  divergent: number;
  /** Of those, how many first differ where the argument of Q was within tol of a rounding boundary. */
  ties: number;
  /** Details of divergences that are not ties (should be empty). */
  nonTies: { neuron: number; column: number; zOverStep: number }[];
}

/**
 * Compares two code matrices neuron by neuron. Once a neuron's path differs its later codes may differ
 * too, so only the first differing column counts: there the argument of Q, recomputed in float64 from
 * the agreed prefix, must sit on a rounding boundary (k + 1/2) for the difference to be a tie.
 */
export function compareCodes(
  codesA: Int32Array,
  codesB: Int32Array,
  layer: { a: Float64Array; b: Float64Array; w: Float64Array; n0: number; n1: number },
  alphabet: Alphabet,
  tol = 1e-7,
): CodeComparison {
  const { a, b, w, n0, n1 } = layer;
  const out: CodeComparison = { divergent: 0, ties: 0, nonTies: [] };
  for (let i = 0; i < n1; i++) {
    let t = 0;
    while (t < n0 && codesA[i * n0 + t] === codesB[i * n0 + t]) t++;
    if (t === n0) continue;
    out.divergent++;
    const step = alphabet.steps.length === 1 ? alphabet.steps[0] : alphabet.steps[i];
    let z = 0;
    for (let j = 0; j <= t; j++) z += a[t * n0 + j] * w[i * n0 + j];
    for (let j = 0; j < t; j++) z -= b[t * n0 + j] * codesA[i * n0 + j] * step;
    const zOverStep = z / b[t * n0 + t] / step;
    const frac = zOverStep - Math.floor(zOverStep);
    if (Math.abs(frac - 0.5) <= tol * Math.max(1, Math.abs(zOverStep))) out.ties++;
    else out.nonTies.push({ neuron: i, column: t, zOverStep });
  }
  return out;
}

/** Gram matrices A = X~'X, B = X~'X~ in float64, as flat row-major arrays (for compareCodes). */
export function gramArrays(x: Tensor, xTilde: Tensor): { a: Float64Array; b: Float64Array } {
  return scope(() => {
    const xt = xTilde.to('float64').t();
    return { a: xt.matmul(x.to('float64')).toFloat64Array(), b: xt.matmul(xTilde.to('float64')).toFloat64Array() };
  });
}

/**
 * Naive references for the quantizer tests: plain JS numbers (float64), one element at a time,
 * written from the papers' formulas rather than from src/quant.
 */
import { fromArray, type Tensor } from '../../src/tensor/index.ts';

/** Round half to even (what torch.round and ONNX QuantizeLinear do). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export const clip = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

/** Uniform grid: round(clip(x / s, qMin, qMax)) * s. */
export function uniformRef(x: number[], s: number, qMin: number, qMax: number): number[] {
  return x.map((v) => roundHalfEven(clip(v / s, qMin, qMax)) * s);
}

/** Linear-interpolation quantile of a list (torch.quantile's default). */
export function quantileRef(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = p * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** MSE-optimal clip range by the same grid r_k = max * k / G (first minimum wins). */
export function mseRangeRef(x: number[], signed: boolean, qMax: number, G: number): number {
  const mag = x.map((v) => (signed ? Math.abs(v) : Math.max(v, 0)));
  const max = Math.max(...mag);
  let best = max;
  let bestErr = Infinity;
  for (let k = 1; k <= G; k++) {
    const r = max * (k / G);
    const s = r / qMax;
    const q = uniformRef(x, s, signed ? -qMax : 0, qMax);
    const err = q.reduce((acc, v, i) => acc + (v - x[i]) ** 2, 0);
    if (err < bestErr) {
      bestErr = err;
      best = r;
    }
  }
  return best;
}

/** PACT: round(clip(x, 0, alpha) (2^k - 1) / alpha) alpha / (2^k - 1). */
export function pactRef(x: number[], alpha: number, bits: number): number[] {
  const n = 2 ** bits - 1;
  return x.map((v) => (roundHalfEven((clip(v, 0, alpha) * n) / alpha) * alpha) / n);
}

/** LSQ: round(clip(v / s, -Q_N, Q_P)) s. */
export function lsqRef(x: number[], s: number, qN: number, qP: number): number[] {
  return x.map((v) => roundHalfEven(clip(v / s, -qN, qP)) * s);
}

export const SAWB_TABLE: Record<number, [number, number]> = {
  2: [3.12, -2.064],
  3: [7.509, -6.892],
  4: [12.68, -12.8],
  5: [17.74, -18.64],
  8: [31.76, -35.04],
};

/** SAWB's alpha = c1 sqrt(E[w^2]) + c2 E[|w|]. */
export function sawbAlphaRef(w: number[], bits: number): number {
  const [c1, c2] = SAWB_TABLE[bits];
  const ms = w.reduce((a, v) => a + v * v, 0) / w.length;
  const ma = w.reduce((a, v) => a + Math.abs(v), 0) / w.length;
  return c1 * Math.sqrt(ms) + c2 * ma;
}

/** SAWB as in the reference code: w_n = clip(w/alpha,-1,1)/2+1/2, q = round(n w_n)/n, (2q-1) alpha. */
export function sawbRef(w: number[], bits: number): number[] {
  const alpha = sawbAlphaRef(w, bits);
  const n = 2 ** bits - 1;
  return w.map((v) => {
    const wn = clip(v / alpha, -1, 1) * 0.5 + 0.5;
    const q = roundHalfEven(n * wn) / n;
    return (2 * q - 1) * alpha;
  });
}

/** DoReFa weights: 2 q_k(tanh(w) / (2 max|tanh w|) + 1/2) - 1. */
export function dorefaWeightRef(w: number[], bits: number): number[] {
  const n = 2 ** bits - 1;
  const t = w.map(Math.tanh);
  const m = Math.max(...t.map(Math.abs));
  return t.map((v) => (2 * roundHalfEven(n * (v / (2 * m) + 0.5))) / n - 1);
}

/** DoReFa activations: q_k(clip(a, 0, 1)). */
export function dorefaActRef(a: number[], bits: number): number[] {
  const n = 2 ** bits - 1;
  return a.map((v) => roundHalfEven(n * clip(v, 0, 1)) / n);
}

/** A float64 tensor of the given values and shape. */
export function f64(values: number[], shape?: number[]): Tensor {
  return fromArray(Float64Array.from(values), shape ?? [values.length]);
}

/** Deterministic pseudo-normal values (Box-Muller on a small LCG), independent of libtorch's RNG. */
export function normals(count: number, seed = 1, std = 1): number[] {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const out: number[] = [];
  while (out.length < count) {
    const u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    out.push(r * Math.cos(2 * Math.PI * v) * std, r * Math.sin(2 * Math.PI * v) * std);
  }
  return out.slice(0, count);
}

export function maxAbsDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

export const distinct = (values: number[]): number => new Set(values).size;

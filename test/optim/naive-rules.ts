/**
 * Naive float64 references of the PyTorch update rules, written from torch.optim's documented
 * algorithms on plain arrays, element by element. The optimizer tests compare against these.
 */
import { fromArray, scope, type Tensor } from '../../src/tensor/index.ts';

export interface NaiveSgdHyper {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export interface NaiveSgdState {
  buf?: number[];
}

/** torch.optim.SGD, one step on one parameter (p updated in place). */
export function naiveSgdStep(p: number[], grad: readonly number[], h: NaiveSgdHyper, state: NaiveSgdState): void {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = h;
  for (let i = 0; i < p.length; i++) {
    let d = grad[i] + weightDecay * p[i];
    if (momentum !== 0) {
      state.buf ??= new Array<number>(p.length).fill(NaN);
      const b = Number.isNaN(state.buf[i]) ? d : momentum * state.buf[i] + (1 - dampening) * d;
      state.buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}

export interface NaiveAdamHyper {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  /** AdamW: p *= 1 - lr * weightDecay instead of adding weightDecay * p to the gradient. */
  decoupled?: boolean;
}

export interface NaiveAdamState {
  step: number;
  m: number[];
  v: number[];
  vMax: number[];
}

export function naiveAdamState(n: number): NaiveAdamState {
  return { step: 0, m: new Array(n).fill(0), v: new Array(n).fill(0), vMax: new Array(n).fill(0) };
}

/** torch.optim.Adam / AdamW, one step on one parameter (p updated in place). */
export function naiveAdamStep(p: number[], grad: readonly number[], h: NaiveAdamHyper, s: NaiveAdamState): void {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, amsgrad = false, decoupled = false } = h;
  s.step += 1;
  const t = s.step;
  for (let i = 0; i < p.length; i++) {
    let g = grad[i];
    if (decoupled) p[i] *= 1 - lr * weightDecay;
    else g += weightDecay * p[i];
    s.m[i] = beta1 * s.m[i] + (1 - beta1) * g;
    s.v[i] = beta2 * s.v[i] + (1 - beta2) * g * g;
    s.vMax[i] = Math.max(s.vMax[i], s.v[i]);
    const mHat = s.m[i] / (1 - beta1 ** t);
    const vHat = (amsgrad ? s.vMax[i] : s.v[i]) / (1 - beta2 ** t);
    p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}

/** Largest |a - b| over two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * A small smooth test objective per parameter, f(p) = sum(a p^2 / 2 + b p + c p^3 / 3), whose gradient
 * a p + b + c p^2 changes from step to step (so momentum and moment estimates matter).
 */
export interface Objective {
  a: number[];
  b: number[];
  c: number[];
}

export function objectiveGrad(p: readonly number[], o: Objective): number[] {
  return p.map((x, i) => o.a[i] * x + o.b[i] + o.c[i] * x * x);
}

/** Deterministic pseudo-random numbers in [-1, 1) (a linear congruential generator), for test data. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

export function randomObjective(n: number, seed: number): Objective {
  const r = lcg(seed);
  return {
    a: Array.from({ length: n }, () => 1 + r()),
    b: Array.from({ length: n }, () => r()),
    c: Array.from({ length: n }, () => 0.3 * r()),
  };
}

/** Accumulates d/dp of the objective into p.grad through lowbit's autograd (p is float64). */
export function backwardObjective(p: Tensor, o: Objective): void {
  scope(() => {
    const t = (v: number[]) => fromArray(Float64Array.from(v), p.shape);
    const loss = p.pow(2).mul(t(o.a)).mul(0.5).add(p.mul(t(o.b))).add(p.pow(3).mul(t(o.c)).div(3)).sum();
    loss.backward();
  });
}

/** A float64 leaf parameter holding the values. */
export function param(values: number[], shape: number[] = [values.length]): Tensor {
  return fromArray(Float64Array.from(values), shape, { requiresGrad: true });
}

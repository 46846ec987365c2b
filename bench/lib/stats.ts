/** Order statistics of per-step timings. */

export interface Summary {
  medianMs: number;
  /** The median of each interleaved block, in run order: drift or a disturbed block shows here. */
  blockMediansMs?: number[];
  p25Ms: number;
  p75Ms: number;
  minMs: number;
  reps: number;
}

/** Linear-interpolated quantile of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(ms: readonly number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  return { medianMs: quantile(s, 0.5), p25Ms: quantile(s, 0.25), p75Ms: quantile(s, 0.75), minMs: s[0], reps: s.length };
}

export const median = (xs: readonly number[]): number => summarize(xs).medianMs;

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

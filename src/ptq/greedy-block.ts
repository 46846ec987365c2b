/**
 * GPFQ's sequential step over one block of columns, shared by the solvers that move the rest of the
 * work into matrix products (gpfq-fast.ts, gpfq-blocked.ts).
 *
 * On entry r[i, t] = <X~_t, u_{b-1} + sum_{b<=j<=t} w_j X_j> for neuron i and the block's columns t
 * (u_{b-1}: the neuron's residual after the columns before the block). Column by column it sets
 *   q_t = Q(r[i, t] / ||X~_t||^2)            (arXiv 2201.11113, the algorithm of §1; docs/gpfq.md, "Solvers")
 *   r[i, s] -= q_t <X~_s, X~_t>   for the block's later columns s
 * which subtracts q_t X~_t from every later inner product, as u_t = u_{t-1} + w_t X_t - q_t X~_t does.
 * Dead inputs (||X~_t|| = 0) get q_t = 0, as the reference code's norm > 0 test.
 * Plain loops over Float64Arrays: N1 x len^2 / 2 multiply-adds per block with no allocation, faster than a
 * dozen tensor ops per column, and the quantizer rule stays in TS.
 */
import { quantizeCode, type Alphabet } from './alphabet.ts';

export interface GreedyBlock {
  /** N1 x len, row-major: the inner products above; overwritten. */
  r: Float64Array;
  /** len x len, row-major, symmetric: <X~_s, X~_t> for the block's columns. */
  h: Float64Array;
  /** First column of the block in the layer and the layer's N0, to place the codes. */
  start: number;
  len: number;
  n0: number;
}

/**
 * Runs the greedy step over the block for every neuron. Writes the integer codes into `codes` (N1 x N0,
 * row-major) and returns the block's dequantized weights q (N1 x len) for the caller's update of the
 * later columns.
 */
export function greedyBlock(block: GreedyBlock, alphabet: Alphabet, codes: Int32Array): Float64Array {
  const { r, h, start, len, n0 } = block;
  const { kMin, kMax, steps } = alphabet;
  const n1 = r.length / len;
  const q = new Float64Array(n1 * len);
  for (let i = 0; i < n1; i++) {
    const step = steps.length === 1 ? steps[0] : steps[i];
    const row = i * len;
    for (let t = 0; t < len; t++) {
      const norm = h[t * len + t];
      if (!(norm > 0)) continue; // dead input: q_t = 0
      const k = quantizeCode(r[row + t] / norm / step, kMin, kMax);
      if (k === 0) continue;
      codes[i * n0 + start + t] = k;
      const qt = k * step;
      q[row + t] = qt;
      const hRow = t * len;
      for (let s = t + 1; s < len; s++) r[row + s] -= qt * h[hRow + s];
    }
  }
  return q;
}

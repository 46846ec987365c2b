/**
 * GPFQ from the Gram matrices A = X~'X and B = X~'X~ alone: the same greedy path, code for code, as
 * the column loop (gpfq-reference.ts), with the work moved into matrix products.
 *
 * The loop touches the data only through inner products. With u_{t-1} = sum_{j<t} (w_j X_j - q_j X~_j):
 *   <X~_t, u_{t-1} + w_t X_t> = sum_{j<=t} A[t,j] w_j - sum_{j<t} B[t,j] q_j,    ||X~_t||^2 = B[t,t]
 * so GPFQ's step q_t = Q(<X~_t, u_{t-1} + w_t X_t> / ||X~_t||^2) (arXiv 2201.11113, the algorithm of §1;
 * docs/gpfq.md, "Solvers") becomes
 *   R = W tril(A)'                    R[:, t] = sum_{j<=t} A[t,j] w_j, one N1 x N0 x N0 product
 *   q_t = Q(R[:, t] / B[t,t]),  then R[:, s] -= q_t B[s,t] for every later s
 * a forward substitution against B. Blocked with lazy updates (as GPTQ does for its own recursion):
 * inside a block of columns the rank-1 updates touch only the block; the block's codes then update all
 * later columns with one product. Dead inputs (B[t,t] = 0) get q_t = 0, as the reference's norm > 0 test.
 *
 * Cost O(m N0^2) for the Gram sums (GEMMs, batch by batch) + O(N0^2 N1) here; memory O(N0^2 + N0 N1).
 * Per (sample, input) the column loop makes ~3 N1 memory-bound passes, the Gram sums ~0.6 N0 x 2
 * multiply-adds at GEMM speed, so the speed-up grows with N1 / N0: bench/gpfq.ts measured 1.1x (float64
 * products) and 2.7x (float32) at N0 = 576, N1 = 64, and 10.2x / 22.7x at N1 = N0 = 576. The sure
 * gain is memory: it never holds the m x N0 inputs.
 * The sequential part is greedy-block.ts.
 */
import { LowbitError } from '../errors.ts';
import { fromArray, scope, type Tensor } from '../tensor/index.ts';
import { dequantize, scaleTensor, stepColumn, type Alphabet } from './alphabet.ts';
import { greedyBlock } from './greedy-block.ts';
import type { GramMatrices } from './gram-accumulator.ts';
import type { GpfqResult } from './gpfq-result.ts';

export interface GpfqFastOptions {
  /** Columns per block of the forward substitution. Default 64. */
  blockSize?: number;
}

/** Quantizes W (N1 x N0) from the Gram matrices of its calibration inputs (see GramAccumulator). */
export function gpfqFast(weight: Tensor, gram: GramMatrices, alphabet: Alphabet, opts: GpfqFastOptions = {}): GpfqResult {
  const blockSize = opts.blockSize ?? 64;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new LowbitError(`GPFQ: blockSize must be a positive integer, got ${blockSize}`);
  if (weight.ndim !== 2) throw new LowbitError(`GPFQ: weight must be 2-D (N1 x N0), got shape [${weight.shape.join(', ')}]`);
  const [n1, n0] = weight.shape;
  for (const [name, t] of [['A', gram.a], ['B', gram.b], ['C', gram.c]] as const) {
    if (t && (t.ndim !== 2 || t.shape[0] !== n0 || t.shape[1] !== n0)) {
      throw new LowbitError(`GPFQ: Gram matrix ${name} must be N0 x N0 = ${n0} x ${n0} to match the weight, got [${t.shape.join(', ')}]`);
    }
  }
  if (alphabet.steps.length !== 1 && alphabet.steps.length !== n1) {
    throw new LowbitError(`GPFQ: the alphabet has ${alphabet.steps.length} per-channel steps for ${n1} output neurons; build it from this weight`);
  }
  return scope(() => {
    const W = weight.to('float64').contiguous();
    const A = gram.a.to('float64');
    const B = gram.b.to('float64');
    const R = W.matmul(A.tril().t()).contiguous(); // R[:, t] = sum_{j<=t} A[t,j] w_j
    const codes = new Int32Array(n1 * n0);

    for (let b = 0; b < n0; b += blockSize) {
      const len = Math.min(blockSize, n0 - b);
      const rest = n0 - b - len;
      scope(() => {
        const r = R.narrow(1, b, len).contiguous().toFloat64Array(); // N1 x len
        const h = B.narrow(0, b, len).narrow(1, b, len).contiguous().toFloat64Array();
        const qb = greedyBlock({ r, h, start: b, len, n0 }, alphabet, codes);
        // Lazy update of every later column at once: R[:, e:] -= Q_block B[e:, block]'
        if (rest > 0) {
          R.narrow(1, b + len, rest).addmm_(fromArray(qb, [n1, len]), B.narrow(0, b + len, rest).narrow(1, b, len).t(), 1, -1);
        }
      });
    }

    const codeTensor = fromArray(codes, [n1, n0]);
    const result: GpfqResult = {
      codes: codeTensor,
      scales: scaleTensor(alphabet),
      weight: dequantize(codeTensor, alphabet),
      alphabet,
    };
    if (gram.c) Object.assign(result, layerError(W, codeTensor.to('float64').mul(stepColumn(alphabet)), A, B, gram.c.to('float64')));
    return result;
  });
}

/**
 * ||X W' - X~ Q'||_F from Gram matrices: per neuron ||X w - X~ q||^2 = w'Cw - 2 q'Aw + q'Bq, and
 * ||X W'||_F^2 = sum_i w_i' C w_i. The difference of float64 sums keeps ~12 digits for errors down to a
 * per cent or so of the output norm.
 */
function layerError(W: Tensor, Q: Tensor, A: Tensor, B: Tensor, C: Tensor): { error: number; relativeError: number } {
  const wcw = W.matmul(C).mul(W).sum().item();
  const qaw = Q.matmul(A).mul(W).sum().item();
  const qbq = Q.matmul(B).mul(Q).sum().item();
  const error = Math.sqrt(Math.max(wcw - 2 * qaw + qbq, 0));
  const reference = Math.sqrt(Math.max(wcw, 0));
  return { error, relativeError: reference > 0 ? error / reference : 0 };
}

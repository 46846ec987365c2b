/**
 * GPFQ's column loop with its residual updates deferred to matrix products: the same greedy path as
 * gpfq-reference.ts, at O(m N0 N1) work like it, but compute-bound instead of memory-bound.
 *
 * The loop needs, at column t, only <X~_t, u_{t-1} + w_t X_t> (docs/gpfq.md, "Solvers"). For a block of
 * columns b..e-1 and residuals U = u_{b-1} (one column per neuron, m x N1) that splits into
 *   <X~_t, u_{b-1}>                                  P = X~_blk' U          (len x N1)
 *   + sum_{b<=j<=t} <X~_t, X_j> w_j                  W_blk tril(X~_blk' X_blk)'
 *   - sum_{b<=j<t} <X~_t, X~_j> q_j                  the block's forward substitution (greedy-block.ts)
 * with P and both block Gram matrices from one GEMM, and after the block U += X_blk W_blk' - X~_blk Q_blk'
 * (a second GEMM). Per block: 3 m len N1 + 2 m len^2
 * multiply-adds, so O(m N0 (3 N1 + 2 len)) in all: fewer than the Gram solver's ~1.3 m N0^2 when
 * N1 < ~0.4 N0 (every 3x3 conv of ResNet-20 has N1 = N0 / 9), and every one of them in a GEMM, where the
 * column loop streams U three times per column. Memory: X, X~ and U whole, O(m (N0 + N1)), as the loop.
 * Measured on 2 cores (bench/gpfq.ts, m = 50,000, N0 = 576, N1 = 64): 2.1x the loop's speed, but the
 * Gram solver with float32 products reached 2.7x: OpenBLAS threads the 32 x m x (N1 + 64) products poorly.
 */
import { LowbitError } from '../errors.ts';
import { cat, fromArray, scope, zeros, type Tensor } from '../tensor/index.ts';
import { dequantize, scaleTensor, type Alphabet } from './alphabet.ts';
import { greedyBlock } from './greedy-block.ts';
import { checkLayerInputs } from './gpfq-reference.ts';
import type { GpfqResult } from './gpfq-result.ts';

export interface GpfqBlockedOptions {
  /** Columns per block. Default 32: larger blocks add 2 m len^2 work per block, smaller ones make thin GEMMs. */
  blockSize?: number;
}

/**
 * Quantizes W (N1 x N0) given X and X~ (m x N0, float32 or float64; the products run in that dtype and
 * the block's sequential step in float64).
 */
export function gpfqBlocked(weight: Tensor, x: Tensor, xTilde: Tensor, alphabet: Alphabet, opts: GpfqBlockedOptions = {}): GpfqResult {
  const blockSize = opts.blockSize ?? 32;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new LowbitError(`GPFQ: blockSize must be a positive integer, got ${blockSize}`);
  const { n1, n0, m, dtype } = checkLayerInputs(weight, x, xTilde, alphabet);
  return scope(() => {
    const W = weight.to(dtype).contiguous();
    // V = [U | X_blk | X~_blk], m x (N1 + 2 len): U (column i = X w_i - X~ q_i over the columns done)
    // stays, the block's inputs are copied in, so each block is two GEMMs: the inner products
    // X~_blk' V = [P | X~'X | X~'X~] and the update U += [X_blk | X~_blk] [W_blk | -Q_blk]'.
    const V = zeros([m, n1 + 2 * blockSize], { dtype });
    const U = V.narrow(1, 0, n1);
    const codes = new Int32Array(n1 * n0);
    for (let b = 0; b < n0; b += blockSize) {
      const len = Math.min(blockSize, n0 - b);
      scope(() => {
        const inputs = V.narrow(1, n1, 2 * len);
        inputs.narrow(1, 0, len).copy_(x.narrow(1, b, len));
        const Xtb = inputs.narrow(1, len, len).copy_(xTilde.narrow(1, b, len));
        const G = Xtb.t().matmul(V.narrow(1, 0, n1 + 2 * len)).to('float64'); // len x (N1 + 2 len)
        const Wb = W.narrow(1, b, len).to('float64');
        const r = G.narrow(1, 0, n1).t().add(Wb.matmul(G.narrow(1, n1, len).tril().t())); // N1 x len
        const h = G.narrow(1, n1 + len, len).contiguous().toFloat64Array();
        const q = greedyBlock({ r: r.contiguous().toFloat64Array(), h, start: b, len, n0 }, alphabet, codes);
        const coeffs = cat([Wb, fromArray(q, [n1, len]).neg()], 1).to(dtype); // N1 x 2 len
        U.addmm_(inputs, coeffs.t());
      });
    }
    const codeTensor = fromArray(codes, [n1, n0]);
    // float64 norms: a float32 sum over m x N1 strided entries loses ~1e-3 of the error's value.
    const error = U.to('float64').norm().item();
    const reference = x.matmul(W.t()).to('float64').norm().item();
    return {
      codes: codeTensor,
      scales: scaleTensor(alphabet),
      weight: dequantize(codeTensor, alphabet),
      alphabet,
      error,
      relativeError: reference > 0 ? error / reference : 0,
    };
  });
}

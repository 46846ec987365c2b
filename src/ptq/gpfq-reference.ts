/**
 * GPFQ as published: the greedy path-following loop over the layer's N0 inputs, one column at a time,
 * vectorized over the N1 neurons as the reference code does (Zhang, Zhou & Saab, arXiv 2201.11113;
 * `StepAlgorithm._quantization` in YixuanSeanZhou/Quantized_Neural_Nets @ 911a24bb).
 *
 * For each neuron w (a row of W) with residual u_0 = 0, for t = 1..N0:
 *   q_t = Q( <X~_t, u_{t-1} + w_t X_t> / ||X~_t||^2 )      (q_t = 0 when ||X~_t|| = 0, as the code)
 *   u_t = u_{t-1} + w_t X_t - q_t X~_t
 * so u_N0 = X w - X~ q, the neuron's output error on the calibration data. All N1 residuals form U
 * (N1 x m). Cost O(m N0 N1), memory-bound (three passes over U per column), memory O(m (N0 + N1)).
 * It is the baseline the Gram solver (gpfq-fast.ts) must match code for code.
 */
import { LowbitError } from '../errors.ts';
import { scope, zeros, type Tensor } from '../tensor/index.ts';
import { quantizeToCodes, scaleTensor, stepColumn, dequantize, type Alphabet } from './alphabet.ts';
import type { GpfqResult } from './gpfq-result.ts';

export interface GpfqReferenceOptions {
  /** Return the final residuals U (N1 x m) in the result. */
  keepResidual?: boolean;
}

/**
 * Quantizes W (N1 x N0) given X (m x N0, the layer's input in the float network) and X~ (m x N0, its
 * input in the partially quantized network). Computes in X's dtype (float32 as the reference code, or
 * float64).
 */
export function gpfqReference(
  weight: Tensor,
  x: Tensor,
  xTilde: Tensor,
  alphabet: Alphabet,
  opts: GpfqReferenceOptions = {},
): GpfqResult {
  const { n1, n0, m, dtype } = checkLayerInputs(weight, x, xTilde, alphabet);
  return scope(() => {
    const W = weight.to(dtype).contiguous();
    // Row t of these is column t of X / X~, contiguous, so each step streams memory in order.
    const XT = x.t().contiguous();
    const XtT = xTilde.t().contiguous();
    const sqNorms = XtT.square().sum(1).toFloat64Array(); // ||X~_t||^2
    const perLayer = alphabet.steps.length === 1;
    const step: number | Tensor = perLayer ? alphabet.steps[0] : stepColumn(alphabet, dtype);
    const U = zeros([n1, m], { dtype });
    const codes = zeros([n1, n0], { dtype: 'int32' });

    for (let t = 0; t < n0; t++) {
      scope(() => {
        U.addcmul_(W.narrow(1, t, 1), XT.narrow(0, t, 1)); // u_{t-1} + w_t X_t
        if (!(sqNorms[t] > 0)) return; // dead input: q_t = 0, nothing to subtract
        const xtCol = XtT.narrow(0, t, 1);
        // q_t = Q(<X~_t, u_{t-1} + w_t X_t> / ||X~_t||^2)
        const z = U.matmul(xtCol.t()).div(sqNorms[t]);
        const k = quantizeToCodes(z, alphabet);
        codes.narrow(1, t, 1).copy_(k);
        U.addcmul_(k.to(dtype).mul(step), xtCol, -1); // u_t = u_{t-1} + w_t X_t - q_t X~_t
      });
    }

    const error = U.norm().item();
    const reference = x.matmul(W.t()).norm().item();
    // Tensors in the returned object survive this scope and move to the caller's.
    const result: GpfqResult = {
      codes,
      scales: scaleTensor(alphabet),
      weight: dequantize(codes, alphabet),
      alphabet,
      error,
      relativeError: reference > 0 ? error / reference : 0,
    };
    if (opts.keepResidual) result.residual = U;
    return result;
  });
}

/** Validates a layer's weight, inputs and alphabet for the solvers that read X and X~ whole. */
export function checkLayerInputs(weight: Tensor, x: Tensor, xTilde: Tensor, alphabet: Alphabet) {
  if (weight.ndim !== 2) throw new LowbitError(`GPFQ: weight must be 2-D (N1 x N0), got shape [${weight.shape.join(', ')}]`);
  const [n1, n0] = weight.shape;
  for (const [name, t] of [['X', x], ['X~', xTilde]] as const) {
    if (t.ndim !== 2 || t.shape[1] !== n0) {
      throw new LowbitError(`GPFQ: ${name} must be m x N0 = m x ${n0} (one row per calibration sample), got shape [${t.shape.join(', ')}]`);
    }
  }
  if (x.shape[0] !== xTilde.shape[0]) {
    throw new LowbitError(`GPFQ: X has ${x.shape[0]} rows but X~ has ${xTilde.shape[0]}; both must come from the same calibration samples`);
  }
  if (x.dtype !== xTilde.dtype || (x.dtype !== 'float32' && x.dtype !== 'float64')) {
    throw new LowbitError(`GPFQ: X and X~ must both be float32 or both float64, got ${x.dtype} and ${xTilde.dtype}`);
  }
  if (alphabet.steps.length !== 1 && alphabet.steps.length !== n1) {
    throw new LowbitError(`GPFQ: the alphabet has ${alphabet.steps.length} per-channel steps for ${n1} output neurons; build it from this weight`);
  }
  return { n1, n0, m: x.shape[0], dtype: x.dtype as 'float32' | 'float64' };
}

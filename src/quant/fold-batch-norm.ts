/**
 * BatchNorm folded into the conv before it, the one fold of lowbit: the float fold (foldBatchNorm, a new
 * Conv2d) and the exporter's fold into float weights or into a quantized conv's per-channel scales both
 * take their numbers from batchNormFold.
 *
 * In eval mode bn(conv(x)) = conv(x) * f + shift per output channel c, with
 *   f_c = gamma_c / sqrt(running_var_c + eps),   shift_c = (b_c - running_mean_c) f_c + beta_c
 * (gamma = 1 and beta = 0 without affine, b = 0 for a conv without bias). So W'_c = W_c f_c and b' = shift
 * for float weights; for quantized weights real = code * s, f goes into the scale, s'_c = s_c f_c, and
 * the integer codes are untouched (that needs every f_c > 0, which the caller checks: a scale stays
 * positive).
 */
import { LowbitError } from '../errors.ts';
import { Conv2d, type BatchNorm2d } from '../nn/index.ts';
import { fromArray, noGrad, scope, type Tensor } from '../tensor/index.ts';
import { QuantConv2d } from './quant-conv2d.ts';
import { scratchGenerator } from './scratch-generator.ts';

/** The per-output-channel factor f and shift of a BatchNorm fold, in float64. */
export interface BatchNormFold {
  /** f_c = gamma_c / sqrt(running_var_c + eps); may be <= 0 where gamma is. */
  scale: Float64Array;
  /** (b_c - running_mean_c) f_c + beta_c: the folded conv's bias. */
  shift: Float64Array;
}

const values = (t: Tensor): Float64Array => scope(() => noGrad(() => t.detach().to('float64').contiguous().toFloat64Array()));

/**
 * f and shift of folding `bn` into `conv` (any Conv2d, quantized ones included: their weight is not
 * read). Computed in float64 from the tensors' values, one channel at a time, as the ONNX exporter
 * always did.
 */
export function batchNormFold(conv: Conv2d, bn: BatchNorm2d): BatchNormFold {
  const C = bn.numFeatures;
  if (C !== conv.outChannels) {
    throw new LowbitError(`foldBatchNorm: BatchNorm2d(${C}) does not follow a conv with ${conv.outChannels} output channels`);
  }
  const gamma = bn.weight ? values(bn.weight) : new Float64Array(C).fill(1);
  const beta = bn.bias ? values(bn.bias) : new Float64Array(C);
  const mean = values(bn.runningMean);
  const variance = values(bn.runningVar);
  const bias = conv.bias ? values(conv.bias) : new Float64Array(C);
  const scale = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + bn.eps));
  return { scale, shift: Float64Array.from(scale, (f, c) => (bias[c] - mean[c]) * f + beta[c]) };
}

/**
 * A Conv2d equal to bn(conv(x)) in eval mode, for deployment: W' = W * f (per output channel), b' =
 * shift (see batchNormFold). Computed in float64 and stored in the conv's dtype. The inputs are not changed.
 *
 * Fold the float model, then quantize: a quantized conv's scales and learned steps belong to the
 * unfolded weight, so folding one is refused rather than silently dropping its quantizer.
 */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  if (conv instanceof QuantConv2d) {
    throw new LowbitError('foldBatchNorm: got a QuantConv2d; fold BatchNorm into the float model first, then run quantizeModel on the folded one');
  }
  const { scale, shift } = batchNormFold(conv, bn);
  const folded = new Conv2d(conv.inChannels, conv.outChannels, conv.kernelSize, {
    stride: conv.stride,
    padding: conv.padding,
    dilation: conv.dilation,
    groups: conv.groups,
    bias: true,
    generator: scratchGenerator(),
  });
  noGrad(() =>
    scope(() => {
      const C = conv.outChannels;
      folded.weight.copy_(conv.weight.to('float64').mul(fromArray(scale, [C, 1, 1, 1])));
      folded.bias!.copy_(fromArray(shift, [C]));
    }),
  );
  return folded.train(conv.training);
}

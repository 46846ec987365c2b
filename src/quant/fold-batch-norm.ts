import { LowbitError } from '../errors.ts';
import { Conv2d, type BatchNorm2d } from '../nn/index.ts';
import { noGrad, scope, zeros } from '../tensor/index.ts';
import { QuantConv2d } from './quant-conv2d.ts';
import { scratchGenerator } from './scratch-generator.ts';

/**
 * A Conv2d equal to bn(conv(x)) in eval mode, for deployment. With f = gamma / sqrt(running_var + eps):
 *   W' = W * f (per output channel),   b' = (b - running_mean) * f + beta.
 * Computed in float64 and stored in the conv's dtype. The inputs are not changed.
 *
 * Fold the float model, then quantize: a quantized conv's scales and learned steps belong to the
 * unfolded weight, so folding one is refused rather than silently dropping its quantizer.
 */
export function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d): Conv2d {
  if (conv instanceof QuantConv2d) {
    throw new LowbitError('foldBatchNorm: got a QuantConv2d; fold BatchNorm into the float model first, then run quantizeModel on the folded one');
  }
  if (bn.numFeatures !== conv.outChannels) {
    throw new LowbitError(`foldBatchNorm: BatchNorm2d(${bn.numFeatures}) does not follow a conv with ${conv.outChannels} output channels`);
  }
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
      const invStd = bn.runningVar.to('float64').add(bn.eps).rsqrt();
      const f = bn.weight ? bn.weight.to('float64').mul(invStd) : invStd;
      folded.weight.copy_(conv.weight.to('float64').mul(f.reshape([C, 1, 1, 1])));
      const b = conv.bias ? conv.bias.to('float64') : zeros([C], { dtype: 'float64' });
      const shifted = b.sub(bn.runningMean.to('float64')).mul(f);
      folded.bias!.copy_(bn.bias ? shifted.add(bn.bias.to('float64')) : shifted);
    }),
  );
  return folded.train(conv.training);
}

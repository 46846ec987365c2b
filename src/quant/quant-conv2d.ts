import { Conv2d, type Conv2dOptions } from '../nn/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { WithLayerQuantizers, type QuantLayerOptions } from './layer-quantizers.ts';
import type { Quantizer } from './quantizer.ts';
import { scratchGenerator } from './scratch-generator.ts';

/**
 * A Conv2d whose forward convolves the (quantized) input with the fake-quantized weight. The layer
 * math is Conv2d's own (through its `convolve` hook), and the float weight stays the trained
 * parameter under PyTorch's names 'weight' and 'bias'; the quantizers are children (layer-quantizers.ts),
 * so their learned parameters appear as 'weightQuantizer.step', 'inputQuantizer.alpha', ...
 */
export class QuantConv2d extends WithLayerQuantizers(Conv2d) {
  constructor(inChannels: number, outChannels: number, kernelSize: number | [number, number], opts: Conv2dOptions & QuantLayerOptions) {
    super(inChannels, outChannels, kernelSize, opts);
    this.attachQuantizers(opts);
  }

  /** A quantized layer that shares `conv`'s weight and bias tensors (training one trains the other). */
  static fromFloat(conv: Conv2d, weightQuantizer: Quantizer, inputQuantizer: Quantizer | null = null): QuantConv2d {
    const q = new QuantConv2d(conv.inChannels, conv.outChannels, conv.kernelSize, {
      stride: conv.stride,
      padding: conv.padding,
      dilation: conv.dilation,
      groups: conv.groups,
      bias: conv.bias !== null,
      generator: scratchGenerator(),
      weightQuantizer,
      inputQuantizer,
    });
    // Weight first, then bias, so the state dict keeps PyTorch's order.
    q.weight = q.replaceParameter('weight', conv.weight);
    if (conv.bias !== null) q.bias = q.replaceParameter('bias', conv.bias);
    return q.train(conv.training);
  }

  override forward(x: Tensor): Tensor {
    return this.convolve(this.quantizeInput(x), this.quantizeWeight());
  }
}

import { Linear, type LinearOptions } from '../nn/index.ts';
import { F, type Tensor } from '../tensor/index.ts';
import { WithLayerQuantizers, type QuantLayerOptions } from './layer-quantizers.ts';
import type { Quantizer } from './quantizer.ts';
import { scratchGenerator } from './scratch-generator.ts';

/**
 * A Linear layer computing y = Q_a(x) Q_w(W)^T + b: same math as Linear on the fake-quantized weight
 * and input, with 'weight' and 'bias' kept under PyTorch's names and the quantizers as children
 * 'weightQuantizer' and 'inputQuantizer' (see layer-quantizers.ts).
 */
export class QuantLinear extends WithLayerQuantizers(Linear) {
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions & QuantLayerOptions) {
    super(inFeatures, outFeatures, opts);
    this.attachQuantizers(opts);
  }

  /** A quantized layer that shares `linear`'s weight and bias tensors. */
  static fromFloat(linear: Linear, weightQuantizer: Quantizer, inputQuantizer: Quantizer | null = null): QuantLinear {
    const q = new QuantLinear(linear.inFeatures, linear.outFeatures, {
      bias: linear.bias !== null,
      generator: scratchGenerator(),
      weightQuantizer,
      inputQuantizer,
    });
    q.weight = q.replaceParameter('weight', linear.weight);
    if (linear.bias !== null) q.bias = q.replaceParameter('bias', linear.bias);
    return q.train(linear.training);
  }

  override forward(x: Tensor): Tensor {
    return F.linear(this.quantizeInput(x), this.quantizeWeight(), this.bias);
  }
}

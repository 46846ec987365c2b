import { Linear, type LinearOptions } from '../nn/index.ts';
import { F, type Tensor } from '../tensor/index.ts';
import type { QuantLayerOptions } from './quant-conv2d.ts';
import type { QuantizedTensor, Quantizer } from './quantizer.ts';
import { scratchGenerator } from './scratch-generator.ts';

/**
 * A Linear layer computing y = Q_a(x) Q_w(W)^T + b: same math as Linear on the fake-quantized weight
 * and input, with 'weight' and 'bias' kept under PyTorch's names and the quantizers as children
 * 'weightQuantizer' and 'inputQuantizer' (see QuantConv2d).
 */
export class QuantLinear extends Linear {
  readonly weightQuantizer: Quantizer;
  readonly inputQuantizer: Quantizer | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions & QuantLayerOptions) {
    super(inFeatures, outFeatures, opts);
    this.weightQuantizer = this.registerModule('weightQuantizer', opts.weightQuantizer);
    this.inputQuantizer = opts.inputQuantizer ? this.registerModule('inputQuantizer', opts.inputQuantizer) : null;
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
    const input = this.inputQuantizer ? this.inputQuantizer.call(x) : x;
    return F.linear(input, this.weightQuantizer.call(this.weight), this.bias);
  }

  /** The weight as integer codes and scale(s), for export. */
  quantizedWeight(): QuantizedTensor {
    return this.weightQuantizer.export(this.weight);
  }

  override describe(): string {
    return `Quant${super.describe()}`;
  }
}

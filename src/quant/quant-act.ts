import { Module } from '../nn/index.ts';
import type { Tensor } from '../tensor/index.ts';
import type { QuantizedTensor, Quantizer } from './quantizer.ts';

/**
 * An activation quantizer as a layer of its own, for placing a quantization point anywhere in a
 * Sequential or a custom forward (e.g. a PACT layer in place of a ReLU, whose clip to [0, alpha]
 * includes the ReLU). quantizeModel does not need it: it quantizes each converted layer's input
 * through that layer's 'inputQuantizer', which keeps the model's own forward() untouched.
 */
export class QuantAct extends Module {
  readonly quantizer: Quantizer;

  constructor(quantizer: Quantizer) {
    super();
    this.quantizer = this.registerModule('quantizer', quantizer);
  }

  forward(x: Tensor): Tensor {
    return this.quantizer.call(x);
  }

  export(x: Tensor): QuantizedTensor {
    return this.quantizer.export(x);
  }

  override describe(): string {
    return `QuantAct(${this.quantizer.describe()})`;
  }
}

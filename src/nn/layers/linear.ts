import { LowbitError } from '../../errors.ts';
import { empty, F, type Generator, type Tensor } from '../../tensor/index.ts';
import { defaultLayerInit_ } from '../init.ts';
import { Module } from '../module.ts';

export interface LinearOptions {
  bias?: boolean;
  generator?: Generator;
}

/** y = x W^T + b, with W of shape (outFeatures, inFeatures) as in PyTorch. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    if (!(Number.isInteger(inFeatures) && inFeatures > 0 && Number.isInteger(outFeatures) && outFeatures > 0)) {
      throw new LowbitError(`Linear(${inFeatures}, ${outFeatures}): feature counts must be positive integers`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures]));
    this.bias = opts.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', empty([outFeatures]));
    defaultLayerInit_(this.weight, this.bias, opts.generator);
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  override describe(): string {
    return `Linear(${this.inFeatures} -> ${this.outFeatures}${this.bias ? '' : ', no bias'})`;
  }
}

import { F, type Tensor } from '../../tensor/index.ts';
import { Module } from '../module.ts';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** min(max(x, 0), 6), the clipped ReLU of MobileNet and of the auxiliary-module reference code. */
export class ReLU6 extends Module {
  forward(x: Tensor): Tensor {
    return F.relu6(x);
  }
}

export class Hardtanh extends Module {
  constructor(
    readonly minVal = -1,
    readonly maxVal = 1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.hardtanh(x, this.minVal, this.maxVal);
  }
  override describe(): string {
    return `Hardtanh(${this.minVal}, ${this.maxVal})`;
  }
}

import { LowbitError } from '../../errors.ts';
import { F, type Tensor } from '../../tensor/index.ts';
import { Module } from '../module.ts';

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim (default: everything but the batch). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new LowbitError(`Dropout(${p}): p must be in [0, 1)`);
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
  override describe(): string {
    return `Dropout(${this.p})`;
  }
}

/** Children run in order; they are named '0', '1', ... as in PyTorch. */
export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) y = m.call(y);
    return y;
  }
  get length(): number {
    return this.children().length;
  }
  at(i: number): Module {
    return this.children()[i];
  }
}

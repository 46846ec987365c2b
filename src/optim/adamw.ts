import type { Tensor } from '../tensor/index.ts';
import { Adam, type AdamHyperParams, type AdamOptions } from './adam.ts';
import type { ParamGroup } from './optimizer.ts';

/**
 * AdamW (Loshchilov & Hutter, 2019, Algorithm 2) as torch.optim.AdamW: Adam whose weight decay is
 * decoupled from the gradient, p = p * (1 - lr * weightDecay), applied before the Adam step. Defaults
 * to weightDecay 1e-2 like PyTorch.
 */
export class AdamW extends Adam {
  constructor(params: Tensor[] | ParamGroup<AdamHyperParams>[], options: AdamOptions = {}) {
    super(params, { weightDecay: 1e-2, ...options });
  }

  protected override get decoupledWeightDecay(): boolean {
    return true;
  }
}

import { LowbitError } from '../errors.ts';
import { keep, zerosLike, type Tensor } from '../tensor/index.ts';
import { Optimizer, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.ts';

export interface AdamHyperParams {
  lr: number;
  /** Decay rates of the first and second moment estimates (beta1, beta2). */
  betas: [number, number];
  eps: number;
  /** Adam: L2 penalty added to the gradient. AdamW: decoupled decay p *= 1 - lr * weightDecay. */
  weightDecay: number;
  /** Use the running maximum of the second moment (Reddi et al., 2018). */
  amsgrad: boolean;
}

export type AdamOptions = Partial<AdamHyperParams>;

/**
 * Adam (Kingma & Ba, 2015, Algorithm 1) as torch.optim.Adam, with weight decay as an L2 term in the
 * gradient. Per parameter it keeps `exp_avg` (m), `exp_avg_sq` (v), with amsgrad `max_exp_avg_sq`, and
 * its own step count t (a parameter skipped for lack of a gradient does not advance):
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 */
export class Adam extends Optimizer<AdamHyperParams> {
  protected readonly stateTensorNames = ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] as const;

  constructor(params: Tensor[] | ParamGroup<AdamHyperParams>[], options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, ...options });
  }

  /** AdamW overrides this: weight decay shrinks the parameter instead of entering the gradient. */
  protected get decoupledWeightDecay(): boolean {
    return false;
  }

  protected override validate(group: ResolvedGroup<AdamHyperParams>, where: string): void {
    super.validate(group, where);
    const [beta1, beta2] = group.betas ?? [];
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
      throw new LowbitError(`${where}: betas must be two numbers in [0, 1), got ${JSON.stringify(group.betas)}`);
    }
    if (!(group.eps >= 0)) throw new LowbitError(`${where}: eps must be >= 0, got ${group.eps}`);
    if (!(group.weightDecay >= 0)) throw new LowbitError(`${where}: weightDecay must be >= 0, got ${group.weightDecay}`);
  }

  protected updateParam(p: Tensor, grad: Tensor, group: ResolvedGroup<AdamHyperParams>, state: ParamState): void {
    const { lr, betas, eps, weightDecay, amsgrad } = group;
    const [beta1, beta2] = betas;
    const s = state.tensors;
    if (s.exp_avg === undefined) {
      state.scalars.step = 0;
      s.exp_avg = keep(zerosLike(p));
      s.exp_avg_sq = keep(zerosLike(p));
    }
    if (amsgrad && s.max_exp_avg_sq === undefined) s.max_exp_avg_sq = keep(zerosLike(p));
    const t = ++state.scalars.step;

    let g = grad;
    if (weightDecay !== 0) {
      if (this.decoupledWeightDecay) p.mul_(1 - lr * weightDecay);
      else g = grad.add(p, weightDecay);
    }
    s.exp_avg.mul_(beta1).add_(g, 1 - beta1);
    s.exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2);

    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
    let v = s.exp_avg_sq;
    if (amsgrad) {
      s.max_exp_avg_sq.copy_(s.max_exp_avg_sq.maximum(s.exp_avg_sq));
      v = s.max_exp_avg_sq;
    }
    const denom = v.sqrt().div(biasCorrection2Sqrt).add_(eps);
    p.addcdiv_(s.exp_avg, denom, -lr / biasCorrection1);
  }
}

import { LowbitError } from '../errors.ts';
import { keep, type Tensor } from '../tensor/index.ts';
import { Optimizer, type ParamGroup, type ParamState, type ResolvedGroup } from './optimizer.ts';

export interface SGDHyperParams {
  lr: number;
  momentum: number;
  dampening: number;
  /** L2 penalty added to the gradient: g + weightDecay * p. */
  weightDecay: number;
  nesterov: boolean;
}

export type SGDOptions = Pick<SGDHyperParams, 'lr'> & Partial<SGDHyperParams>;

/**
 * Stochastic gradient descent with momentum, as torch.optim.SGD:
 *   g = grad + weightDecay * p
 *   b = g on the first step, else momentum * b + (1 - dampening) * g
 *   d = g + momentum * b (Nesterov) or b
 *   p = p - lr * d
 * Momentum buffers are kept per parameter as `momentum_buffer`.
 */
export class SGD extends Optimizer<SGDHyperParams> {
  protected readonly stateTensorNames = ['momentum_buffer'] as const;

  constructor(params: Tensor[] | ParamGroup<SGDHyperParams>[], options: SGDOptions) {
    if (options === undefined || typeof options.lr !== 'number') {
      throw new LowbitError('SGD: options.lr is required (for example new SGD(params, { lr: 0.1, momentum: 0.9 }))');
    }
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  protected override validate(group: ResolvedGroup<SGDHyperParams>, where: string): void {
    super.validate(group, where);
    if (!(group.momentum >= 0)) throw new LowbitError(`${where}: momentum must be >= 0, got ${group.momentum}`);
    if (!(group.weightDecay >= 0)) throw new LowbitError(`${where}: weightDecay must be >= 0, got ${group.weightDecay}`);
    if (group.nesterov && (group.momentum <= 0 || group.dampening !== 0)) {
      throw new LowbitError(`${where}: Nesterov momentum needs momentum > 0 and dampening = 0 (got momentum ${group.momentum}, dampening ${group.dampening})`);
    }
  }

  protected updateParam(p: Tensor, grad: Tensor, group: ResolvedGroup<SGDHyperParams>, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov } = group;
    let d = weightDecay !== 0 ? grad.add(p, weightDecay) : grad;
    if (momentum !== 0) {
      let buf = state.tensors.momentum_buffer;
      if (buf === undefined) {
        // PyTorch starts the buffer at the first gradient, undamped.
        buf = keep(d.clone());
        state.tensors.momentum_buffer = buf;
      } else {
        buf.mul_(momentum).add_(d, 1 - dampening);
      }
      d = nesterov ? d.add(buf, momentum) : buf;
    }
    p.add_(d, -lr);
  }
}

import { LowbitError } from '../../errors.ts';
import { F, ones, zeros, full, type Tensor } from '../../tensor/index.ts';
import { Module } from '../module.ts';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

/**
 * Batch normalization over (N, H, W) per channel. Training uses batch statistics and updates the
 * running ones with momentum (running = (1 - m) running + m batch, unbiased variance), as in PyTorch;
 * eval uses the running statistics.
 */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor;
  runningVar: Tensor;
  numBatchesTracked: Tensor;

  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    if (!(Number.isInteger(numFeatures) && numFeatures > 0)) {
      throw new LowbitError(`BatchNorm2d(${numFeatures}): need a positive channel count`);
    }
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : this.registerParameter('weight', null);
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : this.registerParameter('bias', null);
    this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', full([], 0, { dtype: 'int64' }));
  }

  forward(x: Tensor): Tensor {
    if (this.training) this.numBatchesTracked.add_(1);
    return F.batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
  }

  override describe(): string {
    return `BatchNorm2d(${this.numFeatures})`;
  }
}

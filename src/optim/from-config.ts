/**
 * Optimizers and learning-rate schedules built from plain, JSON-serializable configs, so a training
 * recipe can be written to a run directory's config.json and rebuilt from it. The training pipelines
 * (src/train, src/qat) and the CLI build theirs here; the defaults they share are in src/train.
 */
import { LowbitError } from '../errors.ts';
import type { Tensor } from '../tensor/index.ts';
import { Adam } from './adam.ts';
import { AdamW } from './adamw.ts';
import { CosineAnnealingLR, MultiStepLR, type LRScheduler } from './lr-scheduler.ts';
import type { Optimizer } from './optimizer.ts';
import { SGD } from './sgd.ts';

export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** SGD only. */
  momentum?: number;
  /** SGD only: Nesterov (true) or classical momentum. */
  nesterov?: boolean;
  /** L2 penalty for SGD and Adam, decoupled for AdamW. */
  weightDecay?: number;
}

/** Per-group overrides, e.g. `{ params: lsqSteps, weightDecay: 0 }`. */
export interface OptimizerParamGroup {
  params: Tensor[];
  weightDecay?: number;
  lr?: number;
}

export const SCHEDULE_NAMES = ['cosine', 'multistep', 'constant'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** The optimizer a config names, over plain parameters or parameter groups. */
export function makeOptimizer(params: Tensor[] | OptimizerParamGroup[], config: OptimizerConfig): Optimizer {
  const { lr, weightDecay = 0 } = config;
  if (!(Number.isFinite(lr) && lr > 0)) throw new LowbitError(`OptimizerConfig.lr must be a positive number, got ${lr}`);
  if (!(Number.isFinite(weightDecay) && weightDecay >= 0)) throw new LowbitError(`OptimizerConfig.weightDecay must be >= 0, got ${weightDecay}`);
  switch (config.name) {
    case 'adam':
      return new Adam(params, { lr, weightDecay });
    case 'adamw':
      return new AdamW(params, { lr, weightDecay });
    case 'sgd':
      return new SGD(params, { lr, momentum: config.momentum ?? 0, nesterov: config.nesterov ?? false, weightDecay });
    default:
      throw new LowbitError(`OptimizerConfig.name '${String((config as { name: unknown }).name)}': choose one of ${OPTIMIZER_NAMES.join(', ')}`);
  }
}

/**
 * The per-epoch schedule a name stands for over `epochs` epochs: 'cosine' anneals to 0 (SGDR without
 * restarts), 'multistep' divides by 10 at 1/2 and 3/4 of the run, 'constant' keeps the lr (no scheduler).
 */
export function makeScheduler(optimizer: Optimizer, schedule: ScheduleName, epochs: number): LRScheduler | undefined {
  switch (schedule) {
    case 'cosine':
      return new CosineAnnealingLR(optimizer, { tMax: epochs });
    case 'multistep':
      return new MultiStepLR(optimizer, { milestones: [Math.floor(epochs / 2), Math.floor((3 * epochs) / 4)], gamma: 0.1 });
    case 'constant':
      return undefined;
    default:
      throw new LowbitError(`schedule '${String(schedule)}': choose one of ${SCHEDULE_NAMES.join(', ')}`);
  }
}

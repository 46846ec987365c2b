import { LowbitError } from '../errors.ts';
import type { BaseHyperParams, Optimizer } from './optimizer.ts';

/** The closed form of a schedule: the learning rate at `epoch` for a group whose base rate is `baseLr`. */
export type ClosedFormLr = (epoch: number, baseLr: number) => number;

/** What a checkpoint saves of a scheduler (plain JSON). */
export interface LRSchedulerStateDict {
  kind: string;
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
}

/**
 * Base of the learning-rate schedulers, following torch.optim.lr_scheduler with their closed forms:
 * each step() advances `lastEpoch` by one and sets every group's lr to the schedule's value there.
 * Call step() once per epoch or once per iteration; the schedule counts whatever you step.
 * Construction performs the initial step, so lr is the schedule's value at epoch 0 right away.
 *
 * The base rate of a group is its `initialLr`, which the first scheduler attached to the optimizer
 * records from the group's lr (PyTorch's `initial_lr`).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer<BaseHyperParams>;
  baseLrs: number[];
  lastEpoch: number;
  private lastLr: number[] = [];

  /**
   * @param closedForm the schedule; passed in rather than overridden so that it is complete before
   *   the initial step runs in this constructor.
   * @param lastEpoch -1 for a fresh schedule; the index of the last epoch done when resuming without
   *   a state dict (every group then needs `initialLr`).
   */
  protected constructor(
    optimizer: Optimizer<BaseHyperParams>,
    readonly kind: string,
    private readonly closedForm: ClosedFormLr,
    lastEpoch = -1,
  ) {
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) {
      throw new LowbitError(`${kind}: lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    }
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((group, i) => {
      if (lastEpoch === -1) group.initialLr ??= group.lr;
      if (group.initialLr === undefined) {
        throw new LowbitError(
          `${kind}: resuming at lastEpoch ${lastEpoch} but param group ${i} has no initialLr; ` +
            'load the optimizer state dict first, or use loadStateDict() on the scheduler instead',
        );
      }
      return group.initialLr;
    });
    this.lastEpoch = lastEpoch;
    this.step();
  }

  /** The schedule's learning rate for base rate `baseLr` at `epoch` (no side effects). */
  lrAt(epoch: number, baseLr: number): number {
    return this.closedForm(epoch, baseLr);
  }

  /** Advances one epoch (or iteration) and sets each group's lr. */
  step(): void {
    this.lastEpoch += 1;
    this.lastLr = this.optimizer.paramGroups.map((group, i) => {
      group.lr = this.lrAt(this.lastEpoch, this.baseLrs[i]);
      return group.lr;
    });
  }

  /** The learning rates the last step() set, one per group. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  stateDict(): LRSchedulerStateDict {
    return { kind: this.kind, lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs], lastLr: [...this.lastLr] };
  }

  /**
   * Restores the position in the schedule. Like PyTorch it leaves the optimizer's lr alone: restore
   * the optimizer's own state dict too, which holds the lr that was in effect.
   */
  loadStateDict(dict: LRSchedulerStateDict): void {
    if (dict.kind !== this.kind) {
      throw new LowbitError(`${this.kind}.loadStateDict: the state dict was saved from a ${dict.kind}; build the same scheduler to resume`);
    }
    if (dict.baseLrs.length !== this.optimizer.paramGroups.length) {
      throw new LowbitError(
        `${this.kind}.loadStateDict: the state dict covers ${dict.baseLrs.length} param groups but the optimizer has ${this.optimizer.paramGroups.length}`,
      );
    }
    this.lastEpoch = dict.lastEpoch;
    this.baseLrs = [...dict.baseLrs];
    this.lastLr = [...dict.lastLr];
  }
}

function checkPositiveInteger(kind: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new LowbitError(`${kind}: ${name} must be a positive integer, got ${value}`);
}

export interface StepLROptions {
  stepSize: number;
  /** Multiplier applied every stepSize epochs (default 0.1). */
  gamma?: number;
  lastEpoch?: number;
}

/** lr = baseLr * gamma^floor(epoch / stepSize), as torch.optim.lr_scheduler.StepLR. */
export class StepLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseHyperParams>, { stepSize, gamma = 0.1, lastEpoch = -1 }: StepLROptions) {
    checkPositiveInteger('StepLR', 'stepSize', stepSize);
    super(optimizer, 'StepLR', (epoch, baseLr) => baseLr * gamma ** Math.floor(epoch / stepSize), lastEpoch);
  }
}

export interface MultiStepLROptions {
  /** Epochs at which lr is multiplied by gamma; a milestone listed twice applies gamma twice. */
  milestones: number[];
  gamma?: number;
  lastEpoch?: number;
}

/** lr = baseLr * gamma^(number of milestones <= epoch), as torch.optim.lr_scheduler.MultiStepLR. */
export class MultiStepLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseHyperParams>, { milestones, gamma = 0.1, lastEpoch = -1 }: MultiStepLROptions) {
    for (const m of milestones) {
      if (!Number.isInteger(m) || m < 0) throw new LowbitError(`MultiStepLR: milestones must be non-negative integers, got [${milestones}]`);
    }
    const sorted = [...milestones].sort((a, b) => a - b);
    super(optimizer, 'MultiStepLR', (epoch, baseLr) => baseLr * gamma ** countAtMost(sorted, epoch), lastEpoch);
  }
}

/** How many of the sorted values are <= x (Python's bisect_right). */
export function countAtMost(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface CosineAnnealingLROptions {
  /** Epochs of the half cosine from baseLr down to etaMin. */
  tMax: number;
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * SGDR's annealing without restarts (Loshchilov & Hutter, 2017, eq. 5), as
 * torch.optim.lr_scheduler.CosineAnnealingLR in closed form:
 *   lr = etaMin + (baseLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2
 * Past tMax it climbs back up, as PyTorch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseHyperParams>, { tMax, etaMin = 0, lastEpoch = -1 }: CosineAnnealingLROptions) {
    checkPositiveInteger('CosineAnnealingLR', 'tMax', tMax);
    super(
      optimizer,
      'CosineAnnealingLR',
      (epoch, baseLr) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * epoch) / tMax))) / 2,
      lastEpoch,
    );
  }
}

export interface LinearLROptions {
  /** Factor on baseLr at epoch 0 (default 1/3, as PyTorch). */
  startFactor?: number;
  /** Factor reached at totalIters and kept after (default 1). */
  endFactor?: number;
  totalIters?: number;
  lastEpoch?: number;
}

/**
 * Linear ramp of the lr factor, as torch.optim.lr_scheduler.LinearLR; the usual linear warm-up:
 *   lr = baseLr * (startFactor + (endFactor - startFactor) * min(epoch, totalIters) / totalIters)
 */
export class LinearLR extends LRScheduler {
  constructor(optimizer: Optimizer<BaseHyperParams>, options: LinearLROptions = {}) {
    const { startFactor = 1 / 3, endFactor = 1, totalIters = 5, lastEpoch = -1 } = options;
    if (!(startFactor > 0 && startFactor <= 1)) throw new LowbitError(`LinearLR: startFactor must be in (0, 1], got ${startFactor}`);
    if (!(endFactor >= 0 && endFactor <= 1)) throw new LowbitError(`LinearLR: endFactor must be in [0, 1], got ${endFactor}`);
    checkPositiveInteger('LinearLR', 'totalIters', totalIters);
    super(
      optimizer,
      'LinearLR',
      (epoch, baseLr) => baseLr * (startFactor + ((endFactor - startFactor) * Math.min(epoch, totalIters)) / totalIters),
      lastEpoch,
    );
  }
}

import { LowbitError } from '../errors.ts';
import { countAtMost, LRScheduler } from './lr-scheduler.ts';
import type { BaseHyperParams, Optimizer } from './optimizer.ts';

export interface SequentialLROptions {
  /** The schedules in order, all built on the same optimizer. */
  schedulers: LRScheduler[];
  /** The epochs where each next schedule takes over; one fewer than schedulers, increasing. */
  milestones: number[];
  lastEpoch?: number;
}

function checkMilestones(kind: string, milestones: number[]): void {
  milestones.forEach((m, i) => {
    if (!Number.isInteger(m) || m <= 0 || (i > 0 && m <= milestones[i - 1])) {
      throw new LowbitError(`${kind}: milestones must be increasing positive integers, got [${milestones}]`);
    }
  });
}

/**
 * Schedules one after another, as torch.optim.lr_scheduler.SequentialLR: from milestone m on, the
 * next schedule runs from its own epoch 0, so at epoch e it is evaluated at e - m. The children only
 * lend their closed forms; step this scheduler, not them.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: readonly LRScheduler[];
  readonly milestones: readonly number[];

  constructor(optimizer: Optimizer<BaseHyperParams>, { schedulers, milestones, lastEpoch = -1 }: SequentialLROptions) {
    if (schedulers.length === 0 || milestones.length !== schedulers.length - 1) {
      throw new LowbitError(
        `SequentialLR: expected one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`,
      );
    }
    checkMilestones('SequentialLR', milestones);
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new LowbitError(`SequentialLR: scheduler ${i} (${s.kind}) drives another optimizer; build every schedule on the same one`);
      }
    });
    const ms = [...milestones];
    const children = [...schedulers];
    super(
      optimizer,
      'SequentialLR',
      (epoch, baseLr) => {
        const idx = countAtMost(ms, epoch);
        return children[idx].lrAt(idx === 0 ? epoch : epoch - ms[idx - 1], baseLr);
      },
      lastEpoch,
    );
    this.schedulers = children;
    this.milestones = ms;
  }
}

export interface LinearWarmupOptions {
  /** Epochs (or iterations) of linear ramp. */
  warmupEpochs: number;
  /** Factor on the base lr at epoch 0 (default 0.1). */
  startFactor?: number;
  /** The schedule that runs from its own epoch 0 once warm-up is over; constant lr when omitted. */
  after?: LRScheduler;
  lastEpoch?: number;
}

/**
 * Linear warm-up then another schedule (Goyal et al., 2017, section 2.2): the same learning rates as
 * SequentialLR([LinearLR({ startFactor, endFactor: 1, totalIters: warmupEpochs }), after], [warmupEpochs]).
 *   epoch < W: lr = baseLr * (startFactor + (1 - startFactor) * epoch / W);  after: after at epoch - W
 */
export class LinearWarmup extends LRScheduler {
  readonly after: LRScheduler | undefined;

  constructor(optimizer: Optimizer<BaseHyperParams>, { warmupEpochs, startFactor = 0.1, after, lastEpoch = -1 }: LinearWarmupOptions) {
    if (!Number.isInteger(warmupEpochs) || warmupEpochs <= 0) {
      throw new LowbitError(`LinearWarmup: warmupEpochs must be a positive integer, got ${warmupEpochs}`);
    }
    if (!(startFactor > 0 && startFactor <= 1)) throw new LowbitError(`LinearWarmup: startFactor must be in (0, 1], got ${startFactor}`);
    if (after !== undefined && after.optimizer !== optimizer) {
      throw new LowbitError(`LinearWarmup: the 'after' schedule (${after.kind}) drives another optimizer; build it on the same one`);
    }
    super(
      optimizer,
      'LinearWarmup',
      (epoch, baseLr) => {
        if (epoch < warmupEpochs) return baseLr * (startFactor + ((1 - startFactor) * epoch) / warmupEpochs);
        return after === undefined ? baseLr : after.lrAt(epoch - warmupEpochs, baseLr);
      },
      lastEpoch,
    );
    this.after = after;
  }
}

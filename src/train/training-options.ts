/**
 * A training recipe as plain typed data (written to a run directory's config.json), and its defaults,
 * written once: the library fills missing fields from TRAINING_DEFAULTS and the CLI's flag defaults
 * and help read the same object.
 */
import { LowbitError } from '../errors.ts';
import type { DataSpec } from '../data/index.ts';
import type { OptimizerConfig, ScheduleName } from '../optim/index.ts';

/** Where training batches come from and how they are drawn. */
export interface DataOptions {
  /** A built-in data set by name, or a user's own files (see DataSpec). */
  dataset: DataSpec;
  batchSize: number;
  /** Train on the first N training images only (quick runs); absent: all of them. */
  trainSubset?: number;
  /** Random crop of training batches, plus a horizontal flip where mirrored images keep their class (defaultAugmentation). */
  augment: boolean;
  /** Seed of initialization, shuffling and augmentation. */
  seed: number;
}

export interface TrainingOptions extends DataOptions {
  epochs: number;
  optimizer: OptimizerConfig;
  /** Per-epoch learning-rate schedule (see makeScheduler). */
  schedule: ScheduleName;
  /** Label smoothing of the cross entropy (0: none). */
  labelSmoothing: number;
}

/** Training options with any field left out; `optimizer` may be partial too. */
export type TrainingOptionsInput = Partial<Omit<TrainingOptions, 'optimizer'>> & { optimizer?: Partial<OptimizerConfig> };

/** SGD with Nesterov momentum 0.9, lr 0.1 cosine-annealed, weight decay 5e-4, batch 128, crop + flip. */
export const TRAINING_DEFAULTS: Readonly<TrainingOptions> = Object.freeze({
  dataset: 'fashion-mnist',
  batchSize: 128,
  augment: true,
  seed: 0,
  epochs: 10,
  optimizer: Object.freeze({ name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }) as OptimizerConfig,
  schedule: 'cosine',
  labelSmoothing: 0,
});

/** `input` over `defaults` (TRAINING_DEFAULTS unless a pipeline has its own, as QAT does), checked. */
export function trainingOptions(input: TrainingOptionsInput = {}, defaults: Readonly<TrainingOptions> = TRAINING_DEFAULTS): TrainingOptions {
  const o: TrainingOptions = { ...defaults, ...input, optimizer: { ...defaults.optimizer, ...input.optimizer } as OptimizerConfig };
  if (input.trainSubset === undefined) delete o.trainSubset;
  const positiveInt = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new LowbitError(`TrainingOptions.${name} must be a positive integer, got ${v}`);
  };
  positiveInt('epochs', o.epochs);
  positiveInt('batchSize', o.batchSize);
  positiveInt('trainSubset', o.trainSubset);
  if (!Number.isInteger(o.seed)) throw new LowbitError(`TrainingOptions.seed must be an integer, got ${o.seed}`);
  if (!(o.labelSmoothing >= 0 && o.labelSmoothing < 1)) throw new LowbitError(`TrainingOptions.labelSmoothing must be in [0, 1), got ${o.labelSmoothing}`);
  return o;
}

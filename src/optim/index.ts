export {
  Optimizer,
  type BaseHyperParams,
  type ParamGroup,
  type ResolvedGroup,
  type GroupStateDict,
  type OptimizerStateDict,
  type ParamState,
  type JsonValue,
} from './optimizer.ts';
export { SGD, type SGDHyperParams, type SGDOptions } from './sgd.ts';
export { Adam, type AdamHyperParams, type AdamOptions } from './adam.ts';
export { AdamW } from './adamw.ts';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  CosineAnnealingLR,
  LinearLR,
  type ClosedFormLr,
  type LRSchedulerStateDict,
  type StepLROptions,
  type MultiStepLROptions,
  type CosineAnnealingLROptions,
  type LinearLROptions,
} from './lr-scheduler.ts';
export { SequentialLR, LinearWarmup, type SequentialLROptions, type LinearWarmupOptions } from './sequential-lr.ts';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip-grad.ts';
export {
  makeOptimizer,
  makeScheduler,
  OPTIMIZER_NAMES,
  SCHEDULE_NAMES,
  type OptimizerConfig,
  type OptimizerName,
  type OptimizerParamGroup,
  type ScheduleName,
} from './from-config.ts';

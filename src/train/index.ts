export {
  fit,
  evaluate,
  lastCheckpointPath,
  type BatchSource,
  type FitOptions,
  type FitResult,
  type EpochMetrics,
  type StepInfo,
  type TrainStep,
  type TrainStepResult,
} from './trainer.ts';
export { TrainingState, type TrainingParts, type TrainingProgress, type TrainingStateOptions } from './training-state.ts';
export { saveCheckpoint, loadCheckpoint, buildCheckpointModel, copyCheckpointModel, modelConfigOf, MODEL_CONFIG_KEY, TRAINING_STATE_KEY, type LoadedCheckpoint, type CheckpointModelConfig } from './checkpoint.ts';
export { RunDir, environmentRecord } from './run-dir.ts';
export { TRAINING_DEFAULTS, trainingOptions, type DataOptions, type TrainingOptions, type TrainingOptionsInput } from './training-options.ts';
export { trainingLoaders, subset, type Loaders } from './loaders.ts';
export {
  runTraining,
  trainModel,
  datasetInputShape,
  type RunTrainingArgs,
  type TrainModelArgs,
  type TrainingRun,
  type TrainingSummary,
  type TrainingCallbacks,
} from './run-training.ts';

export { fit, evaluate, lastCheckpointPath, type BatchSource, type FitOptions, type FitResult, type EpochMetrics, type StepInfo } from './trainer.ts';
export { saveCheckpoint, loadCheckpoint, modelConfigOf, MODEL_CONFIG_KEY, TRAINING_STATE_KEY, type LoadedCheckpoint } from './checkpoint.ts';
export { RunDir, environmentRecord } from './run-dir.ts';

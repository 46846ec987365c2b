/**
 * The training pipelines as library functions: `runTraining` runs `fit` on a model the caller built
 * (float training, QAT) and writes the run directory's records; `trainModel` builds a zoo model and
 * trains it. Progress is reported through callbacks; printing is the caller's.
 */
import { existsSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import { checkDatasetFits, datasetMetadata } from '../data/index.ts';
import { complexity, createModel, type ModelConfig } from '../models/index.ts';
import type { Module } from '../nn/index.ts';
import { makeOptimizer, makeScheduler, type Optimizer } from '../optim/index.ts';
import { Generator, manualSeed } from '../tensor/index.ts';
import { saveCheckpoint } from './checkpoint.ts';
import { trainingLoaders, type Loaders } from './loaders.ts';
import type { RunDir } from './run-dir.ts';
import { trainingOptions, type TrainingOptions, type TrainingOptionsInput } from './training-options.ts';
import { fit, lastCheckpointPath, type EpochMetrics, type FitOptions, type StepInfo } from './trainer.ts';

/** What a training run records in result.json. */
export interface TrainingSummary {
  /** The pipeline that ran ('train', 'qat'...). */
  command: string;
  testAccuracy: number | null;
  bestTestAccuracy: number;
  epochs: number;
  imagesPerSecond: number | null;
  /** The final model's weights: RUN_DIR/model.safetensors. */
  checkpoint: string;
  history: EpochMetrics[];
}

export interface TrainingCallbacks {
  /** Once the data is loaded, before the first step. */
  onStart?: (info: { trainSet: string; trainImages: number; batchSize: number; runDir: string }) => void;
  /** After a resume restored the checkpoint of epoch `epoch`. */
  onResume?: (info: { epoch: number }) => void;
  onStep?: (info: StepInfo) => void;
  onEpoch?: (m: EpochMetrics) => void;
}

export interface RunTrainingArgs extends TrainingCallbacks {
  /** Recorded as the summary's `command`. */
  command: string;
  model: Module;
  /** Stored in every checkpoint so that model.safetensors rebuilds the model. */
  modelConfig: Record<string, unknown>;
  /** The main optimizer, over the groups the pipeline chose (see fit). */
  optimizer: Optimizer;
  options: TrainingOptions;
  runDir: RunDir;
  /** Continue the run in runDir from its last checkpoint. */
  resume?: boolean;
  /** What was asked, for config.json (written on a fresh run, kept on resume). */
  config: Record<string, unknown>;
  /** A custom training step, evaluated model and further checkpointed parts (see FitOptions). */
  step?: FitOptions['step'];
  evalModel?: FitOptions['evalModel'];
  state?: FitOptions['state'];
  loss?: FitOptions['loss'];
  /** The options' data, when the caller loaded it already (trainModel reads the input shape from it). */
  loaders?: Loaders;
}

export interface TrainingRun {
  summary: TrainingSummary;
  /** 0 on a fresh run, else the epoch the run continued from. */
  resumedFromEpoch: number;
}

/**
 * Trains `model` with fit over the options' data, schedule and epochs, then saves RUN_DIR/model.safetensors
 * (the model alone, never the modules a method trains beside it) and result.json.
 */
export function runTraining(args: RunTrainingArgs): TrainingRun {
  const { model, optimizer, runDir, options } = args;
  const resume = Boolean(args.resume);
  if (!resume && existsSync(lastCheckpointPath(runDir))) {
    throw new LowbitError(`${runDir.path} already holds a run: set resume to continue it, or choose another run directory`);
  }
  const loaders = args.loaders ?? trainingLoaders(options);
  // A model whose input or classes do not fit the data fails in libtorch otherwise ("mat1 and mat2 shapes
  // cannot be multiplied", "Target 9 is out of bounds"), or trains on an empty set for 0 steps.
  const mc = args.modelConfig as { name?: unknown; inChannels?: unknown; inputSize?: unknown; numClasses?: unknown };
  if (typeof mc.inChannels === 'number' && Array.isArray(mc.inputSize)) {
    const spec = { inputShape: [mc.inChannels, ...(mc.inputSize as number[])], source: `model ${String(mc.name)}`, ...(typeof mc.numClasses === 'number' ? { numClasses: mc.numClasses } : {}) };
    checkDatasetFits(loaders.trainSet, spec);
    checkDatasetFits(loaders.testSet, spec);
  }
  const scheduler = makeScheduler(optimizer, options.schedule, options.epochs);
  if (!resume || runDir.readConfig() === null) runDir.writeConfig(args.config);
  args.onStart?.({ trainSet: loaders.trainSet.name, trainImages: loaders.trainSet.length, batchSize: loaders.train.batchSize, runDir: runDir.path });
  const result = fit({
    model,
    optimizer,
    scheduler,
    train: loaders.train,
    test: loaders.test,
    epochs: options.epochs,
    modelConfig: args.modelConfig,
    runDir,
    resume,
    labelSmoothing: options.labelSmoothing,
    ...(args.loss ? { loss: args.loss } : {}),
    ...(args.step ? { step: args.step } : {}),
    ...(args.evalModel ? { evalModel: args.evalModel } : {}),
    ...(args.state ? { state: args.state } : {}),
    onStep: args.onStep,
    onEpoch: args.onEpoch,
  });
  if (result.resumedFromEpoch > 0) args.onResume?.({ epoch: result.resumedFromEpoch });
  const weightsPath = runDir.file('model.safetensors');
  // The data set and normalization travel with the weights: eval/ptq/qat use them by default.
  saveCheckpoint(weightsPath, model, args.modelConfig, { metadata: datasetMetadata(loaders.trainSet) });
  const final = result.final;
  const summary: TrainingSummary = {
    command: args.command,
    testAccuracy: final?.testAccuracy ?? null,
    bestTestAccuracy: result.bestTestAccuracy,
    epochs: options.epochs,
    imagesPerSecond: final?.imagesPerSecond ?? null,
    checkpoint: weightsPath,
    history: result.history,
  };
  runDir.writeResult(summary as unknown as Record<string, unknown>);
  return { summary, resumedFromEpoch: result.resumedFromEpoch };
}

/** The input shape of a data set's images: (channels, [height, width]). */
export function datasetInputShape(ds: { channels: number; height: number; width: number }): { inChannels: number; inputSize: [number, number] } {
  return { inChannels: ds.channels, inputSize: [ds.height, ds.width] };
}

export interface TrainModelArgs extends TrainingCallbacks {
  /** A zoo architecture ('resnet20', 'lenet5'...) and optional per-layer widths. */
  model: string;
  widths?: number[];
  /** Fields left out take TRAINING_DEFAULTS. */
  options?: TrainingOptionsInput;
  runDir: RunDir;
  resume?: boolean;
  /** Recorded as the summary's and config's `command` (default 'train'). */
  command?: string;
  /** Further fields for config.json (the CLI records its flags here). */
  config?: Record<string, unknown>;
  /** Called with the model's size before training starts. */
  onModel?: (info: { modelConfig: ModelConfig; params: number; macs: number }) => void;
}

/**
 * Builds a zoo model (seeded initialization, channels-last) for the data set and trains it from
 * scratch, or resumes it: the float training of `lowbit train`.
 */
export function trainModel(args: TrainModelArgs): TrainingRun & { model: Module; modelConfig: ModelConfig } {
  const options = trainingOptions(args.options);
  manualSeed(options.seed);
  const command = args.command ?? 'train';
  const loaders = trainingLoaders(options);
  const modelConfig: ModelConfig = {
    name: args.model,
    numClasses: loaders.trainSet.classes.length,
    ...datasetInputShape(loaders.trainSet),
    ...(args.widths ? { widths: args.widths } : {}),
  };
  // The loaders hand out channels-last batches; channels-last weights make ATen use its NHWC kernels.
  const model = createModel(modelConfig, { generator: new Generator(options.seed) }).toMemoryFormat_('channelsLast');
  const optimizer = makeOptimizer(model.parameters(), options.optimizer);
  const c = complexity(model, [modelConfig.inChannels, ...modelConfig.inputSize]);
  args.onModel?.({ modelConfig, params: c.params, macs: c.macs });
  const run = runTraining({
    onStart: args.onStart,
    onResume: args.onResume,
    onStep: args.onStep,
    onEpoch: args.onEpoch,
    runDir: args.runDir,
    resume: args.resume,
    command,
    model,
    modelConfig: modelConfig as unknown as Record<string, unknown>,
    optimizer,
    options,
    loaders,
    config: { command, model: modelConfig, training: options, params: c.params, macs: c.macs, ...args.config },
  });
  return { ...run, model, modelConfig };
}

/**
 * Quantization-aware fine-tuning as a library function: load a float checkpoint, convert it to
 * fake-quant layers (quantizeModel), train it with the QAT parameter groups, save the fake-quant model
 * (its checkpoint records the QuantConfig and rebuilds itself).
 *
 * Methods built on QAT (an auxiliary full-precision network trained beside the quantized one, say)
 * plug in through `extend`: it sees the quantized model and its optimizer, and returns its own training
 * step, the extra modules/optimizers to checkpoint for resume, and the model to evaluate.
 */
import { UsageError } from '../errors.ts';
import { complexity } from '../models/index.ts';
import type { Module } from '../nn/index.ts';
import type { Optimizer } from '../optim/index.ts';
import { quantizeModel, type QuantConfig, type QuantizedLayer } from '../quant/index.ts';
import { manualSeed } from '../tensor/index.ts';
import {
  loadCheckpoint,
  runTraining,
  trainingOptions,
  type CheckpointModelConfig,
  type FitOptions,
  type RunDir,
  type TrainingCallbacks,
  type TrainingOptions,
  type TrainingOptionsInput,
  type TrainingRun,
} from '../train/index.ts';
import { qatOptimizer } from './qat-optimizer.ts';
import { qatBits, qatQuantConfig, QAT_TRAINING_DEFAULTS, type QatQuantOptions } from './qat-options.ts';

/** What a method adds to a QAT run. */
export interface QatExtension {
  /** The training step (default: cross entropy of the quantized model, one optimizer step). */
  step?: FitOptions['step'];
  /** Modules, optimizers, schedulers and extras checkpointed beside the model (never in model.safetensors). */
  state?: FitOptions['state'];
  /** The model evaluated each epoch (default: the quantized model). */
  evalModel?: Module;
}

export interface QatContext {
  /** The fake-quant model being trained (what model.safetensors will hold). */
  model: Module;
  modelConfig: CheckpointModelConfig;
  quant: QuantConfig;
  /** The main optimizer over the model's QAT parameter groups. */
  optimizer: Optimizer;
  options: TrainingOptions;
}

export interface RunQatArgs extends TrainingCallbacks {
  /** A float checkpoint written by lowbit (RUN_DIR/model.safetensors of a training run). */
  checkpoint: string;
  /** Fields left out take QAT_QUANT_DEFAULTS. */
  quant?: Partial<QatQuantOptions>;
  /** Fields left out take QAT_TRAINING_DEFAULTS. */
  options?: TrainingOptionsInput;
  /** The run directory, or a function naming it from the loaded model's config (called once, after loading). */
  runDir: RunDir | ((modelConfig: CheckpointModelConfig) => RunDir);
  resume?: boolean;
  /** Further fields for config.json (the CLI records its flags here). */
  config?: Record<string, unknown>;
  /** Called once the model is quantized, before training. */
  onModel?: (info: { modelConfig: CheckpointModelConfig; quant: QuantConfig; layers: QuantizedLayer[]; macs: number }) => void;
  /** A method built on QAT (see QatExtension). */
  extend?: (ctx: QatContext) => QatExtension;
  /** Recorded as the summary's `command` (default 'qat'). */
  command?: string;
}

export interface QatRun extends TrainingRun {
  runDir: RunDir;
  model: Module;
  quant: QuantConfig;
  layers: QuantizedLayer[];
  wbits: number;
  /** FLOAT_BITS: float activations. */
  abits: number;
}

export function runQat(args: RunQatArgs): QatRun {
  const options = trainingOptions(args.options, QAT_TRAINING_DEFAULTS);
  manualSeed(options.seed);
  const quant = qatQuantConfig(args.quant);
  const { model, modelConfig, extraTensors } = loadCheckpoint(args.checkpoint);
  for (const t of extraTensors.values()) t.dispose();
  if (modelConfig.quant !== undefined) {
    throw new UsageError(`${args.checkpoint} is already a quantized checkpoint; start QAT from a float one (or resume the run that wrote it)`);
  }
  const layers = quantizeModel(model, quant);
  const qatConfig: CheckpointModelConfig = { ...modelConfig, quant };
  const runDir = typeof args.runDir === 'function' ? args.runDir(modelConfig) : args.runDir;
  const c = complexity(model, [modelConfig.inChannels, ...modelConfig.inputSize]);
  args.onModel?.({ modelConfig, quant, layers, macs: c.macs });
  const optimizer = qatOptimizer(model, options.optimizer);
  const { wbits, abits } = qatBits(quant);
  const command = args.command ?? 'qat';
  const extension = args.extend?.({ model, modelConfig: qatConfig, quant, optimizer, options }) ?? {};
  const run = runTraining({
    command,
    model,
    modelConfig: qatConfig as unknown as Record<string, unknown>,
    optimizer,
    options,
    runDir,
    resume: args.resume,
    config: { command, model: modelConfig, quant, layers, from: args.checkpoint, training: options, wbits, abits, ...args.config },
    ...extension,
    onStart: args.onStart,
    onResume: args.onResume,
    onStep: args.onStep,
    onEpoch: args.onEpoch,
  });
  return { ...run, runDir, model, quant, layers, wbits, abits };
}

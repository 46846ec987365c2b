import { existsSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import { loadSafetensors, saveSafetensors, type Module } from '../nn/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { createModel, modelConfigProblem, type ModelConfig } from '../models/index.ts';
import { quantizeModel, type QuantConfig } from '../quant/index.ts';
import { checkFinite } from '../util/check-finite.ts';

/** A model config plus, for checkpoints of quantization-aware training, the quantization config. */
export type CheckpointModelConfig = ModelConfig & { quant?: QuantConfig };

/** Metadata key holding the model config, so a weights file alone rebuilds its model. */
export const MODEL_CONFIG_KEY = 'lowbit.model';
/** Metadata key holding the training state that is not tensors (epoch, optimizer groups, RNG...). */
export const TRAINING_STATE_KEY = 'lowbit.training';

/**
 * Saves a model's weights as plain safetensors (PyTorch-compatible names) with its config in the
 * metadata; extra tensors (an optimizer's state) go under their own prefixes.
 */
export function saveCheckpoint(
  path: string,
  model: Module,
  modelConfig: ModelConfig | Record<string, unknown>,
  extra: { tensors?: Map<string, Tensor>; metadata?: Record<string, string> } = {},
): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) tensors.set(k, t);
  for (const [k, t] of extra.tensors ?? []) {
    if (tensors.has(k)) throw new LowbitError(`checkpoint key clash: '${k}'`);
    tensors.set(k, t);
  }
  saveSafetensors(path, tensors, { [MODEL_CONFIG_KEY]: JSON.stringify(modelConfig), ...extra.metadata });
}

export interface LoadedCheckpoint {
  model: Module;
  modelConfig: CheckpointModelConfig;
  metadata: Record<string, string>;
  /** Tensors in the file that are not the model's (optimizer state); the caller disposes them. */
  extraTensors: Map<string, Tensor>;
}

/** Reads the model config recorded in a checkpoint's metadata. */
export function modelConfigOf(metadata: Record<string, string>, path: string): CheckpointModelConfig {
  const raw = metadata[MODEL_CONFIG_KEY];
  if (raw === undefined) {
    throw new LowbitError(`${path} has no '${MODEL_CONFIG_KEY}' metadata: it was not written by lowbit. Rebuild the model in code and use loadStateDictFile().`);
  }
  let config: unknown;
  try {
    config = JSON.parse(raw);
  } catch {
    config = undefined;
  }
  if (config === null || typeof config !== 'object' || typeof (config as { name?: unknown }).name !== 'string') {
    throw new LowbitError(`${path}: corrupt '${MODEL_CONFIG_KEY}' metadata (not a model config: ${raw.slice(0, 60)}${raw.length > 60 ? '...' : ''}); the file was damaged or edited: use another copy of the checkpoint`);
  }
  const problem = modelConfigProblem(config as CheckpointModelConfig);
  if (problem !== null) throw new LowbitError(`${path}: corrupt '${MODEL_CONFIG_KEY}' metadata (${problem}); the file was damaged or edited: use another copy of the checkpoint`);
  return config as CheckpointModelConfig;
}

/**
 * A fresh model of the kind a checkpoint config describes, its weights initialized (not loaded):
 * the zoo architecture, channels-last like the training batches (conv layers pick NHWC kernels; saved
 * files stay NCHW), and the fake-quant layers when the config records a quantization (QAT, PTQ).
 */
export function buildCheckpointModel(modelConfig: CheckpointModelConfig): Module {
  const model = createModel(modelConfig).toMemoryFormat_('channelsLast');
  if (modelConfig.quant) quantizeModel(model, modelConfig.quant);
  return model;
}

/** An independent copy of `model` (built from `modelConfig`, as loadCheckpoint builds it): same weights and buffers. */
export function copyCheckpointModel(model: Module, modelConfig: CheckpointModelConfig): Module {
  const copy = buildCheckpointModel(modelConfig);
  copy.loadStateDict(model.stateDict());
  copy.train(model.training);
  return copy;
}

/** Rebuilds the model a checkpoint describes and loads its weights. */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw new LowbitError(`checkpoint ${path} does not exist: check the path (a training run writes RUN_DIR/model.safetensors)`);
  const file = loadSafetensors(path);
  const modelConfig = modelConfigOf(file.metadata, path);
  const model = buildCheckpointModel(modelConfig);
  const own = model.stateDict();
  const weights = new Map<string, Tensor>();
  const extraTensors = new Map<string, Tensor>();
  for (const [k, t] of file.tensors) (own.has(k) ? weights : extraTensors).set(k, t);
  try {
    // Integer data where the model has float weights would be converted silently (an I32 tensor over float bytes).
    for (const [k, t] of weights) {
      const want = own.get(k)!.dtype;
      if (want.startsWith('float') && !t.dtype.startsWith('float')) {
        throw new LowbitError(`${path}: tensor '${k}' is stored as ${t.dtype} but the model's ${k} is ${want}; the file is not a float checkpoint of this model (or is corrupt)`);
      }
    }
    checkFinite(weights, path);
  } catch (err) {
    for (const t of file.tensors.values()) t.dispose();
    throw err;
  }
  try {
    model.loadStateDict(weights);
  } catch (err) {
    throw new LowbitError(`${path}: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const t of weights.values()) t.dispose();
  }
  return { model, modelConfig, metadata: file.metadata, extraTensors };
}

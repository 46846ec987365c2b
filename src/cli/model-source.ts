/**
 * The model a command reads: a lowbit checkpoint (--checkpoint) or an ONNX file (--onnx), never both,
 * with what it records about its data and the input it takes.
 */
import { readFileSync } from 'node:fs';
import { readDatasetMetadata, type DataProvenance, type ModelInputSpec } from '../data/index.ts';
import { loadOnnxForPtq, readOnnxMetadata } from '../export/index.ts';
import type { Module } from '../nn/index.ts';
import { loadCheckpoint, type CheckpointModelConfig } from '../train/index.ts';
import { UsageError } from '../errors.ts';
import { withFsErrors } from '../util/fs-errors.ts';
import type { ParsedOptions } from './command.ts';
import { checkpointProvenance } from './data-setup.ts';

export interface ModelSource {
  kind: 'checkpoint' | 'onnx';
  path: string;
  model: Module;
  modelConfig: CheckpointModelConfig | Record<string, unknown>;
  recorded: DataProvenance | null;
  /** For checkDatasetFits. */
  input: ModelInputSpec;
  /** [H, W], the default input size of --data. */
  inputSize?: [number, number];
}

/** Which of --checkpoint / --onnx was given (exactly one), without loading it. */
export function modelPathFrom(o: ParsedOptions, opts: { onnx: boolean }): { kind: 'checkpoint' | 'onnx'; path: string } {
  const checkpoint = o.checkpoint;
  const onnx = o.onnx;
  if (typeof checkpoint === 'string' && typeof onnx === 'string') {
    throw new UsageError(`--checkpoint ${checkpoint} and --onnx ${onnx} name two models; give one of them`);
  }
  if (typeof onnx === 'string' && opts.onnx) {
    if (onnx === '') throw new UsageError('--onnx is empty: give the path of an ONNX file');
    return { kind: 'onnx', path: onnx };
  }
  if (typeof checkpoint !== 'string' || checkpoint === '') {
    throw new UsageError(`--checkpoint${opts.onnx ? ' or --onnx' : ''} is required: the model to read (e.g. runs/r20/model.safetensors)`);
  }
  return { kind: 'checkpoint', path: checkpoint };
}

/** The recorded data of a model file, read without loading its weights. */
export function modelProvenance(which: { kind: 'checkpoint' | 'onnx'; path: string }): DataProvenance | null {
  if (which.kind === 'checkpoint') return checkpointProvenance(which.path);
  const bytes = withFsErrors('read', which.path, () => readFileSync(which.path));
  return readDatasetMetadata(readOnnxMetadata(bytes, which.path), which.path);
}

export function loadModelSource(which: { kind: 'checkpoint' | 'onnx'; path: string }): ModelSource {
  if (which.kind === 'onnx') {
    const recorded = modelProvenance(which);
    const { model, modelConfig } = loadOnnxForPtq(which.path);
    const shape = model.sampleShape();
    return {
      ...which,
      model,
      modelConfig,
      recorded,
      input: { inputShape: shape, source: `ONNX model ${which.path}` },
      ...(shape.length === 3 ? { inputSize: [shape[1], shape[2]] as [number, number] } : {}),
    };
  }
  const { model, modelConfig, metadata, extraTensors } = loadCheckpoint(which.path);
  for (const t of extraTensors.values()) t.dispose();
  const recorded = readDatasetMetadata(metadata, which.path);
  const source = `checkpoint ${which.path} (${modelConfig.name})`;
  return {
    ...which,
    model,
    modelConfig,
    recorded,
    input: { inputShape: [modelConfig.inChannels, ...modelConfig.inputSize], numClasses: modelConfig.numClasses, source },
    inputSize: [modelConfig.inputSize[0], modelConfig.inputSize[1]],
  };
}

/** A lowbit QAT checkpoint as an integer plan, ready to classify 8-bit images. */
import { LowbitError } from '../errors.ts';
import { DATASET_CATALOG, type DatasetName } from '../data/index.ts';
import { loadCheckpoint } from '../train/index.ts';
import type { ModelConfig } from '../models/index.ts';
import type { QuantConfig } from '../quant/index.ts';
import { compileResNet } from './compile-resnet.ts';
import type { IntPlan } from './int-plan.ts';
import type { RuntimeIsa } from './native.ts';

export interface IntModel {
  plan: IntPlan;
  modelConfig: ModelConfig & { quant?: QuantConfig };
  /** The number of classes (logits per image). */
  classes: number;
  /** Bytes of one input image (h * w * c). */
  imageBytes: number;
}

export interface LoadIntModelOptions {
  /** The data set the model was trained on: its normalization is folded into the first layer. */
  dataset?: DatasetName;
  isa?: RuntimeIsa;
}

export function loadIntModel(path: string, opts: LoadIntModelOptions = {}): IntModel {
  const { model, modelConfig, extraTensors } = loadCheckpoint(path);
  for (const t of extraTensors.values()) t.dispose();
  if (!modelConfig.quant) {
    throw new LowbitError(`${path}: a float checkpoint; the integer runtime runs quantized ones (train one with 'lowbit qat --checkpoint ${path} --wbits 2 --abits 2')`);
  }
  const entry = DATASET_CATALOG[opts.dataset ?? 'fashion-mnist'];
  if (entry.mean.length !== modelConfig.inChannels) {
    throw new LowbitError(`${path}: the model takes ${modelConfig.inChannels}-channel images but ${entry.title} has ${entry.mean.length}; pass the data set it was trained on`);
  }
  model.eval();
  const plan = compileResNet(model, { mean: entry.mean, std: entry.std, inputSize: modelConfig.inputSize, isa: opts.isa });
  const [h, w] = modelConfig.inputSize;
  return { plan, modelConfig, classes: modelConfig.numClasses, imageBytes: h * w * modelConfig.inChannels };
}

/** Index of the largest logit of each image. */
export function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const n = logits.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    out[i] = best;
  }
  return out;
}

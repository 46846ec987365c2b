/** A saved integer plan, or a lowbit QAT checkpoint compiled into one, ready to classify 8-bit images. */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import type { DatasetName } from '../data/index.ts';
import type { IntPlan } from './int-plan.ts';
import type { RuntimeIsa } from './native.ts';
import { isPlanFile, loadPlan, type PlanMeta } from './plan-file.ts';

export interface IntModel {
  plan: IntPlan;
  modelConfig: PlanMeta['modelConfig'];
  /** The number of classes (logits per image). */
  classes: number;
  /** Bytes of one input image (h * w * c). */
  imageBytes: number;
  /** The data set whose normalization the plan folds in: the model's recorded one, else the one asked for. */
  data: NonNullable<PlanMeta['data']>;
}

export interface LoadIntModelOptions {
  /**
   * The data set the model was trained on: its normalization is folded into the first layer. Default:
   * what the model records, else Fashion-MNIST; one that contradicts the record is refused.
   */
  dataset?: DatasetName;
  isa?: RuntimeIsa;
}

function startsLikePlan(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(8);
    readSync(fd, head, 0, 8, 0);
    return isPlanFile(head);
  } finally {
    closeSync(fd);
  }
}

function intModel(plan: IntPlan, modelConfig: PlanMeta['modelConfig'], data: IntModel['data']): IntModel {
  const [h, w] = modelConfig.inputSize;
  return { plan, modelConfig, classes: modelConfig.numClasses, imageBytes: h * w * modelConfig.inChannels, data };
}

/**
 * The normalization to fold in: the model's recorded data set, or the one asked for (Fashion-MNIST by
 * default). Asking for another data set than the recorded one is an error: its accuracy would mean nothing.
 */
async function dataFor(recorded: IntModel['data'] | null, asked: DatasetName | undefined, path: string): Promise<IntModel['data']> {
  if (recorded !== null) {
    if (asked !== undefined && asked !== recorded.dataset) throw new LowbitError(`--dataset ${asked} contradicts ${path}, which was trained on ${recorded.dataset}: drop --dataset (the recorded data set is the default)`);
    return recorded;
  }
  const { DATASET_CATALOG } = await import('../data/index.ts');
  const name = asked ?? 'fashion-mnist';
  return { dataset: name, mean: [...DATASET_CATALOG[name].mean], std: [...DATASET_CATALOG[name].std] };
}

/**
 * A saved plan (savePlan; loads without libtorch), a QAT checkpoint (model.safetensors of lowbit
 * qat), or lowbit's QDQ ONNX export of one (FILE.onnx), compiled here with the data set's
 * normalization (an ONNX file's recorded one when it has it).
 */
export async function loadIntModel(path: string, opts: LoadIntModelOptions = {}): Promise<IntModel> {
  if (!existsSync(path)) throw new LowbitError(`${path} does not exist: pass a QAT checkpoint (RUN_DIR/model.safetensors), its 'lowbit export' ONNX file or a plan saved with 'lowbit run --save'`);
  if (startsLikePlan(path)) {
    const { plan, meta } = loadPlan(path, { isa: opts.isa });
    return intModel(plan, meta.modelConfig, await dataFor(meta.data ?? null, opts.dataset, path));
  }
  if (/\.onnx$/i.test(path)) return loadOnnxIntModel(path, opts);
  // Only a checkpoint needs libtorch (to rebuild the fake-quant model), so it is imported here.
  const { loadCheckpoint } = await import('../train/index.ts');
  const { compileResNet } = await import('./compile-resnet.ts');
  const { readDatasetMetadata } = await import('../data/index.ts');
  const { model, modelConfig, metadata, extraTensors } = loadCheckpoint(path);
  for (const t of extraTensors.values()) t.dispose();
  if (!modelConfig.quant) {
    throw new LowbitError(`${path}: a float checkpoint; the integer runtime runs quantized ones (train one with 'lowbit qat --checkpoint ${path} --wbits 2 --abits 2')`);
  }
  if (!INT_RUNTIME_MODELS.includes(modelConfig.name)) {
    throw new LowbitError(`${path}: a ${modelConfig.name}; the integer runtime runs the basic-block ResNets (${INT_RUNTIME_MODELS.join(', ')}). Evaluate it with 'lowbit eval --checkpoint ${path}', or export it with 'lowbit export' and run it in onnxruntime`);
  }
  const data = await dataFor(readDatasetMetadata(metadata, path), opts.dataset, path);
  if (data.mean.length !== modelConfig.inChannels) {
    throw new LowbitError(`${path}: the model takes ${modelConfig.inChannels}-channel images but ${data.dataset} has ${data.mean.length}; pass the data set it was trained on`);
  }
  model.eval();
  const plan = compileResNet(model, { mean: data.mean, std: data.std, inputSize: modelConfig.inputSize, isa: opts.isa });
  return intModel(plan, modelConfig as unknown as PlanMeta['modelConfig'], data);
}

/** The zoo models compileResNet takes (ResNet-50's bottleneck blocks it does not). */
const INT_RUNTIME_MODELS = ['resnet20', 'resnet32', 'resnet56', 'resnet18'];

async function loadOnnxIntModel(path: string, opts: LoadIntModelOptions): Promise<IntModel> {
  const { readQdqGraph } = await import('../export/index.ts');
  const { readDatasetMetadata } = await import('../data/index.ts');
  const { resnetSpecFromOnnx } = await import('./onnx-resnet.ts');
  const { compileResNetSpec } = await import('./resnet-spec.ts');
  const g = readQdqGraph(new Uint8Array(readFileSync(path)), path);
  const r = resnetSpecFromOnnx(g, path);
  const norm = await dataFor(readDatasetMetadata(g.metadata, path), opts.dataset, path);
  if (norm.mean.length !== r.inChannels) {
    throw new LowbitError(`${path}: the model takes ${r.inChannels}-channel images but the normalization has ${norm.mean.length} channels; pass the data set it was trained on`);
  }
  const plan = compileResNetSpec(r.spec, { mean: norm.mean, std: norm.std, inputSize: r.inputSize, isa: opts.isa });
  return intModel(plan, { name: 'resnet', inChannels: r.inChannels, numClasses: r.numClasses, inputSize: r.inputSize }, norm);
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

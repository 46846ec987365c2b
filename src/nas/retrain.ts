/**
 * Retraining a searched (or the original) network at low precision with the uniform baseline's recipe:
 * float training for `floatEpochs`, then quantization-aware training for `qatEpochs` from that float
 * model (quantizeModel: SAWB weights, PACT activations, first/last layer 8-bit by default). No float
 * checkpoint of a derived architecture exists, so both phases run here, and `--original` runs the
 * original widths through this same path: the two networks of the comparison differ only in widths.
 *
 * Optional distillation from a float teacher (TAS's KD-main, after Hinton et al.):
 *   L = (1 - a) CE(z_s, y) + a T^2 KL(softmax(z_t / T) || softmax(z_s / T)),  a = 0.9, T = 4 (TAS's scripts).
 *
 * Each phase is a `fit` run in its own folder (float/, qat/) with its own checkpoints, so a killed
 * retrain resumes inside the phase it was in; a finished float phase is not repeated.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, type ModelConfig } from '../models/index.ts';
import type { Module } from '../nn/index.ts';
import { CosineAnnealingLR, SGD } from '../optim/index.ts';
import { qatParamGroups } from '../qat/index.ts';
import { quantizeModel, type QuantConfig, type QuantizedLayer } from '../quant/index.ts';
import { F, Generator, noGrad, type Tensor } from '../tensor/index.ts';
import { fit, loadCheckpoint, RunDir, saveCheckpoint, type BatchSource, type EpochMetrics, type FitResult, type StepInfo } from '../train/index.ts';

export interface PhaseRecipe {
  epochs: number;
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface DistillationSpec {
  teacher: Module;
  /** Weight of the distillation term (TAS: 0.9). */
  alpha: number;
  /** Softmax temperature (TAS: 4). */
  temperature: number;
}

export interface RetrainOptions {
  modelConfig: ModelConfig;
  train: BatchSource;
  test?: BatchSource;
  float: PhaseRecipe;
  qat: PhaseRecipe;
  quant: QuantConfig;
  runDir: RunDir;
  resume?: boolean;
  /** Seed of the model's initialization. */
  seed: number;
  distill?: DistillationSpec;
  onStep?: (phase: 'float' | 'qat', s: StepInfo) => void;
  onEpoch?: (phase: 'float' | 'qat', m: EpochMetrics) => void;
}

export interface RetrainResult {
  float: FitResult | null;
  qat: FitResult;
  layers: QuantizedLayer[];
  floatCheckpoint: string;
  checkpoint: string;
}

/** TAS's distillation loss for fit(): teacher in eval mode, no gradient through it. */
export function distillationLoss(spec: DistillationSpec) {
  spec.teacher.eval();
  const { alpha: a, temperature: t } = spec;
  return (model: Module, images: Tensor, labels: Tensor) => {
    const logits = model.call(images);
    const teacher = noGrad(() => spec.teacher.call(images));
    const kl = F.klDiv(F.logSoftmax(logits.div(t), 1), F.softmax(teacher.div(t), 1), { reduction: 'batchmean' });
    return { logits, loss: F.crossEntropy(logits, labels).mul(1 - a).add(kl.mul(a * t * t)) };
  };
}

export function retrain(opts: RetrainOptions): RetrainResult {
  const floatDir = new RunDir(join(opts.runDir.path, 'float'));
  const qatDir = new RunDir(join(opts.runDir.path, 'qat'));
  const floatCheckpoint = floatDir.file('model.safetensors');
  const loss = opts.distill ? distillationLoss(opts.distill) : undefined;
  let model: Module;
  let floatResult: FitResult | null = null;
  if (opts.resume && existsSync(floatCheckpoint)) {
    model = loadCheckpoint(floatCheckpoint).model;
  } else {
    model = createModel(opts.modelConfig, { generator: new Generator(opts.seed) }).toMemoryFormat_('channelsLast');
    if (opts.float.epochs > 0) {
      const optimizer = new SGD(model.parameters(), { lr: opts.float.lr, momentum: opts.float.momentum, nesterov: true, weightDecay: opts.float.weightDecay });
      floatResult = fit({
        model, optimizer, scheduler: new CosineAnnealingLR(optimizer, { tMax: opts.float.epochs }), train: opts.train, test: opts.test,
        epochs: opts.float.epochs, modelConfig: opts.modelConfig as unknown as Record<string, unknown>, runDir: floatDir, resume: opts.resume, loss,
        onStep: (s) => opts.onStep?.('float', s), onEpoch: (m) => opts.onEpoch?.('float', m),
      });
    }
    saveCheckpoint(floatCheckpoint, model, opts.modelConfig);
  }
  const layers = quantizeModel(model, opts.quant);
  // lowbit's QAT groups (src/qat): weights, BN and PACT alphas share the weight decay; LSQ steps get none.
  const optimizer = new SGD(qatParamGroups(model), {
    lr: opts.qat.lr, momentum: opts.qat.momentum, nesterov: true, weightDecay: opts.qat.weightDecay,
  });
  const qatConfig = { ...opts.modelConfig, quant: opts.quant };
  const qatResult = fit({
    model, optimizer, scheduler: new CosineAnnealingLR(optimizer, { tMax: opts.qat.epochs }), train: opts.train, test: opts.test,
    epochs: opts.qat.epochs, modelConfig: qatConfig as unknown as Record<string, unknown>, runDir: qatDir, resume: opts.resume, loss,
    onStep: (s) => opts.onStep?.('qat', s), onEpoch: (m) => opts.onEpoch?.('qat', m),
  });
  const checkpoint = qatDir.file('model.safetensors');
  saveCheckpoint(checkpoint, model, qatConfig);
  return { float: floatResult, qat: qatResult, layers, floatCheckpoint, checkpoint };
}

/**
 * Quantization-aware training with the full-precision auxiliary module (Zhuang et al., CVPR 2020;
 * docs/auxiliary-module.md), on the QAT pipeline of run-qat.ts:
 *
 * - one stage: a fresh module is attached to the low-precision (LP) network at the fine-tune;
 * - two stages (the paper's schedule): first the float network and the module are trained together
 *   (stage 1, in RUN_DIR/stage1), then the network is quantized and fine-tuned with the module it
 *   learned there (stage 2, in RUN_DIR).
 *
 * Loss (the released code, section 2.1 of the notes): L = CE(logits_LP, y) + beta * CE(logits_aux, y),
 * one optimizer over the LP network and the module (the module joins the main parameter group). The
 * module's weights are checkpointed with the run (for resume) and saved as RUN_DIR/aux.safetensors,
 * never in model.safetensors: eval, export and ptq of the result see the LP network alone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../errors.ts';
import { loadSafetensors, saveSafetensors, type Module } from '../nn/index.ts';
import { makeOptimizer, type Optimizer } from '../optim/index.ts';
import { F, Generator, manualSeed, noGrad, type Tensor } from '../tensor/index.ts';
import { lastCheckpointPath, loadCheckpoint, modelConfigOf, RunDir, runTraining, trainingOptions, type CheckpointModelConfig, type TrainStep } from '../train/index.ts';
import { attachAuxiliaryModule, type AuxiliaryAttachment } from './aux-module.ts';
import { QAT_TRAINING_DEFAULTS } from './qat-options.ts';
import { runQat, type QatContext, type QatExtension, type QatRun, type RunQatArgs } from './run-qat.ts';

export interface AuxOptions {
  /** beta, the aux head's weight in the loss (the released code: 1). */
  weight: number;
  /** 1: a fresh module at the fine-tune; 2: float network + module trained first (the paper). */
  stages: 1 | 2;
  /** Epochs of stage 1 (two stages only); its other settings are the fine-tune's. */
  stage1Epochs: number;
}

export const AUX_DEFAULTS: Readonly<AuxOptions> = Object.freeze({ weight: 1, stages: 1, stage1Epochs: 1 });

/** The module's weights file in a run directory. */
export const AUX_WEIGHTS_FILE = 'aux.safetensors';

export function auxOptions(input: Partial<AuxOptions> = {}): AuxOptions {
  const o = { ...AUX_DEFAULTS, ...input };
  if (!(Number.isFinite(o.weight) && o.weight >= 0)) throw new LowbitError(`AuxOptions.weight must be a finite number >= 0, got ${o.weight}`);
  if (o.stages !== 1 && o.stages !== 2) throw new LowbitError(`AuxOptions.stages must be 1 or 2, got ${String(o.stages)}`);
  if (!(Number.isInteger(o.stage1Epochs) && o.stage1Epochs >= 1)) throw new LowbitError(`AuxOptions.stage1Epochs must be a positive integer, got ${o.stage1Epochs}`);
  return o;
}

/**
 * One training step of the pair: L = CE(LP) + beta * CE(aux), one backward, one optimizer step. The
 * reported loss and accuracy are the LP head's (comparable with plain QAT); the aux head's and the total
 * go to the step's metrics (metrics.jsonl, progress).
 */
export function auxTrainStep(attachment: AuxiliaryAttachment, optimizer: Optimizer, beta: number, labelSmoothing = 0): TrainStep {
  return (batch) => {
    const { logits, auxLogits } = attachment.forward(batch.images);
    const lpLoss = F.crossEntropy(logits, batch.labels, { labelSmoothing });
    const auxLoss = F.crossEntropy(auxLogits, batch.labels, { labelSmoothing });
    const loss = lpLoss.add(auxLoss.mul(beta));
    const total = loss.item();
    // Checked before the update, as the default step does: a diverged step never reaches the weights.
    if (!Number.isFinite(total)) return { loss: total, correct: 0 };
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    const n = batch.labels.shape[0];
    const [correct, auxCorrect] = noGrad(() => [logits, auxLogits].map((l) => l.argmax(1).eq(batch.labels).sum().item()));
    return { loss: lpLoss.item(), correct, metrics: { auxLoss: auxLoss.item(), auxAccuracy: auxCorrect / n, totalLoss: total } };
  };
}

/** Attaches a module to `model` (seeded apart from the model, so the LP run's random stream is plain QAT's). */
function attach(model: Module, numClasses: number, seed: number, weightsFrom?: string): AuxiliaryAttachment {
  // The module draws its initialization from its own generator: the global stream (data order,
  // augmentation) stays the plain run's, so plain and aux runs of one seed differ only by the module.
  const attachment = attachAuxiliaryModule(model, { numClasses, generator: new Generator(seed + 0x5eed) });
  if (weightsFrom !== undefined) {
    const file = loadSafetensors(weightsFrom);
    try {
      attachment.module.loadStateDict(file.tensors);
    } catch (err) {
      throw new LowbitError(`${weightsFrom}: ${(err as Error).message}`, { cause: err });
    } finally {
      for (const t of file.tensors.values()) t.dispose();
    }
  }
  attachment.module.toMemoryFormat_('channelsLast');
  return attachment;
}

function saveAuxWeights(runDir: RunDir, attachment: AuxiliaryAttachment): string {
  const path = runDir.file(AUX_WEIGHTS_FILE);
  saveSafetensors(path, attachment.module.stateDict() as Map<string, Tensor>, { 'lowbit.aux': 'full-precision auxiliary module (training only)' });
  return path;
}

/** A QatExtension that trains an auxiliary module beside the LP network (fresh, or from `weightsFrom`). */
export function auxiliaryExtension(opts: { aux: AuxOptions; seed: number; weightsFrom?: string; onAttach?: (a: AuxiliaryAttachment) => void }) {
  return (ctx: QatContext): QatExtension => {
    const attachment = attach(ctx.model, ctx.modelConfig.numClasses, opts.seed, opts.weightsFrom);
    ctx.optimizer.addParamGroup({ params: attachment.module.parameters() });
    opts.onAttach?.(attachment);
    return {
      step: auxTrainStep(attachment, ctx.optimizer, opts.aux.weight, ctx.options.labelSmoothing),
      state: { modules: { aux: attachment.module } },
    };
  };
}

/**
 * Stage 1 of the two-stage schedule: the float network and a fresh module trained together from the
 * float checkpoint, in `runDir` (resumable). Returns the paths of the float model and module it leaves.
 */
function runStage1(args: RunQatArgs, aux: AuxOptions, runDir: RunDir): { model: string; aux: string } {
  const done = { model: runDir.file('model.safetensors'), aux: runDir.file(AUX_WEIGHTS_FILE) };
  if (existsSync(runDir.file('result.json')) && existsSync(done.aux)) return done;
  const options = trainingOptions({ ...args.options, epochs: aux.stage1Epochs }, QAT_TRAINING_DEFAULTS);
  manualSeed(options.seed);
  const { model, modelConfig, extraTensors } = loadCheckpoint(args.checkpoint);
  for (const t of extraTensors.values()) t.dispose();
  if (modelConfig.quant !== undefined) throw new LowbitError(`${args.checkpoint} is already quantized; the auxiliary module's stage 1 trains a float network`);
  model.toMemoryFormat_('channelsLast');
  const attachment = attach(model, modelConfig.numClasses, options.seed);
  const optimizer = makeOptimizer([{ params: model.parameters() }, { params: attachment.module.parameters() }], options.optimizer);
  runTraining({
    command: 'qat-aux-stage1',
    model,
    modelConfig: modelConfig as unknown as Record<string, unknown>,
    optimizer,
    options,
    runDir,
    resume: existsSync(lastCheckpointPath(runDir)),
    config: { command: 'qat-aux-stage1', model: modelConfig, from: args.checkpoint, training: options, aux },
    step: auxTrainStep(attachment, optimizer, aux.weight, options.labelSmoothing),
    state: { modules: { aux: attachment.module } },
    onStart: args.onStart,
    onStep: args.onStep,
    onEpoch: args.onEpoch,
  });
  saveAuxWeights(runDir, attachment);
  attachment.detach();
  model.dispose();
  attachment.module.dispose();
  return done;
}

/** QAT with the auxiliary module: one stage (fresh module) or two (float + module first). */
export function runAuxQat(args: RunQatArgs & { aux?: Partial<AuxOptions> }): QatRun & { auxWeights: string } {
  const aux = auxOptions(args.aux);
  const seed = trainingOptions(args.options, QAT_TRAINING_DEFAULTS).seed;
  let runDir = args.runDir;
  let from = args.checkpoint;
  let weightsFrom: string | undefined;
  if (aux.stages === 2) {
    const resolved = typeof runDir === 'function' ? runDir(loadModelConfig(args.checkpoint)) : runDir;
    runDir = resolved;
    const stage1 = runStage1(args, aux, new RunDir(join(resolved.path, 'stage1')));
    from = stage1.model;
    weightsFrom = stage1.aux;
  }
  const attached: { current?: AuxiliaryAttachment } = {};
  const run = runQat({
    ...args,
    checkpoint: from,
    runDir,
    command: args.command ?? 'qat',
    config: { ...args.config, aux, ...(aux.stages === 2 ? { floatCheckpoint: args.checkpoint } : {}) },
    extend: auxiliaryExtension({ aux, seed, weightsFrom, onAttach: (a) => (attached.current = a) }),
  });
  const attachment = attached.current;
  if (attachment === undefined) throw new LowbitError('runAuxQat: the QAT run did not attach the auxiliary module');
  const auxWeights = saveAuxWeights(run.runDir, attachment);
  attachment.detach();
  return { ...run, auxWeights };
}

/** The model config a checkpoint records (names the run directory before stage 1 loads the model). */
function loadModelConfig(checkpoint: string): CheckpointModelConfig {
  const file = loadSafetensors(checkpoint);
  for (const t of file.tensors.values()) t.dispose();
  return modelConfigOf(file.metadata, checkpoint);
}

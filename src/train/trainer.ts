import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../errors.ts';
import type { Module } from '../nn/index.ts';
import type { JsonValue, LRScheduler, Optimizer } from '../optim/index.ts';
import { F, noGrad, scope, type Tensor } from '../tensor/index.ts';
import type { RunDir } from './run-dir.ts';
import { TrainingState, type TrainingProgress } from './training-state.ts';

/** A source of (images, labels) batches; the consumer disposes each batch. */
export interface BatchSource {
  readonly length: number;
  /** The epoch the next iteration runs; set so a resumed run sees the same shuffle order. */
  epoch?: number;
  [Symbol.iterator](): Iterator<{ images: Tensor; labels: Tensor }>;
}

export interface StepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  images: number;
  /** The step's further numbers (see TrainStepResult.metrics), when it reports any. */
  metrics?: Record<string, number>;
}

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
  /** Per-epoch means (weighted by batch size) of the step's further numbers; absent when it reports none. */
  extra?: Record<string, number>;
}

/** What one training step reports about its batch. */
export interface TrainStepResult {
  /** The training loss of the batch (its mean over the batch). */
  loss: number;
  /** Top-1 correct predictions in the batch. */
  correct: number;
  /** Further numbers (an auxiliary head's loss and accuracy...), averaged per epoch into EpochMetrics.extra. */
  metrics?: Record<string, number>;
}

/**
 * One training step on a batch: forward, backward and optimizer steps, as many as the method needs
 * (an auxiliary network's loss, two optimizers alternating). Runs inside a scope that frees its
 * temporaries; fit disposes the batch afterwards.
 */
export type TrainStep = (batch: { images: Tensor; labels: Tensor }, ctx: { epoch: number; step: number }) => TrainStepResult;

export interface FitOptions {
  /** The model trained; evaluated after each epoch and checkpointed under its own names unless told otherwise. */
  model: Module;
  /** The main optimizer: the default step steps it and the epoch's reported lr is its first group's. */
  optimizer: Optimizer;
  /** Stepped once per epoch. */
  scheduler?: LRScheduler;
  train: BatchSource;
  test?: BatchSource;
  epochs: number;
  /** Model description stored in checkpoints so they rebuild the model. */
  modelConfig: Record<string, unknown>;
  runDir: RunDir;
  /** Continue from runDir's last checkpoint when it exists. */
  resume?: boolean;
  labelSmoothing?: number;
  /**
   * The training loss for a batch; default cross entropy of model(images). QAT variants (auxiliary
   * modules, regularizers) pass their own. Used by the default step only.
   */
  loss?: (model: Module, images: Tensor, labels: Tensor) => { loss: Tensor; logits: Tensor };
  /** A custom step (see TrainStep); default: `loss`, zeroGrad, backward, optimizer.step(). */
  step?: TrainStep;
  /** The model evaluated after each epoch (default `model`): e.g. the low-precision network of a pair. */
  evalModel?: Module;
  /**
   * More to checkpoint and restore with `model`, `optimizer` and `scheduler` (whose names 'model',
   * 'optimizer', 'scheduler' are taken): modules trained besides the model (kept for resume, never in
   * the final model file), further optimizers, schedulers (fit steps these once per epoch too; a
   * per-batch schedule belongs to the step, with its state in `extras`), and JSON extras.
   */
  state?: {
    modules?: Record<string, Module>;
    optimizers?: Record<string, Optimizer>;
    schedulers?: Record<string, LRScheduler>;
    /** Called at each checkpoint; what it returns is saved and handed back on resume. */
    extras?: () => Record<string, JsonValue>;
    /** On resume, called with the saved progress and extras before any tensor is loaded (see TrainingState.load). */
    beforeTensors?: (saved: TrainingProgress) => void;
  };
  onStep?: (info: StepInfo) => void;
  onEpoch?: (m: EpochMetrics) => void;
}

export interface FitResult {
  history: EpochMetrics[];
  final: EpochMetrics | null;
  bestTestAccuracy: number;
  resumedFromEpoch: number;
  /** The extras saved in the checkpoint resumed from ({} on a fresh run). */
  resumedExtras: Record<string, JsonValue>;
}

export function lastCheckpointPath(runDir: RunDir): string {
  return join(runDir.checkpointDir, 'last.safetensors');
}

/** Top-1 accuracy and mean cross entropy over a data source, in eval mode without gradients. */
export function evaluate(model: Module, data: BatchSource): { loss: number; accuracy: number; count: number } {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  try {
    noGrad(() => {
      for (const batch of data) {
        scope(() => {
          const logits = model.call(batch.images);
          lossSum += F.crossEntropy(logits, batch.labels, { reduction: 'sum' }).item();
          correct += logits.argmax(1).eq(batch.labels).sum().item();
          count += batch.labels.shape[0];
          batch.images.dispose();
          batch.labels.dispose();
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  if (count === 0) throw new LowbitError('evaluate: the data source produced no batches');
  return { loss: lossSum / count, accuracy: correct / count, count };
}

function defaultLoss(model: Module, images: Tensor, labels: Tensor, labelSmoothing: number) {
  const logits = model.call(images);
  return { logits, loss: F.crossEntropy(logits, labels, { labelSmoothing }) };
}

function diverged(value: number, epoch: number, step: number): LowbitError {
  return new LowbitError(`training diverged: loss is ${value} at epoch ${epoch + 1}, step ${step + 1}. Lower the learning rate or check the data.`);
}

/** The default step: one loss, one backward, one step of `optimizer`. */
function defaultStep(opts: FitOptions): TrainStep {
  const { model, optimizer } = opts;
  const smoothing = opts.labelSmoothing ?? 0;
  const lossFn = opts.loss ?? ((m, x, y) => defaultLoss(m, x, y, smoothing));
  return (batch, { epoch, step }) => {
    const { loss, logits } = lossFn(model, batch.images, batch.labels);
    const value = loss.item();
    // Checked before the update, so a diverged step never reaches the weights.
    if (!Number.isFinite(value)) throw diverged(value, epoch, step);
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
    const correct = noGrad(() => logits.argmax(1).eq(batch.labels).sum().item());
    return { loss: value, correct };
  };
}

/**
 * The training loop every pipeline uses: epochs of steps, evaluation after each epoch, metrics appended
 * to the run directory, and a checkpoint after each epoch (a TrainingState: model, optimizer, scheduler,
 * whatever `state` adds, RNG and history) from which `resume` continues exactly where the run stopped.
 */
export function fit(opts: FitOptions): FitResult {
  const { model, optimizer, scheduler, train, test, epochs, runDir } = opts;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new LowbitError(`epochs must be a positive integer, got ${epochs}`);
  const extraModules = opts.state?.modules ?? {};
  const extraSchedulers = opts.state?.schedulers ?? {};
  const trainingState = new TrainingState(
    () => ({
      modules: { model, ...extraModules },
      optimizers: { optimizer, ...opts.state?.optimizers },
      schedulers: { ...(scheduler ? { scheduler } : {}), ...extraSchedulers },
    }),
    { primary: 'model', modelConfig: opts.modelConfig },
  );
  let startEpoch = 0;
  let history: EpochMetrics[] = [];
  let best = 0;
  let resumedExtras: Record<string, JsonValue> = {};
  if (opts.resume && existsSync(lastCheckpointPath(runDir))) {
    const saved = trainingState.load(lastCheckpointPath(runDir), { beforeTensors: opts.state?.beforeTensors });
    startEpoch = saved.epoch;
    history = saved.history;
    best = saved.bestTestAccuracy;
    resumedExtras = saved.extras;
    const logged = new Set(runDir.readMetrics().filter((m) => m.event === 'epoch').map((m) => m.epoch));
    for (const m of history) if (!logged.has(m.epoch)) runDir.appendMetrics({ event: 'epoch', ...m });
    runDir.appendMetrics({ event: 'resume', fromEpoch: startEpoch });
  }
  const resumedFromEpoch = startEpoch;
  const custom = opts.step !== undefined;
  const step = opts.step ?? defaultStep(opts);
  const evalModel = opts.evalModel ?? model;

  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    model.train();
    for (const m of Object.values(extraModules)) m.train();
    if ('epoch' in train) train.epoch = epoch;
    const lr = optimizer.paramGroups[0].lr;
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let stepIndex = 0;
    const extraSums = new Map<string, number>();
    for (const batch of train) {
      const n = batch.labels.shape[0];
      const r = scope(() => {
        const out = step(batch, { epoch, step: stepIndex });
        if (custom && !Number.isFinite(out.loss)) throw diverged(out.loss, epoch, stepIndex);
        batch.images.dispose();
        batch.labels.dispose();
        return out;
      });
      lossSum += r.loss * n;
      correct += r.correct;
      seen += n;
      for (const [k, v] of Object.entries(r.metrics ?? {})) extraSums.set(k, (extraSums.get(k) ?? 0) + v * n);
      stepIndex++;
      opts.onStep?.({ epoch, epochs, step: stepIndex, steps: train.length, loss: r.loss, images: n, ...(r.metrics ? { metrics: r.metrics } : {}) });
    }
    const seconds = (performance.now() - t0) / 1000;
    scheduler?.step();
    for (const s of Object.values(extraSchedulers)) s.step();
    const evalResult = test ? evaluate(evalModel, test) : { loss: NaN, accuracy: NaN };
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      trainLoss: lossSum / Math.max(seen, 1),
      trainAccuracy: correct / Math.max(seen, 1),
      testLoss: evalResult.loss,
      testAccuracy: evalResult.accuracy,
      lr,
      imagesPerSecond: seen / seconds,
      seconds,
    };
    if (extraSums.size > 0) metrics.extra = Object.fromEntries([...extraSums].map(([k, v]) => [k, v / Math.max(seen, 1)]));
    history.push(metrics);
    if (evalResult.accuracy > best) best = evalResult.accuracy;
    // Checkpoint first: a metrics line then always describes a saved epoch, so a run killed between
    // the two loses only the line, which resume writes back from the checkpoint's history.
    trainingState.save(lastCheckpointPath(runDir), { epoch: epoch + 1, history, bestTestAccuracy: best, extras: opts.state?.extras?.() ?? {} });
    runDir.appendMetrics({ event: 'epoch', ...metrics });
    opts.onEpoch?.(metrics);
  }
  return { history, final: history[history.length - 1] ?? null, bestTestAccuracy: best, resumedFromEpoch, resumedExtras };
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../errors.ts';
import { loadSafetensors, type Module } from '../nn/index.ts';
import type { Optimizer, OptimizerStateDict, LRScheduler } from '../optim/index.ts';
import { F, getRngState, noGrad, scope, setRngState, type Tensor } from '../tensor/index.ts';
import { saveCheckpoint, TRAINING_STATE_KEY } from './checkpoint.ts';
import type { RunDir } from './run-dir.ts';

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
}

export interface FitOptions {
  model: Module;
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
   * modules, regularizers) pass their own.
   */
  loss?: (model: Module, images: Tensor, labels: Tensor) => { loss: Tensor; logits: Tensor };
  onStep?: (info: StepInfo) => void;
  onEpoch?: (m: EpochMetrics) => void;
}

export interface FitResult {
  history: EpochMetrics[];
  final: EpochMetrics | null;
  bestTestAccuracy: number;
  resumedFromEpoch: number;
}

interface TrainingState {
  epoch: number;
  optimizer: Omit<OptimizerStateDict, 'state'>;
  scheduler: unknown;
  rng: string;
  bestTestAccuracy: number;
  history: EpochMetrics[];
}

const OPTIM_PREFIX = 'optimizer.';

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

function saveTrainingCheckpoint(opts: FitOptions, state: Omit<TrainingState, 'optimizer'>): void {
  const optimState = opts.optimizer.stateDict();
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of Object.entries(optimState.state)) tensors.set(OPTIM_PREFIX + k, t);
  const training: TrainingState = { ...state, optimizer: { groups: optimState.groups, scalars: optimState.scalars } };
  saveCheckpoint(lastCheckpointPath(opts.runDir), opts.model, opts.modelConfig, {
    tensors,
    metadata: { [TRAINING_STATE_KEY]: JSON.stringify(training) },
  });
}

function restoreTrainingCheckpoint(opts: FitOptions): TrainingState {
  const path = lastCheckpointPath(opts.runDir);
  const { tensors, metadata } = loadSafetensors(path);
  try {
    const raw = metadata[TRAINING_STATE_KEY];
    if (raw === undefined) throw new LowbitError(`${path} holds no training state: it cannot be resumed; start a new run directory`);
    const state = JSON.parse(raw) as TrainingState;
    const weights = new Map<string, Tensor>();
    const optimTensors: Record<string, Tensor> = {};
    for (const [k, t] of tensors) {
      if (k.startsWith(OPTIM_PREFIX)) optimTensors[k.slice(OPTIM_PREFIX.length)] = t;
      else weights.set(k, t);
    }
    opts.model.loadStateDict(weights);
    opts.optimizer.loadStateDict({ ...state.optimizer, state: optimTensors });
    if (opts.scheduler && state.scheduler) opts.scheduler.loadStateDict(state.scheduler as never);
    setRngState(Uint8Array.from(Buffer.from(state.rng, 'base64')));
    return state;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * The training loop every command uses: epochs of steps, evaluation after each epoch, metrics appended
 * to the run directory, and a checkpoint after each epoch (model, optimizer, scheduler, RNG and
 * history) from which `resume` continues exactly where the run stopped.
 */
export function fit(opts: FitOptions): FitResult {
  const { model, optimizer, scheduler, train, test, epochs, runDir } = opts;
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new LowbitError(`epochs must be a positive integer, got ${epochs}`);
  let startEpoch = 0;
  let history: EpochMetrics[] = [];
  let best = 0;
  if (opts.resume && existsSync(lastCheckpointPath(runDir))) {
    const state = restoreTrainingCheckpoint(opts);
    startEpoch = state.epoch;
    history = state.history;
    best = state.bestTestAccuracy;
    const logged = new Set(runDir.readMetrics().filter((m) => m.event === 'epoch').map((m) => m.epoch));
    for (const m of history) if (!logged.has(m.epoch)) runDir.appendMetrics({ event: 'epoch', ...m });
    runDir.appendMetrics({ event: 'resume', fromEpoch: startEpoch });
  }
  const resumedFromEpoch = startEpoch;
  const smoothing = opts.labelSmoothing ?? 0;
  const lossFn = opts.loss ?? ((m, x, y) => defaultLoss(m, x, y, smoothing));

  for (let epoch = startEpoch; epoch < epochs; epoch++) {
    model.train();
    if ('epoch' in train) train.epoch = epoch;
    const lr = optimizer.paramGroups[0].lr;
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let step = 0;
    for (const batch of train) {
      const n = batch.labels.shape[0];
      const lossValue = scope(() => {
        const { loss, logits } = lossFn(model, batch.images, batch.labels);
        const value = loss.item();
        if (!Number.isFinite(value)) {
          throw new LowbitError(`training diverged: loss is ${value} at epoch ${epoch + 1}, step ${step + 1}. Lower --lr or check the data.`);
        }
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        correct += noGrad(() => logits.argmax(1).eq(batch.labels).sum().item());
        batch.images.dispose();
        batch.labels.dispose();
        return value;
      });
      lossSum += lossValue * n;
      seen += n;
      step++;
      opts.onStep?.({ epoch, epochs, step, steps: train.length, loss: lossValue, images: n });
    }
    const seconds = (performance.now() - t0) / 1000;
    scheduler?.step();
    const evalResult = test ? evaluate(model, test) : { loss: NaN, accuracy: NaN };
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
    history.push(metrics);
    if (evalResult.accuracy > best) best = evalResult.accuracy;
    // Checkpoint first: a metrics line then always describes a saved epoch, so a run killed between
    // the two loses only the line, which resume writes back from the checkpoint's history.
    saveTrainingCheckpoint(opts, {
      epoch: epoch + 1,
      scheduler: scheduler?.stateDict() ?? null,
      rng: Buffer.from(getRngState()).toString('base64'),
      bestTestAccuracy: best,
      history,
    });
    runDir.appendMetrics({ event: 'epoch', ...metrics });
    opts.onEpoch?.(metrics);
  }
  return { history, final: history[history.length - 1] ?? null, bestTestAccuracy: best, resumedFromEpoch };
}

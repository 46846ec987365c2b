/**
 * The NCE search loop: TAS's bi-level procedure (search_main_v2) on the quantized supernet, with NCE's
 * params term and channel expansion. Per batch pair (one batch of each half of the training set):
 *
 *   weight step  sample a pair per layer at temperature tau, CE on the weight half, SGD on W (and BN, PACT)
 *   arch step    sample again, L = CE + lambda_flop L_flop + lambda_params L_params on the arch half,
 *                Adam on the width logits
 *
 * Per epoch: tau from TAS's cosine schedule (5 -> 0.1), the weight LR from a cosine schedule, then the
 * expansion check (expansion.ts), an evaluation of the argmax network, and a checkpoint from which
 * `resume` continues at the next epoch with logits, both optimizers, expanded shapes and every random
 * stream restored.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../errors.ts';
import type { DataLoader } from '../data/index.ts';
import { Adam, CosineAnnealingLR, SGD, type JsonValue } from '../optim/index.ts';
import { quantizerParameters } from '../quant/index.ts';
import { F, Generator, scope, type Tensor } from '../tensor/index.ts';
import { evaluate, TrainingState, type RunDir } from '../train/index.ts';
import { expandLayers, type ExpansionEvent } from './expansion.ts';
import { gumbelTemperature } from './gumbel.ts';
import { budgetLoss, budgetSide, costAtWidths, expectedCost, widthDistributions, type BudgetSide, type Cost } from './search-cost.ts';
import type { Supernet } from './supernet-base.ts';

export interface SearchHyperParams {
  epochs: number;
  /** Weight step: SGD with Nesterov momentum, cosine LR (TAS: 0.1, 0.9, 5e-4 on CIFAR). */
  weightLr: number;
  momentum: number;
  weightDecay: number;
  /** Arch step: Adam (TAS: lr 1e-3, betas (0.5, 0.999), weight decay 1e-3). */
  archLr: number;
  archBetas: [number, number];
  archWeightDecay: number;
  /** Gumbel temperature, cosine from tauMax to tauMin over the epochs (TAS: 5 -> 0.1). */
  tauMax: number;
  tauMin: number;
  /** Budget as a fraction of the ORIGINAL network's MACs and params (NCE), with TAS's dead band. */
  targetRatio: number;
  tolerance: number;
  lambdaFlops: number;
  lambdaParams: number;
  /** Channel expansion: threshold T on the largest candidate's probability; off gives TAS's search. */
  expand: boolean;
  threshold: number;
  /** Seed of the Gumbel sampling stream. */
  seed: number;
}

export const DEFAULT_SEARCH: Omit<SearchHyperParams, 'epochs' | 'seed'> = {
  weightLr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  archLr: 1e-3,
  archBetas: [0.5, 0.999],
  archWeightDecay: 1e-3,
  tauMax: 5,
  tauMin: 0.1,
  targetRatio: 1.0,
  tolerance: 0.05,
  lambdaFlops: 2,
  lambdaParams: 2,
  expand: true,
  threshold: 0.25,
};

export interface SearchStepInfo {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  images: number;
  weightLoss: number;
  archLoss: number;
  archCe: number;
  tau: number;
  /** E[MACs] and E[params] over the original network's. */
  expectedFlopsRatio: number;
  expectedParamsRatio: number;
}

export interface SearchEpochMetrics {
  epoch: number;
  tau: number;
  lr: number;
  weightLoss: number;
  weightAccuracy: number;
  archLoss: number;
  archCe: number;
  expectedFlopsRatio: number;
  expectedParamsRatio: number;
  /** The argmax network's MACs and params over the original's. */
  flopsRatio: number;
  paramsRatio: number;
  flopsSide: BudgetSide;
  paramsSide: BudgetSide;
  testAccuracy: number;
  widths: number[];
  maxWidths: number[];
  expansions: ExpansionEvent[];
  /** Images of both halves per second (each image one forward and backward through the supernet). */
  imagesPerSecond: number;
  seconds: number;
}

export interface SearchOptions {
  net: Supernet;
  weightLoader: DataLoader;
  archLoader: DataLoader;
  test?: DataLoader;
  hyper: SearchHyperParams;
  runDir: RunDir;
  resume?: boolean;
  onStep?: (info: SearchStepInfo) => void;
  onEpoch?: (m: SearchEpochMetrics) => void;
}

export interface SearchResult {
  history: SearchEpochMetrics[];
  widths: number[];
  reference: Cost;
  resumedFromEpoch: number;
}

/** What a search checkpoint holds beside the tensors (TrainingState extras). */
interface SearchExtras {
  /** Expansion level of every searchable layer: restored before the tensors, so shapes match. */
  levels: number[];
  history: SearchEpochMetrics[];
  /** The Gumbel sampler's generator state (base64). */
  gumbel: string;
}

export function searchCheckpointPath(runDir: RunDir): string {
  return join(runDir.checkpointDir, 'search-last.safetensors');
}

export function runSearch(opts: SearchOptions): SearchResult {
  const { net, weightLoader, archLoader, hyper: h, runDir } = opts;
  if (!(Number.isInteger(h.epochs) && h.epochs >= 1)) throw new LowbitError(`search epochs must be a positive integer, got ${h.epochs}`);
  const lsq = new Set(quantizerParameters(net, 'lsq'));
  const weightParams = net.weightParameters();
  const weightOptimizer = new SGD(
    [{ params: weightParams.filter((p) => !lsq.has(p)) }, ...(lsq.size ? [{ params: [...lsq], weightDecay: 0 }] : [])],
    { lr: h.weightLr, momentum: h.momentum, nesterov: true, weightDecay: h.weightDecay },
  );
  const archOptimizer = new Adam(net.archParameters(), { lr: h.archLr, betas: h.archBetas, weightDecay: h.archWeightDecay });
  const scheduler = new CosineAnnealingLR(weightOptimizer, { tMax: h.epochs });
  const gumbel = new Generator(h.seed);
  // Supernet, both optimizers, the schedule and the global RNG in one TrainingState; the Gumbel
  // generator and the expansion levels travel in its extras.
  const state = new TrainingState({ modules: { net }, optimizers: { weightOptimizer, archOptimizer }, schedulers: { scheduler } });
  const reference = costAtWidths(net.costTerms, net.originalWidths());

  let startEpoch = 0;
  let history: SearchEpochMetrics[] = [];
  const ckpt = searchCheckpointPath(runDir);
  if (opts.resume && existsSync(ckpt)) {
    const saved = state.load(ckpt, {
      // Expanded layers first, so the candidate sets match the saved logits.
      beforeTensors: (p) => net.setLevels((p.extras as unknown as SearchExtras).levels),
    });
    const extras = saved.extras as unknown as SearchExtras;
    gumbel.setState(Uint8Array.from(Buffer.from(extras.gumbel, 'base64')));
    startEpoch = saved.epoch;
    history = extras.history;
    const logged = new Set(runDir.readMetrics().filter((m) => m.event === 'epoch').map((m) => m.epoch));
    for (const m of history) if (!logged.has(m.epoch)) runDir.appendMetrics({ event: 'epoch', ...m });
    runDir.appendMetrics({ event: 'resume', fromEpoch: startEpoch });
  }
  const resumedFromEpoch = startEpoch;
  const budget = { ratio: h.targetRatio, tolerance: h.tolerance };

  for (let epoch = startEpoch; epoch < h.epochs; epoch++) {
    const tau = gumbelTemperature(epoch, h.epochs, h.tauMax, h.tauMin);
    const lr = weightOptimizer.paramGroups[0].lr;
    const steps = Math.min(weightLoader.length, archLoader.length);
    const t0 = performance.now();
    let wLossSum = 0;
    let wCorrect = 0;
    let aLossSum = 0;
    let aCeSum = 0;
    let seen = 0;
    let archSeen = 0;
    let last = { flops: NaN, params: NaN };
    const archBatches = archLoader.batches(epoch);
    let step = 0;
    net.train();
    for (const wb of weightLoader.batches(epoch)) {
      if (step >= steps) {
        wb.dispose();
        break;
      }
      const ab = archBatches.next().value!;
      try {
        const n = wb.labels.shape[0];
        const w = scope(() => {
          net.sample(tau, gumbel);
          const logits = net.call(wb.images);
          const loss = F.crossEntropy(logits, wb.labels);
          const value = finite(loss.item(), 'weight', epoch, step);
          weightOptimizer.zeroGrad();
          loss.backward();
          weightOptimizer.step();
          return { value, correct: logits.argmax(1).eq(wb.labels).sum().item() };
        });
        const a = scope(() => {
          net.sample(tau, gumbel);
          const ce = F.crossEntropy(net.call(ab.images), ab.labels);
          const expected = expectedCost(net.costTerms, widthDistributions(net));
          const current = costAtWidths(net.costTerms, net.argmaxWidths());
          const lf = budgetLoss(expected.macs, current.macs, reference.macs, budget).loss;
          const lp = budgetLoss(expected.params, current.params, reference.params, budget).loss;
          let loss: Tensor = ce;
          if (lf) loss = loss.add(lf.mul(h.lambdaFlops));
          if (lp) loss = loss.add(lp.mul(h.lambdaParams));
          const value = finite(loss.item(), 'architecture', epoch, step);
          archOptimizer.zeroGrad();
          loss.backward();
          archOptimizer.step();
          return { value, ce: ce.item(), flops: expected.macs.item() / reference.macs, params: expected.params.item() / reference.params };
        });
        wLossSum += w.value * n;
        wCorrect += w.correct;
        aLossSum += a.value * n;
        aCeSum += a.ce * n;
        seen += n;
        archSeen += ab.labels.shape[0];
        last = { flops: a.flops, params: a.params };
        step++;
        opts.onStep?.({
          epoch, epochs: h.epochs, step, steps, images: n, weightLoss: w.value, archLoss: a.value, archCe: a.ce, tau,
          expectedFlopsRatio: a.flops, expectedParamsRatio: a.params,
        });
      } finally {
        wb.dispose();
        ab.dispose();
      }
    }
    archBatches.return?.(undefined);
    const seconds = (performance.now() - t0) / 1000;
    scheduler.step();
    const expansions = h.expand ? expandLayers(net, h.threshold, archOptimizer) : [];
    net.setMode('argmax');
    const testAccuracy = opts.test ? evaluate(net, opts.test).accuracy : NaN;
    const widths = net.argmaxWidths();
    const cur = costAtWidths(net.costTerms, widths);
    const metrics: SearchEpochMetrics = {
      epoch: epoch + 1,
      tau,
      lr,
      weightLoss: wLossSum / Math.max(seen, 1),
      weightAccuracy: wCorrect / Math.max(seen, 1),
      archLoss: aLossSum / Math.max(seen, 1),
      archCe: aCeSum / Math.max(seen, 1),
      expectedFlopsRatio: last.flops,
      expectedParamsRatio: last.params,
      flopsRatio: cur.macs / reference.macs,
      paramsRatio: cur.params / reference.params,
      flopsSide: budgetSide(cur.macs, reference.macs, budget),
      paramsSide: budgetSide(cur.params, reference.params, budget),
      testAccuracy,
      widths,
      maxWidths: net.maxWidths(),
      expansions,
      imagesPerSecond: (seen + archSeen) / seconds,
      seconds,
    };
    history.push(metrics);
    // Checkpoint first, then the metrics line (as fit does): a line always describes a saved epoch.
    const extras: SearchExtras = { levels: net.levels(), history, gumbel: Buffer.from(gumbel.getState()).toString('base64') };
    state.save(ckpt, { epoch: epoch + 1, history: [], bestTestAccuracy: 0, extras: extras as unknown as Record<string, JsonValue> });
    runDir.appendMetrics({ event: 'epoch', ...metrics });
    opts.onEpoch?.(metrics);
  }
  net.setMode('argmax');
  return { history, widths: net.argmaxWidths(), reference, resumedFromEpoch };
}

function finite(v: number, which: string, epoch: number, step: number): number {
  if (!Number.isFinite(v)) throw new LowbitError(`search diverged: the ${which} loss is ${v} at epoch ${epoch + 1}, step ${step + 1}; lower --lr or --arch-lr`);
  return v;
}

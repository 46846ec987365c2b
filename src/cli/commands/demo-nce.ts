/**
 * Demo stage `nce`: a short NCE width search of a W2A2 ResNet-20 supernet started from the float model
 * (initFromFloat; weight lr 0.01 and arch lr 0.01, which learn more in a short budget than TAS's 0.1 and
 * 1e-3 from scratch), the derived network's widths, FLOPs and params against the original, and its W2A2
 * retraining (float phase from scratch, then QAT) on a short budget.
 */
import { join } from 'node:path';
import { DataLoader, loadDataset, RandomCrop, RandomHorizontalFlip } from '../../data/index.ts';
import { DEFAULT_SEARCH, deriveNetwork, initFromFloat, retrain, runSearch, SearchResNet, splitHalves, type SearchHyperParams } from '../../nas/index.ts';
import { qatQuantConfig } from '../../qat/index.ts';
import type { QuantizedLayer } from '../../quant/index.ts';
import { Generator, manualSeed } from '../../tensor/index.ts';
import { loadCheckpoint, RunDir, subset } from '../../train/index.ts';
import { info } from '../output.ts';
import { Progress } from '../progress.ts';
import { DEMO_DATASET, type DemoContext } from './demo-context.ts';
import { modelWeightBytes } from './demo-qat.ts';
import { recordWeightStorage, type StageRunner } from './demo-stages.ts';

const SEARCH_DIR = 'nce-search';
const RETRAIN_DIR = 'nce-retrain';

/** The zoo's names of ResNet-20's searchable convs, in the order of ModelConfig.widths. */
export function resnetWidthNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'stem.0' : `layers.${Math.floor((i - 1) / 2)}.conv${((i - 1) % 2) + 1}`));
}

export function nceStage(ctx: DemoContext): StageRunner {
  const budget = ctx.budget.nce;
  const hyper: SearchHyperParams = { ...DEFAULT_SEARCH, epochs: budget.searchEpochs, seed: ctx.seed, weightLr: 0.01, archLr: 0.01 };
  const quant = qatQuantConfig({ wbits: 2, abits: 2 });
  const recipe = { float: { epochs: budget.floatEpochs, lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }, qat: { epochs: budget.qatEpochs, lr: 0.01, momentum: 0.9, weightDecay: 5e-4 } };
  return {
    key: () => ({ budget, hyper, float: ctx.floatCheckpoint }),
    dirs: () => [SEARCH_DIR, RETRAIN_DIR],
    run() {
      manualSeed(ctx.seed);
      const supernet = { model: 'resnet20', numClasses: 10, inChannels: 1, inputSize: [28, 28] as [number, number], expansionLimit: 2, growth: 1.25, quant };
      const net = new SearchResNet(supernet, new Generator(ctx.seed));
      const float = loadCheckpoint(ctx.floatCheckpoint);
      for (const t of float.extraTensors.values()) t.dispose();
      initFromFloat(net, float.model);
      float.model.dispose();
      net.toMemoryFormat_('channelsLast');
      const searchDir = new RunDir(join(ctx.out, SEARCH_DIR));
      const trainSet = subset(loadDataset(DEMO_DATASET, 'train'), budget.searchSubset);
      const { weightSet, archSet } = splitHalves(trainSet, ctx.seed);
      searchDir.writeConfig({ command: 'nce search', dataset: DEMO_DATASET, supernet, search: hyper, init: ctx.floatCheckpoint, trainImages: trainSet.length, demo: { stage: 'nce' } });
      const augment = [new RandomCrop(2), new RandomHorizontalFlip()];
      const loader = (ds: typeof weightSet, stream: number) => new DataLoader(ds, { batchSize: 128, shuffle: true, seed: ctx.seed * 2 + stream, transform: augment, memoryFormat: 'channelsLast' });
      let bar: Progress | null = null;
      const search = runSearch({
        net,
        weightLoader: loader(weightSet, 0),
        archLoader: loader(archSet, 1),
        hyper,
        runDir: searchDir,
        resume: false,
        onStep: (s) => {
          if (s.step === 1) bar = new Progress({ label: `search ${s.epoch + 1}/${s.epochs}`, total: s.steps * 128, unit: 'img' });
          bar?.tick(s.images, `w ${s.weightLoss.toFixed(3)} a ${s.archLoss.toFixed(3)} E[F] ${s.expectedFlopsRatio.toFixed(3)}`);
        },
        onEpoch: (m) => {
          bar?.finish(`weight loss ${m.weightLoss.toFixed(4)}, argmax net ${m.flopsRatio.toFixed(3)}x FLOPs ${m.paramsRatio.toFixed(3)}x params`);
          bar = null;
        },
      });
      const derived = deriveNetwork(net);
      net.dispose();
      const names = resnetWidthNames(derived.widths.length);
      const searchSeconds = search.history.reduce((s, m) => s + m.seconds, 0);
      searchDir.writeResult({
        command: 'nce search',
        derived,
        widths: derived.widths.map((w, i) => ({ layer: names[i], base: derived.originalWidths[i], searched: w })),
        flopsRatio: derived.flopsRatio,
        paramsRatio: derived.paramsRatio,
        searchSeconds,
        history: search.history,
      });
      info(`  searched widths ${derived.widths.join(',')}: ${derived.flopsRatio.toFixed(3)}x FLOPs, ${derived.paramsRatio.toFixed(3)}x params of ResNet-20`);

      const retrainDir = new RunDir(join(ctx.out, RETRAIN_DIR));
      const retrainSet = subset(loadDataset(DEMO_DATASET, 'train'), budget.retrainSubset);
      const test = new DataLoader(subset(loadDataset(DEMO_DATASET, 'test'), budget.testSubset), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
      retrainDir.writeConfig({ command: 'nce retrain', dataset: DEMO_DATASET, model: derived.modelConfig, quant, ...recipe, trainImages: retrainSet.length, testImages: test.dataset.length, from: SEARCH_DIR, demo: { stage: 'nce' } });
      const train = new DataLoader(retrainSet, { batchSize: 128, shuffle: true, seed: ctx.seed, transform: augment, memoryFormat: 'channelsLast' });
      const start = performance.now();
      const r = retrain({
        modelConfig: derived.modelConfig, train, test, ...recipe, quant, runDir: retrainDir, seed: ctx.seed,
        onStep: (phase, s) => {
          if (s.step === 1) bar = new Progress({ label: `retrain ${phase} ${s.epoch + 1}/${s.epochs}`, total: s.steps * 128, unit: 'img' });
          bar?.tick(s.images, `loss ${s.loss.toFixed(4)}`);
        },
        onEpoch: (_phase, m) => {
          bar?.finish(`train loss ${m.trainLoss.toFixed(4)}  test acc ${(100 * m.testAccuracy).toFixed(2)}%`);
          bar = null;
        },
      });
      const retrainSeconds = (performance.now() - start) / 1000;
      const storage = retrainedWeightBytes(r.checkpoint, r.layers);
      retrainDir.writeResult({
        command: 'nce retrain',
        model: derived.modelConfig,
        // Not `widths`: a report reads that key as the search's [{layer, base, searched}] list (nce-search has it).
        searchedWidths: derived.widths,
        flopsRatio: derived.flopsRatio,
        paramsRatio: derived.paramsRatio,
        wbits: quant.weight.bits,
        abits: quant.act?.bits ?? 32,
        floatTestAccuracy: r.float?.final?.testAccuracy ?? null,
        testAccuracy: r.qat.final?.testAccuracy ?? null,
        epochs: { float: recipe.float.epochs, qat: recipe.qat.epochs },
        checkpoint: r.checkpoint,
        floatCheckpoint: r.floatCheckpoint,
        seconds: retrainSeconds,
      });
      recordWeightStorage(retrainDir.path, storage);
      info(`  retrained W2A2: test accuracy ${(100 * Number(r.qat.final?.testAccuracy)).toFixed(2)}% (${retrainSeconds.toFixed(1)} s)`);
      return {
        searchDir: SEARCH_DIR,
        retrainDir: RETRAIN_DIR,
        searchSeconds,
        retrainSeconds,
        flopsRatio: derived.flopsRatio,
        paramsRatio: derived.paramsRatio,
        macs: derived.macs,
        params: derived.params,
        originalMacs: derived.originalMacs,
        originalParams: derived.originalParams,
        testAccuracy: r.qat.final?.testAccuracy ?? null,
        floatTestAccuracy: r.float?.final?.testAccuracy ?? null,
        weightStorage: storage,
      };
    },
  };
}

/** The retrained network's conv/linear weights at their bits, measured on its checkpoint. */
function retrainedWeightBytes(checkpoint: string, layers: readonly QuantizedLayer[]): { bytes: number; floatBytes: number } {
  const { model, extraTensors } = loadCheckpoint(checkpoint);
  for (const t of extraTensors.values()) t.dispose();
  try {
    return modelWeightBytes(model, layers);
  } finally {
    model.dispose();
  }
}

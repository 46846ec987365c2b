import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.ts';
import { DataLoader, defaultAugmentation, loadDataset } from '../../data/index.ts';
import { widthLayers, type ModelConfig } from '../../models/index.ts';
import {
  DEFAULT_SEARCH,
  deriveNetwork,
  initFromFloat,
  describeWidths,
  retrain,
  runSearch,
  createSupernet,
  searchCheckpointPath,
  SEARCHABLE_MODELS,
  splitHalves,
  type DerivedNetwork,
} from '../../nas/index.ts';
import { ACT_QUANT_KINDS, TRAINABLE_WEIGHT_QUANT_KINDS } from '../../quant/index.ts';
import { Generator, manualSeed } from '../../tensor/index.ts';
import { lastCheckpointPath, loadCheckpoint, RunDir, subset, trainingLoaders } from '../../train/index.ts';
import { intOption, numberOption, optionalInt, stringOption, type Command, type ParsedOptions } from '../command.ts';
import { DATA_OPTIONS, dataOptions, datasetName } from '../data-setup.ts';
import { info, output } from '../output.ts';
import { Progress } from '../progress.ts';
import { qatQuantOptionsFrom } from './qat.ts';
import { qatQuantConfig } from '../../qat/index.ts';
import { clearRunFiles, defaultRunDir } from './train.ts';
import { FORCE_OPTION, openRunDir } from '../run-dir-setup.ts';


const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function datasetShape(o: ParsedOptions): { inChannels: number; inputSize: [number, number] } {
  return o.dataset === 'cifar10' ? { inChannels: 3, inputSize: [32, 32] } : { inChannels: 1, inputSize: [28, 28] };
}

function fraction(o: ParsedOptions, name: string, lo: number, hi: number): number {
  const v = numberOption(o, name);
  if (!(v > lo && v < hi)) throw new UsageError(`--${name} ${v}: expected a number in (${lo}, ${hi})`);
  return v;
}

function search(o: ParsedOptions): void {
  const seed = intOption(o, 'seed', 0);
  manualSeed(seed);
  const model = stringOption(o, 'model');
  if (!SEARCHABLE_MODELS.includes(model)) throw new UsageError(`--model ${model}: the channel search supports ${SEARCHABLE_MODELS.join(', ')}`);
  const expand = !o['no-expand'];
  const expansionLimit = expand ? numberOption(o, 'expansion-limit', 1) : 1;
  const growth = numberOption(o, 'growth', 1);
  if (!(growth > 1)) throw new UsageError(`--growth ${growth}: expected a factor > 1`);
  const quant = o['float-search'] ? null : qatQuantConfig(qatQuantOptionsFrom(o));
  const shape = datasetShape(o);
  const supernetConfig = { model, numClasses: 10, ...shape, expansionLimit, growth, quant };
  const hyper = {
    ...DEFAULT_SEARCH,
    epochs: intOption(o, 'epochs', 1),
    seed,
    weightLr: numberOption(o, 'lr', 0),
    momentum: numberOption(o, 'momentum', 0),
    weightDecay: numberOption(o, 'weight-decay', 0),
    archLr: numberOption(o, 'arch-lr', 0),
    archWeightDecay: numberOption(o, 'arch-weight-decay', 0),
    tauMax: numberOption(o, 'tau-max', 0),
    tauMin: numberOption(o, 'tau-min', 0),
    targetRatio: numberOption(o, 'target-ratio', 0),
    tolerance: numberOption(o, 'tolerance', 0),
    lambdaFlops: numberOption(o, 'lambda-flops', 0),
    lambdaParams: numberOption(o, 'lambda-params', 0),
    expand,
    threshold: fraction(o, 'threshold', 0, 1),
  };
  if (!(hyper.tauMax >= hyper.tauMin && hyper.tauMin > 0)) throw new UsageError(`--tau-max ${hyper.tauMax} --tau-min ${hyper.tauMin}: need tau-max >= tau-min > 0`);
  const runDir = openRunDir(o, defaultRunDir('nce-search', model), { resumable: true });
  if (o.force) clearRunFiles(runDir);
  const resume = Boolean(o.resume);
  if (!resume && existsSync(searchCheckpointPath(runDir))) throw new UsageError(`${runDir.path} already holds a search: pass --resume to continue it, or choose another --out`);

  const trainSet = subset(loadDataset(datasetName(o), 'train'), optionalInt(o, 'train-subset', 2));
  const { weightSet, archSet } = splitHalves(trainSet, seed);
  const batchSize = intOption(o, 'batch-size', 1);
  // The data set's own augmentation: no horizontal flip of MNIST digits (defaultAugmentation).
  const augment = o['no-augment'] ? undefined : defaultAugmentation(datasetName(o), shape.inputSize[0]);
  // Separate seeds for the two halves' shuffles and augmentations (derived, so --seed fixes all of them).
  const loader = (ds: typeof weightSet, stream: number) => new DataLoader(ds, { batchSize, shuffle: true, seed: seed * 2 + stream, transform: augment, memoryFormat: 'channelsLast' });
  const test = o['no-eval'] ? undefined : new DataLoader(loadDataset(datasetName(o), 'test'), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
  const net = createSupernet(supernetConfig, new Generator(seed));
  if (typeof o.init === 'string') {
    const float = loadCheckpoint(o.init);
    if (float.modelConfig.name !== model || float.modelConfig.quant !== undefined || float.modelConfig.inChannels !== shape.inChannels) {
      throw new UsageError(`--init ${o.init}: expected a float ${model} checkpoint for ${datasetName(o)} (lowbit train --model ${model}), got ${float.modelConfig.quant ? 'a quantized ' : ''}${float.modelConfig.name}`);
    }
    if (!resume) initFromFloat(net, float.model);
    float.model.dispose();
  }
  net.toMemoryFormat_('channelsLast');
  if (!resume || runDir.readConfig() === null) runDir.writeConfig({ command: 'nce search', supernet: supernetConfig, search: hyper, init: o.init ?? null, options: o });
  info(
    `nce search: ${model} on ${trainSet.name} (${weightSet.length} weight + ${archSet.length} arch images), ` +
      `${quant ? `W${quant.weight.bits}A${quant.act?.bits ?? 'float'} ${quant.weight.kind}/${quant.act?.kind ?? '-'}` : 'float'} supernet, ` +
      `${expand ? `expansion up to ${expansionLimit}x (T = ${hyper.threshold})` : 'no expansion (TAS)'} -> ${runDir.path}`,
  );
  let bar: Progress | null = null;
  const result = runSearch({
    net,
    weightLoader: loader(weightSet, 0),
    archLoader: loader(archSet, 1),
    test,
    hyper,
    runDir,
    resume,
    onStep: (s) => {
      if (s.step === 1) bar = new Progress({ label: `search ${s.epoch + 1}/${s.epochs} tau ${s.tau.toFixed(2)}`, total: s.steps * batchSize, unit: 'img' });
      bar?.tick(s.images, `w ${s.weightLoss.toFixed(3)} a ${s.archLoss.toFixed(3)} E[F] ${s.expectedFlopsRatio.toFixed(3)} E[P] ${s.expectedParamsRatio.toFixed(3)}`);
    },
    onEpoch: (m) => {
      bar?.finish(
        `weight loss ${m.weightLoss.toFixed(4)}, arch loss ${m.archLoss.toFixed(4)} (CE ${m.archCe.toFixed(4)}), argmax net ${m.flopsRatio.toFixed(3)}x FLOPs ${m.paramsRatio.toFixed(3)}x params, ` +
          `test ${Number.isNaN(m.testAccuracy) ? '-' : pct(m.testAccuracy)}${m.expansions.length ? `, expanded ${m.expansions.map((e) => `L${e.layer} ${e.fromMax}->${e.toMax}`).join(' ')}` : ''}`,
      );
      bar = null;
    },
  });
  if (result.resumedFromEpoch > 0) info(`resumed from epoch ${result.resumedFromEpoch}`);
  const derived = deriveNetwork(net);
  const seconds = result.history.reduce((s, m) => s + m.seconds, 0);
  const summary = {
    command: 'nce search',
    derived,
    widths: derived.widths,
    originalWidths: derived.originalWidths,
    flopsRatio: derived.flopsRatio,
    paramsRatio: derived.paramsRatio,
    searchSeconds: seconds,
    imagesPerSecond: result.history.length ? result.history[result.history.length - 1].imagesPerSecond : null,
    history: result.history,
  };
  runDir.writeJson('derived.json', derived.modelConfig);
  runDir.writeResult(summary);
  output(o, summary, `searched widths ${derived.widths.join(',')}: ${derived.flopsRatio.toFixed(3)}x FLOPs, ${derived.paramsRatio.toFixed(3)}x params of the original; ${derived.grew.length} layers grew, ${derived.shrank.length} shrank. Retrain: lowbit nce retrain --search ${runDir.path}`);
}

function derivedFrom(dir: string): DerivedNetwork {
  const file = join(dir, 'result.json');
  if (!existsSync(file)) throw new UsageError(`--search ${dir}: no result.json there; run (or finish, with --resume) 'lowbit nce search --out ${dir}' first`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as { derived?: DerivedNetwork };
  if (!r.derived?.modelConfig) throw new UsageError(`--search ${dir}: result.json holds no derived network; it was not written by 'lowbit nce search'`);
  return r.derived;
}

function retrainCommand(o: ParsedOptions): void {
  const seed = intOption(o, 'seed', 0);
  manualSeed(seed);
  if ((typeof o.search === 'string') === Boolean(o.original)) throw new UsageError('choose the network: --search DIR (the searched widths) or --original (the uniform baseline)');
  const shape = datasetShape(o);
  let modelConfig: ModelConfig;
  if (typeof o.search === 'string') {
    modelConfig = derivedFrom(o.search).modelConfig;
    if (modelConfig.inChannels !== shape.inChannels) throw new UsageError(`--search ${o.search} was searched on other data (${modelConfig.inChannels} input channels); pass the same --dataset`);
  } else {
    const model = stringOption(o, 'model');
    modelConfig = { name: model, numClasses: 10, ...shape, widths: widthLayers({ name: model, numClasses: 10, ...shape }).map((l) => l.width) };
  }
  const quant = qatQuantConfig(qatQuantOptionsFrom(o));
  const runDir = openRunDir(o, defaultRunDir('nce-retrain', modelConfig.name), { resumable: true });
  if (o.force) for (const sub of ['float', 'qat']) rmSync(runDir.file(sub), { recursive: true, force: true });
  const resume = Boolean(o.resume);
  if (!resume && (existsSync(lastCheckpointPath(new RunDir(join(runDir.path, 'float')))) || existsSync(join(runDir.path, 'float', 'model.safetensors')))) {
    throw new UsageError(`${runDir.path} already holds a retrain: pass --resume to continue it, or choose another --out`);
  }
  const recipe = (epochs: string, lr: string) => ({
    epochs: intOption(o, epochs, 0),
    lr: numberOption(o, lr, 0),
    momentum: numberOption(o, 'momentum', 0),
    weightDecay: numberOption(o, 'weight-decay', 0),
  });
  const float = recipe('float-epochs', 'lr');
  const qat = recipe('qat-epochs', 'qat-lr');
  if (qat.epochs < 1) throw new UsageError('--qat-epochs must be >= 1');
  let distill;
  if (typeof o.teacher === 'string') {
    const t = loadCheckpoint(o.teacher);
    if (t.modelConfig.quant !== undefined) throw new UsageError(`--teacher ${o.teacher} is a quantized checkpoint; distill from a float one`);
    distill = { teacher: t.model, alpha: fraction(o, 'kd-alpha', 0, 1), temperature: numberOption(o, 'kd-temperature', Number.MIN_VALUE) };
  }
  const loaders = trainingLoaders(dataOptions(o, !o['no-augment']));
  const originalWidths = widthLayers({ ...modelConfig, widths: undefined }).map((l) => l.width);
  const described = describeWidths(modelConfig.name, modelConfig, modelConfig.widths ?? originalWidths, originalWidths);
  if (!resume || runDir.readConfig() === null) runDir.writeConfig({ command: 'nce retrain', model: modelConfig, quant, float, qat, distill: distill ? { teacher: o.teacher, alpha: distill.alpha, temperature: distill.temperature } : null, from: o.search ?? 'original', options: o });
  info(
    `nce retrain: ${modelConfig.name} ${typeof o.search === 'string' ? `searched widths from ${o.search}` : 'original widths'}` +
      ` (${described.flopsRatio.toFixed(3)}x FLOPs, ${described.paramsRatio.toFixed(3)}x params), ` +
      `float ${float.epochs} + W${quant.weight.bits}A${quant.act?.bits ?? 'float'} QAT ${qat.epochs} epochs${distill ? `, KD from ${o.teacher}` : ''} -> ${runDir.path}`,
  );
  let bar: Progress | null = null;
  const result = retrain({
    modelConfig, train: loaders.train, test: loaders.test, float, qat, quant, runDir, resume, seed, distill,
    onStep: (phase, s) => {
      if (s.step === 1) bar = new Progress({ label: `${phase} ${s.epoch + 1}/${s.epochs}`, total: s.steps * loaders.train.batchSize, unit: 'img' });
      bar?.tick(s.images, `loss ${s.loss.toFixed(4)}`);
    },
    onEpoch: (_phase, m) => {
      bar?.finish(`train loss ${m.trainLoss.toFixed(4)} acc ${pct(m.trainAccuracy)}  test acc ${pct(m.testAccuracy)}`);
      bar = null;
    },
  });
  const final = result.qat.final;
  const summary = {
    command: 'nce retrain',
    model: modelConfig,
    from: o.search ?? 'original',
    widths: described.widths,
    flopsRatio: described.flopsRatio,
    paramsRatio: described.paramsRatio,
    grew: described.grew,
    shrank: described.shrank,
    wbits: quant.weight.bits,
    abits: quant.act?.bits ?? 32,
    floatTestAccuracy: result.float?.final?.testAccuracy ?? null,
    testAccuracy: final?.testAccuracy ?? null,
    bestTestAccuracy: result.qat.bestTestAccuracy,
    epochs: { float: float.epochs, qat: qat.epochs },
    imagesPerSecond: final?.imagesPerSecond ?? null,
    checkpoint: result.checkpoint,
    floatCheckpoint: result.floatCheckpoint,
    history: { float: result.float?.history ?? [], qat: result.qat.history },
  };
  runDir.writeResult(summary);
  output(o, summary, `W${summary.wbits}A${summary.abits} test accuracy ${pct(Number(summary.testAccuracy))} (best ${pct(summary.bestTestAccuracy)}), weights in ${result.checkpoint}`);
}

export const nceCommand: Command = {
  name: 'nce',
  summary: 'neural channel expansion: search per-layer widths for a low-bit network, then retrain it',
  usage: 'lowbit nce search [--model resnet20] [--epochs N] [--wbits 2 --abits 2] [--no-expand] [--out DIR] [--resume]\n       lowbit nce retrain (--search DIR | --original) [--float-epochs 30] [--qat-epochs 8] [--teacher FLOAT.safetensors] [--out DIR] [--resume]',
  examples: [
    'lowbit nce search --model resnet20 --epochs 10 --out runs/nce-r20          # W2A2 SAWB/PACT supernet, expansion up to 2x',
    'lowbit nce search --train-subset 2048 --epochs 1 --out runs/nce-quick      # a quick look',
    'lowbit nce search --init results/float/resnet20.safetensors --out runs/nce-r20-init   # supernet from the float model',
    'lowbit nce search --no-expand --epochs 10 --out runs/tas-r20               # TAS-style: widths never exceed the original',
    'lowbit nce search --out runs/nce-r20 --epochs 10 --resume                  # after an interruption',
    'lowbit nce retrain --search runs/nce-r20 --out runs/nce-r20-w2a2           # float 30 + QAT 8 epochs at the searched widths',
    'lowbit nce retrain --original --out runs/uniform-r20-w2a2                  # the uniform baseline through the same path',
    'lowbit nce retrain --search runs/nce-r20 --teacher results/float/resnet20.safetensors --out runs/nce-r20-kd',
  ],
  positionals: true,
  options: {
    model: { type: 'string', short: 'm', default: 'resnet20', choices: SEARCHABLE_MODELS, description: 'network to search (search) or to retrain with --original' },
    ...DATA_OPTIONS,
    // search
    epochs: { type: 'string', default: '10', metavar: 'N', description: 'search epochs (search)' },
    'arch-lr': { type: 'string', default: String(DEFAULT_SEARCH.archLr), metavar: 'X', description: 'Adam learning rate of the width logits (search; TAS 1e-3)' },
    'arch-weight-decay': { type: 'string', default: String(DEFAULT_SEARCH.archWeightDecay), metavar: 'X', description: 'weight decay of the width logits (search)' },
    'tau-max': { type: 'string', default: String(DEFAULT_SEARCH.tauMax), metavar: 'X', description: 'Gumbel temperature at the first epoch (search)' },
    'tau-min': { type: 'string', default: String(DEFAULT_SEARCH.tauMin), metavar: 'X', description: 'Gumbel temperature at the last epoch (search)' },
    'target-ratio': { type: 'string', default: '1.0', metavar: 'X', description: "FLOPs and params budget as a fraction of the original network's (search)" },
    tolerance: { type: 'string', default: '0.05', metavar: 'X', description: 'dead band below the budget, fraction of the original (search; TAS 0.05)' },
    'lambda-flops': { type: 'string', default: '2', metavar: 'X', description: 'weight of the FLOPs loss (search; TAS 2)' },
    'lambda-params': { type: 'string', default: '2', metavar: 'X', description: 'weight of the params loss (search)' },
    'expansion-limit': { type: 'string', default: '2', metavar: 'E', description: 'largest width as a multiple of the original (search)' },
    growth: { type: 'string', default: '1.25', metavar: 'X', description: "factor of one expansion of a layer's maximum width (search)" },
    threshold: { type: 'string', default: String(DEFAULT_SEARCH.threshold), metavar: 'T', description: 'expand a layer when its largest candidate has probability > T, checked once per epoch (search)' },
    'no-expand': { type: 'boolean', description: 'TAS-style search: candidates never exceed the original widths (search)' },
    'float-search': { type: 'boolean', description: 'search a floating-point supernet instead of a quantized one (search)' },
    init: { type: 'string', metavar: 'FILE', description: 'start the supernet from a float checkpoint of the original network (search; e.g. results/float/resnet20.safetensors)' },
    'no-eval': { type: 'boolean', description: 'skip the per-epoch test evaluation of the argmax network (search)' },
    // retrain
    search: { type: 'string', metavar: 'DIR', description: 'run directory of a finished search: retrain its widths (retrain)' },
    original: { type: 'boolean', description: 'retrain the original widths instead: the uniform baseline (retrain)' },
    'float-epochs': { type: 'string', default: '30', metavar: 'N', description: 'float training epochs before QAT (retrain)' },
    'qat-epochs': { type: 'string', default: '8', metavar: 'N', description: 'quantization-aware epochs (retrain)' },
    'qat-lr': { type: 'string', default: '0.01', metavar: 'X', description: 'initial learning rate of the QAT phase (retrain)' },
    teacher: { type: 'string', metavar: 'FILE', description: 'float checkpoint to distill from (retrain; TAS KD)' },
    'kd-alpha': { type: 'string', default: '0.9', metavar: 'X', description: 'weight of the distillation term (retrain)' },
    'kd-temperature': { type: 'string', default: '4', metavar: 'X', description: 'distillation temperature (retrain)' },
    // both
    wbits: { type: 'string', default: '2', metavar: 'N', description: 'weight bits of the body (2..8)' },
    abits: { type: 'string', default: '2', metavar: 'N', description: 'activation bits (2..8; 32 keeps activations float)' },
    wq: { type: 'string', default: 'sawb', choices: TRAINABLE_WEIGHT_QUANT_KINDS, description: 'weight quantizer' },
    aq: { type: 'string', default: 'pact', choices: ACT_QUANT_KINDS, description: 'activation quantizer' },
    'first-last-bits': { type: 'string', default: '8', metavar: 'N', description: 'bits of the first and last layer' },
    'alpha-init': { type: 'string', default: '1.0', metavar: 'X', description: 'initial PACT clip level' },
    lr: { type: 'string', default: '0.1', metavar: 'X', description: 'SGD learning rate of the weights (search) or of the float phase (retrain)' },
    momentum: { type: 'string', default: '0.9', metavar: 'X', description: 'SGD (Nesterov) momentum' },
    'weight-decay': { type: 'string', default: '5e-4', metavar: 'X', description: 'weight decay of the weights' },
    'no-augment': { type: 'boolean', description: 'turn off random crop + horizontal flip' },
    out: { type: 'string', short: 'o', metavar: 'DIR', description: 'run directory (default runs/nce-<step>-<model>-<time>)' },
    resume: { type: 'boolean', description: 'continue the run in --out from its last checkpoint' },
    force: FORCE_OPTION,
  },
  run(o, positionals) {
    const [step, ...rest] = positionals;
    if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'. See 'lowbit nce --help'.`);
    if (step === 'search') return search(o);
    if (step === 'retrain') return retrainCommand(o);
    throw new UsageError(`${step === undefined ? 'missing step' : `unknown step '${step}'`}: use 'lowbit nce search' or 'lowbit nce retrain'. See 'lowbit nce --help'.`);
  },
};

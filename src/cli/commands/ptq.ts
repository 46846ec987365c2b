import { join } from 'node:path';
import { UsageError } from '../../errors.ts';
import { calibrationSet, checkDatasetFits, DataLoader, datasetMetadata, loadData } from '../../data/index.ts';
import { loadOnnxForPtq, savePtqOnnx } from '../../export/index.ts';
import { readSafetensorsMetadata } from '../../nn/index.ts';
import { PTQ_DEFAULTS, runPtq, type PtqConfig, type PtqLayerSummary } from '../../ptq/index.ts';
import { FLOAT_BITS, isFloatBits } from '../../quant/index.ts';
import { manualSeed } from '../../tensor/index.ts';
import { modelConfigOf } from '../../train/index.ts';
import { bitsOption, intOption, type Command } from '../command.ts';
import { dataSpecFrom, describeData, USER_DATA_OPTIONS } from '../data-setup.ts';
import { setErrorContext } from '../error-context.ts';
import { loadModelSource, modelPathFrom, modelProvenance } from '../model-source.ts';
import { info, output } from '../output.ts';
import { FORCE_OPTION, openRunDir } from '../run-dir-setup.ts';
import { Progress, withImageProgress } from '../progress.ts';
import { defaultRunDir } from './train.ts';

export function formatLayerTable(reports: PtqLayerSummary[]): string {
  const rows = reports.map((r) => `  ${r.name.padEnd(26)} ${r.kind.padEnd(6)} ${String(r.bits).padStart(4)}  ${`${r.shape[0]}x${r.shape[1]}`.padEnd(10)} ${(100 * r.relativeError).toFixed(2).padStart(8)}%  ${r.seconds.toFixed(2).padStart(6)} s`);
  return [`  ${'layer'.padEnd(26)} ${'kind'.padEnd(6)} bits  ${'N1xN0'.padEnd(10)} rel. error    time`, ...rows].join('\n');
}

/** Progress bars for runPtq: one over the layers, one per evaluation. */
export function ptqProgress(config: PtqConfig, testImages: number) {
  const progress: { bar?: Progress } = {};
  return {
    onLayer: (p: { layers: number; name: string; done: boolean; layer: number }) => {
      progress.bar ??= new Progress({ label: `${config.method} W${config.bits}`, total: p.layers, unit: 'layers' });
      if (p.done) progress.bar.tick(1, p.name);
      if (p.done && p.layer === p.layers - 1) progress.bar.finish();
    },
    onCalibrateActivations: (c: { bits: number; images: number }) => info(`calibrating ${c.bits}-bit activation ranges on ${c.images} images`),
    wrapTest: <T extends { labels: { shape: number[] } }>(test: { readonly length: number; [Symbol.iterator](): Iterator<T> }, label: string) => withImageProgress(test, label, testImages),
  };
}

export const ptqCommand: Command = {
  name: 'ptq',
  summary: 'post-training quantization of a float checkpoint (GPFQ or round-to-nearest)',
  usage: 'lowbit ptq (--checkpoint PATH | --onnx FILE) [--method gpfq|rtn] [--wbits N] [--calib N] [--solver fast|blocked|reference] [--out DIR]',
  examples: [
    'lowbit ptq --checkpoint runs/r20/model.safetensors --method gpfq --wbits 4 --calib 2048',
    'lowbit ptq --checkpoint runs/mlp/model.safetensors --method rtn --wbits 3 --json',
    'lowbit ptq --onnx trained-elsewhere.onnx --wbits 2 --out runs/ptq-onnx   # writes runs/ptq-onnx/model.onnx',
    'lowbit ptq --onnx trained-elsewhere.onnx --wbits 4 --abits 4 --out runs/ptq-onnx-a4',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'PATH', description: 'float model.safetensors written by lowbit train' },
    onnx: { type: 'string', metavar: 'FILE', description: 'an ONNX model (NCHW float input) to quantize instead of --checkpoint; the result is model.onnx with integer weights (and, with --abits, QuantizeLinear/DequantizeLinear on the quantized layers\' inputs)' },
    method: { type: 'string', default: PTQ_DEFAULTS.method, choices: ['gpfq', 'rtn'], description: 'quantization method' },
    wbits: { type: 'string', default: '4', metavar: 'N', description: 'weight bits of the inner layers (2..8)' },
    abits: { type: 'string', default: '32', metavar: 'N', description: 'activation bits (2..8, uniform, ranges set on the calibration images after the weights); 32 keeps activations float' },
    'first-last-bits': { type: 'string', default: String(PTQ_DEFAULTS.firstLastBits), metavar: 'N', description: 'bits of the first and last layer (32 keeps them float)' },
    calib: { type: 'string', default: '2048', metavar: 'N', description: 'calibration images from the training set' },
    solver: {
      type: 'string',
      default: PTQ_DEFAULTS.solver,
      choices: ['fast', 'blocked', 'reference'],
      description: "GPFQ solver, same codes: Gram sums (fast, O(N0^2) memory), the column loop in blocks of GEMMs (blocked: holds the layer's inputs; fewer flops when outputs << inputs, slower than fast on 2 cores), or the column loop as published",
    },
    alphabet: { type: 'string', default: PTQ_DEFAULTS.convention, choices: ['signed', 'reference'], description: "'signed': 2^b levels (true b-bit); 'reference': 2^b+1 levels as the GPFQ code" },
    granularity: { type: 'string', default: PTQ_DEFAULTS.granularity, choices: ['layer', 'channel'], description: "one step size per output channel (default: BN networks' rows differ in scale, and one layer step clips the large ones) or per layer (the GPFQ paper's)" },
    'gram-dtype': { type: 'string', default: PTQ_DEFAULTS.gramDtype, choices: ['float32', 'float64'], description: "precision of the fast solver's per-batch Gram products (sums are float64); float64 is ~2x slower and matches --solver reference code for code" },
    dataset: USER_DATA_OPTIONS.dataset,
    data: USER_DATA_OPTIONS.data,
    labels: USER_DATA_OPTIONS.labels,
    mean: USER_DATA_OPTIONS.mean,
    std: USER_DATA_OPTIONS.std,
    'input-size': USER_DATA_OPTIONS['input-size'],
    seed: USER_DATA_OPTIONS.seed,
    out: { type: 'string', short: 'o', metavar: 'DIR', description: 'run directory (default runs/ptq-<method>-<time>); an existing non-empty one needs --force' },
    force: FORCE_OPTION,
  },
  run(o) {
    const which = modelPathFrom(o, { onnx: true });
    const onnx = which.kind === 'onnx';
    const checkpoint = which.path;
    if (!onnx) {
      // A quantized checkpoint would run the whole GPFQ pass before failing: refuse it from its header.
      const mc = modelConfigOf(readSafetensorsMetadata(checkpoint), checkpoint);
      if (mc.quant) throw new UsageError(`${checkpoint} is already quantized (a QAT or PTQ checkpoint); PTQ starts from a float checkpoint: give the float model.safetensors it was made from`);
    }
    const recorded = modelProvenance(which);
    const seed = intOption(o, 'seed', 0);
    manualSeed(seed);
    const config: PtqConfig = {
      method: o.method as PtqConfig['method'],
      bits: bitsOption(o, 'wbits'),
      firstLastBits: bitsOption(o, 'first-last-bits', { allowFloat: true }),
      solver: o.solver as PtqConfig['solver'],
      convention: o.alphabet as PtqConfig['convention'],
      granularity: o.granularity as PtqConfig['granularity'],
      gramDtype: o['gram-dtype'] as PtqConfig['gramDtype'],
    };
    const abits = bitsOption(o, 'abits', { allowFloat: true });
    const calib = intOption(o, 'calib', 1);
    // The model and data are loaded and checked against each other before the run directory is made.
    // An ONNX file is imported as a lowbit model (src/export) and its result written as low-bit ONNX.
    const source = loadModelSource(which);
    const spec = dataSpecFrom(o, { recorded, source: checkpoint, ...(source.inputSize ? { inputSize: source.inputSize } : {}) });
    setErrorContext({ model: source.input.source, data: describeData(spec) });
    const trainSet = loadData(spec, 'train');
    const testSet = loadData(spec, 'test');
    checkDatasetFits(trainSet, source.input);
    checkDatasetFits(testSet, source.input);
    if (calib > trainSet.length) throw new UsageError(`--calib ${calib}: the training set has only ${trainSet.length} images; give --calib ${trainSet.length} or less`);
    const runDir = openRunDir(o, defaultRunDir('ptq', String(o.method)), { resumable: false });
    runDir.writeConfig({ command: 'ptq', checkpoint, ...(onnx ? { onnx: checkpoint } : {}), dataset: spec, ptq: config, abits, calib, seed, options: o });
    const calibration = calibrationSet(trainSet, calib, seed);
    info(`ptq: ${config.method} W${config.bits} on ${checkpoint}, ${calibration.shape[0]} calibration images of ${trainSet.name} -> ${runDir.path}`);
    const metadata = datasetMetadata(recorded ?? trainSet);
    const test = new DataLoader(testSet, { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
    const run = runPtq({
      model: source.model,
      modelConfig: source.modelConfig,
      // The imported graph module has no config to rebuild it from: its copy is imported again.
      ...(onnx ? { copy: () => loadOnnxForPtq(checkpoint).model } : {}),
      config,
      calibration,
      test,
      actBits: isFloatBits(abits) ? null : abits,
      // The quantized graph is written as model.onnx; codes.safetensors keeps its steps and activation ranges.
      checkpoint: !onnx,
      runDir,
      metadata,
      ...ptqProgress(config, testSet.length),
    });
    if (onnx) savePtqOnnx(runDir.file('model.onnx'), run.model as ReturnType<typeof loadOnnxForPtq>['model'], run.reports, config, metadata);
    run.dispose();
    source.model.dispose();
    calibration.dispose();
    const r = run.result;
    for (const n of r.negativeInputs ?? []) {
      info(`warning: the input of ${n.layer} is negative for ${(100 * n.negativeShare).toFixed(1)}% of its values (down to ${n.min.toPrecision(3)}); PTQ's unsigned ${r.abits}-bit activation grid clips them to 0 (drop --abits to quantize the weights only)`);
    }
    const human = [
      formatLayerTable(r.layers),
      `${r.method} W${r.wbits}${r.abits === FLOAT_BITS ? '' : `A${r.abits}`}: test accuracy ${(100 * r.quantizedAccuracy).toFixed(2)}% (float ${(100 * r.floatAccuracy).toFixed(2)}%, drop ${(100 * r.drop).toFixed(2)} pp) in ${r.seconds.toFixed(1)} s; ${join(runDir.path, onnx ? 'model.onnx' : 'model.safetensors')}`,
    ].join('\n');
    output(o, r, human);
  },
};

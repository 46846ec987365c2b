import { join } from 'node:path';
import { UsageError } from '../../errors.ts';
import { DataLoader, loadDataset } from '../../data/index.ts';
import { loadOnnxForPtq, savePtqOnnx } from '../../export/index.ts';
import { saveSafetensors } from '../../nn/index.ts';
import { PTQ_DEFAULTS, quantizeNetwork, toQuantModel, type LayerReport, type PtqConfig } from '../../ptq/index.ts';
import { keep, manualSeed, type Tensor } from '../../tensor/index.ts';
import { evaluate, loadCheckpoint, RunDir, saveCheckpoint } from '../../train/index.ts';
import { intOption, stringOption, type Command, type ParsedOptions } from '../command.ts';
import { datasetName, DATA_OPTIONS } from '../data-setup.ts';
import { info, output } from '../output.ts';
import { Progress, withImageProgress } from '../progress.ts';
import { defaultRunDir } from './train.ts';

/** A seeded random subset of the training images, normalized like training batches. */
export function calibrationSet(o: ParsedOptions, count: number, seed: number): Tensor {
  const train = loadDataset(datasetName(o), 'train');
  if (count > train.length) throw new UsageError(`--calib ${count}: the training set has only ${train.length} images`);
  const loader = new DataLoader(train, { batchSize: count, seed, shuffle: true });
  for (const batch of loader) {
    batch.labels.dispose();
    return keep(batch.images);
  }
  throw new UsageError('the training set is empty');
}

export function formatLayerTable(reports: LayerReport[]): string {
  const rows = reports.map((r) => `  ${r.name.padEnd(26)} ${r.kind.padEnd(6)} ${String(r.bits).padStart(4)}  ${`${r.shape[0]}x${r.shape[1]}`.padEnd(10)} ${(100 * r.relativeError).toFixed(2).padStart(8)}%  ${r.seconds.toFixed(2).padStart(6)} s`);
  return [`  ${'layer'.padEnd(26)} ${'kind'.padEnd(6)} bits  ${'N1xN0'.padEnd(10)} rel. error    time`, ...rows].join('\n');
}

export interface PtqRunResult {
  method: string;
  wbits: number;
  /** 32: float activations. */
  abits: number;
  floatAccuracy: number;
  quantizedAccuracy: number;
  drop: number;
  seconds: number;
  layers: { name: string; kind: string; bits: number; shape: number[]; relativeError: number; errorRows: number; seconds: number; phases: LayerReport['phases'] }[];
}

/** Quantizes a float checkpoint and evaluates it; writes the run directory. Shared by ptq and demo. */
export function runPtq(args: {
  checkpoint: string;
  config: PtqConfig;
  calibration: Tensor;
  runDir: RunDir;
  datasetOptions: ParsedOptions;
  floatAccuracy?: number;
  onnx?: boolean;
  /** Activation bits (quantized after the weights); null or omitted: float activations. */
  actBits?: number | null;
}): PtqRunResult {
  const { checkpoint, config, calibration, runDir } = args;
  // onnx: `checkpoint` is an ONNX file, imported as a lowbit model (src/export); the result is written as low-bit ONNX.
  const load = args.onnx ? loadOnnxForPtq : loadCheckpoint;
  const analog = load(checkpoint);
  const copy = load(checkpoint);
  const testSet = loadDataset(datasetName(args.datasetOptions), 'test');
  const test = new DataLoader(testSet, { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
  const floatAccuracy = args.floatAccuracy ?? evaluate(analog.model, withImageProgress(test, 'evaluate float', testSet.length)).accuracy;
  const t0 = performance.now();
  const progress: { bar?: Progress } = {};
  const reports = quantizeNetwork(analog.model, copy.model, calibration, config, (p) => {
    progress.bar ??= new Progress({ label: `${config.method} W${config.bits}`, total: p.layers, unit: 'layers' });
    if (p.done) progress.bar.tick(1, p.name);
  });
  progress.bar?.finish();
  const actBits = args.actBits ?? null;
  // A lowbit checkpoint result becomes a fake-quant model (fixed grids, optional activation quantizers)
  // whose checkpoint rebuilds itself; an ONNX import keeps its plain layers for savePtqOnnx.
  if (actBits !== null && !args.onnx) info(`calibrating ${actBits}-bit activation ranges on ${calibration.shape[0]} images`);
  const quant = args.onnx ? null : toQuantModel(copy.model, reports, config, { actBits, calibration });
  const seconds = (performance.now() - t0) / 1000;
  const label = `evaluate ${config.method} W${config.bits}${actBits === null ? '' : `A${actBits}`}`;
  const quantizedAccuracy = evaluate(copy.model, withImageProgress(test, label, testSet.length)).accuracy;
  if (args.onnx) savePtqOnnx(runDir.file('model.onnx'), copy.model as ReturnType<typeof loadOnnxForPtq>['model'], reports, config);
  else saveCheckpoint(runDir.file('model.safetensors'), copy.model, { ...copy.modelConfig, quant }, { metadata: { 'lowbit.ptq': JSON.stringify(config) } });
  const codes = new Map<string, Tensor>();
  for (const r of reports) {
    codes.set(`${r.name}.weight_codes`, r.codes);
    codes.set(`${r.name}.weight_scale`, r.scales);
  }
  saveSafetensors(runDir.file('codes.safetensors'), codes, { 'lowbit.ptq': JSON.stringify(config) });
  for (const t of codes.values()) t.dispose();
  const result: PtqRunResult = {
    method: config.method ?? PTQ_DEFAULTS.method,
    wbits: config.bits,
    abits: actBits ?? 32,
    floatAccuracy,
    quantizedAccuracy,
    drop: floatAccuracy - quantizedAccuracy,
    seconds,
    layers: reports.map(({ name, kind, bits, shape, relativeError, errorRows, seconds: s, phases }) => ({ name, kind, bits, shape, relativeError, errorRows, seconds: s, phases })),
  };
  runDir.writeResult(result as unknown as Record<string, unknown>);
  analog.model.dispose();
  copy.model.dispose();
  return result;
}

export const ptqCommand: Command = {
  name: 'ptq',
  summary: 'post-training quantization of a float checkpoint (GPFQ or round-to-nearest)',
  usage: 'lowbit ptq (--checkpoint PATH | --onnx FILE) [--method gpfq|rtn] [--wbits N] [--calib N] [--solver fast|blocked|reference] [--out DIR]',
  examples: [
    'lowbit ptq --checkpoint runs/r20/model.safetensors --method gpfq --wbits 4 --calib 2048',
    'lowbit ptq --checkpoint runs/mlp/model.safetensors --method rtn --wbits 3 --json',
    'lowbit ptq --onnx trained-elsewhere.onnx --wbits 2 --out runs/ptq-onnx   # writes runs/ptq-onnx/model.onnx',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'PATH', description: 'float model.safetensors written by lowbit train' },
    onnx: { type: 'string', metavar: 'FILE', description: 'an ONNX model (NCHW float input) to quantize instead of --checkpoint; the result is model.onnx with integer weights' },
    method: { type: 'string', default: 'gpfq', choices: ['gpfq', 'rtn'], description: 'quantization method' },
    wbits: { type: 'string', default: '4', metavar: 'N', description: 'weight bits of the inner layers (2..8)' },
    abits: { type: 'string', default: '32', metavar: 'N', description: 'activation bits (2..8, uniform, ranges set on the calibration images after the weights); 32 keeps activations float' },
    'first-last-bits': { type: 'string', default: '8', metavar: 'N', description: 'bits of the first and last layer (32 keeps them float)' },
    calib: { type: 'string', default: '2048', metavar: 'N', description: 'calibration images from the training set' },
    solver: {
      type: 'string',
      default: 'fast',
      choices: ['fast', 'blocked', 'reference'],
      description: "GPFQ solver, same codes: Gram sums (fast, O(N0^2) memory), the column loop in blocks of GEMMs (blocked: holds the layer's inputs; fewer flops when outputs << inputs, slower than fast on 2 cores), or the column loop as published",
    },
    alphabet: { type: 'string', default: 'signed', choices: ['signed', 'reference'], description: "'signed': 2^b levels (true b-bit); 'reference': 2^b+1 levels as the GPFQ code" },
    granularity: { type: 'string', default: 'channel', choices: ['layer', 'channel'], description: "one step size per output channel (default: BN networks' rows differ in scale, and one layer step clips the large ones) or per layer (the GPFQ paper's)" },
    'gram-dtype': { type: 'string', default: 'float32', choices: ['float32', 'float64'], description: "precision of the fast solver's per-batch Gram products (sums are float64); float64 is ~2x slower and matches --solver reference code for code" },
    dataset: DATA_OPTIONS.dataset,
    seed: DATA_OPTIONS.seed,
    out: { type: 'string', short: 'o', metavar: 'DIR', description: 'run directory (default runs/ptq-<method>-<time>)' },
  },
  run(o) {
    const onnx = typeof o.onnx === 'string';
    const checkpoint = onnx ? (o.onnx as string) : stringOption(o, 'checkpoint');
    const seed = intOption(o, 'seed', 0);
    manualSeed(seed);
    const config: PtqConfig = {
      method: o.method as PtqConfig['method'],
      bits: intOption(o, 'wbits', 2),
      firstLastBits: intOption(o, 'first-last-bits', 2),
      solver: o.solver as PtqConfig['solver'],
      convention: o.alphabet as PtqConfig['convention'],
      granularity: o.granularity as PtqConfig['granularity'],
      gramDtype: o['gram-dtype'] as PtqConfig['gramDtype'],
    };
    if (config.bits > 8) throw new UsageError(`--wbits ${config.bits}: choose 2..8`);
    const abits = intOption(o, 'abits', 2);
    if (abits !== 32 && abits > 8) throw new UsageError(`--abits ${abits}: choose 2..8, or 32 for float activations`);
    if (onnx && abits !== 32) throw new UsageError('--abits with --onnx: activation quantization is not exported for imported ONNX models yet; quantize the weights only');
    const runDir = new RunDir(typeof o.out === 'string' ? o.out : defaultRunDir('ptq', String(o.method)));
    runDir.writeConfig({ command: 'ptq', checkpoint, ptq: config, abits, calib: intOption(o, 'calib', 1), seed });
    const calibration = calibrationSet(o, intOption(o, 'calib', 1), seed);
    info(`ptq: ${config.method} W${config.bits} on ${checkpoint}, ${calibration.shape[0]} calibration images -> ${runDir.path}`);
    const r = runPtq({ checkpoint, config, calibration, runDir, datasetOptions: o, onnx, actBits: abits === 32 ? null : abits });
    calibration.dispose();
    const human = [
      formatLayerTable(r.layers as LayerReport[]),
      `${r.method} W${r.wbits}${r.abits === 32 ? '' : `A${r.abits}`}: test accuracy ${(100 * r.quantizedAccuracy).toFixed(2)}% (float ${(100 * r.floatAccuracy).toFixed(2)}%, drop ${(100 * r.drop).toFixed(2)} pp) in ${r.seconds.toFixed(1)} s; ${join(runDir.path, onnx ? 'model.onnx' : 'model.safetensors')}`,
    ].join('\n');
    output(o, r, human);
  },
};

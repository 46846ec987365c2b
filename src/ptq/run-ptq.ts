/**
 * Post-training quantization as a pipeline: quantize a float model's weights layer by layer from the
 * calibration images (quantizeNetwork), optionally set activation ranges afterwards, evaluate float and
 * quantized models on a test set, and write the run directory. The float model is loaded once by the
 * caller; the working copy PTQ overwrites is made from it (its state dict), not read again from disk.
 */
import type { Module } from '../nn/index.ts';
import { saveSafetensors } from '../nn/index.ts';
import { FLOAT_BITS, type QuantConfig } from '../quant/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { copyCheckpointModel, evaluate, saveCheckpoint, type BatchSource, type CheckpointModelConfig, type RunDir } from '../train/index.ts';
import { PTQ_DEFAULTS, type PtqConfig } from './ptq-config.ts';
import { quantizeNetwork, type LayerReport, type PtqProgress } from './quantize-network.ts';
import { inputQuantizerState, toQuantModel } from './to-quant-model.ts';
import { negativeInputs, type NegativeInput } from './negative-inputs.ts';

/** Metadata key under which PTQ records its config in model.safetensors and codes.safetensors. */
export const PTQ_METADATA_KEY = 'lowbit.ptq';
/** Metadata key of codes.safetensors recording the activation bits, when activations were quantized. */
export const PTQ_ACT_BITS_KEY = 'lowbit.ptq.abits';

/** A layer's line in result.json (its report without the code tensors). */
export type PtqLayerSummary = Pick<LayerReport, 'name' | 'kind' | 'bits' | 'shape' | 'relativeError' | 'errorRows' | 'seconds' | 'phases'>;

export interface PtqRunResult {
  method: string;
  wbits: number;
  /** FLOAT_BITS (32): float activations. */
  abits: number;
  floatAccuracy: number;
  quantizedAccuracy: number;
  drop: number;
  seconds: number;
  layers: PtqLayerSummary[];
  /**
   * With activation quantization: the layers whose input is negative for more than 1% of its values
   * on the first calibration batch, clipped to 0 by the unsigned grid (empty for the zoo's ReLU nets).
   */
  negativeInputs?: NegativeInput[];
}

export interface RunPtqArgs {
  /** The float ("analog") model; only read, and left as it was. */
  model: Module;
  /** Its checkpoint config (what loadCheckpoint returned); the quantized checkpoint records it with the QuantConfig. */
  modelConfig: CheckpointModelConfig | Record<string, unknown>;
  /**
   * Makes the working copy that PTQ quantizes in place. Default: a model built from `modelConfig` holding
   * `model`'s state dict (lowbit checkpoints); other sources (an ONNX import) pass their own.
   */
  copy?: (model: Module) => Module;
  config: PtqConfig;
  /** Calibration images, normalized, NCHW (see calibrationSet). */
  calibration: Tensor;
  /** The test set both models are evaluated on. */
  test: BatchSource;
  /** The float model's test accuracy when already known (skips that evaluation). */
  floatAccuracy?: number;
  /** Activation bits, quantized after the weights with ranges set on the calibration images; null or omitted: float activations. */
  actBits?: number | null;
  /**
   * true (default): the result becomes a fake-quant model with fixed grids whose checkpoint rebuilds
   * itself (model.safetensors). false: the copy keeps plain layers holding the grid values, for a
   * writer that takes the codes instead (the ONNX export of an imported model); nothing is saved as
   * model.safetensors.
   */
  fakeQuantModel?: boolean;
  /**
   * Write the fake-quant result as model.safetensors (default true). false for a model that has no
   * checkpoint config to rebuild it from (an imported ONNX graph): the caller writes it (model.onnx),
   * and codes.safetensors keeps what rebuilding it needs (steps, activation ranges).
   */
  checkpoint?: boolean;
  /** Further metadata for model.safetensors and codes.safetensors (the data set: datasetMetadata()). */
  metadata?: Record<string, string>;
  /** Where to write model.safetensors, codes.safetensors and result.json; omitted: nothing is written. */
  runDir?: RunDir;
  /** Per-layer progress of the weight quantization. */
  onLayer?: (p: PtqProgress) => void;
  /** Before activation ranges are calibrated. */
  onCalibrateActivations?: (info: { bits: number; images: number }) => void;
  /** Wraps the test source of each evaluation (e.g. a progress bar); `label` says which. */
  wrapTest?: (test: BatchSource, label: string) => BatchSource;
}

export interface PtqRun {
  result: PtqRunResult;
  /** The quantized copy (the caller disposes it, or calls dispose()). */
  model: Module;
  /** The QuantConfig recorded with a fake-quant result; null when fakeQuantModel is false. */
  quant: QuantConfig | null;
  /** Per-layer reports with their integer codes and steps (owned here until dispose()). */
  reports: LayerReport[];
  /** Frees the quantized copy and the reports' tensors. */
  dispose(): void;
}

/** Quantizes a float model post-training and evaluates it (see the file comment). */
export function runPtq(args: RunPtqArgs): PtqRun {
  const { model: analog, config, calibration, runDir } = args;
  const fakeQuant = args.fakeQuantModel ?? true;
  const copy = args.copy ? args.copy(analog) : copyCheckpointModel(analog, args.modelConfig as unknown as CheckpointModelConfig);
  const wrap = args.wrapTest ?? ((t: BatchSource) => t);
  const floatAccuracy = args.floatAccuracy ?? evaluate(analog, wrap(args.test, 'evaluate float')).accuracy;
  const t0 = performance.now();
  const reports = quantizeNetwork(analog, copy, calibration, config, args.onLayer);
  const actBits = args.actBits ?? null;
  if (actBits !== null && fakeQuant) args.onCalibrateActivations?.({ bits: actBits, images: calibration.shape[0] });
  const quant = fakeQuant ? toQuantModel(copy, reports, config, { actBits, calibration }) : null;
  // One batch of calibration images is enough to see which inputs take both signs.
  const clipped = quant !== null && actBits !== null ? negativeInputs(copy, calibration.narrow(0, 0, Math.min(256, calibration.shape[0]))) : undefined;
  const seconds = (performance.now() - t0) / 1000;
  const label = `evaluate ${config.method} W${config.bits}${actBits === null ? '' : `A${actBits}`}`;
  const quantizedAccuracy = evaluate(copy, wrap(args.test, label)).accuracy;
  const result: PtqRunResult = {
    method: config.method ?? PTQ_DEFAULTS.method,
    wbits: config.bits,
    abits: actBits ?? FLOAT_BITS,
    floatAccuracy,
    quantizedAccuracy,
    drop: floatAccuracy - quantizedAccuracy,
    seconds,
    layers: reports.map(({ name, kind, bits, shape, relativeError, errorRows, seconds: s, phases }) => ({ name, kind, bits, shape, relativeError, errorRows, seconds: s, phases })),
    ...(clipped !== undefined ? { negativeInputs: clipped } : {}),
  };
  if (runDir) {
    const metadata = { ...args.metadata, [PTQ_METADATA_KEY]: JSON.stringify(config) };
    if (fakeQuant && (args.checkpoint ?? true)) saveCheckpoint(runDir.file('model.safetensors'), copy, { ...args.modelConfig, quant }, { metadata });
    const codes = new Map<string, Tensor>();
    for (const r of reports) {
      codes.set(`${r.name}.weight_codes`, r.codes);
      codes.set(`${r.name}.weight_scale`, r.scales);
    }
    // The calibrated activation ranges, under their state-dict names: an integer deployment needs
    // them with the codes, and a model without model.safetensors is rebuilt from this file.
    const withActs = quant !== null && actBits !== null;
    if (withActs) for (const [k, t] of inputQuantizerState(copy)) codes.set(k, t);
    saveSafetensors(runDir.file('codes.safetensors'), codes, withActs ? { ...metadata, [PTQ_ACT_BITS_KEY]: String(actBits) } : metadata);
    runDir.writeResult(result as unknown as Record<string, unknown>);
  }
  return {
    result,
    model: copy,
    quant,
    reports,
    dispose() {
      for (const r of reports) {
        r.codes.dispose();
        r.scales.dispose();
      }
      copy.dispose();
    },
  };
}

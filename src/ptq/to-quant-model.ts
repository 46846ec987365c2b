/**
 * Turns a PTQ result (a network whose Conv2d/Linear weights were overwritten with grid values) into an
 * ordinary fake-quant model: every quantized layer becomes a QuantConv2d / QuantLinear whose weight
 * quantizer is a FixedGridQuantizer holding that layer's GPFQ/RTN step(s), and optionally whose input
 * gets a uniform activation quantizer calibrated on the calibration images ("activation quantization
 * after weights", as the SPFQ reference's `-a` mode: weights are solved with float activations, then
 * activation ranges are set on the quantized network). The model then saves, reloads (its checkpoint
 * records the QuantConfig), evaluates and exports like a QAT model. A model without a checkpoint of its
 * own (an imported ONNX graph) is rebuilt the same way from its run's codes.safetensors, which keeps
 * the steps and the input quantizers' ranges (inputQuantizerState) so they need not be calibrated again.
 */
import { LowbitError } from '../errors.ts';
import type { Module, StateDict } from '../nn/index.ts';
import { calibrateActivations, FixedGridQuantizer, isFloatBits, QuantConv2d, QuantLinear, quantizeModel, type QuantConfig } from '../quant/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import { resolvePtqConfig, type PtqConfig } from './ptq-config.ts';
import type { LayerReport } from './quantize-network.ts';

/**
 * The QuantConfig of a PTQ result: 'fixed' weights on the alphabet's code range, activations (when
 * actBits is given) unsigned uniform with MSE-chosen ranges, first and last layer as PTQ did them.
 */
export function ptqQuantConfig(config: PtqConfig, actBits: number | null): QuantConfig {
  const { bits, firstLastBits, granularity, convention } = resolvePtqConfig(config);
  const perChannel = granularity === 'channel';
  return {
    weight: { kind: 'fixed', bits, grid: convention, ...(perChannel ? { perChannel } : {}) },
    act: actBits === null ? null : { kind: 'uniform', bits: actBits, range: 'mse' },
    firstLast: isFloatBits(firstLastBits) ? 'float' : { bits: firstLastBits },
  };
}

/** Marks the state-dict entries of input (activation) quantizers: 'layer1.conv.inputQuantizer.runningRange'. */
const INPUT_QUANTIZER = '.inputQuantizer.';

/** The input quantizers' state (calibrated ranges) of a converted model, by state-dict name; the tensors are the model's. */
export function inputQuantizerState(model: Module): StateDict {
  return new Map([...model.stateDict()].filter(([k]) => k.includes(INPUT_QUANTIZER)));
}

/**
 * Converts `model` in place (see the file comment) and returns the QuantConfig to record with it.
 * Checks that every layer's grid reproduces the PTQ weights exactly. Activation ranges (actBits) come
 * from `calibration`, or from `actState` (holding inputQuantizerState of the same conversion, as saved).
 */
export function toQuantModel(
  model: Module,
  reports: readonly Pick<LayerReport, 'name' | 'scales'>[],
  config: PtqConfig,
  opts: { actBits: number | null; calibration?: Tensor; actState?: StateDict; batchSize?: number },
): QuantConfig {
  const quant = ptqQuantConfig(config, opts.actBits);
  quantizeModel(model, quant);
  for (const r of reports) {
    const layer = model.getSubmodule(r.name);
    if (!(layer instanceof QuantConv2d || layer instanceof QuantLinear) || !(layer.weightQuantizer instanceof FixedGridQuantizer)) {
      throw new LowbitError(`PTQ: layer '${r.name}' was not converted to a fixed-grid quantized layer`);
    }
    const q = layer.weightQuantizer;
    q.setScale(Array.from(r.scales.toFloat32Array()));
    const mismatch = scope(() => noGrad(() => q.call(layer.weight).sub(layer.weight).abs().max().item()));
    if (!(mismatch <= 1e-6 * Math.max(1, q.scale.abs().max().item()))) {
      throw new LowbitError(`PTQ: layer '${r.name}': its weights are not on the recorded grid (max deviation ${mismatch})`);
    }
    // code * step in float32 can differ from the float64 product PTQ stored by an ulp: store the
    // quantizer's own values so the saved weights, forward() and export() agree exactly.
    scope(() => noGrad(() => layer.weight.copy_(q.call(layer.weight))));
  }
  if (opts.actBits !== null && opts.actState !== undefined) {
    // Only the input quantizers' entries are taken (actState may be a whole codes.safetensors).
    const own = [...inputQuantizerState(model).keys()];
    const missing = own.filter((k) => !opts.actState!.has(k));
    if (missing.length > 0) throw new LowbitError(`PTQ: no saved activation range for ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''}; the saved state belongs to another model or was made without activation quantization`);
    model.loadStateDict(new Map(own.map((k) => [k, opts.actState!.get(k)!])), { strict: false });
  } else if (opts.actBits !== null) {
    const images = opts.calibration;
    if (!images) throw new LowbitError('PTQ: activation quantization needs the calibration images (or the saved ranges)');
    const batchSize = opts.batchSize ?? 256;
    const batches = function* () {
      for (let start = 0; start < images.shape[0]; start += batchSize) yield images.narrow(0, start, Math.min(batchSize, images.shape[0] - start));
    };
    calibrateActivations(model, batches());
  }
  return quant;
}

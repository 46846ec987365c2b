/**
 * Turns a PTQ result (a network whose Conv2d/Linear weights were overwritten with grid values) into an
 * ordinary fake-quant model: every quantized layer becomes a QuantConv2d / QuantLinear whose weight
 * quantizer is a FixedGridQuantizer holding that layer's GPFQ/RTN step(s), and optionally whose input
 * gets a uniform activation quantizer calibrated on the calibration images ("activation quantization
 * after weights", as the SPFQ reference's `-a` mode: weights are solved with float activations, then
 * activation ranges are set on the quantized network). The model then saves, reloads (its checkpoint
 * records the QuantConfig), evaluates and exports like a QAT model.
 */
import { LowbitError } from '../errors.ts';
import type { Module } from '../nn/index.ts';
import { calibrateActivations, FixedGridQuantizer, isFloatBits, QuantConv2d, QuantLinear, quantizeModel, type QuantConfig } from '../quant/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import type { LayerReport, PtqConfig } from './quantize-network.ts';

/**
 * The QuantConfig of a PTQ result: 'fixed' weights on the alphabet's code range, activations (when
 * actBits is given) unsigned uniform with MSE-chosen ranges, first and last layer as PTQ did them.
 */
export function ptqQuantConfig(config: PtqConfig, actBits: number | null): QuantConfig {
  const firstLastBits = config.firstLastBits ?? 8;
  const perChannel = config.granularity === 'channel';
  return {
    weight: { kind: 'fixed', bits: config.bits, grid: config.convention ?? 'signed', ...(perChannel ? { perChannel } : {}) },
    act: actBits === null ? null : { kind: 'uniform', bits: actBits, range: 'mse' },
    firstLast: isFloatBits(firstLastBits) ? 'float' : { bits: firstLastBits },
  };
}

/**
 * Converts `model` in place (see the file comment) and returns the QuantConfig to record with it.
 * Checks that every layer's grid reproduces the PTQ weights exactly.
 */
export function toQuantModel(
  model: Module,
  reports: LayerReport[],
  config: PtqConfig,
  opts: { actBits: number | null; calibration?: Tensor; batchSize?: number },
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
  if (opts.actBits !== null) {
    const images = opts.calibration;
    if (!images) throw new LowbitError('PTQ: activation quantization needs the calibration images');
    const batchSize = opts.batchSize ?? 256;
    const batches = function* () {
      for (let start = 0; start < images.shape[0]; start += batchSize) yield images.narrow(0, start, Math.min(batchSize, images.shape[0] - start));
    };
    calibrateActivations(model, batches());
  }
  return quant;
}

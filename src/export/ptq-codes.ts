/**
 * The integer codes of a `lowbit ptq` result whose checkpoint holds plain float layers (PTQ runs from
 * before QuantConfig was recorded), read from its codes.safetensors so the exporter can write them as
 * integers. The file has codes and steps only; each layer's bits follow from the PtqConfig recorded in
 * its metadata: the first and last layer in forward order at firstLastBits (FLOAT_BITS: left float),
 * the others at bits, in the alphabet's convention.
 */
import { existsSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import { loadSafetensors, type Module } from '../nn/index.ts';
import { codeRange, PTQ_ACT_BITS_KEY, PTQ_METADATA_KEY, quantizableLayers, toQuantModel, type PtqConfig } from '../ptq/index.ts';
import { isFloatBits } from '../quant/index.ts';
import { fromArray, scope, zeros, type Tensor } from '../tensor/index.ts';
import { checkMatchesWeight, fromPtqCodes, type LowBitWeight } from './onnx/low-bit-weight.ts';

export { PTQ_METADATA_KEY };

/** Weight bits of the i-th of `count` quantizable layers (forward order) under a PTQ config. */
export function ptqLayerBits(config: PtqConfig, i: number, count: number): number {
  // 8: PtqConfig's default for firstLastBits (quantizeNetwork's).
  return i === 0 || i === count - 1 ? (config.firstLastBits ?? 8) : config.bits;
}

/**
 * The codes of every quantized layer of `model` by module name, from `codesPath` (a codes.safetensors
 * written by lowbit ptq for this model), each checked against the layer's weight. `inputShape` is one
 * sample's shape, to run the model once and find its layers in forward order.
 */
export function readPtqWeightCodes(model: Module, codesPath: string, inputShape: number[]): Map<string, LowBitWeight> {
  if (!existsSync(codesPath)) {
    throw new LowbitError(`readPtqWeightCodes: codesPath ${codesPath} does not exist; pass the codes.safetensors that lowbit ptq wrote next to the checkpoint`);
  }
  const file = loadSafetensors(codesPath);
  try {
    const raw = file.metadata[PTQ_METADATA_KEY];
    if (raw === undefined) throw new LowbitError(`${codesPath} has no '${PTQ_METADATA_KEY}' metadata: it was not written by lowbit ptq`);
    const config = JSON.parse(raw) as PtqConfig;
    const layers = scope(() => quantizableLayers(model, zeros([1, ...inputShape])));
    const codes = new Map<string, LowBitWeight>();
    layers.forEach(({ name, module }, i) => {
      const bits = ptqLayerBits(config, i, layers.length);
      const c = file.tensors.get(`${name}.weight_codes`);
      const s = file.tensors.get(`${name}.weight_scale`);
      if (isFloatBits(bits) && c === undefined) return;
      if (c === undefined || s === undefined) throw new LowbitError(`${codesPath} has no codes for layer '${name}'; it belongs to another model`);
      const lw = fromPtqCodes(c, s, { ...codeRange(bits, config.convention ?? 'signed'), bits }, module.weight.shape, `${codesPath}: ${name}`);
      checkMatchesWeight(lw, module.weight, `${codesPath}: ${name}`);
      codes.set(name, lw);
    });
    return codes;
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

/**
 * When the ptq run of `codesPath` quantized activations (--abits): converts `model`, whose weights are
 * the run's (codes * steps, the layers of `weightCodes`), into the fake-quant model the run made, with
 * the activation ranges it calibrated, and returns true; its layers then export their own codes and
 * the activation Q/DQ. Returns false, leaving the model as it is, for a weights-only run.
 */
export function applyPtqActivations(model: Module, codesPath: string, weightCodes: Map<string, LowBitWeight>): boolean {
  const file = loadSafetensors(codesPath);
  const steps: { name: string; scales: Tensor }[] = [];
  try {
    const bits = file.metadata[PTQ_ACT_BITS_KEY];
    if (bits === undefined) return false;
    const config = JSON.parse(file.metadata[PTQ_METADATA_KEY]!) as PtqConfig;
    for (const [name, lw] of weightCodes) steps.push({ name, scales: fromArray(lw.scale, [lw.scale.length]) });
    toQuantModel(model, steps, config, { actBits: Number(bits), actState: file.tensors });
    return true;
  } finally {
    for (const s of steps) s.scales.dispose();
    for (const t of file.tensors.values()) t.dispose();
  }
}

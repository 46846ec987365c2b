/**
 * The supernet's quantizers, from the same QuantConfig and the same per-role rules as quantizeModel:
 * body layers get config.weight / config.act, the first layer (the stem conv) and the last (the
 * classifier) get firstLast.bits, and the first layer's input (the data) is not quantized. A layer's
 * activation quantizer acts on that layer's input, as in quantizeModel, so the searched network and the
 * retrained derived network are quantized at the same points.
 *
 * One small file on purpose: when the quantization registry of the restructure lands, a searchable
 * layer declares its conversion there and this file becomes that registration.
 */
import { createActQuantizer, createWeightQuantizer, layerQuantSpec, validateQuantConfig, type LayerRole, type QuantConfig, type Quantizer } from '../quant/index.ts';

export interface LayerQuantizers {
  weight: Quantizer | null;
  input: Quantizer | null;
}

/** The weight and input quantizers of one searchable layer (both null when config is null: a float search). */
export function supernetQuantizers(config: QuantConfig | null, name: string, role: LayerRole, outChannels: number): LayerQuantizers {
  if (config === null) return { weight: null, input: null };
  const spec = layerQuantSpec(validateQuantConfig(config), name, role);
  if (spec === null) return { weight: null, input: null };
  return { weight: createWeightQuantizer(spec.weight, outChannels), input: spec.act ? createActQuantizer(spec.act) : null };
}

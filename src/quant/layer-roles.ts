/**
 * Which of a model's layers are quantized as its first and last layer, and so at which bit width: the
 * one answer that QAT's conversion (quantizeModel), post-training quantization (quantizeNetwork) and a
 * checkpoint reload (which replays the recorded QuantConfig through quantizeModel) all use.
 *
 * Order: registration order (namedModules(), depth first), the order in which a model's constructor
 * registers its layers. Not the forward order, because two of the three users have no data to run a
 * forward pass with (quantizeModel converts a model as built; loading a checkpoint rebuilds it), and
 * PTQ must give first/last bits to the same layers as the conversion of its result, or the saved model
 * would not reproduce the PTQ weights. In every model of the zoo the first registered layer is the
 * first one the forward pass runs and the last registered is the classifier, so for them the two
 * orders agree on "first" and "last" (PTQ still solves the layers in forward order).
 */
import type { Module } from '../nn/index.ts';
import type { LayerRole } from './quant-config.ts';
import { isQuantizableLayer } from './quant-converters.ts';

export interface LayerWithRole {
  /** Dotted name as in namedModules() ('layers.0.conv1'). */
  name: string;
  module: Module;
  role: LayerRole;
}

/** Whether quantization treats `m` as one layer (its weight and input are quantized together). */
export type IsQuantizableLayer = (m: Module) => boolean;

/**
 * The model's quantizable layers (by default Conv2d, Linear and every class with a quantization
 * converter, see quant-converters.ts) in registration order with their roles: the first is 'first',
 * the last is 'last' (a model with one layer has only a 'first'), the others 'body'. A quantizable
 * layer's own descendants are not searched: the layer is quantized as a whole.
 */
export function layerRoles(model: Module, isLayer: IsQuantizableLayer = isQuantizableLayer): LayerWithRole[] {
  const found: { name: string; module: Module }[] = [];
  const visit = (m: Module, name: string): void => {
    if (isLayer(m)) {
      found.push({ name, module: m });
      return;
    }
    for (const [child, c] of m.namedChildren()) visit(c, name ? `${name}.${child}` : child);
  };
  visit(model, '');
  return found.map((l, i) => ({ ...l, role: i === 0 ? 'first' : i === found.length - 1 ? 'last' : 'body' }));
}

/** A layer's bit width from its role: firstLastBits for the first and last layer, bits for the body. */
export function roleBits(role: LayerRole, bits: number, firstLastBits: number): number {
  return role === 'body' ? bits : firstLastBits;
}

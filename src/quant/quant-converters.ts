/**
 * How each float layer kind becomes its quantized version: a registry from a layer class to a
 * converter, which quantizeModel looks up by the layer's exact class. A new layer kind (a searchable
 * conv of a channel search) declares its own quantization by registering a converter; one that does
 * not is refused by name rather than silently turned into a plain QuantConv2d that would drop what the
 * subclass adds. Built in: Conv2d -> QuantConv2d and Linear -> QuantLinear, sharing the float layer's
 * weight and bias tensors.
 */
import { LowbitError } from '../errors.ts';
import { Conv2d, Linear, type Module, type RemovableHandle } from '../nn/index.ts';
import { createLayerQuantizers } from './layer-quantizers.ts';
import type { LayerQuantSpec, LayerRole } from './quant-config.ts';
import { QuantConv2d } from './quant-conv2d.ts';
import { QuantLinear } from './quant-linear.ts';

/** Where the layer being converted sits in the model. */
export interface QuantConvertContext {
  /** Dotted name as in namedModules() ('layers.0.conv1'). */
  name: string;
  role: LayerRole;
}

/**
 * Builds the quantized module that replaces `layer` (spec: its validated weight and activation specs,
 * after firstLast and overrides). It may share the layer's tensors; the float layer is dropped from the
 * model but not disposed.
 */
export type QuantConverter<L extends Module = Module> = (layer: L, spec: LayerQuantSpec, ctx: QuantConvertContext) => Module;

/** A layer class (constructor arguments of any shape). */
export type LayerClass<L extends Module = Module> = abstract new (...args: never[]) => L;

const converters = new Map<LayerClass, QuantConverter<never>>();

/**
 * Declares how layers of exactly `layerClass` (not its subclasses) are quantized. A class has at most
 * one converter; the handle's remove() unregisters it.
 */
export function registerQuantConverter<L extends Module>(layerClass: LayerClass<L>, convert: QuantConverter<L>): RemovableHandle {
  if (converters.has(layerClass)) {
    throw new LowbitError(`registerQuantConverter: ${layerClass.name} already has a quantization converter; remove() its handle before registering another`);
  }
  converters.set(layerClass, convert as QuantConverter<never>);
  return {
    remove: () => {
      if (converters.get(layerClass) === convert) converters.delete(layerClass);
    },
  };
}

/** The converter registered for the layer's exact class, or undefined. */
export function quantConverterFor(layer: Module): QuantConverter | undefined {
  return converters.get(layer.constructor as LayerClass) as QuantConverter | undefined;
}

/**
 * Whether quantization treats `m` as one layer: its class has a converter, or it is a Conv2d or Linear
 * of any subclass (quantizeModel refuses a subclass without a converter of its own, naming it).
 */
export function isQuantizableLayer(m: Module): boolean {
  return converters.has(m.constructor as LayerClass) || m instanceof Conv2d || m instanceof Linear;
}

/** Why `m`, a quantizable layer, cannot be converted, or null when it can. */
export function converterProblem(m: Module, name: string): string | null {
  if (quantConverterFor(m) !== undefined) return null;
  const base = m instanceof Conv2d ? 'Conv2d' : 'Linear';
  const cls = m.constructor.name;
  return (
    `'${name}' is a ${cls}, a subclass of ${base} with no quantization converter of its own; converting it as a plain ${base} ` +
    `would drop what ${cls} adds. Declare how it is quantized: registerQuantConverter(${cls}, (layer, spec, ctx) => ...) ` +
    `(see createLayerQuantizers and WithLayerQuantizers)`
  );
}

registerQuantConverter(Conv2d, (conv, spec) => {
  const { weightQuantizer, inputQuantizer } = createLayerQuantizers(spec, conv.outChannels);
  return QuantConv2d.fromFloat(conv, weightQuantizer, inputQuantizer);
});

registerQuantConverter(Linear, (linear, spec) => {
  const { weightQuantizer, inputQuantizer } = createLayerQuantizers(spec, linear.outFeatures);
  return QuantLinear.fromFloat(linear, weightQuantizer, inputQuantizer);
});

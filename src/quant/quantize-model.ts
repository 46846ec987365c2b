/**
 * Converting a float model into a quantization-aware one, in place.
 *
 * Design: every layer is replaced by what its class's converter builds (quant-converters.ts): Conv2d and
 * Linear become QuantConv2d / QuantLinear, which fake-quantize their weight and, through their own
 * 'inputQuantizer', their input; a subclass of Conv2d or Linear needs a converter of its own. Quantizing each quantized layer's input
 * (rather than inserting QuantAct layers after ReLUs) needs no knowledge of how a model wires its
 * layers, so it works the same for Sequential models (MLP, LeNet-5, VGG-small) and for models with a
 * hand-written forward (ResNet's BasicBlock, whose conv1 and shortcut conv read the block input and
 * whose conv2 reads relu(bn1(conv1 x))). In these models every such input is the output of a ReLU
 * (possibly pooled), so the unsigned activation grid quantizes exactly "the ReLU outputs that feed
 * quantized layers". Tensors that feed no quantized layer (the identity shortcut, the block sum) stay
 * in floating point, as in PACT's and LSQ's ResNets. A tensor read by two layers (a block input read by
 * conv1 and the shortcut conv) gets one quantizer in each. A layer whose input may be negative should
 * get `act: null` in `overrides`, or a signed quantizer placed by hand.
 *
 * First and last layer (first and last Conv2d/Linear in registration order, see layer-roles.ts: ResNet's stem conv and fc)
 * get `firstLast.bits` (8 by default) and the first layer's input, the data itself, is not quantized
 * unless `firstLast.quantizeInput`. BatchNorm layers are kept as they are for training; see
 * foldBatchNorm for deployment.
 *
 * The new layers share the float layers' weight and bias tensors; the float layers are dropped from
 * the model but not disposed. Parameter names do not change ('layers.0.conv1.weight'), so a float
 * checkpoint still loads into the converted model with { strict: false } (the quantizers' own
 * parameters are the only missing keys).
 */
import { LowbitError } from '../errors.ts';
import { Conv2d, Linear, Module } from '../nn/index.ts';
import { layerRoles } from './layer-roles.ts';
import { layerQuantSpec, validateQuantConfig, type ActQuantSpec, type LayerRole, type QuantConfig, type WeightQuantSpec } from './quant-config.ts';
import { converterProblem, isQuantizableLayer, quantConverterFor } from './quant-converters.ts';
import { QuantConv2d } from './quant-conv2d.ts';
import { QuantLinear } from './quant-linear.ts';
import { Quantizer } from './quantizer.ts';

/** What quantizeModel did to one layer (plain data, for the run record). */
export interface QuantizedLayer {
  name: string;
  /** 'conv2d' or 'linear' for Conv2d / Linear and their subclasses; otherwise the layer's class name. */
  type: string;
  role: LayerRole;
  /** null: the layer was left in floating point. */
  weight: WeightQuantSpec | null;
  /** null: the layer's input is not quantized. */
  act: ActQuantSpec | null;
}

export function quantizeModel(model: Module, config: QuantConfig): QuantizedLayer[] {
  const cfg = validateQuantConfig(config);
  for (const [name, m] of model.namedModules()) {
    if (m instanceof Quantizer || m instanceof QuantConv2d || m instanceof QuantLinear) {
      throw new LowbitError(`quantizeModel: the model is already quantized ('${name}' is a ${m.constructor.name}); convert the float model once`);
    }
  }
  const layers = layerRoles(model, isQuantizableLayer);
  if (layers.length === 0) throw new LowbitError('quantizeModel: the model has no Conv2d or Linear layer to quantize');
  const names = new Set(layers.map((l) => l.name));
  for (const name of Object.keys(cfg.overrides ?? {})) {
    if (!names.has(name)) {
      const known = [...names];
      throw new LowbitError(
        `quantizeModel: overrides['${name}'] names no Conv2d/Linear layer of this model; layers are ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', ...' : ''}`,
      );
    }
  }

  // Every layer's spec and converter first, so a refused layer leaves the model untouched.
  const plan: QuantizedLayer[] = [];
  const conversions: (() => void)[] = [];
  for (const { name, module: layer, role } of layers) {
    const type = layer instanceof Conv2d ? 'conv2d' : layer instanceof Linear ? 'linear' : layer.constructor.name;
    const spec = layerQuantSpec(cfg, name, role);
    plan.push({ name, type, role, weight: spec?.weight ?? null, act: spec?.act ?? null });
    if (spec === null) continue;
    const problem = converterProblem(layer, name);
    if (problem !== null) throw new LowbitError(`quantizeModel: ${problem}`);
    if (name === '') throw new LowbitError('quantizeModel: the model is a single layer; wrap it in a Sequential to convert it');
    const convert = quantConverterFor(layer)!;
    conversions.push(() => {
      const quantized = convert(layer, spec, { name, role });
      if (!(quantized instanceof Module)) throw new LowbitError(`quantizeModel: the converter of ${layer.constructor.name} returned no Module for '${name}'`);
      const dot = name.lastIndexOf('.');
      const parent = model.getSubmodule(dot < 0 ? '' : name.slice(0, dot));
      parent.replaceChild(name.slice(dot + 1), quantized);
    });
  }
  for (const convert of conversions) convert();
  return plan;
}

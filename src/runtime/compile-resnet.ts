/**
 * A fake-quant ResNet (a QAT checkpoint: SAWB/uniform/LSQ weights, PACT activations) as a ResNetSpec,
 * compiled to an integer plan by resnet-spec.ts (the fused steps and their arithmetic are described there).
 */
import { LowbitError } from '../errors.ts';
import { BatchNorm2d, Sequential, type Module } from '../nn/index.ts';
import { BasicBlock, ResNet } from '../models/index.ts';
import { PactQuantizer, QuantConv2d, QuantLinear, type Quantizer } from '../quant/index.ts';
import { noGrad, scope } from '../tensor/index.ts';
import type { IntPlan } from './int-plan.ts';
import { compileResNetSpec, type ActParams, type CompileOptions, type ConvSpec, type LayerWeight, type ResNetSpec } from './resnet-spec.ts';
import { packWeightCodes } from './weight-pack.ts';

export type { CompileOptions };

function weightOf(layer: QuantConv2d | QuantLinear, outChannels: number, where: string): LayerWeight {
  return scope(() =>
    noGrad(() => {
      const q = layer.quantizedWeight();
      const codes = Int32Array.from(q.codes.contiguous().toArray());
      if (q.zeroPoint !== 0) for (let i = 0; i < codes.length; i++) codes[i] -= q.zeroPoint;
      const grid = { qMin: q.qMin - q.zeroPoint, qMax: q.qMax - q.zeroPoint, codeStep: q.codeStep };
      const s = q.scale.toFloat32Array();
      if (s.length !== 1 && s.length !== outChannels) throw new LowbitError(`${where}: ${s.length} weight scales for ${outChannels} output channels`);
      const scale = Float64Array.from({ length: outChannels }, (_, o) => s[s.length === 1 ? 0 : o]);
      const packed = packWeightCodes(codes, grid);
      // Odd codes beyond int8 (8-bit SAWB: +-255) run as m = (c - 1) / 2 plus a ones channel.
      const oddOnes = grid.codeStep === 2 && grid.qMax > 127;
      return { packed, scale, oddOnes };
    }),
  );
}

function actOf(q: Quantizer | null, where: string): ActParams {
  if (q === null) throw new LowbitError(`${where}: the layer's input is not quantized; the integer runtime needs activation codes (quantize it with an activation quantizer)`);
  if (!(q instanceof PactQuantizer)) {
    throw new LowbitError(`${where}: activation quantizer '${q.kind}' is not supported by the integer runtime yet; it runs PACT activations (lowbit qat --aq pact, the default)`);
  }
  const levels = 2 ** q.bits - 1;
  return scope(() =>
    noGrad(() => ({
      alpha: q.alpha.item(),
      // In float32, as PactQuantizer computes it: the epilogue divides by this exact number.
      scale: q.alpha.div(levels).item(),
      levels,
    })),
  );
}

/** BatchNorm in eval mode as y = x f + shift (float64). */
function bnOf(bn: BatchNorm2d): { f: Float64Array; shift: Float64Array } {
  return scope(() =>
    noGrad(() => {
      const mean = bn.runningMean.toFloat32Array();
      const variance = bn.runningVar.toFloat32Array();
      const gamma = bn.weight?.toFloat32Array();
      const beta = bn.bias?.toFloat32Array();
      const c = bn.numFeatures;
      const f = new Float64Array(c);
      const shift = new Float64Array(c);
      for (let o = 0; o < c; o++) {
        f[o] = (gamma ? gamma[o] : 1) / Math.sqrt(variance[o] + bn.eps);
        shift[o] = (beta ? beta[o] : 0) - mean[o] * f[o];
      }
      return { f, shift };
    }),
  );
}

function checkConv(conv: Module, where: string): QuantConv2d {
  if (!(conv instanceof QuantConv2d)) throw new LowbitError(`${where}: expected a quantized conv (QuantConv2d), got ${conv.constructor.name}; the integer runtime needs every conv quantized (no --first-last-bits float)`);
  if (conv.groups !== 1 || conv.dilation[0] !== 1 || conv.dilation[1] !== 1) throw new LowbitError(`${where}: grouped or dilated convs are not supported by the integer runtime`);
  if (conv.stride[0] !== conv.stride[1] || conv.padding[0] !== conv.padding[1]) throw new LowbitError(`${where}: the integer runtime takes equal strides and paddings in both directions`);
  return conv;
}

/** A QuantConv2d (or the classifier as a 1x1 conv) with the BatchNorm after it, or its bias. */
function convSpec(layer: QuantConv2d | QuantLinear, bn: BatchNorm2d | null, where: string, act: ActParams | null): ConvSpec {
  const conv = layer instanceof QuantConv2d ? layer : null;
  const outChannels = conv ? conv.outChannels : (layer as QuantLinear).outFeatures;
  const weight = weightOf(layer, outChannels, where);
  let f = new Float64Array(outChannels).fill(1);
  let shift = new Float64Array(outChannels);
  if (bn) ({ f, shift } = bnOf(bn));
  else if (layer.bias) shift = Float64Array.from(scope(() => layer.bias!.toFloat32Array()));
  return {
    where,
    inChannels: conv ? conv.inChannels : (layer as QuantLinear).inFeatures,
    outChannels,
    kernel: conv ? conv.kernelSize : [1, 1],
    stride: conv ? conv.stride[0] : 1,
    pad: conv ? conv.padding[0] : 0,
    weight,
    f,
    shift,
    act,
  };
}

/** The numbers of an eval-mode fake-quant ResNet (BasicBlocks, 1x1 conv shortcuts). */
export function resnetSpec(model: Module): ResNetSpec {
  if (!(model instanceof ResNet)) throw new LowbitError(`compileResNet: the integer runtime runs lowbit's ResNet models; got ${model.constructor.name}`);
  const stem = model.stem;
  if (!(stem instanceof Sequential) || stem.length !== 3 || !(stem.at(1) instanceof BatchNorm2d)) throw new LowbitError('compileResNet: expected the stem conv-BN-ReLU');
  const stemConv = checkConv(stem.at(0), 'stem.0');
  if (stemConv.inputQuantizer !== null) throw new LowbitError('stem.0: a quantized network input is not supported by the integer runtime (it reads the raw 8-bit pixels)');
  if (stemConv.bias) throw new LowbitError('stem.0: a conv bias before BatchNorm is not supported by the integer runtime');
  const blocks = model.layers.children().map((b, i) => {
    const p = `layers.${i}`;
    if (!(b instanceof BasicBlock)) throw new LowbitError(`${p}: expected a BasicBlock, got ${b.constructor.name}`);
    const layer = (conv: Module, bn: BatchNorm2d, where: string) => {
      const c = checkConv(conv, where);
      if (c.bias) throw new LowbitError(`${where}: a conv bias before BatchNorm is not supported by the integer runtime`);
      return convSpec(c, bn, where, actOf(c.inputQuantizer, where));
    };
    return {
      conv1: layer(b.conv1, b.bn1, `${p}.conv1`),
      conv2: layer(b.conv2, b.bn2, `${p}.conv2`),
      shortcut: b.shortcut ? layer(b.shortcut.at(0), b.shortcut.at(1) as BatchNorm2d, `${p}.shortcut.0`) : null,
    };
  });
  const fc = model.fc;
  if (!(fc instanceof QuantLinear)) throw new LowbitError('fc: expected a quantized classifier (QuantLinear); the integer runtime needs the last layer quantized');
  return { stem: convSpec(stemConv, stem.at(1) as BatchNorm2d, 'stem.0', null), blocks, fc: convSpec(fc, null, 'fc', actOf(fc.inputQuantizer, 'fc')) };
}

/**
 * Compiles an eval-mode fake-quant ResNet (BasicBlocks, 1x1 conv shortcuts) into an IntPlan whose
 * named buffers are the quantization points ('layers.0.conv1.in', 'fc.in', ...) and 'logits'.
 */
export function compileResNet(model: Module, opts: CompileOptions): IntPlan {
  return compileResNetSpec(resnetSpec(model), opts);
}

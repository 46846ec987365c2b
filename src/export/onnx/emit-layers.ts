/**
 * Emitters of lowbit's layers (src/nn and the quantized layers of src/quant), and of chains of them
 * (emitChain: a Sequential, or any model's forward chain), where a conv followed by a BatchNorm is
 * written as one conv. Each mirrors its module's forward() op for op; the export tests run every one
 * through onnxruntime against lowbit.
 */
import { LowbitError } from '../../errors.ts';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, forwardChain, Hardtanh, Identity, Linear, MaxPool2d, ReLU, ReLU6, Sequential, type Module } from '../../nn/index.ts';
import { foldBatchNorm, QuantAct, QuantConv2d, QuantLinear, type QuantizedTensor } from '../../quant/index.ts';
import { fromArray, Generator, noGrad, scope, type Tensor } from '../../tensor/index.ts';
import type { EmitContext, EmitterEntry } from './emit-context.ts';
import { emitActQuant, emitMatMulNBits, emitWeight, type WeightValue } from './emit-quant.ts';
import { fromQuantizedTensor, type LowBitWeight } from './low-bit-weight.ts';
import { attribute } from './proto.ts';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

function floats(t: Tensor): Float32Array {
  return scope(() => noGrad(() => t.detach().contiguous().toFloat32Array()));
}

/** A QAT layer's weight codes: its quantizer's export of the current weight. */
function quantizerCodes(getter: () => QuantizedTensor, where: string): LowBitWeight {
  return scope(() => noGrad(() => fromQuantizedTensor(getter(), where)));
}

function inputQuant(m: QuantConv2d | QuantLinear, x: string, name: string, ctx: EmitContext): [string, string | null] {
  return m.inputQuantizer ? emitActQuant(m.inputQuantizer, x, `${name}.input_quant`, ctx) : [x, null];
}

/** What a BatchNorm folded into its conv contributes: per-channel weight factors (or scales) and the bias. */
interface BatchNormFold {
  /** Quantized layers: the per-channel DequantizeLinear scales s f. Float layers: the folded weight W f. */
  weight: Float32Array;
  /** The folded bias (b - running_mean) f + beta. */
  bias: Float32Array;
}

/**
 * BatchNorm folded into the preceding conv, as deployment exports do (PyTorch's eval-mode ONNX export
 * too), with quant's foldBatchNorm as the one fold: bn(conv(x)) = conv(x) f + (b - mean) f + beta with
 * f = gamma / sqrt(var + eps) per output channel. A float layer's weight becomes W f. A quantized layer
 * keeps its integer codes and f goes into its per-channel DequantizeLinear scale, s' = s f: that is the
 * fold of a 1x1 conv whose weights are the scales, so the same function computes it (W = codes s, so
 * W f = codes (s f)). Returns null when some f <= 0 (a scale must stay positive; float layers keep the
 * same rule, as the exporter always had it) and for convs with an input
 * quantizer: onnxruntime's WeightBiasQuantization pass (on from its 'basic' level) rounds the float bias
 * of a Conv whose input and weight both come from DequantizeLinear to int32 at s_x * s_w, and a folded
 * BN shift is a large bias (measured on a W2A2 ResNet-20: outputs off by 3.5 of 13). The BN is then
 * written as BatchNormalization, which that pass leaves alone.
 */
function bnFold(conv: Conv2d, bn: BatchNorm2d, lw: LowBitWeight | undefined): BatchNormFold | null {
  const C = bn.numFeatures;
  if (C !== conv.outChannels || (conv instanceof QuantConv2d && conv.inputQuantizer !== null)) return null;
  // Per-channel factors: the scales of a quantized layer, 1 for a float one (whose f is then checked).
  const s = lw?.scale;
  const factors = Float32Array.from({ length: C }, (_, c) => (s === undefined ? 1 : s[s.length > 1 ? c : 0]));
  const scaled = foldInto1x1(factors, conv.bias, bn);
  if (!scaled.weight.every((v) => v > 0 && Number.isFinite(v))) return null;
  if (lw !== undefined) return scaled;
  return scope(() => {
    const folded = foldBatchNorm(conv, bn);
    try {
      return { weight: floats(folded.weight), bias: floats(folded.bias!) };
    } finally {
      folded.dispose();
    }
  });
}

/** foldBatchNorm of a 1x1 conv with one input channel whose weights are `factors` and whose bias is `bias`. */
function foldInto1x1(factors: Float32Array, bias: Tensor | null, bn: BatchNorm2d): BatchNormFold {
  const C = factors.length;
  const probe = new Conv2d(1, C, 1, { bias: bias !== null, generator: new Generator(0) });
  try {
    noGrad(() =>
      scope(() => {
        probe.weight.copy_(fromArray(factors, [C, 1, 1, 1]));
        if (bias !== null) probe.bias!.copy_(bias);
      }),
    );
    const folded = foldBatchNorm(probe, bn);
    try {
      return { weight: floats(folded.weight), bias: floats(folded.bias!) };
    } finally {
      folded.dispose();
    }
  } finally {
    probe.dispose();
  }
}

/** A Conv2d (float, with PTQ codes, or QuantConv2d), with `bn` folded in when given and foldable. */
function emitConv(m: Conv2d, input: string, ctx: EmitContext, bn?: BatchNorm2d): string {
  const name = ctx.nameOf(m) || 'conv';
  const quant = m instanceof QuantConv2d;
  const [x, inputType] = quant ? inputQuant(m, input, name, ctx) : [input, null];
  let lw = quant ? quantizerCodes(() => m.quantizedWeight(), name) : ctx.codesFor(m);
  const fold = bn ? bnFold(m, bn, lw) : null;
  const b = ctx.builder;
  let w: WeightValue;
  if (fold && lw) {
    lw = { ...lw, scale: fold.weight };
    w = emitWeight(m, 'conv', lw, name, ctx);
  } else if (fold) {
    w = { value: b.floatInit(`${name}.weight`, m.weight.shape, fold.weight), storage: 'float32', weightBytes: fold.weight.byteLength };
  } else {
    w = emitWeight(m, 'conv', lw, name, ctx);
  }
  const inputs = [x, w.value];
  // A bias next to a quantized input and weight is added after the Conv, not given to it:
  // onnxruntime's WeightBiasQuantization would round it to int32 at s_x * s_w (see bnFold).
  const separateBias = inputType !== null && m.bias !== null;
  if (fold) inputs.push(b.floatInit(`${name}.bias`, [m.outChannels], fold.bias));
  else if (m.bias && !separateBias) inputs.push(b.floatInit(`${name}.bias`, [m.outChannels], floats(m.bias)));
  const [ph, pw] = m.padding;
  const conv = b.add('Conv', inputs, separateBias ? `${name}.conv` : name, [
    attribute('kernel_shape', m.kernelSize),
    attribute('strides', m.stride),
    attribute('pads', [ph, pw, ph, pw]),
    attribute('dilations', m.dilation),
    attribute('group', m.groups),
  ]);
  const out = separateBias ? b.add('Add', [conv, b.floatInit(`${name}.bias`, [m.outChannels, 1, 1], floats(m.bias!))], name) : conv;
  record(ctx, name, 'conv', w, lw, inputType, w.storage === 'float32' ? 'float' : 'qdq');
  return bn && !fold ? emitBatchNorm(bn, out, ctx) : out;
}

/** conv then bn, folded where possible: the pattern of every conv layer in the model zoo. */
export function emitConvBn(conv: Conv2d, bn: BatchNorm2d, input: string, ctx: EmitContext): string {
  return emitConv(conv, input, ctx, bn);
}

const isPlainConv = (m: Module | undefined): m is Conv2d => m?.constructor === Conv2d || m?.constructor === QuantConv2d;

/**
 * Stages applied one after the other (a Sequential's children, or any model's forwardChain()), each
 * through its own emitter, except that a conv directly followed by a BatchNorm2d is written as one
 * conv with the BN folded in (emitConvBn).
 */
export function emitChain(stages: readonly Module[], input: string, ctx: EmitContext): string {
  let y = input;
  for (let i = 0; i < stages.length; i++) {
    const [stage, next] = [stages[i], stages[i + 1]];
    if (isPlainConv(stage) && next?.constructor === BatchNorm2d) {
      y = emitConvBn(stage, next as BatchNorm2d, y, ctx);
      i++;
    } else y = ctx.emit(stage, y);
  }
  return y;
}

/** y = x W^T + b as MatMul (+ Add): unlike Gemm it takes inputs of any rank, as F.linear does. */
function emitLinear(m: Linear, input: string, ctx: EmitContext): string {
  const name = ctx.nameOf(m) || 'linear';
  const quant = m instanceof QuantLinear;
  const [x, inputType] = quant ? inputQuant(m, input, name, ctx) : [input, null];
  const lw = quant ? quantizerCodes(() => m.quantizedWeight(), name) : ctx.codesFor(m);
  const b = ctx.builder;
  let y: string;
  let w: WeightValue;
  const nbits = lw !== undefined && ctx.matmulNBits ? emitMatMulNBits(m, lw, x, name, ctx) : null;
  if (nbits !== null) {
    w = nbits;
    y = nbits.value;
  } else {
    w = emitWeight(m, 'matmul', lw, name, ctx);
    y = b.add('MatMul', [x, w.value], `${name}.matmul`);
  }
  if (m.bias) y = b.add('Add', [y, b.floatInit(`${name}.bias`, [m.outFeatures], floats(m.bias))], name);
  record(ctx, name, 'linear', w, lw, inputType, nbits !== null ? 'matmulnbits' : lw ? 'qdq' : 'float');
  return y;
}

function record(ctx: EmitContext, name: string, kind: 'conv' | 'linear', w: WeightValue, lw: LowBitWeight | undefined, inputQuant: string | null, format: 'float' | 'qdq' | 'matmulnbits'): void {
  ctx.layers.push({ name, kind, format, storage: w.storage, bits: lw?.bits ?? null, weightBytes: w.weightBytes, inputQuant });
}

function emitBatchNorm(m: BatchNorm2d, x: string, ctx: EmitContext): string {
  const name = ctx.nameOf(m) || 'bn';
  const b = ctx.builder;
  const C = m.numFeatures;
  const gamma = m.weight ? floats(m.weight) : new Float32Array(C).fill(1);
  const beta = m.bias ? floats(m.bias) : new Float32Array(C);
  return b.add(
    'BatchNormalization',
    [
      x,
      b.floatInit(`${name}.weight`, [C], gamma),
      b.floatInit(`${name}.bias`, [C], beta),
      b.floatInit(`${name}.running_mean`, [C], floats(m.runningMean)),
      b.floatInit(`${name}.running_var`, [C], floats(m.runningVar)),
    ],
    name,
    [attribute('epsilon', m.eps, 'float')],
  );
}

function emitClip(x: string, lo: number, hi: number, name: string, ctx: EmitContext): string {
  const b = ctx.builder;
  return b.add('Clip', [x, b.floatInit(`${name}.min`, [], [lo]), b.floatInit(`${name}.max`, [], [hi])], name);
}

function poolAttrs(kernel: Pair, opts: { stride?: Pair; padding?: Pair; ceilMode?: boolean }) {
  const k = pair(kernel);
  const [ph, pw] = pair(opts.padding ?? 0);
  return [attribute('kernel_shape', k), attribute('strides', pair(opts.stride ?? k)), attribute('pads', [ph, pw, ph, pw]), attribute('ceil_mode', opts.ceilMode ? 1 : 0)];
}

function emitFlatten(m: Flatten, x: string, ctx: EmitContext): string {
  const name = ctx.nameOf(m) || 'flatten';
  if (m.startDim === 1 && m.endDim === -1) return ctx.builder.add('Flatten', [x], name, [attribute('axis', 1)]);
  if (m.startDim === 0 && m.endDim === -1) return ctx.builder.add('Reshape', [x, ctx.builder.int64Init(`${name}.shape`, [1], [-1])], name);
  throw new LowbitError(`ONNX export: Flatten(${m.startDim}, ${m.endDim}) at '${name}' is not supported; only Flatten(1, -1) (keep the batch) and Flatten(0, -1)`);
}

export const LAYER_EMITTERS: EmitterEntry[] = [
  [Conv2d, emitConv],
  [QuantConv2d, emitConv],
  [Linear, emitLinear],
  [QuantLinear, emitLinear],
  [BatchNorm2d, emitBatchNorm],
  [ReLU, (m: ReLU, x, ctx) => ctx.builder.add('Relu', [x], ctx.nameOf(m) || 'relu')],
  [ReLU6, (m: ReLU6, x, ctx) => emitClip(x, 0, 6, ctx.nameOf(m) || 'relu6', ctx)],
  [Hardtanh, (m: Hardtanh, x, ctx) => emitClip(x, m.minVal, m.maxVal, ctx.nameOf(m) || 'hardtanh', ctx)],
  [MaxPool2d, (m: MaxPool2d, x, ctx) => ctx.builder.add('MaxPool', [x], ctx.nameOf(m) || 'maxpool', poolAttrs(m.kernelSize, m.opts))],
  [
    AvgPool2d,
    (m: AvgPool2d, x, ctx) =>
      // PyTorch (and lowbit) count padded zeros by default; ONNX does not unless told.
      ctx.builder.add('AveragePool', [x], ctx.nameOf(m) || 'avgpool', [...poolAttrs(m.kernelSize, m.opts), attribute('count_include_pad', m.opts.countIncludePad === false ? 0 : 1)]),
  ],
  [
    AdaptiveAvgPool2d,
    (m: AdaptiveAvgPool2d, x, ctx) => {
      const [h, w] = pair(m.outputSize);
      if (h !== 1 || w !== 1) throw new LowbitError(`ONNX export: AdaptiveAvgPool2d(${m.outputSize}) at '${ctx.nameOf(m)}' is not supported; only output size 1 (GlobalAveragePool)`);
      return ctx.builder.add('GlobalAveragePool', [x], ctx.nameOf(m) || 'pool');
    },
  ],
  [Flatten, emitFlatten],
  // Identity and Dropout (eval) compute nothing: their output is their input.
  [Identity, (_m: Identity, x) => x],
  [Dropout, (_m: Dropout, x) => x],
  [Sequential, (m: Sequential, x, ctx) => emitChain(forwardChain(m)!, x, ctx)],
  [QuantAct, (m: QuantAct, x, ctx) => emitActQuant(m.quantizer, x, ctx.nameOf(m) || 'act_quant', ctx)[0]],
];

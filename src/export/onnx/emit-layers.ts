/**
 * Emitters of lowbit's layers (src/nn and the quantized layers of src/quant). Each mirrors its
 * module's forward() op for op; the export tests run every one through onnxruntime against lowbit.
 */
import { LowbitError } from '../../errors.ts';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Dropout, Flatten, Hardtanh, Identity, Linear, MaxPool2d, ReLU, ReLU6, Sequential } from '../../nn/index.ts';
import { QuantAct, QuantConv2d, QuantLinear, type QuantizedTensor } from '../../quant/index.ts';
import { noGrad, scope, type Tensor } from '../../tensor/index.ts';
import type { Emitter, EmitContext } from './emit-context.ts';
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

/**
 * BatchNorm folded into the preceding conv, as deployment exports do (PyTorch's eval-mode ONNX export
 * too): with f = gamma / sqrt(var + eps), bn(conv(x)) = conv(x) * f + (beta - mean * f). For float
 * weights W' = W f; for quantized ones f goes into the per-channel DequantizeLinear scale, s' = s f, so
 * the integer codes are untouched. Returns null when some f <= 0 (a scale must stay positive) and for
 * convs with an input quantizer: onnxruntime's WeightBiasQuantization pass (on from its 'basic'
 * level) rounds the float bias of a Conv whose input and weight both come from DequantizeLinear to
 * int32 at s_x * s_w, and a folded BN shift is a large bias (measured on a W2A2 ResNet-20: outputs off
 * by 3.5 of 13). The BN is then written as BatchNormalization, which that pass leaves alone.
 */
function bnFold(conv: Conv2d, bn: BatchNorm2d): { f: Float64Array; shift: Float64Array } | null {
  const C = bn.numFeatures;
  if (C !== conv.outChannels || (conv instanceof QuantConv2d && conv.inputQuantizer !== null)) return null;
  const gamma = bn.weight ? floats(bn.weight) : new Float32Array(C).fill(1);
  const beta = bn.bias ? floats(bn.bias) : new Float32Array(C);
  const mean = floats(bn.runningMean);
  const variance = floats(bn.runningVar);
  const bias = conv.bias ? floats(conv.bias) : new Float32Array(C);
  const f = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c] + bn.eps));
  if (!f.every((v) => v > 0 && Number.isFinite(v))) return null;
  return { f, shift: Float64Array.from(f, (fc, c) => (bias[c] - mean[c]) * fc + beta[c]) };
}

/** A Conv2d (float, with PTQ codes, or QuantConv2d), with `bn` folded in when given and foldable. */
function emitConv(m: Conv2d, input: string, ctx: EmitContext, bn?: BatchNorm2d): string {
  const name = ctx.nameOf(m) || 'conv';
  const quant = m instanceof QuantConv2d;
  const [x, inputType] = quant ? inputQuant(m, input, name, ctx) : [input, null];
  let lw = quant ? quantizerCodes(() => m.quantizedWeight(), name) : ctx.codesFor(m);
  const fold = bn ? bnFold(m, bn) : null;
  const b = ctx.builder;
  let w: WeightValue;
  if (fold && lw) {
    const s = lw.scale;
    lw = { ...lw, scale: Float32Array.from(fold.f, (fc, c) => s[s.length > 1 ? c : 0] * fc) };
    w = emitWeight(m, 'conv', lw, name, ctx);
  } else if (fold) {
    const weight = floats(m.weight);
    const per = weight.length / m.outChannels;
    const folded = Float32Array.from(weight, (v, i) => v * fold.f[Math.floor(i / per)]);
    w = { value: b.floatInit(`${name}.weight`, m.weight.shape, folded), storage: 'float32', weightBytes: folded.byteLength };
  } else {
    w = emitWeight(m, 'conv', lw, name, ctx);
  }
  const inputs = [x, w.value];
  if (fold) inputs.push(b.floatInit(`${name}.bias`, [m.outChannels], Float32Array.from(fold.shift)));
  else if (m.bias) inputs.push(b.floatInit(`${name}.bias`, [m.outChannels], floats(m.bias)));
  const [ph, pw] = m.padding;
  const out = b.add('Conv', inputs, name, [
    attribute('kernel_shape', m.kernelSize),
    attribute('strides', m.stride),
    attribute('pads', [ph, pw, ph, pw]),
    attribute('dilations', m.dilation),
    attribute('group', m.groups),
  ]);
  record(ctx, name, 'conv', w, lw, inputType, w.storage === 'float32' ? 'float' : 'qdq');
  return bn && !fold ? emitBatchNorm(bn, out, ctx) : out;
}

/** conv then bn, folded where possible: the pattern of every conv layer in the model zoo. */
export function emitConvBn(conv: Conv2d, bn: BatchNorm2d, input: string, ctx: EmitContext): string {
  return emitConv(conv, input, ctx, bn);
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

export const LAYER_EMITTERS: [abstract new (...args: never[]) => unknown, Emitter][] = [
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
  [
    Sequential,
    (m: Sequential, x, ctx) => {
      const children = m.children();
      let y = x;
      for (let i = 0; i < children.length; i++) {
        const [child, next] = [children[i], children[i + 1]];
        if ((child.constructor === Conv2d || child.constructor === QuantConv2d) && next?.constructor === BatchNorm2d) {
          y = emitConvBn(child as Conv2d, next as BatchNorm2d, y, ctx);
          i++;
        } else y = ctx.emit(child, y);
      }
      return y;
    },
  ],
  [QuantAct, (m: QuantAct, x, ctx) => emitActQuant(m.quantizer, x, ctx.nameOf(m) || 'act_quant', ctx)[0]],
];

/**
 * A quantized ResNet as plain numbers (packed weight codes, per-channel factors, activation grids),
 * and the one compiler from it to an IntPlan. Two front ends fill it in: compile-resnet.ts from a
 * fake-quant lowbit model (a QAT checkpoint) and onnx-resnet.ts from lowbit's exported QDQ ONNX, so
 * both run through the same plan code. Each conv becomes one fused step:
 *
 *   acc[p, o] = sum_k x[p, k] w[o, k]                      u8 codes x s8 codes, int32 (exact)
 *   v = acc * (s_x s_w[o] f[o]) + shift[o]                 scales and BatchNorm, f = gamma / sqrt(var + eps)
 *   v = relu(v + residual)                                 where the block adds and rectifies
 *   next codes = round(clip(clip(v, 0, alpha) / s, 0, n))  PACT (eq. 1-2) of every layer that reads v
 *
 * so activations move between layers as codes. The block sum itself is kept in float32 (the
 * residual stream), because the fake-quant model adds the *unquantized* block input on the identity
 * shortcut (see src/quant/quantize-model.ts): quantizing it would change the network's numbers.
 *
 * The first conv reads the raw 8-bit pixels p: the data loader's x = (p / 255 - mean) / std is affine,
 * so conv(x) = conv(p) / (255 std) - (mean / std) * (sum of the weights over the taps inside the
 * image), the second term a per-pixel, per-channel constant (posBias; it differs at the border
 * because padding is zero in x, not in p).
 */
import { LowbitError } from '../errors.ts';
import { IntPlan, type CodesTarget } from './int-plan.ts';
import type { RuntimeIsa } from './native.ts';
import type { PackedWeight } from './weight-pack.ts';

export interface CompileOptions {
  /** Per-channel mean and std of x / 255 that the model was trained with (the data set's). */
  mean: readonly number[];
  std: readonly number[];
  /** Input height and width. */
  inputSize: [number, number];
  /** Force an instruction set (tests); default: the best available, or LOWBIT_RUNTIME_ISA. */
  isa?: RuntimeIsa;
}

/** An activation quantizer (PACT, or any unsigned grid from 0): clip at alpha, step scale, codes 0..levels. */
export interface ActParams {
  alpha: number;
  scale: number;
  levels: number;
}

/** A layer's weight as packed codes plus the per-output-channel scale s_w. */
export interface LayerWeight {
  packed: PackedWeight;
  scale: Float64Array;
  /** Odd codes beyond int8 (8-bit SAWB: +-255) run as m = (c - 1) / 2 plus a ones channel. */
  oddOnes: boolean;
}

export interface ConvSpec {
  /** The layer's module name ('layers.3.shortcut.0'): the plan step's name. */
  where: string;
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: number;
  pad: number;
  weight: LayerWeight;
  /** Per output channel, y = (s_x s_w acc) f + shift: the BatchNorm after the conv and the conv's bias. */
  f: Float64Array;
  shift: Float64Array;
  /** The quantizer of the layer's input; null for the stem, which reads the raw pixels. */
  act: ActParams | null;
}

export interface BlockSpec {
  conv1: ConvSpec;
  conv2: ConvSpec;
  /** The 1x1 conv (+ BatchNorm) of a projection shortcut; null for the identity. */
  shortcut: ConvSpec | null;
}

/** stem conv-BN-ReLU, BasicBlocks, global average pool, classifier (a 1x1 conv on the pooled codes). */
export interface ResNetSpec {
  stem: ConvSpec;
  blocks: BlockSpec[];
  fc: ConvSpec;
}

function outSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

function actOf(c: ConvSpec): ActParams {
  if (c.act === null) throw new LowbitError(`${c.where}: the layer's input is not quantized; the integer runtime needs activation codes`);
  return c.act;
}

/** Who reads a tensor: the codes each quantized reader needs, and whether the float itself is used. */
interface Readers {
  codes: { name: string; act: ActParams; border: number }[];
  float: boolean;
}

/**
 * The plan of a ResNet spec, with named buffers at the quantization points ('layers.0.conv1.in',
 * 'fc.in', ...) and 'logits'.
 */
export function compileResNetSpec(spec: ResNetSpec, opts: CompileOptions): IntPlan {
  const plan = new IntPlan(opts.isa);
  const [inH, inW] = opts.inputSize;
  const { stem, blocks, fc } = spec;
  const C = stem.inChannels;
  if (opts.mean.length !== C || opts.std.length !== C) throw new LowbitError(`compileResNet: mean and std need ${C} values (one per input channel)`);
  if (opts.std.some((s) => s !== opts.std[0])) throw new LowbitError("compileResNet: the integer runtime needs one std for all input channels (it folds 1 / (255 std) into the first layer's scale)");

  const input = plan.addBuffer({ kind: 'codes', h: inH, w: inW, c: C, border: stem.pad }, 'input');
  plan.inputBuffer = input;

  // The readers of block i's input (the stem's output when i = 0).
  const readersOf = (i: number): Readers => {
    if (i === blocks.length) return { codes: [], float: true }; // the pool
    const b = blocks[i];
    const codes = [{ name: `layers.${i}.conv1.in`, act: actOf(b.conv1), border: b.conv1.pad }];
    if (b.shortcut) codes.push({ name: `layers.${i}.shortcut.in`, act: actOf(b.shortcut), border: b.shortcut.pad });
    return { codes, float: b.shortcut === null };
  };

  // Output buffers for a tensor of shape h x w x c read by `readers`.
  const outputsFor = (prefix: string, h: number, w: number, c: number, readers: Readers) => {
    const codes: CodesTarget[] = readers.codes.map((r) => ({
      buffer: plan.addBuffer({ kind: 'codes', h, w, c, border: r.border }, r.name),
      ...r.act,
    }));
    const outFloat = readers.float ? plan.addBuffer({ kind: 'float', h, w, c }, `${prefix}.out`) : undefined;
    return { codes, outFloat };
  };

  // Stem: raw pixels in, BN + ReLU, codes for the first block.
  const [kh, kw] = stem.kernel;
  let h = outSize(inH, kh, stem.stride, stem.pad);
  let w = outSize(inW, kw, stem.stride, stem.pad);
  const OC = stem.outChannels;
  const std = opts.std[0];
  const sw = stem.weight.scale;
  const stemMul = Float32Array.from({ length: OC }, (_, o) => (sw[o] * stem.f[o]) / (255 * std));
  const stemAdd = Float32Array.from(stem.shift);
  // posBias[p, o] = -s_w f sum_c (mean_c / std) sum_{taps inside the image} c_w[o, c, tap]
  const inputNorm = {
    factor: Float32Array.from({ length: OC }, (_, o) => -sw[o] * stem.f[o]),
    meanOverStd: opts.mean.map((m) => m / std),
  };
  let readers = readersOf(0);
  let out = outputsFor('stem', h, w, OC, readers);
  plan.addConv(
    {
      input,
      outChannels: OC,
      kernel: stem.kernel,
      stride: stem.stride,
      pad: stem.pad,
      weight: stem.weight.packed,
      oddOnes: stem.weight.oddOnes,
      inMax: 255,
      mul: stemMul,
      add: stemAdd,
      inputNorm,
      relu: true,
      outFloat: out.outFloat,
      codes: out.codes,
    },
    stem.where,
  );
  let floatIn = out.outFloat;
  let channels = OC;

  const convStep = (conv: ConvSpec, input: number, epi: { relu: boolean; residual?: number; outFloat?: number; codes?: CodesTarget[] }) => {
    const act = actOf(conv);
    const mul = Float32Array.from({ length: conv.outChannels }, (_, o) => act.scale * conv.weight.scale[o] * conv.f[o]);
    plan.addConv(
      {
        input,
        outChannels: conv.outChannels,
        kernel: conv.kernel,
        stride: conv.stride,
        pad: conv.pad,
        weight: conv.weight.packed,
        oddOnes: conv.weight.oddOnes,
        inMax: act.levels,
        mul,
        add: Float32Array.from(conv.shift),
        relu: epi.relu,
        residual: epi.residual,
        outFloat: epi.outFloat,
        codes: epi.codes,
      },
      conv.where,
    );
  };

  blocks.forEach((b, i) => {
    const p = `layers.${i}`;
    let residual = floatIn;
    if (b.shortcut) {
      const sc = b.shortcut;
      residual = plan.addBuffer({ kind: 'float', h: outSize(h, sc.kernel[0], sc.stride, sc.pad), w: outSize(w, sc.kernel[1], sc.stride, sc.pad), c: sc.outChannels }, `${p}.shortcut.out`);
      convStep(sc, plan.names.get(`${p}.shortcut.in`)!, { relu: false, outFloat: residual });
    }
    const { conv1: c1, conv2: c2 } = b;
    const h1 = outSize(h, c1.kernel[0], c1.stride, c1.pad);
    const w1 = outSize(w, c1.kernel[1], c1.stride, c1.pad);
    const mid = plan.addBuffer({ kind: 'codes', h: h1, w: w1, c: c1.outChannels, border: c2.pad }, `${p}.conv2.in`);
    convStep(c1, plan.names.get(`${p}.conv1.in`)!, { relu: true, codes: [{ buffer: mid, ...actOf(c2) }] });
    h = outSize(h1, c2.kernel[0], c2.stride, c2.pad);
    w = outSize(w1, c2.kernel[1], c2.stride, c2.pad);
    channels = c2.outChannels;
    readers = readersOf(i + 1);
    out = outputsFor(p, h, w, channels, readers);
    if (residual === undefined) throw new LowbitError(`${p}: identity shortcut without a float input`);
    convStep(c2, mid, { relu: true, residual, outFloat: out.outFloat, codes: out.codes });
    floatIn = out.outFloat;
  });

  // Global average pool, the classifier's 8-bit input codes, and the classifier as a 1x1 conv.
  if (fc.inChannels !== channels) throw new LowbitError(`${fc.where}: takes ${fc.inChannels} features but the last block gives ${channels}`);
  const fcIn = plan.addBuffer({ kind: 'codes', h: 1, w: 1, c: channels, border: 0 }, 'fc.in');
  plan.addPoolQuant({ input: floatIn!, output: fcIn, ...actOf(fc) }, 'pool');
  const logits = plan.addBuffer({ kind: 'float', h: 1, w: 1, c: fc.outChannels }, 'logits');
  convStep(fc, fcIn, { relu: false, outFloat: logits });
  plan.outputBuffer = logits;
  return plan;
}

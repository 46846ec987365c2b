/**
 * A fake-quant ResNet (a QAT checkpoint: SAWB/uniform/LSQ weights, PACT activations) as an integer
 * plan. Each conv becomes one fused step:
 *
 *   acc[p, o] = sum_k x[p, k] w[o, k]                      u8 codes x s8 codes, int32 (exact)
 *   v = acc * (s_x s_w[o] f[o]) + (beta[o] - mu[o] f[o])   scales and BatchNorm, f = gamma / sqrt(var + eps)
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
import { BatchNorm2d, Sequential, type Module } from '../nn/index.ts';
import { BasicBlock, ResNet } from '../models/index.ts';
import { PactQuantizer, QuantConv2d, QuantLinear, type Quantizer } from '../quant/index.ts';
import { noGrad, scope } from '../tensor/index.ts';
import { IntPlan, type CodesTarget } from './int-plan.ts';
import type { RuntimeIsa } from './native.ts';
import { packWeightCodes, type PackedWeight } from './weight-pack.ts';

export interface CompileOptions {
  /** Per-channel mean and std of x / 255 that the model was trained with (the data set's). */
  mean: readonly number[];
  std: readonly number[];
  /** Input height and width. */
  inputSize: [number, number];
  /** Force an instruction set (tests); default: the best available, or LOWBIT_RUNTIME_ISA. */
  isa?: RuntimeIsa;
}

/** A layer's weight as packed codes plus the per-output-channel scale. */
interface LayerWeight {
  packed: PackedWeight;
  codes: Int32Array;
  scale: Float64Array;
  oddOnes: boolean;
  bits: number;
}

interface ActParams {
  alpha: number;
  scale: number;
  levels: number;
}

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
      return { packed, codes, scale, oddOnes, bits: q.bits };
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

function outSize(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/** Who reads a tensor: the codes each quantized reader needs, and whether the float itself is used. */
interface Readers {
  codes: { name: string; act: ActParams; border: number }[];
  float: boolean;
}

/**
 * Compiles an eval-mode fake-quant ResNet (BasicBlocks, 1x1 conv shortcuts) into an IntPlan whose
 * named buffers are the quantization points ('layers.0.conv1.in', 'fc.in', ...) and 'logits'.
 */
export function compileResNet(model: Module, opts: CompileOptions): IntPlan {
  if (!(model instanceof ResNet)) throw new LowbitError(`compileResNet: the integer runtime runs lowbit's ResNet models; got ${model.constructor.name}`);
  const plan = new IntPlan(opts.isa);
  const [inH, inW] = opts.inputSize;
  const stem = model.stem;
  if (!(stem instanceof Sequential) || stem.length !== 3 || !(stem.at(1) instanceof BatchNorm2d)) throw new LowbitError('compileResNet: expected the stem conv-BN-ReLU');
  const stemConv = checkConv(stem.at(0), 'stem.0');
  if (stemConv.inputQuantizer !== null) throw new LowbitError('stem.0: a quantized network input is not supported by the integer runtime (it reads the raw 8-bit pixels)');
  const C = stemConv.inChannels;
  if (opts.mean.length !== C || opts.std.length !== C) throw new LowbitError(`compileResNet: mean and std need ${C} values (one per input channel)`);
  if (opts.std.some((s) => s !== opts.std[0])) throw new LowbitError('compileResNet: the integer runtime needs one std for all input channels (it folds 1 / (255 std) into the first layer\'s scale)');
  const blocks = model.layers.children();
  blocks.forEach((b, i) => {
    if (!(b instanceof BasicBlock)) throw new LowbitError(`layers.${i}: expected a BasicBlock, got ${b.constructor.name}`);
  });
  const fc = model.fc;
  if (!(fc instanceof QuantLinear)) throw new LowbitError('fc: expected a quantized classifier (QuantLinear); the integer runtime needs the last layer quantized');

  const input = plan.addBuffer({ kind: 'codes', h: inH, w: inW, c: C, border: stemConv.padding[0] }, 'input');
  plan.inputBuffer = input;

  // The readers of block i's input (the stem's output when i = 0).
  const readersOf = (i: number): Readers => {
    if (i === blocks.length) return { codes: [], float: true }; // the pool
    const b = blocks[i] as BasicBlock;
    const codes = [{ name: `layers.${i}.conv1.in`, act: actOf(checkConv(b.conv1, `layers.${i}.conv1`).inputQuantizer, `layers.${i}.conv1`), border: b.conv1.padding[0] }];
    if (b.shortcut) {
      const sc = checkConv(b.shortcut.at(0), `layers.${i}.shortcut.0`);
      codes.push({ name: `layers.${i}.shortcut.in`, act: actOf(sc.inputQuantizer, `layers.${i}.shortcut.0`), border: sc.padding[0] });
    }
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
  const stemW = weightOf(stemConv, stemConv.outChannels, 'stem.0');
  const stemBn = bnOf(stem.at(1) as BatchNorm2d);
  const [kh, kw] = stemConv.kernelSize;
  const sPad = stemConv.padding[0];
  const sStride = stemConv.stride[0];
  let h = outSize(inH, kh, sStride, sPad);
  let w = outSize(inW, kw, sStride, sPad);
  const OC = stemConv.outChannels;
  const std = opts.std[0];
  const stemMul = new Float32Array(OC);
  const stemAdd = new Float32Array(OC);
  for (let o = 0; o < OC; o++) {
    stemMul[o] = (stemW.scale[o] * stemBn.f[o]) / (255 * std);
    stemAdd[o] = stemBn.shift[o];
  }
  // posBias[p, o] = -s_w f sum_c (mean_c / std) sum_{taps inside the image} c_w[o, c, tap]
  const inputNorm = {
    factor: Float32Array.from({ length: OC }, (_, o) => -stemW.scale[o] * stemBn.f[o]),
    meanOverStd: opts.mean.map((m) => m / std),
  };
  let readers = readersOf(0);
  let out = outputsFor('stem', h, w, OC, readers);
  plan.addConv(
    {
      input,
      outChannels: OC,
      kernel: [kh, kw],
      stride: sStride,
      pad: sPad,
      weight: stemW.packed,
      oddOnes: stemW.oddOnes,
      inMax: 255,
      mul: stemMul,
      add: stemAdd,
      inputNorm,
      relu: true,
      outFloat: out.outFloat,
      codes: out.codes,
    },
    'stem.0',
  );
  let floatIn = out.outFloat;
  let channels = OC;

  const convStep = (conv: QuantConv2d, bn: BatchNorm2d, inName: string, inAct: ActParams, where: string, epi: { relu: boolean; residual?: number; outFloat?: number; codes?: CodesTarget[] }) => {
    const lw = weightOf(conv, conv.outChannels, where);
    const norm = bnOf(bn);
    const mul = new Float32Array(conv.outChannels);
    const add = new Float32Array(conv.outChannels);
    for (let o = 0; o < conv.outChannels; o++) {
      mul[o] = inAct.scale * lw.scale[o] * norm.f[o];
      add[o] = norm.shift[o];
    }
    plan.addConv(
      {
        input: plan.names.get(inName)!,
        outChannels: conv.outChannels,
        kernel: conv.kernelSize,
        stride: conv.stride[0],
        pad: conv.padding[0],
        weight: lw.packed,
        oddOnes: lw.oddOnes,
        inMax: inAct.levels,
        mul,
        add,
        relu: epi.relu,
        residual: epi.residual,
        outFloat: epi.outFloat,
        codes: epi.codes,
      },
      where,
    );
  };

  blocks.forEach((m, i) => {
    const b = m as BasicBlock;
    const p = `layers.${i}`;
    const acts = readers.codes;
    let residual = floatIn;
    if (b.shortcut) {
      const sc = b.shortcut.at(0) as QuantConv2d;
      const sh = outSize(h, sc.kernelSize[0], sc.stride[0], sc.padding[0]);
      const sw = outSize(w, sc.kernelSize[1], sc.stride[1], sc.padding[1]);
      residual = plan.addBuffer({ kind: 'float', h: sh, w: sw, c: sc.outChannels }, `${p}.shortcut.out`);
      convStep(sc, b.shortcut.at(1) as BatchNorm2d, `${p}.shortcut.in`, acts[1].act, `${p}.shortcut.0`, { relu: false, outFloat: residual });
    }
    const c1 = b.conv1;
    const h1 = outSize(h, c1.kernelSize[0], c1.stride[0], c1.padding[0]);
    const w1 = outSize(w, c1.kernelSize[1], c1.stride[1], c1.padding[1]);
    const c2 = checkConv(b.conv2, `${p}.conv2`);
    const act2 = actOf(c2.inputQuantizer, `${p}.conv2`);
    const mid = plan.addBuffer({ kind: 'codes', h: h1, w: w1, c: c1.outChannels, border: c2.padding[0] }, `${p}.conv2.in`);
    convStep(checkConv(c1, `${p}.conv1`), b.bn1, `${p}.conv1.in`, acts[0].act, `${p}.conv1`, { relu: true, codes: [{ buffer: mid, ...act2 }] });
    h = outSize(h1, c2.kernelSize[0], c2.stride[0], c2.padding[0]);
    w = outSize(w1, c2.kernelSize[1], c2.stride[1], c2.padding[1]);
    channels = c2.outChannels;
    readers = readersOf(i + 1);
    out = outputsFor(p, h, w, channels, readers);
    if (residual === undefined) throw new LowbitError(`${p}: identity shortcut without a float input`);
    convStep(c2, b.bn2, `${p}.conv2.in`, act2, `${p}.conv2`, { relu: true, residual, outFloat: out.outFloat, codes: out.codes });
    floatIn = out.outFloat;
  });

  // Global average pool, the classifier's 8-bit input codes, and the classifier as a 1x1 conv.
  const fcAct = actOf(fc.inputQuantizer, 'fc');
  const fcIn = plan.addBuffer({ kind: 'codes', h: 1, w: 1, c: channels, border: 0 }, 'fc.in');
  plan.addPoolQuant({ input: floatIn!, output: fcIn, ...fcAct }, 'pool');
  const classes = fc.outFeatures;
  const fw = weightOf(fc, classes, 'fc');
  const bias = fc.bias ? scope(() => fc.bias!.toFloat32Array()) : new Float32Array(classes);
  const mul = new Float32Array(classes);
  const add = new Float32Array(classes);
  for (let o = 0; o < classes; o++) {
    mul[o] = fcAct.scale * fw.scale[o];
    add[o] = bias[o];
  }
  const logits = plan.addBuffer({ kind: 'float', h: 1, w: 1, c: classes }, 'logits');
  plan.addConv(
    { input: fcIn, outChannels: classes, kernel: [1, 1], stride: 1, pad: 0, weight: fw.packed, oddOnes: fw.oddOnes, inMax: fcAct.levels, mul, add, relu: false, outFloat: logits },
    'fc',
  );
  plan.outputBuffer = logits;
  return plan;
}

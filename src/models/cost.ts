/**
 * The cost of a layer from its widths: multiply-accumulates per input sample and trainable parameters.
 * Pure arithmetic on numbers (no tensors, no model), so complexity() measures a built model with it and
 * a channel search can price widths it has not built.
 *
 * A conv with C_in input and C_out output channels, a kh x kw kernel, g groups and an oh x ow output:
 *   MACs   = oh ow C_out (C_in / g) kh kw        (bias adds not counted, as in the literature's "FLOPs")
 *   params = C_out (C_in / g) kh kw  [+ C_out with a bias]
 * Both are bilinear in (C_in, C_out) once kernel, groups and output size are fixed:
 *   MACs = a C_in C_out,  params = b C_in C_out + c C_out,
 * with a = oh ow kh kw / g, b = kh kw / g, c = 1 with a bias (else 0): convCostCoefficients. A search
 * whose widths are random can then write its expected cost with tensors, a * E[C_in] * E[C_out] (the
 * widths of two layers drawn independently), which is differentiable in the width distributions.
 * A Linear layer is the 1x1 case on a 1x1 output. BatchNorm has 2 parameters (gamma, beta) per channel
 * and, folded into the conv before it at deployment, no MACs.
 */
import { LowbitError } from '../errors.ts';

export interface Cost {
  /** Multiply-accumulates for one input sample. */
  macs: number;
  /** Trainable scalars. */
  params: number;
}

export interface ConvCostShape {
  inChannels: number;
  outChannels: number;
  kernelSize: [number, number];
  /** Default 1. */
  groups?: number;
  /** Output height and width. */
  outputSize: [number, number];
  /** Default false. */
  bias?: boolean;
}

export interface LinearCostShape {
  inFeatures: number;
  outFeatures: number;
  /** Default true, as Linear's. */
  bias?: boolean;
}

/** Per-unit costs of a conv whose channel counts vary: macs = macsPerChannelPair C_in C_out, params = paramsPerChannelPair C_in C_out + paramsPerOutChannel C_out. */
export interface CostCoefficients {
  macsPerChannelPair: number;
  paramsPerChannelPair: number;
  paramsPerOutChannel: number;
}

/** gamma and beta of an affine BatchNorm. */
export const BATCH_NORM_PARAMS_PER_CHANNEL = 2;

function positiveInteger(v: number, what: string): void {
  if (!(Number.isInteger(v) && v > 0)) throw new LowbitError(`${what} must be a positive integer, got ${v}`);
}

/** The width-independent part of a conv's cost (see the file comment). */
export function convCostCoefficients(shape: Omit<ConvCostShape, 'inChannels' | 'outChannels'>): CostCoefficients {
  const [kh, kw] = shape.kernelSize;
  const [oh, ow] = shape.outputSize;
  const groups = shape.groups ?? 1;
  for (const [v, what] of [
    [kh, 'convCost: kernelSize[0]'],
    [kw, 'convCost: kernelSize[1]'],
    [oh, 'convCost: outputSize[0]'],
    [ow, 'convCost: outputSize[1]'],
    [groups, 'convCost: groups'],
  ] as const) {
    positiveInteger(v, what);
  }
  return {
    macsPerChannelPair: (oh * ow * kh * kw) / groups,
    paramsPerChannelPair: (kh * kw) / groups,
    paramsPerOutChannel: shape.bias ? 1 : 0,
  };
}

/** MACs and parameters of one conv. */
export function convCost(shape: ConvCostShape): Cost {
  const { inChannels, outChannels } = shape;
  const groups = shape.groups ?? 1;
  positiveInteger(inChannels, 'convCost: inChannels');
  positiveInteger(outChannels, 'convCost: outChannels');
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new LowbitError(`convCost: ${inChannels} -> ${outChannels} channels are not divisible by groups = ${groups}`);
  }
  const k = convCostCoefficients(shape);
  // Written per output channel and group-input channel so every product is an exact integer.
  const [kh, kw] = shape.kernelSize;
  const [oh, ow] = shape.outputSize;
  const weights = outChannels * (inChannels / groups) * kh * kw;
  return { macs: oh * ow * weights, params: weights + k.paramsPerOutChannel * outChannels };
}

/** The width-independent part of a Linear layer's cost: one MAC and one weight per feature pair. */
export function linearCostCoefficients(shape: { bias?: boolean } = {}): CostCoefficients {
  return { macsPerChannelPair: 1, paramsPerChannelPair: 1, paramsPerOutChannel: (shape.bias ?? true) ? 1 : 0 };
}

/** MACs and parameters of one Linear layer. */
export function linearCost(shape: LinearCostShape): Cost {
  positiveInteger(shape.inFeatures, 'linearCost: inFeatures');
  positiveInteger(shape.outFeatures, 'linearCost: outFeatures');
  const weights = shape.inFeatures * shape.outFeatures;
  return { macs: weights, params: weights + linearCostCoefficients(shape).paramsPerOutChannel * shape.outFeatures };
}

/** An affine BatchNorm's parameters (no MACs: it folds into the conv before it). */
export function batchNormCost(shape: { channels: number; affine?: boolean }): Cost {
  positiveInteger(shape.channels, 'batchNormCost: channels');
  return { macs: 0, params: (shape.affine ?? true) ? BATCH_NORM_PARAMS_PER_CHANNEL * shape.channels : 0 };
}

/**
 * Cost coefficients of one conv (or linear) layer as a function of its channel widths, so that
 *
 *   MACs   = macsPerChannelPair   * C_in * C_out
 *   params = paramsPerChannelPair * C_in * C_out + paramsPerOutChannel * C_out
 *
 * Both are bilinear in (C_in, C_out); with independent width distributions per layer (TAS's
 * assumption, Dong & Yang 2019 sec. 3.2) the expected cost is the same formula on E[C_in] and E[C_out],
 * which is what makes the search's FLOPs/params loss differentiable in the architecture logits.
 *
 * This file is the channel search's view of the shared cost function (src/models/cost.ts of the
 * restructure): same name, same formulas, so it can be replaced by a re-export at merge.
 */
export interface ConvCostCoefficients {
  macsPerChannelPair: number;
  paramsPerChannelPair: number;
  paramsPerOutChannel: number;
}

export interface ConvCostShape {
  /** Kernel height and width (1 x 1 for a linear layer). */
  kernelSize: [number, number];
  /** Output height and width (1 x 1 for a linear layer). */
  outputSize: [number, number];
  groups?: number;
  /** The layer has a bias (one parameter per output channel). */
  bias?: boolean;
  /** An affine BatchNorm follows (weight and bias: two parameters per output channel). */
  batchNorm?: boolean;
}

export function convCostCoefficients(shape: ConvCostShape): ConvCostCoefficients {
  const [kh, kw] = shape.kernelSize;
  const [oh, ow] = shape.outputSize;
  const groups = shape.groups ?? 1;
  return {
    macsPerChannelPair: (kh * kw * oh * ow) / groups,
    paramsPerChannelPair: (kh * kw) / groups,
    paramsPerOutChannel: (shape.bias ? 1 : 0) + (shape.batchNorm ? 2 : 0),
  };
}

/** Cost of one layer at given (possibly expected, non-integer) widths. */
export function layerCost(c: ConvCostCoefficients, cIn: number, cOut: number): { macs: number; params: number } {
  return { macs: c.macsPerChannelPair * cIn * cOut, params: c.paramsPerChannelPair * cIn * cOut + c.paramsPerOutChannel * cOut };
}

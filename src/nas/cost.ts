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
 * The formulas are the shared cost function's (src/models/cost.ts); this file adds the search's view:
 * a conv's cost with its BatchNorm, and the cost at expected (non-integer) widths.
 */
import { BATCH_NORM_PARAMS_PER_CHANNEL, convCostCoefficients as layerCoefficients, type CostCoefficients } from '../models/index.ts';

export type ConvCostCoefficients = CostCoefficients;

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

/** The shared cost function's coefficients (src/models/cost.ts), with the following BatchNorm's parameters folded in. */
export function convCostCoefficients(shape: ConvCostShape): ConvCostCoefficients {
  const c = layerCoefficients({ kernelSize: shape.kernelSize, outputSize: shape.outputSize, groups: shape.groups, bias: shape.bias });
  return { ...c, paramsPerOutChannel: c.paramsPerOutChannel + (shape.batchNorm ? BATCH_NORM_PARAMS_PER_CHANNEL : 0) };
}

/** Cost of one layer at given (possibly expected, non-integer) widths. */
export function layerCost(c: ConvCostCoefficients, cIn: number, cOut: number): { macs: number; params: number } {
  return { macs: c.macsPerChannelPair * cIn * cOut, params: c.paramsPerChannelPair * cIn * cOut + c.paramsPerOutChannel * cOut };
}

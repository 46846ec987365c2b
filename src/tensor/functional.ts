/** Neural-network functions, like torch.nn.functional. */
import { LowbitError } from '../errors.ts';
import { native } from './native.ts';
import { Tensor } from './tensor.ts';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-D convolution; input NCHW (any memory format), weight OIHW/groups. */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.conv2d(
      input.handle,
      weight.handle,
      bias?.handle,
      pair(opts.stride ?? 1),
      pair(opts.padding ?? 0),
      pair(opts.dilation ?? 1),
      opts.groups ?? 1,
    ),
  );
}

/** y = x W^T + b */
export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return new Tensor(native.linear(input.handle, weight.handle, bias?.handle));
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions & { dilation?: Pair } = {}): Tensor {
  const k = pair(kernelSize);
  return new Tensor(
    native.maxPool2d(input.handle, k, pair(opts.stride ?? k), pair(opts.padding ?? 0), pair(opts.dilation ?? 1), opts.ceilMode ?? false),
  );
}

export function avgPool2d(input: Tensor, kernelSize: Pair, opts: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  const k = pair(kernelSize);
  return new Tensor(
    native.avgPool2d(input.handle, k, pair(opts.stride ?? k), pair(opts.padding ?? 0), opts.ceilMode ?? false, opts.countIncludePad ?? true),
  );
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  return new Tensor(native.adaptiveAvgPool2d(input.handle, pair(outputSize)));
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Batch statistics (and running-stat updates) when true; running stats when false. */
  training: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch norm; in training mode the running stats are updated in place, as in PyTorch. */
export function batchNorm(input: Tensor, opts: BatchNormOptions): Tensor {
  return new Tensor(
    native.batchNorm(
      input.handle,
      opts.weight?.handle,
      opts.bias?.handle,
      opts.runningMean?.handle,
      opts.runningVar?.handle,
      opts.training,
      opts.momentum ?? 0.1,
      opts.eps ?? 1e-5,
    ),
  );
}

/**
 * Squared uniform-quantization error of every candidate clip range, one pass over the data (native
 * clip-search.cc): rows R x N (float32/64), rowMax [R]; for k = 1..grid, r_k = max(rowMax * k / grid,
 * minRange), s = r_k / qMax, err[row, k - 1] = sum (round(clamp(x / s, qMin, qMax)) * s - x)^2.
 * Returns R x grid, float64.
 */
export function clipGridErrors(rows: Tensor, rowMax: Tensor, grid: number, qMin: number, qMax: number, minRange: number): Tensor {
  return new Tensor(native.clipGridErrors(rows.handle, rowMax.handle, grid, qMin, qMax, minRange));
}

/**
 * PACT fake-quantization in one native pass with its own backward (native/src/fused-quant.cc):
 * round(clamp(clip(x, 0, alpha) / s, 0, levels)) * s with s = alpha / levels; gradient 1 to x on
 * [0, alpha), and to alpha the sum of the output gradient where x >= alpha. float32 x, one-element alpha.
 */
export function pactFakeQuant(x: Tensor, alpha: Tensor, levels: number): Tensor {
  return new Tensor(native.pactFakeQuant(x.handle, alpha.handle, levels));
}
/**
 * SAWB weight fake-quantization per tensor in one native pass with its own backward
 * (native/src/fused-quant.cc): alpha = c1 sqrt(E[w^2]) + c2 E[|w|], s = alpha / levels, codes
 * 2 round((clamp(w / s, -levels, levels) + levels) / 2) - levels times s; gradient 1 where |w| <= alpha.
 * float32 w; levels = 2^b - 1. Throws when alpha is not positive.
 */
export function sawbFakeQuant(w: Tensor, c1: number, c2: number, levels: number): Tensor {
  return new Tensor(native.sawbFakeQuant(w.handle, c1, c2, levels));
}
export function relu(x: Tensor): Tensor {
  return x.relu();
}
export function relu6(x: Tensor): Tensor {
  return hardtanh(x, 0, 6);
}
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  return new Tensor(native.hardtanh(x.handle, minVal, maxVal));
}
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return new Tensor(native.leakyRelu(x.handle, negativeSlope));
}
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return new Tensor(native.logSoftmax(x.handle, dim));
}
export function softmax(x: Tensor, dim = -1): Tensor {
  return new Tensor(native.softmax(x.handle, dim));
}

export type Reduction = 'none' | 'mean' | 'sum' | 'batchmean';
const REDUCTION = { none: 0, mean: 1, sum: 2 } as const;
function reductionCode(r: Reduction, fn: string): number {
  if (r === 'batchmean') throw new LowbitError(`${fn}: reduction 'batchmean' only applies to klDiv`);
  return REDUCTION[r];
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross entropy from logits (N, C) and class indices (N) or class probabilities (N, C). */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const ls = opts.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls <= 1)) throw new LowbitError(`crossEntropy: labelSmoothing must be in [0, 1], got ${ls}`);
  return new Tensor(
    native.crossEntropy(logits.handle, target.handle, opts.weight?.handle, reductionCode(opts.reduction ?? 'mean', 'crossEntropy'), opts.ignoreIndex ?? -100, ls),
  );
}

export function nllLoss(logProbs: Tensor, target: Tensor, opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return new Tensor(
    native.nllLoss(logProbs.handle, target.handle, opts.weight?.handle, reductionCode(opts.reduction ?? 'mean', 'nllLoss'), opts.ignoreIndex ?? -100),
  );
}

/**
 * KL(target || input) with input given as log-probabilities, as torch.nn.functional.kl_div.
 * 'batchmean' divides the sum by the batch size (the mathematically correct KL per sample).
 */
export function klDiv(input: Tensor, target: Tensor, opts: { reduction?: Reduction; logTarget?: boolean } = {}): Tensor {
  const r = opts.reduction ?? 'mean';
  if (r === 'batchmean') {
    const summed = new Tensor(native.klDiv(input.handle, target.handle, REDUCTION.sum, opts.logTarget ?? false));
    const out = summed.div(input.shape[0]);
    summed.dispose();
    return out;
  }
  return new Tensor(native.klDiv(input.handle, target.handle, REDUCTION[r], opts.logTarget ?? false));
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Exclude<Reduction, 'batchmean'> = 'mean'): Tensor {
  return new Tensor(native.mseLoss(input.handle, target.handle, REDUCTION[reduction]));
}

/** Inverted dropout: zeroes with probability p and scales by 1/(1-p) in training, identity otherwise. */
export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  if (!(p >= 0 && p <= 1)) throw new LowbitError(`dropout: p must be in [0, 1], got ${p}`);
  return new Tensor(native.dropout(x.handle, p, training));
}

export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return new Tensor(native.oneHot(indices.handle, numClasses));
}

/**
 * Pads the last dims: pads = [left, right, top, bottom, ...] as torch.nn.functional.pad.
 * mode 'reflect' and 'replicate' apply to 4-D inputs with 4 pad values.
 */
export function pad(x: Tensor, pads: number[], mode: 'constant' | 'reflect' | 'replicate' = 'constant', value = 0): Tensor {
  if (mode === 'constant') return new Tensor(native.constantPad(x.handle, pads, value));
  if (x.ndim !== 4 || pads.length !== 4) throw new LowbitError(`pad: mode '${mode}' needs a 4-D input and 4 pad values`);
  return new Tensor(mode === 'reflect' ? native.reflectionPad2d(x.handle, pads) : native.replicationPad2d(x.handle, pads));
}

/**
 * im2col, torch.nn.functional.unfold: (N, C, H, W) -> (N, C*kh*kw, L) where L counts the sliding
 * positions; column l holds the patch that output position l of a conv with these settings sees.
 */
export function unfold(x: Tensor, kernelSize: Pair, opts: { dilation?: Pair; padding?: Pair; stride?: Pair } = {}): Tensor {
  return new Tensor(native.im2col(x.handle, pair(kernelSize), pair(opts.dilation ?? 1), pair(opts.padding ?? 0), pair(opts.stride ?? 1)));
}

/** col2im, torch.nn.functional.fold: the adjoint of unfold (overlaps are summed). */
export function fold(cols: Tensor, outputSize: Pair, kernelSize: Pair, opts: { dilation?: Pair; padding?: Pair; stride?: Pair } = {}): Tensor {
  return new Tensor(
    native.col2im(cols.handle, pair(outputSize), pair(kernelSize), pair(opts.dilation ?? 1), pair(opts.padding ?? 0), pair(opts.stride ?? 1)),
  );
}

/**
 * The quantizer contract shared by every kind (uniform, PACT, LSQ, SAWB, DoReFa).
 *
 * A quantizer is a Module so that learned quantization parameters (PACT's clip alpha, LSQ's step) are
 * registered like weights: trained by the optimizer and saved in the state dict under the owning
 * layer ('conv1.weightQuantizer.step').
 *
 * Every kind computes integer codes the same way ONNX QuantizeLinear does, code = round(x / scale)
 * with Tensor.round (round half to even) and a division (not a multiplication by 1/scale), then
 * saturates to [qMin, qMax]. The fake-quantized value is code * scale, so `export(x)` returns exactly
 * the codes whose `codes * scale` equals `forward(x)`, and an exported QDQ graph agrees with training.
 */
import { Module } from '../nn/index.ts';
import { noGrad, type DType, type Tensor } from '../tensor/index.ts';
import { checkBits } from './int-grid.ts';

export type QuantizerKind = 'uniform' | 'pact' | 'lsq' | 'sawb' | 'dorefa' | 'fixed';

/**
 * A quantized tensor as integers plus the numbers that turn them back into reals:
 * real = (codes - zeroPoint) * scale, with scale per tensor (shape []) or per output channel
 * (shape [C] along `axis`).
 *
 * Codes lie in [qMin, qMax] in steps of codeStep. codeStep is 2 for the zero-free symmetric grids of
 * SAWB and DoReFa weights: their 2^b levels are the odd multiples of scale (2 bits: -3, -1, 1, 3), the
 * only way to write levels without zero with an integer zero point. Level index
 * (codes - qMin) / codeStep is the b-bit unsigned number a packed format stores.
 */
export interface QuantizedTensor {
  codes: Tensor;
  scale: Tensor;
  zeroPoint: number;
  signed: boolean;
  axis?: number;
  bits: number;
  qMin: number;
  qMax: number;
  codeStep: 1 | 2;
}

export abstract class Quantizer extends Module {
  abstract readonly kind: QuantizerKind;
  /** Weights and signed activations use a symmetric grid; activations after a ReLU are unsigned. */
  readonly signed: boolean;
  readonly bits: number;

  constructor(bits: number, signed: boolean, where: string) {
    super();
    this.bits = checkBits(bits, where);
    this.signed = signed;
  }

  /** The fake-quantized tensor (values on the grid) with the backward pass the quantizer's paper defines. */
  abstract override forward(x: Tensor): Tensor;

  /** The most distinct values forward() can produce: 2^b, or 2^b - 1 for a symmetric grid with zero. */
  abstract levels(): number;

  /**
   * The integer codes and scale(s) of x with the current quantization parameters. Unlike forward() it
   * never updates running statistics or lazy initializations, so it reads the trained state.
   */
  abstract export(x: Tensor): QuantizedTensor;

  override describe(): string {
    return `${this.constructor.name}(${this.bits}-bit, ${this.signed ? 'signed' : 'unsigned'})`;
  }
}

/**
 * The straight-through estimator in one place: the result has `value`'s numbers and `surrogate`'s
 * gradient. value + (s - s.detach()) adds an exact zero, so the value is bit-identical to `value`
 * (what export() relies on), while d/d(inputs) is d surrogate / d(inputs).
 */
export function straightThrough(value: Tensor, surrogate: Tensor): Tensor {
  const zero = surrogate.sub(surrogate.detach());
  return value.detach().add(zero);
}

/**
 * LSQ's gradient scaling (Esser et al. 2020, sec. 2.2): same value as t, gradient multiplied by g.
 * Written as t.detach() + (g t - (g t).detach()) rather than the paper's (t - g t).detach() + g t so
 * that the value is exactly t, not t up to a rounding error.
 */
export function gradScale(t: Tensor, g: number): Tensor {
  const scaled = t.mul(g);
  return t.detach().add(scaled.sub(scaled.detach()));
}

/**
 * The integer dtype of codes in [qMin, qMax]: uint8 for unsigned grids, int8 for signed ones (the
 * types ONNX QuantizeLinear produces), int16 for the 8-bit zero-free grids whose odd codes reach +-255.
 */
export function codesDtype(qMin: number, qMax: number): DType {
  if (qMin >= 0 && qMax <= 255) return 'uint8';
  if (qMin >= -128 && qMax <= 127) return 'int8';
  if (qMin >= -32768 && qMax <= 32767) return 'int16';
  return 'int32';
}

/** Integer-valued float codes as the integer tensor export() returns. */
export function toCodes(floatCodes: Tensor, qMin: number, qMax: number): Tensor {
  return noGrad(() => floatCodes.to(codesDtype(qMin, qMax)));
}

/** Shape that broadcasts a per-channel vector [C] along dim 0 of a tensor of rank `ndim`. */
export function channelShape(channels: number, ndim: number): number[] {
  return [channels, ...new Array<number>(Math.max(ndim - 1, 0)).fill(1)];
}

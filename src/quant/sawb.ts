/**
 * SAWB, statistics-aware weight binning (Choi et al., "Bridging the Accuracy Gap for 2-bit Quantized
 * Neural Networks", arXiv 1807.06964), for weights, per tensor:
 *
 *   alpha = c1 * sqrt(E[w^2]) + c2 * E[|w|]      recomputed from the current weights at every call
 *   w_n = clip(w / alpha, -1, 1) / 2 + 1/2,  q = round((2^b - 1) w_n) / (2^b - 1),  w_q = (2q - 1) alpha
 *
 * (c1, c2) per bit width from IBM's reference code (fms-model-optimizer `sawb_params`, commit 308643fb;
 * see docs/quantizers.md, "SAWB"). The 2^b levels are symmetric with no zero: at 2 bits {-alpha, -alpha/3,
 * alpha/3, alpha}. As codes: w_q = c * alpha / (2^b - 1) with c odd in [-(2^b - 1), 2^b - 1], so the
 * exported grid has codeStep 2.
 *
 * Backward: STE that passes the gradient inside [-alpha, alpha] and zeros it outside; alpha is a
 * statistic of the weights, not differentiated (as the reference SAWB_STE).
 */
import { LowbitError } from '../errors.ts';
import { F, isGradEnabled, noGrad, scope, type Tensor } from '../tensor/index.ts';
import { checkBits, oddGrid } from './int-grid.ts';
import { Quantizer, straightThrough, toCodes, type QuantizedTensor } from './quantizer.ts';

/** (c1, c2) of alpha = c1 sqrt(E[w^2]) + c2 E[|w|], by bit width. */
export const SAWB_COEFFICIENTS: Readonly<Record<number, readonly [number, number]>> = {
  2: [3.12, -2.064],
  3: [7.509, -6.892],
  4: [12.68, -12.8],
  5: [17.74, -18.64],
  8: [31.76, -35.04],
};
export const SAWB_BITS = Object.keys(SAWB_COEFFICIENTS).map(Number);

/** bits when SAWB has coefficients for it; names the widths that do otherwise. */
function sawbBits(bits: number): number {
  checkBits(bits, 'SawbQuantizer');
  if (!SAWB_BITS.includes(bits)) throw new LowbitError(`SawbQuantizer: coefficients exist for ${SAWB_BITS.join(', ')} bits only, got ${bits}; use another weight quantizer at ${bits} bits`);
  return bits;
}

export class SawbQuantizer extends Quantizer {
  readonly kind = 'sawb' as const;
  readonly c1: number;
  readonly c2: number;
  private readonly n: number;

  constructor(opts: { bits: number }) {
    super(sawbBits(opts.bits), true, 'SawbQuantizer');
    [this.c1, this.c2] = SAWB_COEFFICIENTS[this.bits];
    this.n = oddGrid(this.bits).qMax;
  }

  levels(): number {
    return this.n + 1;
  }

  /** alpha of the current weights, a detached 0-d tensor. */
  clipLevel(w: Tensor): Tensor {
    return noGrad(() =>
      scope(() => {
        const alpha = w.square().mean().sqrt().mul(this.c1).add(w.abs().mean().mul(this.c2));
        if (!(alpha.item() > 0)) {
          throw new LowbitError(
            `SawbQuantizer: clip level alpha = ${alpha.item()} is not positive for this weight ` +
              '(all zeros, or a distribution the coefficients were not fit for); use another weight quantizer for this layer',
          );
        }
        return alpha;
      }),
    );
  }

  /** Odd codes c in [-n, n]: c = 2 round((clip(w / s, -n, n) + n) / 2) - n with s = alpha / n. */
  private codes(w: Tensor, s: Tensor): Tensor {
    return w.div(s).clamp(-this.n, this.n).add(this.n).div(2).round().mul(2).sub(this.n);
  }

  forward(w: Tensor): Tensor {
    // The fused native op computes the same values and gradients in one pass each way instead of ~25
    // small ops (a third of a W2A2 ResNet-20 step's quantization overhead, bench/step-phases); the
    // op-by-op form below is the reference it is tested against.
    if (w.dtype !== 'float32') return this.forwardByOps(w);
    try {
      return F.sawbFakeQuant(w, this.c1, this.c2, this.n);
    } catch (err) {
      // The native op's check of alpha, under the error type the op-by-op form throws.
      if (err instanceof Error && err.message.includes('SawbQuantizer: clip level')) throw new LowbitError(err.message.slice(err.message.indexOf('SawbQuantizer:')));
      throw err;
    }
  }

  /** SAWB op by op: alpha from clipLevel, odd codes, and the straight-through estimator inside [-alpha, alpha]. */
  forwardByOps(w: Tensor): Tensor {
    return scope(() => {
      const alpha = this.clipLevel(w);
      const s = alpha.div(this.n);
      const value = noGrad(() => this.codes(w, s).mul(s));
      if (!isGradEnabled() || !w.requiresGrad) return value;
      const inside = noGrad(() => w.abs().le(alpha).to(w.dtype));
      return straightThrough(value, w.mul(inside));
    });
  }

  export(w: Tensor): QuantizedTensor {
    return scope(() =>
      noGrad(() => {
        const s = this.clipLevel(w).div(this.n);
        return {
          codes: toCodes(this.codes(w, s), -this.n, this.n),
          scale: s,
          zeroPoint: 0,
          signed: true,
          bits: this.bits,
          qMin: -this.n,
          qMax: this.n,
          codeStep: 2 as const,
        };
      }),
    );
  }
}

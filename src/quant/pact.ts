/**
 * PACT, parameterized clipping activation (Choi et al. 2018, arXiv 1805.06085), for activations:
 *
 *   y   = clip(x, 0, alpha)                                   (PACT eq. 1, alpha learned per layer)
 *   y_q = round(y / s) * s,   s = alpha / (2^k - 1)           (eq. 2; levels {0, s, ..., alpha})
 *   d y_q / d x     = 1 if 0 <= x < alpha else 0              (eq. 3, STE through round)
 *   d y_q / d alpha = 1 if x >= alpha else 0
 *
 * At k = 2 the levels are {0, alpha/3, 2alpha/3, alpha}: 2^k values. PACT puts an L2 penalty on alpha;
 * give `quantizerParameters(model, 'pact')` its own optimizer group with weight decay for that.
 * The default alpha init is 1.0 (the measured anchor for this project, not the paper's 10).
 */
import { LowbitError } from '../errors.ts';
import { F, full, isGradEnabled, noGrad, scope, where, type Tensor } from '../tensor/index.ts';
import { intGrid } from './int-grid.ts';
import { Quantizer, straightThrough, toCodes, type QuantizedTensor } from './quantizer.ts';

export const DEFAULT_PACT_ALPHA = 1.0;

export interface PactQuantizerOptions {
  bits: number;
  /** Initial clip level alpha; default 1.0. */
  alphaInit?: number;
}

export class PactQuantizer extends Quantizer {
  readonly kind = 'pact' as const;
  /** The learned clip level, shape [1]. */
  readonly alpha: Tensor;
  private readonly n: number;

  constructor(opts: PactQuantizerOptions) {
    super(opts.bits, false, 'PactQuantizer');
    const alphaInit = opts.alphaInit ?? DEFAULT_PACT_ALPHA;
    if (!(alphaInit > 0 && Number.isFinite(alphaInit))) throw new LowbitError(`PactQuantizer: alphaInit must be a positive number, got ${alphaInit}`);
    this.n = intGrid({ bits: this.bits, signed: false }).qMax;
    this.alpha = this.registerParameter('alpha', full([1], alphaInit));
  }

  levels(): number {
    return this.n + 1;
  }

  forward(x: Tensor): Tensor {
    // The fused native op computes the same values and gradients in two passes over the data instead
    // of a dozen (bench/qat-throughput); the op-by-op form below is the reference it is tested against.
    if (x.dtype === 'float32' && this.alpha.dtype === 'float32') return F.pactFakeQuant(x, this.alpha, this.n);
    return this.forwardByOps(x);
  }

  /** PACT op by op: eq. 1-3 with where() so the gradients are exactly PACT's. */
  forwardByOps(x: Tensor): Tensor {
    return scope(() => {
      // clip written with where() so the gradients are exactly PACT's: x gets 1 on [0, alpha), alpha gets
      // 1 where x >= alpha (clamp would also pass the x-gradient at x == alpha).
      const y = where(x.lt(0), 0, where(x.ge(this.alpha), this.alpha, x));
      const value = noGrad(() => {
        const s = this.alpha.div(this.n);
        return y.div(s).clamp(0, this.n).round().mul(s);
      });
      if (!isGradEnabled() || !y.requiresGrad) return value;
      return straightThrough(value, y);
    });
  }

  export(x: Tensor): QuantizedTensor {
    return scope(() =>
      noGrad(() => {
        const s = this.alpha.div(this.n);
        const y = where(x.lt(0), 0, where(x.ge(this.alpha), this.alpha, x));
        return {
          codes: toCodes(y.div(s).clamp(0, this.n).round(), 0, this.n),
          scale: s.reshape([]),
          zeroPoint: 0,
          signed: false,
          bits: this.bits,
          qMin: 0,
          qMax: this.n,
          codeStep: 1 as const,
        };
      }),
    );
  }

  override describe(): string {
    return `PactQuantizer(${this.bits}-bit, alpha=${this.alpha.item().toPrecision(4)})`;
  }
}

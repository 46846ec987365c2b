/**
 * DoReFa-Net quantizers (Zhou et al. 2016, arXiv 1606.06160), k >= 2 bits, n = 2^k - 1:
 *
 *   q_k(r) = round(n r) / n, r in [0, 1], STE d q_k / d r = 1                        (eq. 5)
 *   weights:     w_q = 2 q_k( tanh(w) / (2 max|tanh(w)|) + 1/2 ) - 1                  (eq. 9)
 *                tanh and the max (over the whole layer) are differentiated normally, round is not;
 *   activations: a_q = q_k(clip(a, 0, 1)), gradient 1 inside [0, 1] and 0 outside.
 *
 * Activations are clipped to [0, 1] and quantized with n steps there: truly k-bit, 2^k values. (The
 * auxiliary-module reference code clips to [0, 6] but keeps the 1/n step, which gives 6n + 1 levels,
 * 19 at "2 bits"; see docs/auxiliary-module.md, "Quantizer". That is not reproduced here.)
 *
 * Weight codes: 2 q_k(.) - 1 = (2i - n) / n with i = round(n w_n), so codes are the odd integers in
 * [-n, n] (codeStep 2) with scale 1/n, and the 2^k levels have no zero (at 2 bits: -1, -1/3, 1/3, 1).
 */
import { isGradEnabled, noGrad, scalar, scope, type Tensor } from '../tensor/index.ts';
import { intGrid, oddGrid } from './int-grid.ts';
import { Quantizer, straightThrough, toCodes, type QuantizedTensor } from './quantizer.ts';

export class DorefaWeightQuantizer extends Quantizer {
  readonly kind = 'dorefa' as const;
  private readonly n: number;

  constructor(opts: { bits: number }) {
    super(opts.bits, true, 'DorefaWeightQuantizer');
    this.n = oddGrid(this.bits).qMax;
  }

  levels(): number {
    return this.n + 1;
  }

  /** 1/n as a 0-d tensor of x's dtype: forward and export multiply codes by this same number. */
  private scale(x: Tensor): Tensor {
    return scalar(1 / this.n, { dtype: x.dtype });
  }

  /** w_n = tanh(w) / (2 max|tanh(w)|) + 1/2, in [0, 1], differentiable. */
  private normalized(w: Tensor): Tensor {
    const t = w.tanh();
    return t.div(t.abs().amax().mul(2)).add(0.5);
  }

  /** Odd codes 2 round(n w_n) - n. */
  private codes(wn: Tensor): Tensor {
    return wn.mul(this.n).round().mul(2).sub(this.n);
  }

  forward(w: Tensor): Tensor {
    return scope(() => {
      const wn = this.normalized(w);
      const value = noGrad(() => this.codes(wn).mul(this.scale(w)));
      if (!isGradEnabled() || !wn.requiresGrad) return value;
      // STE through round only: the surrogate 2 w_n - 1 carries the tanh / max gradient.
      return straightThrough(value, wn.mul(2).sub(1));
    });
  }

  export(w: Tensor): QuantizedTensor {
    return scope(() =>
      noGrad(() => ({
        codes: toCodes(this.codes(this.normalized(w)), -this.n, this.n),
        scale: this.scale(w),
        zeroPoint: 0,
        signed: true,
        bits: this.bits,
        qMin: -this.n,
        qMax: this.n,
        codeStep: 2 as const,
      })),
    );
  }
}

export class DorefaActQuantizer extends Quantizer {
  readonly kind = 'dorefa' as const;
  private readonly n: number;

  constructor(opts: { bits: number }) {
    super(opts.bits, false, 'DorefaActQuantizer');
    this.n = intGrid({ bits: this.bits, signed: false }).qMax;
  }

  levels(): number {
    return this.n + 1;
  }

  forward(a: Tensor): Tensor {
    return scope(() => {
      const r = a.clamp(0, 1);
      const s = scalar(1 / this.n, { dtype: a.dtype });
      // round(r / s) in the QuantizeLinear form (division by the scale), then back to the grid.
      const value = noGrad(() => r.div(s).round().mul(s));
      if (!isGradEnabled() || !r.requiresGrad) return value;
      return straightThrough(value, r);
    });
  }

  export(a: Tensor): QuantizedTensor {
    return scope(() =>
      noGrad(() => ({
        codes: toCodes(a.clamp(0, 1).div(scalar(1 / this.n, { dtype: a.dtype })).round(), 0, this.n),
        scale: scalar(1 / this.n, { dtype: a.dtype }),
        zeroPoint: 0,
        signed: false,
        bits: this.bits,
        qMin: 0,
        qMax: this.n,
        codeStep: 1 as const,
      })),
    );
  }
}

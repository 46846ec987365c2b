/**
 * LSQ, learned step size quantization (Esser et al., ICLR 2020, arXiv 1902.08153):
 *
 *   v_bar = round(clip(v / s, -Q_N, Q_P)),  v_hat = v_bar * s                           (eq. 1-2)
 *   d v_hat / d v = 1 inside the range, 0 outside                                      (STE)
 *   d v_hat / d s = -v/s + round(v/s) inside; -Q_N below; Q_P above                    (eq. 3)
 *   the step's gradient is scaled by g = 1 / sqrt(N * Q_P)                              (sec. 2.2)
 *   init s = 2 <|v|> / sqrt(Q_P)                                                      (sec. 2.1)
 *
 * Weights are signed (Q_N = 2^(b-1), Q_P = 2^(b-1) - 1: 2^b levels including zero), activations
 * unsigned (Q_N = 0, Q_P = 2^b - 1). N is the number of weights in the layer (per channel: in one
 * output channel) or, for activations, the number of features of one sample (numel / batch size):
 * the paper's N_F counts the features of a layer, not of a whole batch.
 *
 * The step starts unset and is initialized from the first tensor it sees (the weight, or the first
 * training batch); the `initialized` buffer records that, so a loaded checkpoint is not re-initialized.
 */
import { LowbitError } from '../errors.ts';
import { full, isGradEnabled, noGrad, ones, scope, type Tensor } from '../tensor/index.ts';
import { intGrid } from './int-grid.ts';
import { channelShape, gradScale, Quantizer, straightThrough, toCodes, type QuantizedTensor } from './quantizer.ts';

export interface LsqQuantizerOptions {
  bits: number;
  role: 'weight' | 'activation';
  /** Weights only: one step per output channel (dim 0); the channel count. */
  channels?: number;
}

export class LsqQuantizer extends Quantizer {
  readonly kind = 'lsq' as const;
  readonly role: 'weight' | 'activation';
  readonly channels: number | null;
  /** Q_N and Q_P of the paper: codes lie in [-Q_N, Q_P]. */
  readonly qN: number;
  readonly qP: number;
  /** The learned step s, shape [1] or [C]. */
  readonly step: Tensor;
  readonly initialized: Tensor;

  constructor(opts: LsqQuantizerOptions) {
    super(opts.bits, opts.role === 'weight', 'LsqQuantizer');
    if (opts.role !== 'weight' && opts.role !== 'activation') throw new LowbitError(`LsqQuantizer: role must be 'weight' or 'activation', got '${String(opts.role)}'`);
    this.role = opts.role;
    this.channels = opts.channels ?? null;
    if (this.channels !== null) {
      if (this.role !== 'weight') throw new LowbitError('LsqQuantizer: per-channel steps are for weights; activations use one step');
      if (!(Number.isInteger(this.channels) && this.channels > 0)) throw new LowbitError(`LsqQuantizer: channels must be a positive integer, got ${this.channels}`);
    }
    // The full b-bit grid: [-2^(b-1), 2^(b-1) - 1] signed, [0, 2^b - 1] unsigned.
    const grid = intGrid({ bits: this.bits, signed: this.signed });
    this.qN = grid.qMin === 0 ? 0 : -grid.qMin; // 0, not -0: Q_N is a count of levels below zero
    this.qP = grid.qMax;
    this.step = this.registerParameter('step', ones([this.channels ?? 1]));
    this.initialized = this.registerBuffer('initialized', full([], 0, { dtype: 'int64' }));
  }

  levels(): number {
    return this.qN + this.qP + 1;
  }

  /** N of the gradient scale: weights per step, or features per sample. */
  gradScaleCount(x: Tensor): number {
    if (this.role === 'weight') return this.channels !== null ? x.numel / this.channels : x.numel;
    return x.ndim > 1 ? x.numel / x.shape[0] : x.numel;
  }

  /** s = 2 <|v|> / sqrt(Q_P), from v (per output channel when the step is). */
  initStep(x: Tensor): void {
    noGrad(() =>
      scope(() => {
        const rows = this.channels !== null ? x.reshape([this.channels, -1]) : x.reshape([1, -1]);
        this.step.copy_(rows.abs().mean(1).mul(2 / Math.sqrt(this.qP)).clamp(1e-8));
      }),
    );
    this.initialized.fill_(1);
  }

  forward(x: Tensor): Tensor {
    this.checkShape(x);
    if (this.initialized.item() === 0) this.initStep(x);
    return scope(() => {
      const g = 1 / Math.sqrt(this.gradScaleCount(x) * this.qP);
      const s = this.broadcast(gradScale(this.step, g), x.ndim);
      const z = x.div(s).clamp(-this.qN, this.qP);
      if (!isGradEnabled() || !z.requiresGrad) return noGrad(() => z.round().mul(s));
      const zRounded = straightThrough(noGrad(() => z.round()), z);
      return zRounded.mul(s);
    });
  }

  export(x: Tensor): QuantizedTensor {
    this.checkShape(x);
    if (this.initialized.item() === 0) {
      throw new LowbitError('LsqQuantizer: the step is not initialized; run a forward pass (training or calibration) before export');
    }
    return scope(() =>
      noGrad(() => {
        const s = this.broadcast(this.step, x.ndim);
        return {
          codes: toCodes(x.div(s).clamp(-this.qN, this.qP).round(), -this.qN, this.qP),
          scale: this.channels !== null ? this.step.clone() : this.step.reshape([]).clone(),
          zeroPoint: 0,
          signed: this.signed,
          ...(this.channels !== null ? { axis: 0 } : {}),
          bits: this.bits,
          qMin: -this.qN,
          qMax: this.qP,
          codeStep: 1 as const,
        };
      }),
    );
  }

  private broadcast(s: Tensor, ndim: number): Tensor {
    return this.channels !== null ? s.reshape(channelShape(this.channels, ndim)) : s;
  }

  private checkShape(x: Tensor): void {
    if (this.channels !== null && x.shape[0] !== this.channels) {
      throw new LowbitError(`LsqQuantizer: built for ${this.channels} channels, got a tensor of shape [${x.shape.join(', ')}]`);
    }
  }

  override describe(): string {
    return `LsqQuantizer(${this.bits}-bit ${this.role}${this.channels !== null ? ', per-channel' : ''})`;
  }
}

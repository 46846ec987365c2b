/**
 * Uniform round-to-nearest quantization with a scale taken from the data (no learned parameters).
 *
 * - signed (weights): symmetric grid with zero, codes in [-(2^(b-1) - 1), 2^(b-1) - 1], 2^b - 1 levels
 *   (the "narrow" range: -2^(b-1) is left out so the grid stays symmetric around 0);
 * - unsigned (activations after a ReLU): codes in [0, 2^b - 1], 2^b levels; negative inputs clip to 0.
 *
 * scale = r / qMax, with the clip range r from a range estimator (min-max, percentile, MSE grid
 * search), per tensor or per output channel (dim 0 of a weight, for weights only).
 * Weights estimate r from the tensor at every call. Activations (`running`) estimate r from each
 * batch seen in training mode (or by calibrateActivations) and keep a running average; eval uses it
 * frozen, as PyTorch's FakeQuantize with a moving-average observer.
 *
 * Backward: the straight-through estimator with clipping, d out / d x = 1 where x / scale lies inside
 * [qMin, qMax] and 0 outside; the scale is treated as a constant, as in PyTorch's fake_quantize.
 */
import { LowbitError } from '../errors.ts';
import { full, isGradEnabled, noGrad, scope, zeros, type Tensor } from '../tensor/index.ts';
import { intGrid } from './int-grid.ts';
import { channelShape, Quantizer, straightThrough, toCodes, type QuantizedTensor } from './quantizer.ts';
import { estimateRange, RANGE_METHODS, type RangeMethod, type RangeOptions } from './range-estimators.ts';

export interface UniformQuantizerOptions {
  bits: number;
  signed: boolean;
  /** Per-output-channel scales (dim 0 of the weight): the number of channels. Omitted: one scale. */
  channels?: number;
  /** How r is chosen; default 'minmax'. */
  range?: RangeMethod;
  percentile?: number;
  mseGrid?: number;
  /** Keep a running range from training batches and use it in eval (activations). Default false. */
  running?: boolean;
  /** Weight of a new batch in the running range once past the first 1/momentum batches; default 0.1. */
  momentum?: number;
}

export class UniformQuantizer extends Quantizer {
  readonly kind = 'uniform' as const;
  readonly channels: number | null;
  readonly qMin: number;
  readonly qMax: number;
  readonly rangeOptions: RangeOptions;
  readonly running: boolean;
  readonly momentum: number;
  /** The running clip range (activations only), shape [1]. */
  readonly runningRange: Tensor | null;
  /** How many batches the running range has seen; 0 means not calibrated yet. */
  readonly numObserved: Tensor | null;

  constructor(opts: UniformQuantizerOptions) {
    super(opts.bits, opts.signed, 'UniformQuantizer');
    const method = opts.range ?? 'minmax';
    if (!RANGE_METHODS.includes(method)) throw new LowbitError(`UniformQuantizer: unknown range '${String(method)}': use ${RANGE_METHODS.join(', ')}`);
    this.rangeOptions = { method, percentile: opts.percentile, mseGrid: opts.mseGrid };
    this.channels = opts.channels ?? null;
    if (this.channels !== null && !(Number.isInteger(this.channels) && this.channels > 0)) {
      throw new LowbitError(`UniformQuantizer: channels must be a positive integer, got ${this.channels}`);
    }
    // Signed: the narrow grid, symmetric around 0 (see the file comment).
    ({ qMin: this.qMin, qMax: this.qMax } = intGrid({ bits: this.bits, signed: opts.signed, narrow: true }));
    this.running = opts.running ?? false;
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.momentum > 0 && this.momentum <= 1)) throw new LowbitError(`UniformQuantizer: momentum must be in (0, 1], got ${this.momentum}`);
    if (this.running && this.channels !== null) {
      throw new LowbitError('UniformQuantizer: a running (activation) range is per tensor; per-channel scales are for weights');
    }
    this.runningRange = this.running ? this.registerBuffer('runningRange', zeros([1])) : null;
    this.numObserved = this.running ? this.registerBuffer('numObserved', full([], 0, { dtype: 'int64' })) : null;
  }

  levels(): number {
    return this.qMax - this.qMin + 1;
  }

  /** Clip range of x now, shape [C] or [1]; updates the running range when `update`. */
  range(x: Tensor, update: boolean): Tensor {
    const grid = { signed: this.signed, perChannel: this.channels !== null, qMax: this.qMax };
    if (this.channels !== null && x.shape[0] !== this.channels) {
      throw new LowbitError(`UniformQuantizer: built for ${this.channels} channels, got a tensor of shape [${x.shape.join(', ')}]`);
    }
    if (this.runningRange === null || this.numObserved === null) return estimateRange(x, grid, this.rangeOptions);
    if (update) {
      const k = this.numObserved.item() + 1;
      // The first 1/momentum batches are averaged plainly, so early batches are not over-weighted.
      const m = Math.max(this.momentum, 1 / k);
      scope(() => noGrad(() => this.runningRange!.lerp_(estimateRange(x, grid, this.rangeOptions).to(this.runningRange!.dtype), m)));
      this.numObserved.fill_(k);
    }
    if (this.numObserved.item() === 0) {
      throw new LowbitError(
        'UniformQuantizer: activation range not calibrated yet; run calibrateActivations(model, batches) ' +
          'or some training steps before evaluating, or load a checkpoint that has it',
      );
    }
    return this.runningRange.detach();
  }

  /** Clears the running range (the next observed batch sets it afresh). */
  resetRunningRange(): void {
    if (this.runningRange === null || this.numObserved === null) return;
    noGrad(() => this.runningRange!.zero_());
    this.numObserved.fill_(0);
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const s = this.broadcastScale(this.range(x, this.training), x.ndim);
      const value = noGrad(() => x.div(s).clamp(this.qMin, this.qMax).round().mul(s));
      if (!(x.requiresGrad && isGradEnabled())) return value;
      const inside = noGrad(() => {
        const z = x.div(s);
        return z.ge(this.qMin).logicalAnd(z.le(this.qMax)).to(x.dtype);
      });
      return straightThrough(value, x.mul(inside));
    });
  }

  export(x: Tensor): QuantizedTensor {
    return scope(() =>
      noGrad(() => {
        const r = this.range(x, false);
        const codes = x.div(this.broadcastScale(r, x.ndim)).clamp(this.qMin, this.qMax).round();
        const perChannel = this.channels !== null;
        return {
          codes: toCodes(codes, this.qMin, this.qMax),
          scale: perChannel ? r.div(this.qMax) : r.div(this.qMax).reshape([]),
          zeroPoint: 0,
          signed: this.signed,
          ...(perChannel ? { axis: 0 } : {}),
          bits: this.bits,
          qMin: this.qMin,
          qMax: this.qMax,
          codeStep: 1 as const,
        };
      }),
    );
  }

  private broadcastScale(r: Tensor, ndim: number): Tensor {
    const s = r.div(this.qMax);
    return this.channels !== null ? s.reshape(channelShape(this.channels, ndim)) : s;
  }

  override describe(): string {
    const where = this.channels !== null ? 'per-channel' : 'per-tensor';
    return `UniformQuantizer(${this.bits}-bit ${this.signed ? 'signed' : 'unsigned'}, ${where}, ${this.rangeOptions.method}${this.running ? ', running' : ''})`;
  }
}

/**
 * A weight quantizer whose grid was chosen elsewhere and is frozen: the result of post-training
 * quantization (GPFQ, RTN). It holds the step(s) as a buffer and the integer code range; forward rounds
 * to that grid, which leaves the already-quantized weights of a PTQ model unchanged, and export()
 * returns their integer codes. It lets a PTQ model be an ordinary QuantConv2d / QuantLinear model:
 * saved and reloaded (the steps are in the state dict as 'weightQuantizer.scale'), evaluated,
 * fake-quant fine-tuned or exported like a QAT model.
 *
 * Codes lie in [qMin, qMax]. With GPFQ's 'signed' alphabet that is b-bit two's complement
 * [-2^(b-1), 2^(b-1) - 1]; the 'reference' alphabet has 2^b + 1 levels [-2^(b-1), 2^(b-1)] (what the
 * GPFQ paper calls b bits), one more than b bits can store, and levels() says so.
 */
import { LowbitError } from '../errors.ts';
import { fromArray, noGrad, ones, scope, type Tensor } from '../tensor/index.ts';
import { referenceGrid } from './int-grid.ts';
import { channelShape, Quantizer, straightThrough, toCodes, type QuantizedTensor } from './quantizer.ts';

export interface FixedGridQuantizerOptions {
  bits: number;
  qMin: number;
  qMax: number;
  /** One step per output channel (dim 0) when given; one step per tensor otherwise. */
  channels?: number;
}

export class FixedGridQuantizer extends Quantizer {
  readonly kind = 'fixed' as const;
  readonly qMin: number;
  readonly qMax: number;
  readonly channels: number | null;
  /** The step(s): real = code * scale. Set by setScale() or loaded from a state dict. */
  readonly scale: Tensor;

  constructor(opts: FixedGridQuantizerOptions) {
    super(opts.bits, true, 'FixedGridQuantizer');
    if (!(Number.isInteger(opts.qMin) && Number.isInteger(opts.qMax) && opts.qMin < 0 && opts.qMax > 0)) {
      throw new LowbitError(`FixedGridQuantizer: the code range must be integers qMin < 0 < qMax, got [${opts.qMin}, ${opts.qMax}]`);
    }
    // The widest grid "b bits" means anywhere in lowbit is GPFQ's reference alphabet (2^b + 1 levels).
    const widest = referenceGrid(this.bits);
    if (opts.qMin < widest.qMin || opts.qMax > widest.qMax) {
      throw new LowbitError(
        `FixedGridQuantizer: codes [${opts.qMin}, ${opts.qMax}] do not fit ${this.bits} bits (at most [${widest.qMin}, ${widest.qMax}]); take the range from intGrid or referenceGrid`,
      );
    }
    this.qMin = opts.qMin;
    this.qMax = opts.qMax;
    this.channels = opts.channels ?? null;
    this.scale = this.registerBuffer('scale', ones([this.channels ?? 1]))!;
  }

  /** Sets the step(s): one number, or one per output channel. */
  setScale(steps: number[]): this {
    const expected = this.channels ?? 1;
    if (steps.length !== expected) throw new LowbitError(`FixedGridQuantizer: expected ${expected} step(s), got ${steps.length}`);
    if (!steps.every((s) => Number.isFinite(s) && s > 0)) throw new LowbitError(`FixedGridQuantizer: steps must be positive and finite, got [${steps.slice(0, 4).join(', ')}...]`);
    scope(() => noGrad(() => this.scale.copy_(fromArray(Float32Array.from(steps), [expected]))));
    return this;
  }

  levels(): number {
    return this.qMax - this.qMin + 1;
  }

  private floatCodes(x: Tensor): Tensor {
    const s = this.channels === null ? this.scale.reshape([]) : this.scale.reshape(channelShape(this.channels, x.ndim));
    return x.div(s).round().clamp(this.qMin, this.qMax);
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const value = noGrad(() => {
        const s = this.channels === null ? this.scale.reshape([]) : this.scale.reshape(channelShape(this.channels, x.ndim));
        return this.floatCodes(x).mul(s);
      });
      // Straight through, so a PTQ model can be fine-tuned from its grid.
      return x.requiresGrad ? straightThrough(value, x) : value;
    });
  }

  export(x: Tensor): QuantizedTensor {
    return scope(() =>
      noGrad(() => ({
        codes: toCodes(this.floatCodes(x), this.qMin, this.qMax),
        scale: this.channels === null ? this.scale.reshape([]).clone() : this.scale.clone(),
        zeroPoint: 0,
        signed: true,
        ...(this.channels === null ? {} : { axis: 0 }),
        bits: this.bits,
        qMin: this.qMin,
        qMax: this.qMax,
        codeStep: 1 as const,
      })),
    );
  }

  override describe(): string {
    return `FixedGridQuantizer(${this.bits}-bit, codes ${this.qMin}..${this.qMax}${this.channels === null ? '' : ', per channel'})`;
  }
}

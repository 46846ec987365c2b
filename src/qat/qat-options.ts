/**
 * What a quantization-aware fine-tune quantizes, as plain typed options, and the QuantConfig they stand
 * for: the body's weights and activations at wbits/abits with the chosen quantizers, the first and last
 * layer at firstLastBits (weights, and the last layer's input), as most of the literature does.
 */
import { LowbitError } from '../errors.ts';
import { checkBits, FLOAT_BITS, isFloatBits, TRAINABLE_WEIGHT_QUANT_KINDS, ACT_QUANT_KINDS, type ActQuantKind, type QuantConfig, type WeightQuantKind } from '../quant/index.ts';
import { TRAINING_DEFAULTS, type TrainingOptions } from '../train/index.ts';

export interface QatQuantOptions {
  /** Weight bits of the body (2..8). */
  wbits: number;
  /** Activation bits (2..8), or FLOAT_BITS to keep activations in floating point. */
  abits: number;
  weightQuantizer: WeightQuantKind;
  actQuantizer: ActQuantKind;
  /** Bits of the first and last layer (2..8). */
  firstLastBits: number;
  /** One weight scale per output channel (weightQuantizer 'uniform' or 'lsq'). */
  perChannel: boolean;
  /** Initial PACT clip level alpha (actQuantizer 'pact'). */
  alphaInit: number;
}

/** SAWB weights and PACT activations at 2 bits, first and last layer at 8, alpha starting at 1. */
export const QAT_QUANT_DEFAULTS: Readonly<QatQuantOptions> = Object.freeze({
  wbits: 2,
  abits: 2,
  weightQuantizer: 'sawb',
  actQuantizer: 'pact',
  firstLastBits: 8,
  perChannel: false,
  alphaInit: 1.0,
});

/** Fine-tuning from a trained float model: 8 epochs at lr 0.01, otherwise TRAINING_DEFAULTS. */
export const QAT_TRAINING_DEFAULTS: Readonly<TrainingOptions> = Object.freeze({
  ...TRAINING_DEFAULTS,
  epochs: 8,
  optimizer: Object.freeze({ ...TRAINING_DEFAULTS.optimizer, lr: 0.01 }),
});

/** The QuantConfig of the options (missing fields from QAT_QUANT_DEFAULTS), checked. */
export function qatQuantConfig(input: Partial<QatQuantOptions> = {}): QuantConfig {
  const o: QatQuantOptions = { ...QAT_QUANT_DEFAULTS, ...input };
  checkBits(o.wbits, 'QatQuantOptions.wbits');
  checkBits(o.abits, 'QatQuantOptions.abits', { allowFloat: true });
  checkBits(o.firstLastBits, 'QatQuantOptions.firstLastBits');
  if (!TRAINABLE_WEIGHT_QUANT_KINDS.includes(o.weightQuantizer)) {
    throw new LowbitError(`QatQuantOptions.weightQuantizer '${o.weightQuantizer}': choose one of ${TRAINABLE_WEIGHT_QUANT_KINDS.join(', ')}`);
  }
  if (!ACT_QUANT_KINDS.includes(o.actQuantizer)) throw new LowbitError(`QatQuantOptions.actQuantizer '${o.actQuantizer}': choose one of ${ACT_QUANT_KINDS.join(', ')}`);
  if (o.perChannel && o.weightQuantizer !== 'uniform' && o.weightQuantizer !== 'lsq') {
    throw new LowbitError(`QatQuantOptions.perChannel applies to weightQuantizer 'uniform' or 'lsq', not '${o.weightQuantizer}'`);
  }
  return {
    weight: { kind: o.weightQuantizer, bits: o.wbits, ...(o.perChannel ? { perChannel: true } : {}) },
    act: isFloatBits(o.abits) ? null : { kind: o.actQuantizer, bits: o.abits, ...(o.actQuantizer === 'pact' ? { alphaInit: o.alphaInit } : {}) },
    firstLast: { bits: o.firstLastBits },
  };
}

/** Weight and activation bits of a QAT QuantConfig (FLOAT_BITS for float activations). */
export function qatBits(quant: QuantConfig): { wbits: number; abits: number } {
  return { wbits: quant.weight.bits, abits: quant.act?.bits ?? FLOAT_BITS };
}

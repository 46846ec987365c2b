/**
 * The post-training quantization config and its defaults, written once: the library (quantizeNetwork,
 * alphabetFor, GramAccumulator, toQuantModel) fills an omitted field from PTQ_DEFAULTS and the
 * `lowbit ptq` flags take their defaults from it, so a script that passes only `bits` quantizes exactly
 * as `lowbit ptq --wbits` does.
 */
import { LowbitError } from '../errors.ts';
import { checkBits } from '../quant/index.ts';
import type { AlphabetConvention, StepGranularity } from './alphabet.ts';

export type PtqMethod = 'gpfq' | 'rtn';
/**
 * 'fast': Gram sums streamed batch by batch (O(N0^2) memory, O(m N0^2) work). 'blocked': the column loop
 * with block-deferred updates (X and X~ held whole, O(m N0 N1) work in GEMMs; fewer flops when N1 is well
 * below N0, though its thin GEMMs ran slower than the Gram sums on 2 cores, bench/gpfq-network).
 * 'reference': the column loop as published (float64). All three follow the same greedy path.
 */
export type GpfqSolver = 'fast' | 'blocked' | 'reference';

/** Plain data (recorded in a run's config.json and a checkpoint's metadata). Omitted fields take PTQ_DEFAULTS. */
export interface PtqConfig {
  /** Weight bits of every quantized layer but the first and last, 2..8. */
  bits: number;
  /** GPFQ's greedy path, or round-to-nearest on a min-max grid. */
  method?: PtqMethod;
  /** Bits of the first and last layer, as is usual in the literature; FLOAT_BITS (32) keeps them float. */
  firstLastBits?: number;
  solver?: GpfqSolver;
  /** 'signed': 2^b levels, true b-bit; 'reference': the GPFQ code's 2^b + 1 levels (see alphabet.ts). */
  convention?: AlphabetConvention;
  /** One step per output channel, or one per layer (the GPFQ paper's). */
  granularity?: StepGranularity;
  /** C of the step size rule. */
  radiusFactor?: number;
  /** Images per forward pass while collecting layer inputs. */
  batchSize?: number;
  /**
   * Precision of the per-batch Gram products (sums are float64 either way). float32 runs the products,
   * the bulk of GPFQ's time, about twice as fast; float64 matches the column loop code for code
   * (float32 rounding can flip codes at near-ties).
   */
  gramDtype?: 'float32' | 'float64';
  /** Calibration rows kept per layer to measure its relative error (all rows when fewer). */
  errorSampleRows?: number;
}

/** A PtqConfig with every field set. */
export type ResolvedPtqConfig = Required<PtqConfig>;

/**
 * The defaults of every PtqConfig field but bits. Per-channel steps and the signed (storable) alphabet
 * rather than the GPFQ reference code's per-layer steps and 2^b + 1 levels: BN networks' rows differ in
 * scale, and one layer step clips the large ones; float32 Gram products run twice as fast.
 */
export const PTQ_DEFAULTS: Readonly<Omit<ResolvedPtqConfig, 'bits'>> = Object.freeze({
  method: 'gpfq',
  firstLastBits: 8,
  solver: 'fast',
  convention: 'signed',
  granularity: 'channel',
  radiusFactor: 1.16,
  batchSize: 256,
  gramDtype: 'float32',
  errorSampleRows: 32768,
});

const CHOICES = {
  method: ['gpfq', 'rtn'],
  solver: ['fast', 'blocked', 'reference'],
  convention: ['signed', 'reference'],
  granularity: ['channel', 'layer'],
  gramDtype: ['float32', 'float64'],
} as const;

/** Every field of config, the omitted ones from PTQ_DEFAULTS, validated (errors name the PtqConfig field). */
export function resolvePtqConfig(config: PtqConfig): ResolvedPtqConfig {
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  const c: ResolvedPtqConfig = { ...PTQ_DEFAULTS, ...defined } as ResolvedPtqConfig;
  checkBits(c.bits, 'PtqConfig.bits');
  checkBits(c.firstLastBits, 'PtqConfig.firstLastBits', { allowFloat: true });
  for (const [key, choices] of Object.entries(CHOICES)) {
    const value = c[key as keyof typeof CHOICES];
    if (!(choices as readonly string[]).includes(value)) {
      throw new LowbitError(`PtqConfig.${key}: '${String(value)}' is not one of ${choices.join(', ')}`);
    }
  }
  if (!(c.radiusFactor > 0 && Number.isFinite(c.radiusFactor))) throw new LowbitError(`PtqConfig.radiusFactor: must be a positive number, got ${c.radiusFactor}`);
  for (const key of ['batchSize', 'errorSampleRows'] as const) {
    if (!(Number.isInteger(c[key]) && c[key] >= 1)) throw new LowbitError(`PtqConfig.${key}: must be a positive integer, got ${c[key]}`);
  }
  return c;
}

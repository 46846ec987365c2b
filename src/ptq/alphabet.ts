/**
 * The GPFQ alphabet: a uniform grid A = {k * delta : kMin <= k <= kMax} and the quantizer Q that rounds
 * to its nearest element. Codes are the integers k; the step delta is the scale that turns them back
 * into weights.
 *
 * Step size (Zhang, Zhou & Saab reference code, `src/step_algorithm.py` @ 911a24bb, docs/gpfq.md, "The alphabet"):
 *   delta = C * mean_i( quantile_p(|W_i,:|) ) / K,  K = 2^(b-1)
 * one step per layer, C = 1.16 and p = 1 (each row's max |w|) by default. With granularity 'channel' the
 * mean is dropped: delta_i = C * quantile_p(|W_i,:|) / K, one step per output neuron (row).
 *
 * Two level conventions, because the reference's "b bits" is not storable in b bits:
 * - 'reference': k in [-K, K], 2^b + 1 levels including 0. This is what the reference code and its
 *   published logs call "b bits" (its "2-bit" alphabet has 5 levels and needs 3 bits to store). Use it
 *   to compare numbers with the paper and the reference code like with like.
 * - 'signed': k in [-K, K - 1], 2^b levels: b-bit two's complement, what export packs. It keeps the
 *   reference's grid and step and drops the top level +K, so the two differ only in that one level.
 * Not implemented: the older non-uniform alphabet of the reference's 2021 logs (§1.2(b)) and Lybrand's
 * median-radius alphabet (§1.2(c)); neither is a uniform integer grid with a scale.
 *
 * Q (the reference's `_msq`): code = clamp(floor(z / delta + 0.5), kMin, kMax). Ties go toward +infinity
 * (z = -1.5 delta gives -1, z = +1.5 delta gives +2), unlike torch.round's half-to-even; clamping the
 * nearest integer to the range gives the nearest element of the clipped grid.
 */
import { LowbitError } from '../errors.ts';
import { checkBits, intGrid, referenceGrid } from '../quant/index.ts';
import { fromArray, scope, type Tensor } from '../tensor/index.ts';

/** Which integer range "b bits" means; see the file comment. */
export type AlphabetConvention = 'reference' | 'signed';
/** One step for the whole layer (the reference) or one per output neuron. */
export type StepGranularity = 'layer' | 'channel';

export interface AlphabetOptions {
  /** b, 2..8. */
  bits: number;
  /** Default 'reference' (2^b + 1 levels, as the reference code). */
  convention?: AlphabetConvention;
  /** Default 'layer' (as the reference code). */
  granularity?: StepGranularity;
  /** C: the largest level is C times the (mean) row radius. Default 1.16, the reference CLI default. */
  radiusFactor?: number;
  /** p in (0, 1]: the row radius is the p-quantile of |w| in the row (linear interpolation). Default 1: the row max. */
  percentile?: number;
}

/** Plain data (serializable into a run record): the integer range and the step(s). */
export interface Alphabet {
  bits: number;
  convention: AlphabetConvention;
  granularity: StepGranularity;
  /** Codes lie in [kMin, kMax]. */
  kMin: number;
  kMax: number;
  /** delta: one number ('layer') or one per output neuron ('channel'). */
  steps: number[];
}

export const DEFAULT_RADIUS_FACTOR = 1.16;

/** The integer code range of b bits under a convention. */
export function codeRange(bits: number, convention: AlphabetConvention = 'reference'): { kMin: number; kMax: number } {
  checkBits(bits, 'AlphabetOptions.bits');
  if (convention !== 'reference' && convention !== 'signed') {
    throw new LowbitError(`AlphabetOptions.convention: unknown convention '${String(convention)}': use 'reference' or 'signed'`);
  }
  const grid = convention === 'reference' ? referenceGrid(bits) : intGrid({ bits, signed: true });
  return { kMin: grid.qMin, kMax: grid.qMax };
}

/**
 * The alphabet for a layer's float weight W (N1 x N0, one row per output neuron), with the step(s)
 * chosen from W as the reference code does (see the file comment).
 */
/**
 * The round-to-nearest baseline's grid: the same integer code range, with the step chosen so that the
 * largest |w| (of the layer, or of each row) sits on the top code, step = max|w| / kMax: min-max
 * symmetric uniform quantization, nothing clipped. GPFQ's rule (C * mean row max / K) clips the rows
 * whose max exceeds C times the mean, an error the greedy path compensates and plain rounding cannot:
 * on ResNet-20 (BN unfolded, row maxima spread widely) RTN on GPFQ's grid lost 31.7 pp even at 8 bits.
 */
export function minMaxAlphabet(weight: Tensor, opts: Pick<AlphabetOptions, 'bits' | 'convention' | 'granularity'>): Alphabet {
  const convention = opts.convention ?? 'reference';
  const granularity = opts.granularity ?? 'layer';
  const { kMin, kMax } = codeRange(opts.bits, convention);
  if (weight.ndim !== 2) throw new LowbitError(`RTN alphabet: weight must be 2-D (N1 x N0), got shape [${weight.shape.join(', ')}]`);
  const rowMax = scope(() => weight.to('float64').abs().amax(1).toArray());
  const stepOf = (r: number): number => (r > 0 ? r / kMax : 1);
  const steps = granularity === 'channel' ? rowMax.map(stepOf) : [stepOf(Math.max(...rowMax))];
  return { bits: opts.bits, convention, granularity, kMin, kMax, steps };
}

export function alphabetFor(weight: Tensor, opts: AlphabetOptions): Alphabet {
  const convention = opts.convention ?? 'reference';
  const granularity = opts.granularity ?? 'layer';
  const C = opts.radiusFactor ?? DEFAULT_RADIUS_FACTOR;
  const p = opts.percentile ?? 1;
  const { kMin, kMax } = codeRange(opts.bits, convention);
  if (weight.ndim !== 2) {
    throw new LowbitError(`GPFQ alphabet: weight must be 2-D (N1 x N0, conv weights flattened per output channel), got shape [${weight.shape.join(', ')}]`);
  }
  if (!(C > 0) || !Number.isFinite(C)) throw new LowbitError(`GPFQ alphabet: radiusFactor (C) must be a positive number, got ${C}`);
  if (!(p > 0 && p <= 1)) throw new LowbitError(`GPFQ alphabet: percentile must be in (0, 1], got ${p}`);
  if (granularity !== 'layer' && granularity !== 'channel') {
    throw new LowbitError(`GPFQ alphabet: unknown granularity '${String(granularity)}': use 'layer' or 'channel'`);
  }
  // K = 2^(b-1) under either convention: 'signed' keeps the reference's step and drops its top level.
  const K = referenceGrid(opts.bits).qMax;
  const { radii, rowMax } = scope(() => {
    const a = weight.to('float64').abs();
    const r = p === 1 ? a.amax(1) : a.quantile(p, 1);
    return { radii: r.toArray(), rowMax: a.amax(1).toArray() };
  });
  const mean = radii.reduce((s, r) => s + r, 0) / radii.length;
  const stepOf = (r: number, what: string, nonzero: boolean): number => {
    if (r > 0) return (C * r) / K;
    // An all-zero row (or layer) gets codes 0 whatever the step: GPFQ's residual for it stays 0.
    if (!nonzero) return 1;
    throw new LowbitError(
      `GPFQ alphabet: the ${p}-quantile of |w| is 0 for ${what} though its weights are not all zero; ` +
        `raise percentile (1 uses the row max)`,
    );
  };
  const steps =
    granularity === 'layer'
      ? [stepOf(mean, 'the layer', rowMax.some((m) => m > 0))]
      : radii.map((r, i) => stepOf(r, `output neuron ${i}`, rowMax[i] > 0));
  return { bits: opts.bits, convention, granularity, kMin, kMax, steps };
}

/** Q on one number already divided by its step: the nearest code, ties toward +infinity. */
export function quantizeCode(zOverStep: number, kMin: number, kMax: number): number {
  const k = Math.floor(zOverStep + 0.5);
  return k < kMin ? kMin : k > kMax ? kMax : k;
}

/** The step(s) as a column (N1 x 1, or 1 x 1 for one layer step) in dtype, to broadcast over N1 x N0. */
export function stepColumn(alphabet: Alphabet, dtype: 'float32' | 'float64' = 'float64'): Tensor {
  return fromArray(Float64Array.from(alphabet.steps), [alphabet.steps.length, 1], { dtype });
}

/** The step(s) as the result's scale tensor: [1] per layer, [N1] per channel, float32. */
export function scaleTensor(alphabet: Alphabet): Tensor {
  return fromArray(Float32Array.from(alphabet.steps), [alphabet.steps.length]);
}

/**
 * Q applied to every entry of z (N1 x N0, or N1 x 1), row i using step i: int32 codes. Used as the
 * round-to-nearest (MSQ) baseline when z = W, and column by column by the reference solver.
 */
export function quantizeToCodes(z: Tensor, alphabet: Alphabet): Tensor {
  checkRows(z, alphabet);
  return scope(() => {
    const zs = alphabet.steps.length === 1 ? z.div(alphabet.steps[0]) : z.div(stepColumn(alphabet, dtypeOf(z)));
    return zs.add(0.5).floor().clamp(alphabet.kMin, alphabet.kMax).to('int32');
  });
}

/** codes * delta as float32 (N1 x N0): the weight the quantized layer computes with. */
export function dequantize(codes: Tensor, alphabet: Alphabet): Tensor {
  checkRows(codes, alphabet);
  return scope(() => codes.to('float64').mul(stepColumn(alphabet)).to('float32'));
}

function dtypeOf(t: Tensor): 'float32' | 'float64' {
  return t.dtype === 'float64' ? 'float64' : 'float32';
}

function checkRows(t: Tensor, alphabet: Alphabet): void {
  if (t.ndim !== 2) throw new LowbitError(`GPFQ alphabet: expected a 2-D tensor (N1 x N0), got shape [${t.shape.join(', ')}]`);
  const n = alphabet.steps.length;
  if (n !== 1 && n !== t.shape[0]) {
    throw new LowbitError(`GPFQ alphabet: ${n} per-channel steps but the tensor has ${t.shape[0]} rows; build the alphabet from this layer's weight`);
  }
}

/**
 * The one place where a bit width becomes an integer grid. PTQ's alphabets, the QAT quantizers, the
 * ONNX exporter and the report all ask here for [qMin, qMax], so "b bits" means the same codes
 * everywhere, and the accepted range of widths is checked once.
 */
import { LowbitError } from '../errors.ts';

/** A bit width meaning "not quantized: keep floating point" (activations, first/last layers). */
export const FLOAT_BITS = 32;
/** Narrowest and widest integer grids lowbit quantizes to. */
export const MIN_BITS = 2;
export const MAX_BITS = 8;

export function isFloatBits(bits: number): boolean {
  return bits === FLOAT_BITS;
}

/**
 * What is wrong with a bit width, or null when it is valid: an integer in MIN_BITS..MAX_BITS, or
 * FLOAT_BITS where floating point is allowed. Callers put the message behind their own name for the
 * value (a CLI flag, a config field), so the user reads the name they wrote.
 */
export function bitsProblem(bits: number, opts: { allowFloat?: boolean } = {}): string | null {
  if (Number.isInteger(bits) && bits >= MIN_BITS && bits <= MAX_BITS) return null;
  if (opts.allowFloat && bits === FLOAT_BITS) return null;
  return `${bits} bits is not supported: choose ${MIN_BITS} to ${MAX_BITS}${opts.allowFloat ? ` (or ${FLOAT_BITS} for floating point)` : ''}`;
}

/** Throws a LowbitError naming `what` (a library argument such as 'QuantConfig.weight.bits') when bits is invalid. */
export function checkBits(bits: number, what: string, opts: { allowFloat?: boolean } = {}): number {
  const problem = bitsProblem(bits, opts);
  if (problem !== null) throw new LowbitError(`${what}: ${problem}`);
  return bits;
}

export interface IntGridSpec {
  bits: number;
  /** Signed codes around zero (weights) or unsigned from zero (activations after ReLU). */
  signed: boolean;
  /**
   * Signed only: drop the most negative code so the grid is symmetric, [-(2^(b-1)-1), 2^(b-1)-1]
   * (2^b - 1 levels), as symmetric weight quantizers do.
   */
  narrow?: boolean;
}

export interface IntGrid {
  bits: number;
  signed: boolean;
  narrow: boolean;
  qMin: number;
  qMax: number;
  /** Codes are qMin, qMin + codeStep, ..., qMax: 1 for the ordinary grids, 2 for the zero-free oddGrid. */
  codeStep: 1 | 2;
  /** Number of codes, (qMax - qMin) / codeStep + 1 (qMax - qMin + 1 for every grid but oddGrid). */
  levels: number;
}

function checkGridBits(bits: number, where: string): void {
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 32)) throw new LowbitError(`${where}: bits must be an integer in 1..32, got ${bits}`);
}

/** The integer codes of a b-bit grid: unsigned [0, 2^b-1]; signed [-2^(b-1), 2^(b-1)-1], narrow from -(2^(b-1)-1). */
export function intGrid(spec: IntGridSpec): IntGrid {
  const { bits, signed } = spec;
  checkGridBits(bits, 'intGrid');
  const narrow = signed && Boolean(spec.narrow);
  const qMin = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const qMax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return { bits, signed, narrow, qMin, qMax, codeStep: 1, levels: qMax - qMin + 1 };
}

/**
 * The zero-free symmetric grid of SAWB and DoReFa weights: 2^b levels at the odd codes
 * -(2^b-1), ..., -1, 1, ..., 2^b-1 (codeStep 2; at 2 bits -3, -1, 1, 3). With n = 2^b - 1 = qMax, a
 * level is code * alpha / n. Level index (code - qMin) / 2 is the b-bit number a packed format stores.
 */
export function oddGrid(bits: number): IntGrid {
  checkGridBits(bits, 'oddGrid');
  const n = 2 ** bits - 1;
  return { bits, signed: true, narrow: false, qMin: -n, qMax: n, codeStep: 2, levels: n + 1 };
}

/**
 * The GPFQ reference code's "b-bit" alphabet: [-2^(b-1), 2^(b-1)], 2^b + 1 levels including 0 (its
 * "2-bit" alphabet has 5 levels). One level more than b bits can store; kept to compare like with like
 * with the GPFQ paper and its code (see src/ptq/alphabet.ts). Its qMax, 2^(b-1), is the K of GPFQ's
 * step rule for either convention.
 */
export function referenceGrid(bits: number): IntGrid {
  checkGridBits(bits, 'referenceGrid');
  const K = 2 ** (bits - 1);
  return { bits, signed: true, narrow: false, qMin: -K, qMax: K, codeStep: 1, levels: 2 * K + 1 };
}

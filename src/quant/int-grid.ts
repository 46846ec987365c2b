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
  /** Number of codes, qMax - qMin + 1. */
  levels: number;
}

/** The integer codes of a b-bit grid: unsigned [0, 2^b-1]; signed [-2^(b-1), 2^(b-1)-1], narrow from -(2^(b-1)-1). */
export function intGrid(spec: IntGridSpec): IntGrid {
  const { bits, signed } = spec;
  if (!(Number.isInteger(bits) && bits >= 1 && bits <= 32)) throw new LowbitError(`intGrid: bits must be an integer in 1..32, got ${bits}`);
  const narrow = signed && Boolean(spec.narrow);
  const qMin = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
  const qMax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return { bits, signed, narrow, qMin, qMax, levels: qMax - qMin + 1 };
}

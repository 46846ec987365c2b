/**
 * What a GPFQ layer solver returns, whichever solver ran: the integer codes (what export stores), the
 * step(s) that scale them, and the dequantized weight the quantized network computes with.
 */
import type { Tensor } from '../tensor/index.ts';
import type { Alphabet } from './alphabet.ts';

export interface GpfqResult {
  /** int32, N1 x N0, every entry in [alphabet.kMin, alphabet.kMax]. */
  codes: Tensor;
  /** float32 step(s) delta: shape [1] (one per layer) or [N1] (one per output neuron). */
  scales: Tensor;
  /** float32, N1 x N0: codes * delta, row i using its step. */
  weight: Tensor;
  alphabet: Alphabet;
  /**
   * The layer's output error on the calibration data, ||X W' - X~ Q'||_F with Q the dequantized weight
   * (the reference code's "quantize_error"), and that divided by ||X W'||_F. The reference solver always
   * has it; the Gram solver only when X'X was accumulated too.
   */
  error?: number;
  relativeError?: number;
  /** Reference solver, on request: the final residuals U (N1 x m), row i = X w_i - X~ q_i. */
  residual?: Tensor;
}

/** Frees every tensor a result holds. */
export function disposeGpfqResult(r: GpfqResult): void {
  r.codes.dispose();
  r.scales.dispose();
  r.weight.dispose();
  r.residual?.dispose();
}

/**
 * NaN / Inf weights refused where a model is loaded for evaluation, PTQ or export: a diverged run's
 * checkpoint otherwise evaluates at 10% (chance), "quantizes" with a 0.00 pp drop (NaN compares false)
 * and exports NaN into the ONNX file, all with exit code 0.
 */
import { LowbitError } from '../errors.ts';
import { scope, type Tensor } from '../tensor/index.ts';

/**
 * Throws a LowbitError naming the first tensor (in the given order) that holds NaN or +-Inf, with
 * counts and the fix. Integer and bool tensors are finite by construction and skipped.
 */
export function checkFinite(tensors: Iterable<[string, Tensor]>, source: string): void {
  for (const [name, t] of tensors) {
    if (!(t.dtype === 'float32' || t.dtype === 'float64' || t.dtype === 'float16' || t.dtype === 'bfloat16')) continue;
    const bad = scope(() => {
      const finite = t.detach().isfinite();
      if (finite.all().item()) return null;
      const nan = t.detach().isnan().sum().item();
      const all = t.numel;
      return { nan, inf: all - Number(finite.sum().item()) - nan, all };
    });
    if (bad !== null) {
      const what = [bad.nan > 0 ? `${bad.nan} NaN` : '', bad.inf > 0 ? `${bad.inf} infinite` : ''].filter(Boolean).join(' and ');
      throw new LowbitError(
        `${source}: tensor '${name}' holds ${what} value(s) of ${bad.all}; the training diverged or the file is corrupt. ` +
          'Use an earlier checkpoint, or retrain with a lower learning rate',
      );
    }
  }
}

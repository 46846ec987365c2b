import { LowbitError } from '../errors.ts';
import { noGrad, scope, stack, type Tensor } from '../tensor/index.ts';

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of scaling the gradients by it. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` in place so that their joint norm is at most maxNorm, as
 * torch.nn.utils.clip_grad_norm_: the total norm is the normType-norm of the per-tensor norms
 * (Infinity: the largest |g|), and every gradient is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Parameters without a gradient are ignored. Returns the total norm before clipping.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): number {
  if (!(maxNorm >= 0)) throw new LowbitError(`clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new LowbitError(`clipGradNorm: normType must be > 0 (or Infinity), got ${normType}`);
  return noGrad(() =>
    scope(() => {
      const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      let norms = grads.map((g) => (normType === Infinity ? g.abs().amax() : g.norm(normType)));
      // stack() needs one dtype; mixed-precision gradients are compared in float64.
      if (new Set(norms.map((n) => n.dtype)).size > 1) norms = norms.map((n) => n.to('float64'));
      const stacked = stack(norms);
      const total = (normType === Infinity ? stacked.amax() : stacked.norm(normType)).item();
      if (!Number.isFinite(total) && opts.errorIfNonfinite) {
        throw new LowbitError(
          `clipGradNorm: the total ${normType}-norm of the gradients is ${total}; the loss diverged or a gradient overflowed ` +
            '(lower the learning rate, or check the inputs for NaN)',
        );
      }
      const clipCoef = Math.min(maxNorm / (total + 1e-6), 1);
      for (const g of grads) g.mul_(clipCoef);
      return total;
    }),
  );
}

/** Clamps every gradient of `params` in place to [-clipValue, clipValue], as torch.nn.utils.clip_grad_value_. */
export function clipGradValue(params: Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new LowbitError(`clipGradValue: clipValue must be >= 0, got ${clipValue}`);
  noGrad(() =>
    scope(() => {
      for (const p of params) p.grad?.clamp_(-clipValue, clipValue);
    }),
  );
}

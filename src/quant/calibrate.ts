import { LowbitError } from '../errors.ts';
import type { Module } from '../nn/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import { Quantizer } from './quantizer.ts';
import { UniformQuantizer } from './uniform-quantizer.ts';

/**
 * Sets the activation ranges of a converted model from data: the model runs in eval mode (BatchNorm
 * uses its running statistics, dropout is off) while its quantizers run in training mode, so the
 * running-range (uniform) activation quantizers average the per-batch ranges and LSQ steps that were
 * never set are initialized. No gradients, no parameter changes. Returns the number of batches.
 *
 * reset (default true) clears earlier running ranges first, so the result depends on these batches only.
 * Batches may be tensors or objects with `images` (a data loader's Batch); the caller keeps ownership.
 */
export function calibrateActivations(model: Module, batches: Iterable<Tensor | { images: Tensor }>, opts: { reset?: boolean } = {}): number {
  const modes = new Map(model.modules().map((m) => [m, m.training] as const));
  const quantizers = model.modules().filter((m): m is Quantizer => m instanceof Quantizer);
  if (opts.reset ?? true) for (const q of quantizers) if (q instanceof UniformQuantizer) q.resetRunningRange();
  model.eval();
  for (const q of quantizers) q.training = true;
  let count = 0;
  try {
    for (const batch of batches) {
      const x = 'images' in batch ? batch.images : batch;
      scope(() => noGrad(() => model.call(x)));
      count++;
    }
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
  if (count === 0) throw new LowbitError('calibrateActivations: no batches were given; pass at least one batch of inputs');
  return count;
}

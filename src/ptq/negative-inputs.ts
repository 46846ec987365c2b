/**
 * Layers whose quantized input goes negative. PTQ's activation grid is unsigned (codes 0..2^b - 1, as
 * after a ReLU), which is right for the ReLU networks of the zoo. An imported graph may feed a layer
 * values of both signs (MobileNetV2's linear bottlenecks, a residual sum without a ReLU after it), and
 * the grid clips the negative half to 0 with no error. This measures how much is clipped, so the run
 * can say which layers lose it.
 */
import type { Module } from '../nn/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import { Quantizer } from '../quant/index.ts';

export interface NegativeInput {
  /** The quantized layer (its input quantizer's owner). */
  layer: string;
  /** Share of the input's values below 0 on the batch measured. */
  negativeShare: number;
  /** The smallest input value seen. */
  min: number;
}

/** Shares below this are noise (a stray value of an otherwise post-ReLU input); not reported. */
export const NEGATIVE_SHARE_REPORTED = 0.01;

/**
 * Runs `images` through `model` (eval mode, no gradients) and returns the layers whose unsigned input
 * quantizer sees more than NEGATIVE_SHARE_REPORTED of its values below 0.
 */
export function negativeInputs(model: Module, images: Tensor): NegativeInput[] {
  const found: NegativeInput[] = [];
  const handles = [];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Quantizer) || m.signed || !name.endsWith('.inputQuantizer')) continue;
    const layer = name.slice(0, -'.inputQuantizer'.length);
    handles.push(
      m.registerForwardPreHook((_, x) => {
        const negativeShare = x.lt(0).float().mean().item();
        if (negativeShare > NEGATIVE_SHARE_REPORTED) found.push({ layer, negativeShare, min: x.min().item() });
      }),
    );
  }
  const modes = new Map(model.modules().map((m) => [m, m.training] as const));
  try {
    model.eval();
    scope(() => noGrad(() => model.call(images)));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, training] of modes) m.training = training;
  }
  return found;
}

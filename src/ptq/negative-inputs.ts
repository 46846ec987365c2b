/**
 * Layers whose quantized input goes negative. PTQ's activation grid is unsigned (codes 0..2^b - 1, as
 * after a ReLU), which is right for the ReLU networks of the zoo. An imported graph may feed a layer
 * values of both signs (MobileNetV2's linear bottlenecks, a residual sum without a ReLU after it), and
 * the grid clips the negative half to 0 with no error. This measures how much is clipped, so the run
 * can say which layers lose it.
 */
import type { Module } from '../nn/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import { QuantConv2d, QuantLinear } from '../quant/index.ts';

export interface NegativeInput {
  /** The quantized layer (its input quantizer's owner). */
  layer: string;
  /** Share of the input's values below minus half a grid step (clipped to code 0 where a signed grid would not round them to 0). */
  negativeShare: number;
  /** The smallest input value seen. */
  min: number;
}

/** Shares below this are noise (a stray value of an otherwise post-ReLU input); not reported. */
export const NEGATIVE_SHARE_REPORTED = 0.01;

/**
 * Runs `images` through `model` (eval mode, no gradients) and returns the layers whose unsigned input
 * quantizer sees more than NEGATIVE_SHARE_REPORTED of its values below minus half a grid step (the
 * grid's step taken from the batch's maximum, as the calibrated range is).
 */
export function negativeInputs(model: Module, images: Tensor): NegativeInput[] {
  const found: NegativeInput[] = [];
  const handles = [];
  for (const [layer, m] of model.namedModules()) {
    const q = m instanceof QuantConv2d || m instanceof QuantLinear ? m.inputQuantizer : null;
    if (q === null || q.signed) continue;
    handles.push(
      q.registerForwardPreHook((_, x) => {
        // Values within half a grid step of 0 round to code 0 either way; only those below lose anything.
        const halfStep = (0.5 * Math.max(x.max().item(), 0)) / (2 ** q.bits - 1);
        const negativeShare = x.lt(-halfStep).float().mean().item();
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

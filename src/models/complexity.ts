import { addForwardHook, Conv2d, Linear, type Module } from '../nn/index.ts';
import { noGrad, scope, zeros } from '../tensor/index.ts';

export interface LayerComplexity {
  name: string;
  kind: 'conv' | 'linear';
  /** Multiply-accumulates for one input sample (bias adds not counted). */
  macs: number;
  params: number;
  inputShape: number[];
  outputShape: number[];
}

export interface Complexity {
  layers: LayerComplexity[];
  /** Sum over conv and linear layers; "FLOPs" in the quantization literature usually means these MACs. */
  macs: number;
  /** Every trainable scalar of the model (conv, linear, BN). */
  params: number;
}

/**
 * Counts per-layer MACs and parameters by running one zero sample through the model and recording
 * every Conv2d and Linear it calls, so any architecture (and any channel widths) is measured the same way.
 */
export function complexity(model: Module, inputShape: [number, number, number]): Complexity {
  const names = new Map<Module, string>();
  for (const [n, m] of model.namedModules()) names.set(m, n);
  const layers: LayerComplexity[] = [];
  const remove = addForwardHook((m, input, output) => {
    if (m instanceof Conv2d) {
      const [, , oh, ow] = output.shape;
      const [kh, kw] = m.kernelSize;
      layers.push({
        name: names.get(m) ?? '?',
        kind: 'conv',
        macs: oh * ow * m.outChannels * (m.inChannels / m.groups) * kh * kw,
        params: m.weight.numel + (m.bias?.numel ?? 0),
        inputShape: input.shape.slice(1),
        outputShape: output.shape.slice(1),
      });
    } else if (m instanceof Linear) {
      layers.push({
        name: names.get(m) ?? '?',
        kind: 'linear',
        macs: m.inFeatures * m.outFeatures,
        params: m.weight.numel + (m.bias?.numel ?? 0),
        inputShape: input.shape.slice(1),
        outputShape: output.shape.slice(1),
      });
    }
  });
  // Each module's own mode is restored: a model may be training with some BN layers frozen in eval.
  const modes = model.modules().map((m) => [m, m.training] as const);
  try {
    model.eval();
    scope(() => noGrad(() => model.call(zeros([1, ...inputShape]))));
  } finally {
    remove();
    for (const [m, training] of modes) m.training = training;
  }
  return {
    layers,
    macs: layers.reduce((a, l) => a + l.macs, 0),
    params: model.numParameters(),
  };
}

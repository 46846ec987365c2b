import { Conv2d, Linear, type Module, type RemovableHandle } from '../nn/index.ts';
import { noGrad, scope, zeros, type Tensor } from '../tensor/index.ts';

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
  const layers: LayerComplexity[] = [];
  const record = (name: string, m: Conv2d | Linear, input: Tensor, output: Tensor): void => {
    if (m instanceof Conv2d) {
      const [, , oh, ow] = output.shape;
      const [kh, kw] = m.kernelSize;
      layers.push({
        name,
        kind: 'conv',
        macs: oh * ow * m.outChannels * (m.inChannels / m.groups) * kh * kw,
        params: m.weight.numel + (m.bias?.numel ?? 0),
        inputShape: input.shape.slice(1),
        outputShape: output.shape.slice(1),
      });
    } else {
      layers.push({
        name,
        kind: 'linear',
        macs: m.inFeatures * m.outFeatures,
        params: m.weight.numel + (m.bias?.numel ?? 0),
        inputShape: input.shape.slice(1),
        outputShape: output.shape.slice(1),
      });
    }
  };
  // One hook per layer records it each time it runs, so the list is in forward order (a module
  // registered under two names is hooked once, under its last name).
  const named = new Map<Conv2d | Linear, string>();
  for (const [name, m] of model.namedModules()) if (m instanceof Conv2d || m instanceof Linear) named.set(m, name);
  const handles: RemovableHandle[] = [...named].map(([layer, name]) => layer.registerForwardHook((_m, input, output) => record(name, layer, input, output)));
  // Each module's own mode is restored: a model may be training with some BN layers frozen in eval.
  const modes = model.modules().map((m) => [m, m.training] as const);
  try {
    model.eval();
    scope(() => noGrad(() => model.call(zeros([1, ...inputShape]))));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, training] of modes) m.training = training;
  }
  return {
    layers,
    macs: layers.reduce((a, l) => a + l.macs, 0),
    params: model.numParameters(),
  };
}

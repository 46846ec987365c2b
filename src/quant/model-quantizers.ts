import type { Module } from '../nn/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { Quantizer, type QuantizerKind } from './quantizer.ts';

/** Every quantizer in a model with its dotted name ('layers.0.conv1.inputQuantizer'). */
export function namedQuantizers(model: Module): [string, Quantizer][] {
  return [...model.namedModules()].filter((e): e is [string, Quantizer] => e[1] instanceof Quantizer);
}

/**
 * The learned quantization parameters (PACT alphas, LSQ steps), optionally of one kind only, for an
 * optimizer group of their own: PACT's L2 penalty on alpha is weight decay on
 * quantizerParameters(model, 'pact'), and LSQ steps usually get no weight decay.
 */
export function quantizerParameters(model: Module, kind?: QuantizerKind): Tensor[] {
  return namedQuantizers(model)
    .filter(([, q]) => kind === undefined || q.kind === kind)
    .flatMap(([, q]) => q.parameters());
}

/**
 * The model's parameters that are not quantizer parameters (weights, biases, BN affine), so that
 * `[...nonQuantizerParameters(m), ...quantizerParameters(m)]` covers every parameter exactly once.
 */
export function nonQuantizerParameters(model: Module): Tensor[] {
  const own = new Set(quantizerParameters(model));
  return model.parameters().filter((p) => !own.has(p));
}

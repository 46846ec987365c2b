/**
 * NCE's channel expansion (Park et al. 2022, sec. 3): "the search parameter associated with the maximum
 * number of channels enables channel expansion for each layer when it exceeds the channel preference
 * threshold T". Here: once per epoch, after that epoch's architecture steps, every layer whose
 * probability on its largest candidate exceeds T moves one level up its ladder of maxima (candidates.ts;
 * default M <- round(1.25 M), capped at E x the original width). Its logits are carried over by
 * remapLogits (each new candidate inherits the logit of the nearest old width, the mass shared among
 * heirs), and so are the Adam moments of those logits, so the architecture optimizer continues from a
 * consistent state instead of restarting that layer.
 */
import { LowbitError } from '../errors.ts';
import type { Optimizer } from '../optim/index.ts';
import { fromArray, noGrad, scope, type Tensor } from '../tensor/index.ts';
import { remapLogits } from './candidates.ts';
import type { Supernet } from './supernet-base.ts';

export interface ExpansionEvent {
  layer: number;
  /** Probability of the largest candidate that triggered the expansion. */
  probability: number;
  fromMax: number;
  toMax: number;
}

/** Raises the maximum of every layer whose largest candidate's probability exceeds `threshold`. */
export function expandLayers(net: Supernet, threshold: number, archOptimizer?: Optimizer): ExpansionEvent[] {
  if (!(threshold > 0 && threshold < 1)) throw new LowbitError(`expansion threshold must be in (0, 1), got ${threshold}`);
  const events: ExpansionEvent[] = [];
  const optimState = archOptimizer ? archOptimizer.stateDict() : null;
  const archParams = net.archParameters();
  net.layers.forEach((layer, i) => {
    if (!layer.canExpand) return;
    const p = layer.probabilities();
    const oldWidths = layer.candidates();
    const top = p[oldWidths.indexOf(Math.max(...oldWidths))];
    if (!(top > threshold)) return;
    const fromMax = layer.maxWidth;
    layer.level += 1;
    const { logits, source } = remapLogits(layer.widthLogits.toArray(), oldWidths, layer.candidates());
    scope(() =>
      noGrad(() => {
        layer.widthLogits.copy_(fromArray(Float32Array.from(logits)).to(layer.widthLogits.dtype));
        if (optimState) {
          // The optimizer's state tensors, keyed by the parameter's index over its groups.
          const index = archParameterIndex(archOptimizer!, archParams[i]);
          const gather = fromArray(BigInt64Array.from(source.map(BigInt)));
          for (const [key, t] of Object.entries(optimState.state)) {
            if (key.startsWith(`state.${index}.`)) remapInPlace(t, gather);
          }
        }
      }),
    );
    events.push({ layer: i, probability: top, fromMax, toMax: layer.maxWidth });
  });
  return events;
}

function archParameterIndex(optimizer: Optimizer, p: Tensor): number {
  let index = 0;
  for (const g of optimizer.paramGroups) {
    for (const q of g.params) {
      if (q === p) return index;
      index++;
    }
  }
  throw new LowbitError('expandLayers: the architecture optimizer does not hold this layer\'s logits');
}

function remapInPlace(t: Tensor, gather: Tensor): void {
  t.copy_(t.indexSelect(0, gather));
}

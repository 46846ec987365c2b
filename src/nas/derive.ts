/**
 * Deriving the searched network (TAS: "the maximum probability for the size in each distribution
 * serves as the width"): the argmax width of every searchable conv becomes the zoo model's
 * ModelConfig.widths, with its MACs and params measured by complexity() against the original network.
 */
import { complexity, createModel, type ModelConfig } from '../models/index.ts';
import type { Supernet } from './supernet-base.ts';

export interface LayerWidthChange {
  layer: number;
  original: number;
  searched: number;
}

export interface DerivedNetwork {
  modelConfig: ModelConfig;
  widths: number[];
  originalWidths: number[];
  macs: number;
  params: number;
  originalMacs: number;
  originalParams: number;
  flopsRatio: number;
  paramsRatio: number;
  grew: LayerWidthChange[];
  shrank: LayerWidthChange[];
}

/** The plain network the search chose, measured by running it (complexity()), not by the search's cost model. */
export function deriveNetwork(net: Supernet): DerivedNetwork {
  const widths = net.argmaxWidths();
  return describeWidths(net.config.model, net.config, widths, net.originalWidths());
}

export function describeWidths(
  model: string,
  shape: { inChannels: number; numClasses: number; inputSize: [number, number] },
  widths: number[],
  originalWidths: number[],
): DerivedNetwork {
  const base = { name: model, inChannels: shape.inChannels, numClasses: shape.numClasses, inputSize: shape.inputSize };
  const modelConfig: ModelConfig = { ...base, widths };
  const measure = (cfg: ModelConfig) => {
    const m = createModel(cfg);
    try {
      return complexity(m, [cfg.inChannels, ...cfg.inputSize]);
    } finally {
      m.dispose();
    }
  };
  const derived = measure(modelConfig);
  const original = measure({ ...base, widths: originalWidths });
  const changes = widths.map((w, layer) => ({ layer, original: originalWidths[layer], searched: w }));
  return {
    modelConfig,
    widths,
    originalWidths,
    macs: derived.macs,
    params: derived.params,
    originalMacs: original.macs,
    originalParams: original.params,
    flopsRatio: derived.macs / original.macs,
    paramsRatio: derived.params / original.params,
    grew: changes.filter((c) => c.searched > c.original),
    shrank: changes.filter((c) => c.searched < c.original),
  };
}

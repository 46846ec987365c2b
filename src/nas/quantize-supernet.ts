/**
 * How the supernet is quantized: through quantizeModel and the converter registry, like any model. Each
 * searchable layer kind registers a converter that fills its quantizer slots in place (the layer keeps
 * its sliced weight, per-width BNs and logits), so the supernet gets the same per-role rules as the
 * zoo: body layers config.weight / config.act, the first layer (the stem) and the last (the classifier)
 * firstLast.bits, the data entering the first layer unquantized. A layer's activation quantizer acts on
 * its input, as in QuantConv2d, so the searched network and the retrained derived network are quantized
 * at the same points.
 */
import { createLayerQuantizers, registerQuantConverter } from '../quant/index.ts';
import type { SearchLayer } from './search-layer.ts';
import { ProjectionShortcut, SearchClassifier } from './search-layers.ts';
import { SearchableConv } from './searchable-conv.ts';

function fillQuantizers<L extends SearchLayer>(layer: L, spec: Parameters<typeof createLayerQuantizers>[0]): L {
  layer.attachQuantizers(createLayerQuantizers(spec, layer.outChannelsMax));
  return layer;
}

registerQuantConverter(SearchableConv, fillQuantizers);
registerQuantConverter(ProjectionShortcut, fillQuantizers);
registerQuantConverter(SearchClassifier, fillQuantizers);

/**
 * What every layer of the supernet shares for quantization: two quantizer slots, empty in a float
 * supernet and filled by the layer's converter (quantize-supernet.ts) when quantizeModel converts the
 * supernet, and the quantized forward of a weight slice. A searchable layer slices its weight to the
 * widths in use at every forward, so the weight quantizer is applied to the slice (SAWB's clip level
 * then comes from the weights this forward actually uses), not to the whole allocated tensor.
 */
import { Module } from '../nn/index.ts';
import type { Quantizer } from '../quant/index.ts';
import type { Tensor } from '../tensor/index.ts';

export abstract class SearchLayer extends Module {
  weightQuantizer: Quantizer | null = null;
  inputQuantizer: Quantizer | null = null;

  /** Rows of the allocated weight: the most output channels the layer can ever have. */
  abstract get outChannelsMax(): number;

  /** Registers the quantizers as children 'weightQuantizer' and 'inputQuantizer' (once, by the converter). */
  attachQuantizers(q: { weightQuantizer: Quantizer; inputQuantizer: Quantizer | null }): void {
    this.weightQuantizer = this.registerModule('weightQuantizer', q.weightQuantizer);
    this.inputQuantizer = q.inputQuantizer ? this.registerModule('inputQuantizer', q.inputQuantizer) : null;
  }

  /** The layer's input and its weight slice, each through its quantizer when it has one. */
  protected quantized(x: Tensor, weightSlice: Tensor): [Tensor, Tensor] {
    return [this.inputQuantizer ? this.inputQuantizer.call(x) : x, this.weightQuantizer ? this.weightQuantizer.call(weightSlice) : weightSlice];
  }
}

/**
 * The plumbing every quantized layer shares, in one piece: a weight quantizer applied to the layer's
 * float weight at every forward, an optional input (activation) quantizer applied to its input, both
 * registered as children 'weightQuantizer' and 'inputQuantizer' (so their learned parameters are saved
 * as 'conv1.weightQuantizer.step', 'conv1.inputQuantizer.alpha'), and the export of the weight as
 * integer codes. QuantConv2d and QuantLinear are this mixin over Conv2d and Linear; a new layer kind
 * (a searchable conv) gets the same by extending `WithLayerQuantizers(ItsFloatClass)` and registering a
 * converter (see quant-converters.ts) that builds it with `createLayerQuantizers(spec, outChannels)`.
 */
import type { Module } from '../nn/index.ts';
import type { Tensor } from '../tensor/index.ts';
import { createActQuantizer, createWeightQuantizer } from './create-quantizer.ts';
import type { LayerQuantSpec } from './quant-config.ts';
import type { QuantizedTensor, Quantizer } from './quantizer.ts';

export interface QuantLayerOptions {
  /** Applied to the weight at every forward; registered as the child 'weightQuantizer'. */
  weightQuantizer: Quantizer;
  /** Applied to the layer's input (an activation quantizer); registered as 'inputQuantizer'. */
  inputQuantizer?: Quantizer | null;
}

/** The quantizers of one layer from its spec; `outChannels` sizes per-channel weight scales. */
export function createLayerQuantizers(spec: LayerQuantSpec, outChannels: number): { weightQuantizer: Quantizer; inputQuantizer: Quantizer | null } {
  return {
    weightQuantizer: createWeightQuantizer(spec.weight, outChannels),
    inputQuantizer: spec.act ? createActQuantizer(spec.act) : null,
  };
}

/** What every quantized layer offers (the exporter and the report read these). */
export interface QuantLayer extends Module {
  readonly weight: Tensor;
  readonly weightQuantizer: Quantizer;
  readonly inputQuantizer: Quantizer | null;
  /** The weight as integer codes and scale(s), for export. */
  quantizedWeight(): QuantizedTensor;
}

/** A float layer class with a `weight` (Conv2d, Linear, or a subclass); a mixin's base takes any arguments. */
type WeightedLayerClass = abstract new (...args: any[]) => Module & { weight: Tensor };

/**
 * Mixes the quantizer plumbing into a float layer class. The subclass's constructor calls
 * attachQuantizers(opts) once after super(); its forward computes the float layer's math on
 * quantizeInput(x) and quantizeWeight().
 */
/**
 * What the mixin adds. Spelled out as the mixin's return type so that declaration files (npm run build)
 * need not describe the anonymous class, which they cannot where its base has protected members.
 */
export interface LayerQuantizerMembers extends QuantLayer {
  /** Registers the quantizers; the subclass's constructor calls it once after super(). */
  attachQuantizers(opts: QuantLayerOptions): void;
  quantizeInput(x: Tensor): Tensor;
  quantizeWeight(): Tensor;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function WithLayerQuantizers<TBase extends WeightedLayerClass>(Base: TBase): TBase & (abstract new (...args: any[]) => LayerQuantizerMembers) {
  abstract class LayerWithQuantizers extends Base implements QuantLayer {
    /** Set once by attachQuantizers() in the constructor. */
    weightQuantizer!: Quantizer;
    inputQuantizer: Quantizer | null = null;

    /** Registers the quantizers as children (weight first, as the state dict has always listed them). */
    attachQuantizers(opts: QuantLayerOptions): void {
      this.weightQuantizer = this.registerModule('weightQuantizer', opts.weightQuantizer);
      this.inputQuantizer = opts.inputQuantizer ? this.registerModule('inputQuantizer', opts.inputQuantizer) : null;
    }

    /** The layer input through the input quantizer, or as it is when the input stays float. */
    quantizeInput(x: Tensor): Tensor {
      return this.inputQuantizer ? this.inputQuantizer.call(x) : x;
    }

    /** The fake-quantized weight (gradients per the quantizer's estimator). */
    quantizeWeight(): Tensor {
      return this.weightQuantizer.call(this.weight);
    }

    /** The weight as integer codes and scale(s), for export. */
    quantizedWeight(): QuantizedTensor {
      return this.weightQuantizer.export(this.weight);
    }

    override describe(): string {
      return `Quant${super.describe()}`;
    }
  }
  return LayerWithQuantizers;
}

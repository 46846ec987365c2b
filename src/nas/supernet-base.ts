/**
 * What the search, the cost model, the expansion step and the derivation need from a supernet, whatever
 * its topology (ResNet: supernet.ts, VGG-small: search-vgg.ts): its searchable convs in the order of the
 * zoo model's ModelConfig.widths, the cost terms between them, and the architecture/weight parameter split.
 */
import { LowbitError } from '../errors.ts';
import { Module } from '../nn/index.ts';
import type { QuantConfig } from '../quant/index.ts';
import type { Generator, Tensor } from '../tensor/index.ts';
import type { ConvCostCoefficients } from './cost.ts';
import { sampleTwo } from './gumbel.ts';
import type { SearchableConv, SearchMode } from './searchable-conv.ts';

/** One term of the cost model: a conv (or the classifier) between two width sources. */
export interface CostTerm {
  name: string;
  coefficients: ConvCostCoefficients;
  /** Index of the searchable conv whose width is the input width, or a fixed width. */
  input: { layer: number } | { fixed: number };
  output: { layer: number } | { fixed: number };
  /** 'differ': the layer exists only when input and output widths differ (an option-B shortcut). */
  when: 'always' | 'differ';
}

export interface SupernetConfig {
  /** Zoo model the search starts from: resnet20, resnet32, resnet56, resnet18 or vgg-small. */
  model: string;
  inChannels: number;
  numClasses: number;
  inputSize: [number, number];
  /** E: the largest width a layer may reach, as a multiple of its original width (1: no expansion). */
  expansionLimit: number;
  /** Factor of one expansion step of a layer's maximum. */
  growth: number;
  ratios?: number[];
  /** Quantization of the supernet during the search; null searches in floating point. */
  quant: QuantConfig | null;
}

export abstract class Supernet extends Module {
  abstract readonly config: SupernetConfig;
  /** Every searchable conv in the order of the zoo's ModelConfig.widths. */
  abstract readonly layers: SearchableConv[];
  abstract readonly costTerms: CostTerm[];

  /** Copies a trained float zoo model of the original widths into the supernet's first slices (see init-from-float.ts). */
  abstract initFromFloat(model: Module): void;

  /** The original network's widths (the zoo default), in ModelConfig.widths order. */
  originalWidths(): number[] {
    return this.layers.map((l) => l.original);
  }

  /** The architecture parameters (one logit vector per searchable conv), for the Adam of the arch step. */
  archParameters(): Tensor[] {
    return this.layers.map((l) => l.widthLogits);
  }

  /** Every other parameter (weights, BN, quantizer clip levels), for the SGD of the weight step. */
  weightParameters(): Tensor[] {
    const arch = new Set(this.archParameters());
    return this.parameters().filter((p) => !arch.has(p));
  }

  setMode(mode: SearchMode): void {
    for (const l of this.layers) {
      l.mode = mode;
      if (mode === 'argmax') l.selection = null;
    }
  }

  /**
   * Samples a candidate pair for every searchable conv (TAS select2withP) and switches to search mode.
   * The pair weights are tensors of the caller's scope: sample inside the step's scope, then forward.
   */
  sample(tau: number, generator: Generator): void {
    for (const l of this.layers) {
      l.selection = sampleTwo(l.widthLogits, tau, generator);
      l.mode = 'search';
    }
  }

  /** Widths of the most probable candidates: the derived network's ModelConfig.widths. */
  argmaxWidths(): number[] {
    return this.layers.map((l) => l.argmaxWidth());
  }

  /** Current maximum M_l of every layer. */
  maxWidths(): number[] {
    return this.layers.map((l) => l.maxWidth);
  }

  /** Expansion levels of every layer (what a checkpoint records to rebuild the candidate sets). */
  levels(): number[] {
    return this.layers.map((l) => l.level);
  }

  setLevels(levels: number[]): void {
    if (levels.length !== this.layers.length) throw new LowbitError(`setLevels: ${levels.length} levels for ${this.layers.length} layers`);
    levels.forEach((v, i) => {
      const l = this.layers[i];
      if (!(Number.isInteger(v) && v >= 0 && v < l.levels.length)) throw new LowbitError(`setLevels: layer ${i} has levels 0..${l.levels.length - 1}, got ${v}`);
      l.level = v;
    });
  }
}

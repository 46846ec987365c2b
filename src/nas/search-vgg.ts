/**
 * The searchable VGG-small (NCE's CIFAR-10 network, src/models/vgg-small.ts): its six 3x3 convs are
 * SearchableConvs (each with its BN per candidate width and ReLU), a 2x2 max pool after every second,
 * then the classifier over the flattened last feature map, whose input width follows the last conv's.
 * A plain chain: no shortcut, so every term of the cost model is one conv between two searched widths.
 */
import { LowbitError } from '../errors.ts';
import { BatchNorm2d, Conv2d, Linear, type Module } from '../nn/index.ts';
import { quantizeModel } from '../quant/index.ts';
import { F, type Generator, type Tensor } from '../tensor/index.ts';
import { TAS_RATIOS, widthLevels } from './candidates.ts';
import { convCostCoefficients } from './cost.ts';
import { copyBatchNorms, copyWeightSlice } from './init-from-float.ts';
import './quantize-supernet.ts';
import { SearchClassifier } from './search-layers.ts';
import { SearchableConv } from './searchable-conv.ts';
import { Supernet, type CostTerm, type SupernetConfig } from './supernet-base.ts';

const VGG_SMALL_BASE = [128, 128, 256, 256, 512, 512];

export class SearchVGG extends Supernet {
  readonly config: SupernetConfig;
  readonly layers: SearchableConv[];
  readonly costTerms: CostTerm[];
  readonly fc: SearchClassifier;

  constructor(config: SupernetConfig, generator?: Generator) {
    super();
    this.config = config;
    const ratios = config.ratios ?? [...TAS_RATIOS];
    const layers: SearchableConv[] = [];
    const terms: CostTerm[] = [];
    let [h, w] = config.inputSize;
    let inMax = config.inChannels;
    VGG_SMALL_BASE.forEach((c, i) => {
      const levels = widthLevels(c, config.expansionLimit, config.growth);
      const conv = new SearchableConv({ inChannelsMax: inMax, original: c, levels, kernelSize: 3, stride: 1, padding: 1, relu: true, ratios, generator });
      layers.push(this.registerModule(`conv${i}`, conv));
      terms.push({
        name: `conv${i}`,
        coefficients: convCostCoefficients({ kernelSize: [3, 3], outputSize: [h, w], batchNorm: true }),
        input: i === 0 ? { fixed: config.inChannels } : { layer: i - 1 },
        output: { layer: i },
        when: 'always',
      });
      inMax = levels[levels.length - 1];
      if (i % 2 === 1) [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    });
    // The classifier over C x h x w inputs costs like an h x w conv to a 1 x 1 output.
    this.fc = this.registerModule('fc', new SearchClassifier(inMax, config.numClasses, VGG_SMALL_BASE[5], generator, h * w));
    terms.push({ name: 'fc', coefficients: convCostCoefficients({ kernelSize: [h, w], outputSize: [1, 1], bias: true }), input: { layer: 5 }, output: { fixed: config.numClasses }, when: 'always' });
    this.layers = layers;
    this.costTerms = terms;
    if (config.quant) quantizeModel(this, config.quant);
  }

  initFromFloat(model: Module): void {
    const modules = [...model.modules()];
    const convs = modules.filter((m): m is Conv2d => m instanceof Conv2d);
    const bns = modules.filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
    const fc = modules.filter((m): m is Linear => m instanceof Linear);
    if (convs.length !== this.layers.length || bns.length !== this.layers.length || fc.length !== 1) {
      throw new LowbitError(`initFromFloat: expected a float vgg-small (6 convs with BN, 1 Linear), got ${convs.length} convs, ${bns.length} BNs, ${fc.length} Linear layers`);
    }
    this.layers.forEach((layer, i) => {
      copyWeightSlice(layer.weight, convs[i].weight, `conv ${i}'s weight`);
      const trained = bns[i].stateDict();
      copyBatchNorms(layer, (k) => trained.get(k)!);
    });
    this.fc.copyFromFloat(fc[0].weight, fc[0].bias!);
  }

  forward(x: Tensor): Tensor {
    let y = x;
    this.layers.forEach((conv, i) => {
      y = conv.call(y);
      if (i % 2 === 1) y = F.maxPool2d(y, 2);
    });
    return this.fc.call(y);
  }
}

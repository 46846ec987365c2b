/**
 * The searchable ResNet (CIFAR ResNet-20/32/56 and ResNet-18): every conv of the zoo's `widths` list
 * (stem, then conv1 and conv2 of every block) is a SearchableConv. Blocks whose first conv has stride 2
 * keep the option-B 1x1 projection shortcut (its output follows conv2's width); the other blocks add
 * their input as TAS does (SharedUtils.additive_func: the narrower tensor into the first channels of the
 * wider), and the cost model charges them the 1x1 shortcut the derived network gets whenever the two
 * widths differ (see search-cost.ts).
 */
import { LowbitError } from '../errors.ts';
import { Module } from '../nn/index.ts';
import { quantizeModel } from '../quant/index.ts';
import { F, type Generator, type Tensor } from '../tensor/index.ts';
import { candidateWidths, TAS_RATIOS, widthLevels } from './candidates.ts';
import { convCostCoefficients } from './cost.ts';
import { copyBatchNorms, copyWeightSlice, floatTensors } from './init-from-float.ts';
import './quantize-supernet.ts';
import { ProjectionShortcut, SearchClassifier } from './search-layers.ts';
import { SearchableConv } from './searchable-conv.ts';
import { Supernet, type CostTerm, type SupernetConfig } from './supernet-base.ts';

export class SearchBlock extends Module {
  readonly conv1: SearchableConv;
  readonly conv2: SearchableConv;
  readonly shortcut: ProjectionShortcut | null;

  constructor(conv1: SearchableConv, conv2: SearchableConv, shortcut: ProjectionShortcut | null) {
    super();
    this.conv1 = this.registerModule('conv1', conv1);
    this.conv2 = this.registerModule('conv2', conv2);
    this.shortcut = shortcut ? this.registerModule('shortcut', shortcut) : null;
  }

  forward(x: Tensor): Tensor {
    const y = this.conv2.call(this.conv1.call(x));
    if (this.shortcut) {
      this.shortcut.outWidth = y.shape[1];
      return y.add(this.shortcut.call(x)).relu();
    }
    return addUnequal(y, x).relu();
  }
}

/** TAS's additive_func: a + b where the narrower one (in channels) is added into the first channels of the wider. */
export function addUnequal(a: Tensor, b: Tensor): Tensor {
  const [ca, cb] = [a.shape[1], b.shape[1]];
  if (ca === cb) return a.add(b);
  const [wide, narrow] = ca > cb ? [a, b] : [b, a];
  // F.pad's last pair of numbers pads dim -3, the channels of an NCHW tensor.
  return wide.add(F.pad(narrow, [0, 0, 0, 0, 0, wide.shape[1] - narrow.shape[1]]));
}

const RESNET_SHAPES: Record<string, { blocks: number[]; base: number[]; strides: number[] }> = {
  resnet20: { blocks: [3, 3, 3], base: [16, 32, 64], strides: [1, 2, 2] },
  resnet32: { blocks: [5, 5, 5], base: [16, 32, 64], strides: [1, 2, 2] },
  resnet56: { blocks: [9, 9, 9], base: [16, 32, 64], strides: [1, 2, 2] },
  resnet18: { blocks: [2, 2, 2, 2], base: [64, 128, 256, 512], strides: [1, 2, 2, 2] },
};
export const SEARCHABLE_RESNETS = Object.keys(RESNET_SHAPES);

export class SearchResNet extends Supernet {
  readonly config: SupernetConfig;
  readonly stem: SearchableConv;
  readonly blocks: SearchBlock[];
  readonly fc: SearchClassifier;
  /** Every searchable conv in the order of the zoo's ModelConfig.widths. */
  readonly layers: SearchableConv[];
  readonly costTerms: CostTerm[];

  constructor(config: SupernetConfig, generator?: Generator) {
    super();
    const shape = RESNET_SHAPES[config.model];
    if (shape === undefined) throw new LowbitError(`SearchResNet supports ${SEARCHABLE_RESNETS.join(', ')}, not '${config.model}'`);
    if (config.quant?.weight.perChannel) throw new LowbitError('the channel search quantizes weights per tensor: per-channel scales cannot follow a sliced weight');
    this.config = config;
    const ratios = config.ratios ?? [...TAS_RATIOS];
    const levels = (c: number) => widthLevels(c, config.expansionLimit, config.growth);
    const top = (l: number[]) => l[l.length - 1];
    const out = (h: number, k: number, s: number, p: number) => Math.floor((h + 2 * p - k) / s) + 1;

    const layers: SearchableConv[] = [];
    const terms: CostTerm[] = [];
    let [h, w] = config.inputSize;
    const stemLevels = levels(shape.base[0]);
    this.stem = this.registerModule('stem', new SearchableConv({
      inChannelsMax: config.inChannels, original: shape.base[0], levels: stemLevels, kernelSize: 3, stride: 1, padding: 1, relu: true,
      ratios, generator,
    }));
    layers.push(this.stem);
    const bnConv = (k: number, oh: number, ow: number) => convCostCoefficients({ kernelSize: [k, k], outputSize: [oh, ow], batchNorm: true });
    terms.push({ name: 'stem', coefficients: bnConv(3, h, w), input: { fixed: config.inChannels }, output: { layer: 0 }, when: 'always' });

    this.blocks = [];
    let producer = 0;
    let b = 0;
    shape.blocks.forEach((n, stage) => {
      for (let i = 0; i < n; i++, b++) {
        const stride = i === 0 ? shape.strides[stage] : 1;
        const c = shape.base[stage];
        const inMax = top(layers[producer].levels as number[]);
        const prefix = `blocks.${b}`;
        const l1 = levels(c);
        const l2 = levels(c);
        const conv1 = new SearchableConv({ inChannelsMax: inMax, original: c, levels: l1, kernelSize: 3, stride, padding: 1, relu: true, ratios, generator });
        const conv2 = new SearchableConv({ inChannelsMax: top(l1), original: c, levels: l2, kernelSize: 3, stride: 1, padding: 1, relu: false, ratios, generator });
        const [oh, ow] = [out(h, 3, stride, 1), out(w, 3, stride, 1)];
        const i1 = layers.push(conv1) - 1;
        const i2 = layers.push(conv2) - 1;
        terms.push({ name: `${prefix}.conv1`, coefficients: bnConv(3, oh, ow), input: { layer: producer }, output: { layer: i1 }, when: 'always' });
        terms.push({ name: `${prefix}.conv2`, coefficients: bnConv(3, oh, ow), input: { layer: i1 }, output: { layer: i2 }, when: 'always' });
        let shortcut: ProjectionShortcut | null = null;
        if (stride !== 1) {
          const widths = [...new Set(l2.flatMap((m) => candidateWidths(m, ratios)))].sort((x, y) => x - y);
          shortcut = new ProjectionShortcut(inMax, widths, top(l2), c, stride, generator);
        }
        terms.push({ name: `${prefix}.shortcut`, coefficients: bnConv(1, oh, ow), input: { layer: producer }, output: { layer: i2 }, when: stride !== 1 ? 'always' : 'differ' });
        this.blocks.push(this.registerModule(`block${b}`, new SearchBlock(conv1, conv2, shortcut)));
        [h, w] = [oh, ow];
        producer = i2;
      }
    });
    const lastMax = top(layers[producer].levels as number[]);
    this.fc = this.registerModule('fc', new SearchClassifier(lastMax, config.numClasses, shape.base[shape.base.length - 1], generator));
    terms.push({
      name: 'fc',
      coefficients: convCostCoefficients({ kernelSize: [1, 1], outputSize: [1, 1], bias: true }),
      input: { layer: producer },
      output: { fixed: config.numClasses },
      when: 'always',
    });
    this.layers = layers;
    this.costTerms = terms;
    // Registration order makes the stem the first layer and the classifier the last (layerRoles).
    if (config.quant) quantizeModel(this, config.quant);
  }

  initFromFloat(model: Module): void {
    const get = floatTensors(model, this.config.model);
    const conv = (dst: SearchableConv | ProjectionShortcut, weight: string, bn: string) => {
      copyWeightSlice(dst.weight, get(weight), weight);
      copyBatchNorms(dst, (k) => get(`${bn}.${k}`));
    };
    conv(this.stem, 'stem.0.weight', 'stem.1');
    this.blocks.forEach((b, i) => {
      conv(b.conv1, `layers.${i}.conv1.weight`, `layers.${i}.bn1`);
      conv(b.conv2, `layers.${i}.conv2.weight`, `layers.${i}.bn2`);
      if (b.shortcut) conv(b.shortcut, `layers.${i}.shortcut.0.weight`, `layers.${i}.shortcut.1`);
    });
    this.fc.copyFromFloat(get('fc.weight'), get('fc.bias'));
  }

  forward(x: Tensor): Tensor {
    let y = this.stem.call(x);
    for (const block of this.blocks) y = block.call(y);
    return this.fc.call(y.mean([2, 3]));
  }
}

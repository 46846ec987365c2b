/**
 * The supernet's two non-searched layers, whose input (and, for the shortcut, output) width follows the
 * searched convs around them: the option-B projection shortcut of a strided block and the classifier.
 */
import { LowbitError } from '../errors.ts';
import { BatchNorm2d } from '../nn/index.ts';
import { empty, F, noGrad, type Generator, type Tensor } from '../tensor/index.ts';
import { SearchLayer } from './search-layer.ts';

/** A 1x1 stride-s conv + BN shortcut whose output width is set by its block before each call. */
export class ProjectionShortcut extends SearchLayer {
  readonly weight: Tensor;
  readonly stride: number;
  outWidth = 0;
  private readonly bns = new Map<number, BatchNorm2d>();

  constructor(inMax: number, widths: readonly number[], outMax: number, original: number, stride: number, generator?: Generator) {
    super();
    this.stride = stride;
    this.weight = this.registerParameter('weight', empty([outMax, inMax, 1, 1]));
    noGrad(() => this.weight.normal_(0, Math.sqrt(2 / original), generator));
    for (const w of widths) this.bns.set(w, this.registerModule(`bn${w}`, new BatchNorm2d(w)));
  }

  get outChannelsMax(): number {
    return this.weight.shape[0];
  }

  forward(x: Tensor): Tensor {
    const bn = this.bns.get(this.outWidth);
    if (bn === undefined) throw new LowbitError(`ProjectionShortcut: no BatchNorm for width ${this.outWidth}`);
    const [input, w] = this.quantized(x, this.weight.narrow(0, 0, this.outWidth).narrow(1, 0, x.shape[1]));
    return bn.call(F.conv2d(input, w, null, { stride: this.stride }));
  }
}

/** The classifier over the pooled features: its first columns serve the width the last conv has now. */
export class SearchClassifier extends SearchLayer {
  readonly weight: Tensor;
  readonly bias: Tensor;

  /** PyTorch's Linear init, bound 1/sqrt(fan_in), at the ORIGINAL input width. */
  constructor(inMax: number, classes: number, originalIn: number, generator?: Generator) {
    super();
    this.weight = this.registerParameter('weight', empty([classes, inMax]));
    this.bias = this.registerParameter('bias', empty([classes]));
    const bound = 1 / Math.sqrt(originalIn);
    noGrad(() => {
      this.weight.uniform_(-bound, bound, generator);
      this.bias.uniform_(-bound, bound, generator);
    });
  }

  get outChannelsMax(): number {
    return this.weight.shape[0];
  }

  forward(x: Tensor): Tensor {
    const [input, w] = this.quantized(x, this.weight.narrow(1, 0, x.shape[1]));
    return F.linear(input, w, this.bias);
  }
}

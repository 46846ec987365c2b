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

/**
 * The classifier: a Linear over the pooled features (ResNet) or over the flattened last feature map
 * (VGG-small, `spatial` = h * w positions per channel). Its weight is [classes, inMax * spatial], channel
 * major as a flatten of NCHW orders it, so the columns of the first C channels serve a last conv of width C.
 */
export class SearchClassifier extends SearchLayer {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly spatial: number;

  /** PyTorch's Linear init, bound 1/sqrt(fan_in), at the ORIGINAL input width. */
  constructor(inMax: number, classes: number, originalIn: number, generator?: Generator, spatial = 1) {
    super();
    this.spatial = spatial;
    this.weight = this.registerParameter('weight', empty([classes, inMax * spatial]));
    this.bias = this.registerParameter('bias', empty([classes]));
    const bound = 1 / Math.sqrt(originalIn * spatial);
    noGrad(() => {
      this.weight.uniform_(-bound, bound, generator);
      this.bias.uniform_(-bound, bound, generator);
    });
  }

  get outChannelsMax(): number {
    return this.weight.shape[0];
  }

  /** The weight columns of the first `channels` input channels. */
  private columns(channels: number): Tensor {
    if (this.spatial === 1) return this.weight.narrow(1, 0, channels);
    const [classes, cols] = this.weight.shape;
    return this.weight.view([classes, cols / this.spatial, this.spatial]).narrow(1, 0, channels).reshape([classes, channels * this.spatial]);
  }

  /** Starts from a trained Linear of the original input width. */
  copyFromFloat(weight: Tensor, bias: Tensor): void {
    if (weight.shape[0] !== this.weight.shape[0]) throw new LowbitError(`initFromFloat: the float model has ${weight.shape[0]} classes, the supernet ${this.weight.shape[0]}`);
    const channels = weight.shape[1] / this.spatial;
    if (!Number.isInteger(channels) || weight.shape[1] > this.weight.shape[1]) {
      throw new LowbitError(`initFromFloat: the float classifier has ${weight.shape[1]} inputs, which does not fit the supernet's ${this.weight.shape[1]}; the checkpoint must have the original widths and input size`);
    }
    const [classes, cols] = this.weight.shape;
    this.weight.view([classes, cols / this.spatial, this.spatial]).narrow(1, 0, channels).copy_(weight.view([classes, channels, this.spatial]));
    this.bias.copy_(bias);
  }

  forward(x: Tensor): Tensor {
    const channels = x.shape[1];
    const flat = x.ndim > 2 ? x.flatten(1) : x;
    const [input, w] = this.quantized(flat, this.columns(channels));
    return F.linear(input, w, this.bias);
  }
}

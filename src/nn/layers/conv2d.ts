import { LowbitError } from '../../errors.ts';
import { empty, F, type Generator, type Tensor } from '../../tensor/index.ts';
import { defaultLayerInit_ } from '../init.ts';
import { Module } from '../module.ts';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  generator?: Generator;
}

/** 2-D convolution with an OIHW weight (outChannels, inChannels/groups, kh, kw), as in PyTorch. */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  weight: Tensor;
  bias: Tensor | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    if (!(Number.isInteger(inChannels) && inChannels > 0 && Number.isInteger(outChannels) && outChannels > 0)) {
      throw new LowbitError(`Conv2d(${inChannels}, ${outChannels}): channel counts must be positive integers`);
    }
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new LowbitError(`Conv2d(${inChannels}, ${outChannels}, groups=${groups}): channels must be divisible by groups`);
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = groups;
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / groups, ...this.kernelSize]));
    this.bias = opts.bias === false ? this.registerParameter('bias', null) : this.registerParameter('bias', empty([outChannels]));
    defaultLayerInit_(this.weight, this.bias, opts.generator);
  }

  /** The convolution with a given weight, so quantized subclasses can pass their fake-quantized one. */
  protected convolve(x: Tensor, weight: Tensor): Tensor {
    return F.conv2d(x, weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }

  forward(x: Tensor): Tensor {
    return this.convolve(x, this.weight);
  }

  /** Output spatial size for an input of h x w. */
  outputSize(h: number, w: number): [number, number] {
    const o = (n: number, i: 0 | 1) =>
      Math.floor((n + 2 * this.padding[i] - this.dilation[i] * (this.kernelSize[i] - 1) - 1) / this.stride[i]) + 1;
    return [o(h, 0), o(w, 1)];
  }

  override describe(): string {
    const extras = [
      `k=${this.kernelSize.join('x')}`,
      this.stride[0] !== 1 || this.stride[1] !== 1 ? `stride=${this.stride.join('x')}` : '',
      this.padding[0] || this.padding[1] ? `pad=${this.padding.join('x')}` : '',
      this.groups !== 1 ? `groups=${this.groups}` : '',
      this.bias ? '' : 'no bias',
    ].filter(Boolean);
    return `Conv2d(${this.inChannels} -> ${this.outChannels}, ${extras.join(', ')})`;
  }
}

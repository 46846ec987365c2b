/** Weight initializers, as torch.nn.init; each takes an optional Generator for seeded, repeatable draws. */
import { LowbitError } from '../errors.ts';
import { noGrad, type Generator, type Tensor } from '../tensor/index.ts';

export type Nonlinearity = 'linear' | 'relu' | 'leaky_relu' | 'tanh' | 'sigmoid';

/** fan_in and fan_out of a Linear (out, in) or Conv (out, in/groups, kh, kw) weight. */
export function fans(weight: Tensor): { fanIn: number; fanOut: number } {
  const s = weight.shape;
  if (s.length < 2) throw new LowbitError(`fans: need a weight with >= 2 dims, got [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function gain(nonlinearity: Nonlinearity, param = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + param * param));
  }
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (0 for ReLU). */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

function kaimingStd(w: Tensor, opts: KaimingOptions): number {
  const { fanIn, fanOut } = fans(w);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  return gain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

export function kaimingUniform_(w: Tensor, opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(w, opts);
  return noGrad(() => w.uniform_(-bound, bound, opts.generator));
}

export function kaimingNormal_(w: Tensor, opts: KaimingOptions = {}): Tensor {
  const std = kaimingStd(w, opts);
  return noGrad(() => w.normal_(0, std, opts.generator));
}

export function xavierUniform_(w: Tensor, g = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = fans(w);
  const bound = g * Math.sqrt(6 / (fanIn + fanOut));
  return noGrad(() => w.uniform_(-bound, bound, generator));
}

export function xavierNormal_(w: Tensor, g = 1, generator?: Generator): Tensor {
  const { fanIn, fanOut } = fans(w);
  return noGrad(() => w.normal_(0, g * Math.sqrt(2 / (fanIn + fanOut)), generator));
}

export function uniform_(t: Tensor, low: number, high: number, generator?: Generator): Tensor {
  return noGrad(() => t.uniform_(low, high, generator));
}
export function normal_(t: Tensor, mean: number, std: number, generator?: Generator): Tensor {
  return noGrad(() => t.normal_(mean, std, generator));
}
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/**
 * PyTorch's default for Linear and Conv layers: kaiming_uniform(a = sqrt(5)) on the weight, and the
 * bias uniform in +-1/sqrt(fan_in).
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  if (bias !== null) {
    const bound = 1 / Math.sqrt(fans(weight).fanIn);
    uniform_(bias, -bound, bound, generator);
  }
}

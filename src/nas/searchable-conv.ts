/**
 * A convolution whose output width is searched (TAS's ConvBNReLU in search mode, with NCE's growable
 * maximum). It owns:
 *   - one weight allocated at the largest width it may ever reach (the top of its ladder of maxima,
 *     E x the original width) and as many input channels as its producer may emit; a forward slices the
 *     rows and columns in use, which equals TAS's zero-padded full convolution at a fraction of the cost;
 *   - one BatchNorm per candidate width it may ever offer, named bn<width> (TAS: one BN per candidate);
 *   - its architecture logits `widthLogits`, one per ratio (TAS's width_attentions row), over the
 *     candidates of the current maximum;
 *   - in a quantized supernet, the weight quantizer and the quantizer of its input (SearchLayer's slots,
 *     filled by quantizeModel through the converter of quantize-supernet.ts).
 *
 * Forward in 'search' mode (TAS SearchCifarResNet.ConvBNReLU.search_forward, NCE eq. for O-hat): with
 * the two sampled candidates a, b and their weights p_a, p_b,
 *   y = conv(Q_a(x), Q_w(W[:max(C_a, C_b), :C_in]))
 *   out = p_a CWI(BN_a(y[:C_a]), max) + p_b CWI(BN_b(y[:C_b]), max), then ReLU if the layer has one.
 * In 'argmax' mode it runs the single most probable candidate: the network the search would derive.
 */
import { LowbitError } from '../errors.ts';
import { BatchNorm2d } from '../nn/index.ts';
import { empty, F, noGrad, zeros, type Generator, type Tensor } from '../tensor/index.ts';
import { candidateWidths, TAS_RATIOS } from './candidates.ts';
import { channelWiseInterpolation } from './cwi.ts';
import type { TwoCandidates } from './gumbel.ts';
import { SearchLayer } from './search-layer.ts';

export type SearchMode = 'search' | 'argmax';

export interface SearchableConvOptions {
  /** Input channels to allocate for (the producer's largest possible width, or the data's channels). */
  inChannelsMax: number;
  /** The layer's width in the original network. */
  original: number;
  /** Ladder of maxima, from widthLevels(); [original] when expansion is off. */
  levels: number[];
  kernelSize: number;
  stride: number;
  padding: number;
  relu: boolean;
  ratios?: readonly number[];
  generator?: Generator;
}

export class SearchableConv extends SearchLayer {
  readonly original: number;
  readonly levels: readonly number[];
  readonly ratios: readonly number[];
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly relu: boolean;
  readonly weight: Tensor;
  readonly widthLogits: Tensor;
  /** Index of the current maximum in `levels`; raised by the expansion step. */
  level = 0;
  mode: SearchMode = 'argmax';
  /** The pair sampled for the next search-mode forward (set by Supernet.sample). */
  selection: TwoCandidates | null = null;
  private readonly bns = new Map<number, BatchNorm2d>();

  constructor(opts: SearchableConvOptions) {
    super();
    this.original = opts.original;
    this.levels = opts.levels;
    this.ratios = opts.ratios ?? TAS_RATIOS;
    this.kernelSize = opts.kernelSize;
    this.stride = opts.stride;
    this.padding = opts.padding;
    this.relu = opts.relu;
    const outMax = this.levels[this.levels.length - 1];
    const k = opts.kernelSize;
    this.weight = this.registerParameter('weight', empty([outMax, opts.inChannelsMax, k, k]));
    // He et al. init (fan_out, ReLU) at the ORIGINAL width: every slice starts as the plain network would.
    noGrad(() => this.weight.normal_(0, Math.sqrt(2 / (opts.original * k * k)), opts.generator));
    const widths = new Set(this.levels.flatMap((m) => candidateWidths(m, this.ratios)));
    for (const w of [...widths].sort((a, b) => a - b)) this.bns.set(w, this.registerModule(`bn${w}`, new BatchNorm2d(w)));
    // TAS initializes the width attentions N(0, 0.01); zeros keep runs comparable across seeds and
    // start every layer at the uniform distribution, which the first arch steps move off anyway.
    this.widthLogits = this.registerParameter('widthLogits', zeros([this.ratios.length]));
  }

  get outChannelsMax(): number {
    return this.weight.shape[0];
  }

  /** The current maximum width M_l. */
  get maxWidth(): number {
    return this.levels[this.level];
  }

  /** Whether the ladder has a level above the current one. */
  get canExpand(): boolean {
    return this.level < this.levels.length - 1;
  }

  /** Candidate widths of the current maximum, ascending (index k matches widthLogits[k]). */
  candidates(): number[] {
    return candidateWidths(this.maxWidth, this.ratios);
  }

  /** softmax(widthLogits) as plain numbers. */
  probabilities(): number[] {
    return noGrad(() => F.softmax(this.widthLogits, 0).toArray());
  }

  /** The most probable candidate's width (first on ties, as torch.argmax). */
  argmaxWidth(): number {
    const p = this.probabilities();
    return this.candidates()[p.indexOf(Math.max(...p))];
  }

  bnFor(width: number): BatchNorm2d {
    const bn = this.bns.get(width);
    if (bn === undefined) throw new LowbitError(`SearchableConv: no BatchNorm for width ${width} (widths ${[...this.bns.keys()].join(', ')})`);
    return bn;
  }

  /** Convolution of x with the first `outWidth` filters over x's channels, both possibly quantized. */
  private convolve(x: Tensor, outWidth: number): Tensor {
    const [input, w] = this.quantized(x, this.weight.narrow(0, 0, outWidth).narrow(1, 0, x.shape[1]));
    return F.conv2d(input, w, null, { stride: this.stride, padding: this.padding });
  }

  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.mode === 'argmax') {
      const w = this.argmaxWidth();
      out = this.bnFor(w).call(this.convolve(x, w));
    } else {
      const sel = this.selection;
      if (sel === null) throw new LowbitError('SearchableConv: search-mode forward without a sampled pair; call sample() on the network first');
      const widths = this.candidates();
      const [wa, wb] = [widths[sel.indices[0]], widths[sel.indices[1]]];
      const wMax = Math.max(wa, wb);
      const y = this.convolve(x, wMax);
      const branch = (w: number, i: number) =>
        channelWiseInterpolation(this.bnFor(w).call(w === wMax ? y : y.narrow(1, 0, w)), wMax).mul(sel.weights.select(0, i));
      out = branch(wa, 0).add(branch(wb, 1));
    }
    return this.relu ? out.relu() : out;
  }

  override describe(): string {
    return `SearchableConv(max ${this.maxWidth} of ${this.levels.join('/')}, k=${this.kernelSize}, stride=${this.stride})`;
  }
}

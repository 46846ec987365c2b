/**
 * GPFQ on grouped convolutions (depthwise: groups = channels, as in MobileNet). Output channels of
 * group g read only the input channels of group g, so the layer is G independent layers
 *   Y_g = X_g W_g'     X_g: the patch columns of input group g,  W_g: the weight rows of group g
 * and GPFQ (Alg. 1 of Zhang, Zhou & Saab, run per layer) runs per group on (W_g, X_g, X~_g), with the
 * group's rows of the alphabet. Solving the whole N1 x (C k) block-diagonal weight instead would let the
 * greedy path put nonzero codes where the convolution has no weights.
 */
import { LowbitError } from '../errors.ts';
import { cat, fromArray, keep, scope, zeros, type Tensor } from '../tensor/index.ts';
import { dequantize, type Alphabet } from './alphabet.ts';
import { gpfqFast } from './gpfq-fast.ts';
import type { GramMatrices } from './gram-accumulator.ts';
import { greedyBlock } from './greedy-block.ts';

/** Per-group Gram sums A_g = X~_g' X_g and B_g = X~_g' X~_g, G products per batch in one bmm (sums float64). */
export class GroupedGram {
  private readonly a: Tensor;
  private readonly b: Tensor;
  private disposed = false;

  /** n0: columns per group (C/G * kh * kw). */
  constructor(
    readonly groups: number,
    readonly n0: number,
    private readonly productDtype: 'float32' | 'float64' = 'float64',
  ) {
    if (!(Number.isInteger(groups) && groups >= 1 && Number.isInteger(n0) && n0 >= 1)) {
      throw new LowbitError(`GroupedGram: groups and N0 must be positive integers, got ${groups} and ${n0}`);
    }
    this.a = keep(zeros([groups, n0, n0], { dtype: 'float64' }));
    this.b = keep(zeros([groups, n0, n0], { dtype: 'float64' }));
  }

  /** x, xTilde: mb x (G N0) patch rows of one batch. */
  add(x: Tensor, xTilde: Tensor): void {
    if (this.disposed) throw new LowbitError('GroupedGram used after dispose()');
    const cols = this.groups * this.n0;
    if (x.ndim !== 2 || x.shape[1] !== cols || xTilde.ndim !== 2 || xTilde.shape[1] !== cols || x.shape[0] !== xTilde.shape[0]) {
      throw new LowbitError(`GroupedGram.add: X and X~ must both be mb x ${cols}, got [${x.shape.join(', ')}] and [${xTilde.shape.join(', ')}]`);
    }
    scope(() => {
      const byGroup = (t: Tensor) => t.to(this.productDtype).reshape([-1, this.groups, this.n0]).transpose(0, 1); // G x mb x N0
      const xg = byGroup(x);
      const xtg = byGroup(xTilde);
      const xtgT = xtg.transpose(1, 2);
      this.a.add_(xtgT.bmm(xg).to('float64'));
      this.b.add_(xtgT.bmm(xtg).to('float64'));
    });
  }

  /** A_g, B_g of every group, G x N0 x N0 (owned by this object). */
  get sums(): { a: Tensor; b: Tensor } {
    return { a: this.a, b: this.b };
  }

  /** Group g's Gram matrices (views into this object's sums). */
  group(g: number): GramMatrices {
    return { a: this.a.select(0, g), b: this.b.select(0, g) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.a.dispose();
    this.b.dispose();
  }
}

/** The alphabet of group g's weight rows: the layer step, or the group's slice of per-row steps. */
export function groupAlphabet(alphabet: Alphabet, g: number, rowsPerGroup: number): Alphabet {
  if (alphabet.steps.length === 1) return alphabet;
  return { ...alphabet, steps: alphabet.steps.slice(g * rowsPerGroup, (g + 1) * rowsPerGroup) };
}

/**
 * Runs `solve` on each group's weight rows W_g (N1/G x N0) with its alphabet and stacks the codes:
 * the whole layer's int32 codes (N1 x N0) and dequantized weight.
 */
export function solvePerGroup(weight: Tensor, alphabet: Alphabet, groups: number, solve: (g: number, wg: Tensor, alphabetG: Alphabet) => Tensor): { codes: Tensor; weight: Tensor } {
  const n1 = weight.shape[0];
  if (n1 % groups !== 0) throw new LowbitError(`grouped PTQ: ${n1} output channels are not divisible by ${groups} groups`);
  const rows = n1 / groups;
  return scope(() => {
    const parts: Tensor[] = [];
    for (let g = 0; g < groups; g++) parts.push(solve(g, weight.narrow(0, g * rows, rows), groupAlphabet(alphabet, g, rows)));
    const codes = cat(parts, 0);
    return { codes, weight: dequantize(codes, alphabet) };
  });
}

/** Columns per group up to which the batched solve below runs (gpfq-fast.ts's default block). */
const SMALL_GROUP = 64;

/**
 * gpfqFast for every group of a grouped conv: codes (N1 x N0, int32). With few columns per group
 * (depthwise 3x3: N0 = 9) gpfqFast's forward substitution is a single block, so R_g = W_g tril(A_g)'
 * is computed for all groups in one batched product and the greedy step runs per group on plain
 * arrays: the same arithmetic as gpfqFast group by group, without a dozen tensor ops per group (a
 * MobileNetV2 has about 7,000 depthwise groups).
 */
export function gpfqFastGrouped(weight: Tensor, gram: GroupedGram, alphabet: Alphabet): Tensor {
  const G = gram.groups;
  const n0 = gram.n0;
  const [n1] = weight.shape;
  const rows = n1 / G;
  if (n0 > SMALL_GROUP) return solvePerGroup(weight, alphabet, G, (g, wg, ag) => gpfqFast(wg, gram.group(g), ag).codes).codes;
  return scope(() => {
    const W = weight.to('float64').reshape([G, rows, n0]);
    const R = W.bmm(gram.sums.a.tril().transpose(1, 2)).contiguous().toFloat64Array(); // G x rows x N0
    const B = gram.sums.b.contiguous().toFloat64Array(); // G x N0 x N0
    const codes = new Int32Array(n1 * n0);
    for (let g = 0; g < G; g++) {
      const groupCodes = new Int32Array(rows * n0);
      greedyBlock(
        { r: R.subarray(g * rows * n0, (g + 1) * rows * n0), h: B.subarray(g * n0 * n0, (g + 1) * n0 * n0), start: 0, len: n0, n0 },
        groupAlphabet(alphabet, g, rows),
        groupCodes,
      );
      codes.set(groupCodes, g * rows * n0);
    }
    return fromArray(codes, [n1, n0]);
  });
}

/**
 * A fixed subset of a layer's calibration rows (X and X~), kept so that the layer's output error
 * ||X W' - X~ Q'||_F / ||X W'||_F can be measured after the solve without a third Gram matrix.
 *
 * The exact error from Gram sums needs C = X'X (w'Cw - 2 q'Aw + q'Bq), a third m x N0^2 product that
 * costs as much as B; the solver never needs it. A strided subset of at most `maxRows` rows (every k-th
 * calibration row, the same rows of X and X~) gives the error directly at m_s x N0 x N1 cost. When the
 * layer has no more rows than that (linear layers, small calibration sets) the subset is every row
 * and the error is exact.
 *
 * Grouped convolutions (depthwise ones: groups = channels): a row of X holds every input channel's
 * patch (C * kh * kw columns) while W is N1 x (C/G * kh * kw); output channels of group g see only the
 * columns of input group g, so the layer output is X_g W_g' per group, and the error sums over groups.
 */
import { LowbitError } from '../errors.ts';
import { keep, scope, type Tensor } from '../tensor/index.ts';

export class ErrorSample {
  /** Keeps every `stride`-th calibration row. */
  readonly stride: number;
  private readonly x: Tensor[] = [];
  private readonly xTilde: Tensor[] = [];
  /** Calibration rows seen so far (global index of the next row). */
  private seen = 0;

  /** Convolution groups G: the rows hold G blocks of columns, block g feeding output rows of group g. */
  readonly groups: number;

  /** totalRows: the layer's calibration rows m, known from the first batch; maxRows: the subset's cap. */
  constructor(totalRows: number, maxRows: number, groups = 1) {
    if (!(Number.isInteger(maxRows) && maxRows >= 1)) throw new LowbitError(`ErrorSample: maxRows must be a positive integer, got ${maxRows}`);
    if (!(Number.isInteger(groups) && groups >= 1)) throw new LowbitError(`ErrorSample: groups must be a positive integer, got ${groups}`);
    this.stride = Math.max(1, Math.ceil(totalRows / maxRows));
    this.groups = groups;
  }

  /** True when every row is kept, i.e. the measured error is the exact calibration error. */
  get exact(): boolean {
    return this.stride === 1;
  }

  /** Takes this batch's share of rows (float32 copies; the batch may be freed afterwards). */
  add(x: Tensor, xTilde: Tensor): void {
    const rows = x.shape[0];
    const first = (this.stride - (this.seen % this.stride)) % this.stride;
    this.seen += rows;
    if (first >= rows) return;
    const take = (t: Tensor) => keep(scope(() => t.slice(0, first, undefined, this.stride).to('float32').contiguous().clone()));
    this.x.push(take(x));
    this.xTilde.push(take(xTilde));
  }

  /** Rows kept. */
  get rows(): number {
    return this.x.reduce((n, t) => n + t.shape[0], 0);
  }

  /** ||X_s W' - X~_s Q'||_F / ||X_s W'||_F on the kept rows, in float64 (W, Q: N1 x N0, N0 = columns / groups). */
  relativeError(weight: Tensor, quantized: Tensor): number {
    if (this.x.length === 0) return 0;
    const G = this.groups;
    const [n1, n0] = weight.shape;
    const cols = this.x[0].shape[1];
    if (weight.ndim !== 2 || cols !== G * n0 || n1 % G !== 0 || quantized.shape[0] !== n1 || quantized.shape[1] !== n0) {
      throw new LowbitError(
        `ErrorSample: rows of ${cols} columns in ${G} group(s) do not fit a weight of shape [${weight.shape.join(', ')}] ` +
          `(need N0 = columns / groups and N1 divisible by groups)`,
      );
    }
    return scope(() => {
      // (G, N0, N1/G): group g's weight rows, transposed, so one batched product gives every group's output.
      const perGroup = (t: Tensor) => t.to('float64').reshape([G, n1 / G, n0]).transpose(1, 2);
      const W = perGroup(weight);
      const Q = perGroup(quantized);
      const outputs = (rows: Tensor, w: Tensor) => rows.to('float64').reshape([-1, G, n0]).transpose(0, 1).bmm(w);
      let err2 = 0;
      let ref2 = 0;
      // Per kept batch, so the m_s x N1 outputs never exist all at once.
      this.x.forEach((x, i) => {
        scope(() => {
          const out = outputs(x, W);
          const diff = out.sub(outputs(this.xTilde[i], Q));
          err2 += diff.pow(2).sum().item();
          ref2 += out.pow(2).sum().item();
        });
      });
      return ref2 > 0 ? Math.sqrt(err2 / ref2) : 0;
    });
  }

  dispose(): void {
    for (const t of [...this.x, ...this.xTilde]) t.dispose();
    this.x.length = 0;
    this.xTilde.length = 0;
  }
}

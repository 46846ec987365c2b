/**
 * A fixed subset of a layer's calibration rows (X and X~), kept so that the layer's output error
 * ||X W' - X~ Q'||_F / ||X W'||_F can be measured after the solve without a third Gram matrix.
 *
 * The exact error from Gram sums needs C = X'X (w'Cw - 2 q'Aw + q'Bq), a third m x N0^2 product that
 * costs as much as B; the solver never needs it. A strided subset of at most `maxRows` rows (every k-th
 * calibration row, the same rows of X and X~) gives the error directly at m_s x N0 x N1 cost. When the
 * layer has no more rows than that (linear layers, small calibration sets) the subset is every row
 * and the error is exact.
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

  /** totalRows: the layer's calibration rows m, known from the first batch; maxRows: the subset's cap. */
  constructor(totalRows: number, maxRows: number) {
    if (!(Number.isInteger(maxRows) && maxRows >= 1)) throw new LowbitError(`ErrorSample: maxRows must be a positive integer, got ${maxRows}`);
    this.stride = Math.max(1, Math.ceil(totalRows / maxRows));
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

  /** ||X_s W' - X~_s Q'||_F / ||X_s W'||_F on the kept rows, in float64 (W, Q: N1 x N0). */
  relativeError(weight: Tensor, quantized: Tensor): number {
    if (this.x.length === 0) return 0;
    return scope(() => {
      const W = weight.to('float64');
      const Q = quantized.to('float64');
      let err2 = 0;
      let ref2 = 0;
      // Per kept batch, so the m_s x N1 outputs never exist all at once.
      this.x.forEach((x, i) => {
        scope(() => {
          const out = x.to('float64').matmul(W.t());
          const diff = out.sub(this.xTilde[i].to('float64').matmul(Q.t()));
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

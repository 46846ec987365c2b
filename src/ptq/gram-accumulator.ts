/**
 * Sums GPFQ's Gram matrices over calibration batches, so the Gram solver needs O(N0^2) memory however
 * many samples calibrate the layer (the column loop needs the whole m x N0 inputs):
 *   A = X~' X    B = X~' X~    and optionally C = X' X (for the layer error)
 * with X, X~ the layer's inputs in the float and the partially quantized network, rows = samples.
 * Sums are float64: the solver takes differences of these sums, and float32 sums flip codes at
 * near-ties (DESIGN.md: 20 of 200,704 codes in float32, 0 in float64).
 *
 * The solver reads A and B only on and below the diagonal, so each batch computes just the block rows
 * of the lower triangle (row block I against columns 0..end of I): about 0.63 of the full products'
 * work at N0 = 576. B and C are symmetric and are mirrored into full matrices when read; A is not, and
 * is computed in full only when C is asked for, because the layer error needs all of it.
 */
import { LowbitError } from '../errors.ts';
import { keep, scope, zeros, type Tensor } from '../tensor/index.ts';
import { PTQ_DEFAULTS } from './ptq-config.ts';

/**
 * Rows of the Gram matrices per product. Four block rows skip 3/8 of the full products' work; thinner
 * blocks skip more but run BLAS slower. Measured here (N0 = 576, 5000-row batches, float64): 96- to
 * 288-row blocks took 20-25% less time than the full products on one thread, about the same on two.
 */
function rowBlock(n0: number): number {
  return Math.max(64, Math.ceil(n0 / 4 / 32) * 32);
}

export interface GramAccumulatorOptions {
  /** Also sum C = X'X, which lets the solver report ||X W' - X~ Q'||_F. Costs a third product. Default false. */
  analogGram?: boolean;
  /**
   * Precision of each batch's products (the sums across batches are float64 either way). Default
   * PTQ_DEFAULTS.gramDtype, float32: about twice as fast, with float32 rounding in each batch's sums,
   * which can flip codes at near-ties; float64 agrees with the float64 column loop code for code.
   */
  productDtype?: 'float64' | 'float32';
}

/** The matrices the Gram solver reads; GramAccumulator provides them. */
export interface GramMatrices {
  /** A = X~' X, N0 x N0, A[t, j] = <X~_t, X_j>. The solver reads it on and below the diagonal (all of it for the error). */
  readonly a: Tensor;
  /** B = X~' X~, N0 x N0. */
  readonly b: Tensor;
  /** C = X' X, N0 x N0, when accumulated. */
  readonly c?: Tensor | null;
}

export class GramAccumulator implements GramMatrices {
  readonly n0: number;
  readonly productDtype: 'float64' | 'float32';
  private readonly sums: { a: Tensor; b: Tensor; c: Tensor | null };
  /** Whether A is summed in full (needed for the layer error) or only on and below the diagonal blocks. */
  private readonly fullA: boolean;
  /** B and C hold new lower-triangle sums not yet mirrored into their upper triangles. */
  private unmirrored = false;
  private count = 0;
  private disposed = false;

  constructor(n0: number, opts: GramAccumulatorOptions = {}) {
    if (!Number.isInteger(n0) || n0 < 1) throw new LowbitError(`GramAccumulator: N0 must be a positive integer, got ${n0}`);
    this.n0 = n0;
    this.productDtype = opts.productDtype ?? PTQ_DEFAULTS.gramDtype;
    if (this.productDtype !== 'float64' && this.productDtype !== 'float32') {
      throw new LowbitError(`GramAccumulator: productDtype must be 'float64' or 'float32', got '${String(this.productDtype)}'`);
    }
    // Owned by this object, freed by dispose(), never by an enclosing scope.
    const make = () => keep(zeros([n0, n0], { dtype: 'float64' }));
    this.sums = { a: make(), b: make(), c: opts.analogGram ? make() : null };
    this.fullA = opts.analogGram ?? false;
  }

  /** Adds one batch: x and xTilde are mb x N0, row r of both from the same calibration sample. */
  add(x: Tensor, xTilde: Tensor): void {
    this.checkLive();
    for (const [name, t] of [['X', x], ['X~', xTilde]] as const) {
      if (t.ndim !== 2 || t.shape[1] !== this.n0) {
        throw new LowbitError(`GramAccumulator.add: ${name} must be mb x N0 = mb x ${this.n0}, got shape [${t.shape.join(', ')}]`);
      }
    }
    if (x.shape[0] !== xTilde.shape[0]) {
      throw new LowbitError(`GramAccumulator.add: X has ${x.shape[0]} rows but X~ has ${xTilde.shape[0]}; pass the same samples through both networks`);
    }
    const n0 = this.n0;
    const block = rowBlock(n0);
    scope(() => {
      const xs = x.to(this.productDtype);
      const xts = xTilde.to(this.productDtype);
      const acc = (sum: Tensor, rows: number, len: number, cols: number, product: Tensor) =>
        sum.narrow(0, rows, len).narrow(1, 0, cols).add_(this.productDtype === 'float64' ? product : product.to('float64'));
      for (let s = 0; s < n0; s += block) {
        const len = Math.min(block, n0 - s);
        const end = s + len;
        // Column slices of the row-major batch are strided views: BLAS reads them in place.
        const xtI = xts.narrow(1, s, len).t();
        acc(this.sums.b, s, len, end, xtI.matmul(xts.narrow(1, 0, end)));
        const aCols = this.fullA ? n0 : end;
        acc(this.sums.a, s, len, aCols, xtI.matmul(xs.narrow(1, 0, aCols)));
        if (this.sums.c) acc(this.sums.c, s, len, end, xs.narrow(1, s, len).t().matmul(xs.narrow(1, 0, end)));
      }
    });
    this.count += x.shape[0];
    this.unmirrored = true;
  }

  /** Calibration samples added so far (m). */
  get rows(): number {
    return this.count;
  }
  /** X~'X (owned by this object). Above the diagonal blocks it is zero unless analogGram was set. */
  get a(): Tensor {
    this.checkLive();
    return this.sums.a;
  }
  /** X~'X~, full and symmetric (owned by this object). */
  get b(): Tensor {
    this.mirror();
    return this.sums.b;
  }
  /** X'X, full and symmetric (owned by this object), or null without analogGram. */
  get c(): Tensor | null {
    this.mirror();
    return this.sums.c;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sums.a.dispose();
    this.sums.b.dispose();
    this.sums.c?.dispose();
  }

  /** Copies the lower triangles of B and C over their upper ones (later sums go to the lower one only). */
  private mirror(): void {
    this.checkLive();
    if (!this.unmirrored) return;
    scope(() => {
      for (const sum of [this.sums.b, this.sums.c]) if (sum) sum.copy_(sum.tril().add(sum.tril(-1).t()));
    });
    this.unmirrored = false;
  }

  private checkLive(): void {
    if (this.disposed) throw new LowbitError('GramAccumulator used after dispose()');
  }
}

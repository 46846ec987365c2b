/**
 * Clip-range estimators for uniform quantizers: the level r that the largest code maps to, chosen
 * from the tensor by min-max (the largest magnitude), a percentile (ignores a few outliers), or the
 * grid search that minimizes the squared quantization error (MSE-optimal clipping).
 *
 * Signed grids are symmetric, so r bounds |x|; unsigned grids start at 0, so r bounds max(x, 0).
 */
import { LowbitError } from '../errors.ts';
import { F, fromArray, fullLike, noGrad, scope, where, type Tensor } from '../tensor/index.ts';

export type RangeMethod = 'minmax' | 'percentile' | 'mse';
export const RANGE_METHODS: readonly RangeMethod[] = ['minmax', 'percentile', 'mse'];

export const DEFAULT_PERCENTILE = 0.999;
export const DEFAULT_MSE_GRID = 100;
/** A floor on r, so an all-zero tensor (a dead ReLU) gives a tiny scale instead of 0/0. */
export const MIN_RANGE = 1e-8;
/** torch.quantile refuses inputs above 2^24 elements; beyond that the percentile is read off topk. */
export const QUANTILE_LIMIT = 2 ** 24;

export interface RangeOptions {
  method: RangeMethod;
  /** In (0, 1]: the quantile of |x| (signed) or max(x, 0) (unsigned) for 'percentile'. */
  percentile?: number;
  /** Number of candidate ranges r_k = max * k / G, k = 1..G, for 'mse'. */
  mseGrid?: number;
}

export interface GridShape {
  signed: boolean;
  /** One range per row of dim 0 (output channel) instead of one for the whole tensor. */
  perChannel: boolean;
  /** The largest code: 2^(b-1) - 1 (signed, symmetric) or 2^b - 1 (unsigned). */
  qMax: number;
}

/**
 * The clip range of x: shape [C] per channel, [1] per tensor, detached, at least MIN_RANGE.
 * The grid is [-qMax, qMax] * r / qMax (signed) or [0, qMax] * r / qMax (unsigned).
 */
export function estimateRange(x: Tensor, grid: GridShape, opts: RangeOptions): Tensor {
  return noGrad(() =>
    scope(() => {
      const rows = grid.perChannel ? x.reshape([x.shape[0], -1]) : x.reshape([1, -1]);
      const magnitude = grid.signed ? rows.abs() : rows.clamp(0);
      let r: Tensor;
      switch (opts.method) {
        case 'minmax':
          r = magnitude.amax(1);
          break;
        case 'percentile':
          r = rowQuantile(magnitude, opts.percentile ?? DEFAULT_PERCENTILE);
          break;
        case 'mse':
          r = mseRange(rows, magnitude.amax(1), grid, opts.mseGrid ?? DEFAULT_MSE_GRID);
          break;
        default:
          throw new LowbitError(`unknown range method '${String(opts.method)}': use ${RANGE_METHODS.join(', ')}`);
      }
      return r.clamp(MIN_RANGE);
    }),
  );
}

/**
 * The p-quantile of each row with linear interpolation, as torch.quantile. Above `limit` elements it
 * reads the two order statistics around position p (n - 1) off a topk of the largest values, which
 * is cheap for the high percentiles clipping uses.
 */
export function rowQuantile(rows: Tensor, p: number, limit = QUANTILE_LIMIT): Tensor {
  if (!(p > 0 && p <= 1)) throw new LowbitError(`percentile must be in (0, 1], got ${p}`);
  if (rows.numel <= limit) return rows.quantile(p, 1);
  const n = rows.shape[1];
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  // Ascending rank j is descending rank n - 1 - j; topk must reach rank n - 1 - lo.
  const top = rows.topk(n - lo, 1, true, true).values;
  const vLo = top.select(1, n - 1 - lo);
  const vHi = top.select(1, n - 1 - hi);
  return vLo.add(vHi.sub(vLo).mul(pos - lo));
}

/**
 * MSE-optimal clipping by grid search: r_k = max * k / G for k = 1..G, keeping per row the r with the
 * smallest sum of (Q_r(x) - x)^2 (the first one on ties). The errors of all G candidates come from one
 * native pass over the data (F.clipGridErrors); mseRangeByOps is the same search op by op.
 */
function mseRange(rows: Tensor, rowMax: Tensor, grid: GridShape, G: number): Tensor {
  checkMseGrid(G);
  const qMin = grid.signed ? -grid.qMax : 0;
  const errors = F.clipGridErrors(rows, rowMax, G, qMin, grid.qMax, MIN_RANGE).toFloat64Array(); // R x G
  const maxima = rowMax.toFloat64Array();
  // r_k = max * (k / G) rounded as the tensor op rounds it in the rows' dtype (the caller clamps to MIN_RANGE).
  const round = rowMax.dtype === 'float32' ? Math.fround : (v: number) => v;
  const ranges = Array.from(maxima, (max, row) => {
    let best = 0;
    for (let k = 1; k < G; k++) if (errors[row * G + k] < errors[row * G + best]) best = k;
    return round(max * round((best + 1) / G));
  });
  return fromArray(Float64Array.from(ranges), [ranges.length]).to(rowMax.dtype);
}

/** The grid search of mseRange as separate tensor ops, G passes of seven ops: the reference of the fused one. */
export function mseRangeByOps(rows: Tensor, rowMax: Tensor, grid: GridShape, G: number): Tensor {
  checkMseGrid(G);
  const qMin = grid.signed ? -grid.qMax : 0;
  let best = rowMax.clone();
  let bestErr = fullLike(rowMax, Infinity);
  for (let k = 1; k <= G; k++) {
    const [nextBest, nextErr] = scope(() => {
      const r = rowMax.mul(k / G).clamp(MIN_RANGE);
      const s = r.div(grid.qMax).unsqueeze(1);
      const err = rows.div(s).clamp(qMin, grid.qMax).round().mul(s).sub(rows).square().sum(1);
      const better = err.lt(bestErr);
      return [where(better, r, best), where(better, err, bestErr)];
    });
    best.dispose();
    bestErr.dispose();
    best = nextBest;
    bestErr = nextErr;
  }
  return best;
}

function checkMseGrid(G: number): void {
  if (!(Number.isInteger(G) && G >= 1)) throw new LowbitError(`mseGrid must be a positive integer, got ${G}`);
}

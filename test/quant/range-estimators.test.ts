import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { estimateRange, rowQuantile } from '../../src/quant/index.ts';
import { MIN_RANGE, mseRangeByOps } from '../../src/quant/range-estimators.ts';
import { Generator, randn, zeros } from '../../src/tensor/index.ts';
import { f64, maxAbsDiff, mseRangeRef, normals, quantileRef } from './reference.ts';

const rowsOf = (values: number[], C: number): number[][] =>
  Array.from({ length: C }, (_, c) => values.slice((c * values.length) / C, ((c + 1) * values.length) / C));

describe('estimateRange', () => {
  const x = normals(240, 11).map((v, i) => v * (1 + (i % 3)));

  it('min-max: the largest |x| (signed) or largest x (unsigned), per tensor and per row', () => {
    const signed = estimateRange(f64(x, [4, 60]), { signed: true, perChannel: true, qMax: 7 }, { method: 'minmax' });
    assert.deepEqual(signed.toArray(), rowsOf(x, 4).map((r) => Math.max(...r.map(Math.abs))));
    const unsigned = estimateRange(f64(x), { signed: false, perChannel: false, qMax: 15 }, { method: 'minmax' });
    assert.deepEqual(unsigned.toArray(), [Math.max(...x)]);
  });

  it('percentile: linear-interpolation quantile of |x| or max(x, 0)', () => {
    const signed = estimateRange(f64(x, [4, 60]), { signed: true, perChannel: true, qMax: 7 }, { method: 'percentile', percentile: 0.97 });
    const expected = rowsOf(x, 4).map((r) => quantileRef(r.map(Math.abs), 0.97));
    assert.ok(maxAbsDiff(signed.toArray(), expected) < 1e-12);
    const unsigned = estimateRange(f64(x), { signed: false, perChannel: false, qMax: 15 }, { method: 'percentile', percentile: 0.9 });
    assert.ok(Math.abs(unsigned.item() - quantileRef(x.map((v) => Math.max(v, 0)), 0.9)) < 1e-12);
  });

  it('percentile above the torch.quantile size limit reads the same value off topk', () => {
    const t = f64(x, [3, 80]).abs();
    for (const p of [0.5, 0.9, 0.973, 1]) {
      const direct = rowQuantile(t, p);
      const viaTopk = rowQuantile(t, p, 10);
      assert.ok(maxAbsDiff(direct.toArray(), viaTopk.toArray()) < 1e-12, `p ${p}`);
      assert.ok(maxAbsDiff(direct.toArray(), rowsOf(x.map(Math.abs), 3).map((r) => quantileRef(r, p))) < 1e-12);
    }
    assert.throws(() => rowQuantile(t, 0), LowbitError);
  });

  it('mse: the grid search picks the reference minimizer of the squared error', () => {
    for (const bits of [2, 3, 4, 8]) {
      const qMax = 2 ** (bits - 1) - 1;
      const r = estimateRange(f64(x, [4, 60]), { signed: true, perChannel: true, qMax }, { method: 'mse', mseGrid: 40 });
      const expected = rowsOf(x, 4).map((row) => mseRangeRef(row, true, qMax, 40));
      assert.ok(maxAbsDiff(r.toArray(), expected) < 1e-12, `signed ${bits}`);
      const uq = 2 ** bits - 1;
      const ru = estimateRange(f64(x), { signed: false, perChannel: false, qMax: uq }, { method: 'mse', mseGrid: 40 });
      assert.ok(Math.abs(ru.item() - mseRangeRef(x, false, uq, 40)) < 1e-12, `unsigned ${bits}`);
    }
    // At 2 bits the MSE-optimal clip is well inside the max for Gaussian data; at 8 bits near it.
    const r2 = estimateRange(f64(normals(4000, 2)), { signed: true, perChannel: false, qMax: 1 }, { method: 'mse' }).item();
    const max = Math.max(...normals(4000, 2).map(Math.abs));
    assert.ok(r2 < 0.6 * max, `2-bit MSE range ${r2} vs max ${max}`);
  });

  it('mse: the one-pass native search gives the ranges of the op-by-op search bit for bit, float32 and float64', () => {
    const g = new Generator(21);
    // Large enough for several native chunks and a ragged tail; a dead (all-zero) row; heavy tails.
    const pre = randn([3, 2 * 4096 + 13], { generator: g }).mul(randn([3, 2 * 4096 + 13], { generator: g }).exp());
    const act = pre.relu();
    act.narrow(0, 1, 1).zero_();
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [name, data, signed] of [['signed', pre, true], ['unsigned', act, false]] as const) {
        for (const bits of [2, 4, 8]) {
          const qMax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
          for (const perChannel of [false, true]) {
            const rows = data.to(dtype).reshape(perChannel ? [3, -1] : [1, -1]);
            const rowMax = (signed ? rows.abs() : rows.clamp(0)).amax(1);
            const grid = { signed, perChannel, qMax };
            const fused = estimateRange(rows, grid, { method: 'mse', mseGrid: 100 }).toArray();
            const byOps = mseRangeByOps(rows, rowMax, grid, 100).clamp(MIN_RANGE).toArray();
            assert.deepEqual(fused, byOps, `${dtype} ${name} ${bits} bits perChannel=${perChannel}`);
          }
        }
      }
    }
  });

  it('never returns 0, so an all-zero tensor (a dead ReLU) gives a usable scale', () => {
    for (const method of ['minmax', 'percentile', 'mse'] as const) {
      const r = estimateRange(zeros([2, 5]), { signed: false, perChannel: true, qMax: 3 }, { method });
      assert.ok(r.toArray().every((v) => v > 0 && v < 1e-6));
    }
  });
});

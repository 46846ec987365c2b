import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { UniformQuantizer } from '../../src/quant/index.ts';
import { grad, linspace, noGrad, type Tensor } from '../../src/tensor/index.ts';
import { distinct, f64, maxAbsDiff, mseRangeRef, normals, quantileRef, uniformRef } from './reference.ts';

const BITS = [2, 3, 4, 8];
/** Values with -0 read as 0 (a rounded -0.3 is -0 times the scale; the code is just 0). */
const plain = (t: Tensor): number[] => t.toArray().map((v) => v + 0);

describe('UniformQuantizer', () => {
  it('signed per-tensor min-max matches the naive reference at 2, 3, 4, 8 bits', () => {
    const w = normals(500, 3);
    for (const bits of BITS) {
      const q = new UniformQuantizer({ bits, signed: true });
      const qMax = 2 ** (bits - 1) - 1;
      const expected = uniformRef(w, Math.max(...w.map(Math.abs)) / qMax, -qMax, qMax);
      assert.ok(maxAbsDiff(q.call(f64(w)).toArray(), expected) < 1e-12, `bits ${bits}`);
    }
  });

  it('unsigned per-tensor matches the reference and clips negatives to 0', () => {
    const a = normals(500, 4);
    for (const bits of BITS) {
      const q = new UniformQuantizer({ bits, signed: false });
      const qMax = 2 ** bits - 1;
      const expected = uniformRef(a, Math.max(...a) / qMax, 0, qMax);
      const got = q.call(f64(a)).toArray();
      assert.ok(maxAbsDiff(got, expected) < 1e-12, `bits ${bits}`);
      assert.ok(got.every((v, i) => (a[i] < 0 ? v === 0 : v >= 0)));
    }
  });

  it('percentile and MSE ranges give the reference grid', () => {
    const w = normals(400, 5);
    for (const bits of BITS) {
      const qMax = 2 ** (bits - 1) - 1;
      const p = new UniformQuantizer({ bits, signed: true, range: 'percentile', percentile: 0.99 });
      const rP = quantileRef(w.map(Math.abs), 0.99);
      assert.ok(maxAbsDiff(p.call(f64(w)).toArray(), uniformRef(w, rP / qMax, -qMax, qMax)) < 1e-12, `percentile, bits ${bits}`);
      const m = new UniformQuantizer({ bits, signed: true, range: 'mse', mseGrid: 50 });
      const rM = mseRangeRef(w, true, qMax, 50);
      assert.ok(maxAbsDiff(m.call(f64(w)).toArray(), uniformRef(w, rM / qMax, -qMax, qMax)) < 1e-12, `mse, bits ${bits}`);
    }
  });

  it('produces exactly 2^b - 1 levels (signed, with zero) and 2^b (unsigned) on dense data, never more', () => {
    const dense = linspace(-1, 1, 4001, { dtype: 'float64' });
    for (const bits of BITS) {
      const s = new UniformQuantizer({ bits, signed: true });
      assert.equal(s.levels(), 2 ** bits - 1);
      assert.equal(distinct(s.call(dense).toArray()), 2 ** bits - 1, `signed ${bits}`);
      const u = new UniformQuantizer({ bits, signed: false });
      assert.equal(u.levels(), 2 ** bits);
      assert.equal(distinct(u.call(dense).toArray()), 2 ** bits, `unsigned ${bits}`);
      // Heavy-tailed data with a percentile clip still stays within the level budget.
      const tails = f64(normals(3000, bits).map((v) => v ** 3));
      assert.ok(distinct(new UniformQuantizer({ bits, signed: true, range: 'percentile', percentile: 0.9 }).call(tails).toArray()) <= 2 ** bits - 1);
    }
  });

  it('per-channel scales equal a per-tensor quantizer run on each row', () => {
    const C = 5;
    const rowLen = 3 * 3 * 2;
    const w = normals(C * rowLen, 6).map((v, i) => v * (1 + Math.floor(i / rowLen)));
    for (const range of ['minmax', 'percentile', 'mse'] as const) {
      for (const bits of BITS) {
        const pc = new UniformQuantizer({ bits, signed: true, channels: C, range, percentile: 0.95 });
        const out = pc.call(f64(w, [C, 2, 3, 3])).reshape([C, rowLen]);
        const exported = pc.export(f64(w, [C, 2, 3, 3]));
        assert.deepEqual(exported.scale.shape, [C]);
        assert.equal(exported.axis, 0);
        for (let c = 0; c < C; c++) {
          const row = w.slice(c * rowLen, (c + 1) * rowLen);
          const single = new UniformQuantizer({ bits, signed: true, range, percentile: 0.95 });
          assert.deepEqual(out.select(0, c).toArray(), single.call(f64(row)).toArray(), `${range} bits ${bits} row ${c}`);
          assert.equal(exported.scale.toArray()[c], single.export(f64(row)).scale.item());
        }
      }
    }
  });

  it('export: codes * scale equals forward, codes are integers of the smallest dtype', () => {
    const w = f64(normals(256, 7), [8, 32]);
    for (const bits of BITS) {
      for (const q of [new UniformQuantizer({ bits, signed: true }), new UniformQuantizer({ bits, signed: true, channels: 8 })]) {
        const e = q.export(w);
        assert.equal(e.codes.dtype, 'int8');
        assert.equal(e.codeStep, 1);
        assert.equal(e.zeroPoint, 0);
        const scale = e.axis === 0 ? e.scale.reshape([8, 1]) : e.scale;
        assert.deepEqual(plain(e.codes.to('float64').mul(scale)), plain(q.call(w)));
        const codes = e.codes.toArray();
        assert.ok(codes.every((c) => c >= e.qMin && c <= e.qMax));
        assert.equal(e.qMax, 2 ** (bits - 1) - 1);
        assert.equal(e.qMin, -e.qMax);
      }
      const u = new UniformQuantizer({ bits, signed: false });
      const eu = u.export(w);
      assert.equal(eu.codes.dtype, 'uint8');
      assert.deepEqual(plain(eu.codes.to('float64').mul(eu.scale)), plain(u.call(w)));
    }
  });

  it('straight-through gradient: 1 inside the clip range, 0 outside', () => {
    // The 90% quantile of |x| is at position 0.9 * 9 = 8.1 of the sorted list: 0.95 + 0.1 (1.0 - 0.95)
    // = 0.955, so only 1.0 lies outside the clip range.
    const values = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8, 0.95, -1.0];
    const x = f64(values).requiresGrad_(true);
    const q = new UniformQuantizer({ bits: 2, signed: true, range: 'percentile', percentile: 0.9 });
    const upstream = f64([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const [g] = grad(q.call(x), x, { gradOutputs: [upstream] });
    const r = quantileRef(values.map(Math.abs), 0.9);
    assert.deepEqual(g!.toArray(), values.map((v, i) => (Math.abs(v) <= r ? i + 1 : 0)));
    assert.deepEqual(g!.toArray(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]);
  });

  it('running range: averages the first 1/momentum batches, then an EMA; eval freezes it', () => {
    const q = new UniformQuantizer({ bits: 4, signed: false, running: true, momentum: 0.5 });
    assert.throws(() => q.eval().call(f64([0.5])), LowbitError);
    q.train();
    for (const max of [1, 2, 4]) q.call(f64([0, max / 2, max]));
    // k=1: 1; k=2: m = 1/2 -> 1.5; k=3: m = max(0.5, 1/3) -> 1.5 + 0.5 (4 - 1.5) = 2.75
    assert.ok(Math.abs(q.runningRange!.item() - 2.75) < 1e-6);
    assert.equal(q.numObserved!.item(), 3);
    q.eval();
    const out = q.call(f64([0, 1, 10])).toArray();
    assert.equal(q.numObserved!.item(), 3);
    const s = Math.fround(2.75) / 15;
    assert.ok(maxAbsDiff(out, uniformRef([0, 1, 10], s, 0, 15)) < 1e-6);
    q.resetRunningRange();
    assert.equal(q.numObserved!.item(), 0);
  });

  it('keeps its running range in the state dict and rejects bad options', () => {
    const q = new UniformQuantizer({ bits: 8, signed: false, running: true });
    assert.deepEqual([...q.stateDict().keys()], ['runningRange', 'numObserved']);
    assert.throws(() => new UniformQuantizer({ bits: 1, signed: true }), LowbitError);
    assert.throws(() => new UniformQuantizer({ bits: 9, signed: true }), LowbitError);
    assert.throws(() => new UniformQuantizer({ bits: 4, signed: false, running: true, channels: 3 }), LowbitError);
    assert.throws(() => new UniformQuantizer({ bits: 4, signed: true, channels: 3 }).call(f64([1, 2], [2, 1])), LowbitError);
  });

  it('does not record a graph when gradients are off', () => {
    const x = f64([0.1, 0.7]).requiresGrad_(true);
    const y = noGrad(() => new UniformQuantizer({ bits: 2, signed: true }).call(x));
    assert.equal(y.requiresGrad, false);
  });
});

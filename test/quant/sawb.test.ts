import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { SAWB_COEFFICIENTS, SawbQuantizer } from '../../src/quant/index.ts';
import { grad } from '../../src/tensor/index.ts';
import { distinct, f64, maxAbsDiff, normals, SAWB_TABLE, sawbAlphaRef, sawbRef } from './reference.ts';

describe('SawbQuantizer', () => {
  it('uses the reference coefficient table for 2, 3, 4, 5, 8 bits and refuses other widths', () => {
    assert.deepEqual(Object.fromEntries(Object.entries(SAWB_COEFFICIENTS).map(([k, v]) => [k, [...v]])), SAWB_TABLE);
    for (const bits of [6, 7, 1]) assert.throws(() => new SawbQuantizer({ bits }), LowbitError);
  });

  it('alpha = c1 sqrt(E[w^2]) + c2 E[|w|], and forward matches the reference formula', () => {
    const w = normals(1000, 41, 0.05);
    for (const bits of [2, 3, 4, 5, 8]) {
      const q = new SawbQuantizer({ bits });
      const alpha = q.clipLevel(f64(w)).item();
      assert.ok(Math.abs(alpha - sawbAlphaRef(w, bits)) < 1e-12 * Math.abs(alpha) + 1e-15, `alpha ${bits}`);
      assert.ok(maxAbsDiff(q.call(f64(w)).toArray(), sawbRef(w, bits)) < 1e-12, `bits ${bits}`);
    }
  });

  it('2 bits: exactly 4 levels {-alpha, -alpha/3, alpha/3, alpha}, no zero; 2^b levels at every width', () => {
    const w = normals(4000, 42);
    const q = new SawbQuantizer({ bits: 2 });
    const alpha = sawbAlphaRef(w, 2);
    const levels = [...new Set(q.call(f64(w)).toArray())].sort((a, b) => a - b);
    assert.ok(maxAbsDiff(levels, [-alpha, -alpha / 3, alpha / 3, alpha]) < 1e-12);
    for (const bits of [2, 3, 4, 5, 8]) {
      const wide = f64(normals(20000, bits));
      const sq = new SawbQuantizer({ bits });
      assert.equal(sq.levels(), 2 ** bits);
      const n = distinct(sq.call(wide).toArray());
      assert.ok(n <= 2 ** bits, `bits ${bits}: ${n} levels`);
      if (bits <= 5) assert.equal(n, 2 ** bits, `bits ${bits}`);
    }
  });

  it('recomputes alpha from the current weights at every call', () => {
    const q = new SawbQuantizer({ bits: 2 });
    const w = normals(500, 43);
    const y1 = q.call(f64(w)).toArray();
    const y2 = q.call(f64(w.map((v) => 3 * v))).toArray();
    assert.ok(maxAbsDiff(y2, y1.map((v) => 3 * v)) < 1e-12);
  });

  it('STE gradient: upstream passes inside [-alpha, alpha], zero outside; alpha is not differentiated', () => {
    const values = [-3, -1, -0.2, 0.1, 0.4, 1.1, 2.5, -0.05];
    const alpha = sawbAlphaRef(values, 2);
    const w = f64(values).requiresGrad_(true);
    const upstream = f64([1, 2, 3, 4, 5, 6, 7, 8]);
    const [g] = grad(new SawbQuantizer({ bits: 2 }).call(w), w, { gradOutputs: [upstream] });
    assert.deepEqual(g!.toArray(), values.map((v, i) => (Math.abs(v) <= alpha ? i + 1 : 0)));
    assert.ok(g!.toArray().some((v) => v === 0) && g!.toArray().some((v) => v !== 0));
  });

  it('export: odd codes in [-(2^b - 1), 2^b - 1], codeStep 2, codes * scale equal forward', () => {
    const w = f64(normals(3000, 44, 0.1));
    for (const bits of [2, 3, 4, 5, 8]) {
      const q = new SawbQuantizer({ bits });
      const e = q.export(w);
      const n = 2 ** bits - 1;
      assert.deepEqual([e.qMin, e.qMax, e.codeStep], [-n, n, 2]);
      assert.equal(e.codes.dtype, bits === 8 ? 'int16' : 'int8');
      const codes = e.codes.toArray();
      assert.ok(codes.every((c) => Math.abs(c % 2) === 1 && Math.abs(c) <= n));
      assert.deepEqual(e.codes.to('float64').mul(e.scale).toArray(), q.call(w).toArray());
    }
  });
});

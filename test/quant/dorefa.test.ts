import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DorefaActQuantizer, DorefaWeightQuantizer } from '../../src/quant/index.ts';
import { grad, linspace } from '../../src/tensor/index.ts';
import { distinct, dorefaActRef, dorefaWeightRef, f64, maxAbsDiff, normals } from './reference.ts';

describe('DorefaWeightQuantizer', () => {
  it('forward matches 2 q_k(tanh(w) / (2 max|tanh w|) + 1/2) - 1 at 2, 3, 4, 8 bits', () => {
    const w = normals(800, 51, 0.7);
    for (const bits of [2, 3, 4, 8]) {
      assert.ok(maxAbsDiff(new DorefaWeightQuantizer({ bits }).call(f64(w)).toArray(), dorefaWeightRef(w, bits)) < 1e-12, `bits ${bits}`);
    }
  });

  it('has 2^k levels in [-1, 1] without zero; 2 bits gives {-1, -1/3, 1/3, 1}', () => {
    const dense = linspace(-2, 2, 8001, { dtype: 'float64' });
    for (const bits of [2, 3, 4, 8]) {
      const q = new DorefaWeightQuantizer({ bits });
      assert.equal(q.levels(), 2 ** bits);
      const out = q.call(dense).toArray();
      assert.equal(distinct(out), 2 ** bits, `bits ${bits}`);
      assert.ok(!out.includes(0));
    }
    const levels = [...new Set(new DorefaWeightQuantizer({ bits: 2 }).call(dense).toArray())].sort((a, b) => a - b);
    assert.ok(maxAbsDiff(levels, [-1, -1 / 3, 1 / 3, 1]) < 1e-12);
  });

  it('gradient: STE through round only, tanh and the max differentiated (hand-derived)', () => {
    // Surrogate tanh(w_i) / M, M = max|tanh w| at j = 1 (w = -1.2, sign -1). For i != j:
    // u_i sech^2(w_i) / M; for j: -sign_j sech^2(w_j) / M^2 * sum_{i != j} u_i tanh(w_i).
    const values = [0.3, -1.2, 0.5, 0.8];
    const u = [1, 2, 3, 4];
    const w = f64(values).requiresGrad_(true);
    const [g] = grad(new DorefaWeightQuantizer({ bits: 2 }).call(w), w, { gradOutputs: [f64(u)] });
    const t = values.map(Math.tanh);
    const sech2 = values.map((v) => 1 - Math.tanh(v) ** 2);
    const M = Math.abs(t[1]);
    const others = u.reduce((a, ui, i) => (i === 1 ? a : a + ui * t[i]), 0);
    const expected = values.map((_, i) => (i === 1 ? (+1 * sech2[1] * others) / M ** 2 : (u[i] * sech2[i]) / M));
    assert.ok(maxAbsDiff(g!.toArray(), expected) < 1e-12);
  });

  it('export: odd codes with scale 1/n, codes * scale equal forward', () => {
    const w = f64(normals(500, 52));
    for (const bits of [2, 3, 4, 8]) {
      const q = new DorefaWeightQuantizer({ bits });
      const e = q.export(w);
      const n = 2 ** bits - 1;
      assert.deepEqual([e.qMin, e.qMax, e.codeStep], [-n, n, 2]);
      assert.ok(e.codes.toArray().every((c) => Math.abs(c % 2) === 1));
      assert.deepEqual(e.codes.to('float64').mul(e.scale).toArray(), q.call(w).toArray());
    }
  });
});

describe('DorefaActQuantizer', () => {
  it('forward matches q_k(clip(a, 0, 1)) and has exactly 2^k levels (not the 6n + 1 of a [0, 6] clip)', () => {
    const a = normals(800, 53, 1.5);
    const dense = linspace(-1, 7, 8001, { dtype: 'float64' });
    for (const bits of [2, 3, 4, 8]) {
      const q = new DorefaActQuantizer({ bits });
      assert.ok(maxAbsDiff(q.call(f64(a)).toArray(), dorefaActRef(a, bits)) < 1e-12, `bits ${bits}`);
      assert.equal(q.levels(), 2 ** bits);
      assert.equal(distinct(q.call(dense).toArray()), 2 ** bits, `bits ${bits}`);
    }
    const levels = [...new Set(new DorefaActQuantizer({ bits: 2 }).call(dense).toArray())].sort((x, y) => x - y);
    assert.ok(maxAbsDiff(levels, [0, 1 / 3, 2 / 3, 1]) < 1e-12);
  });

  it('gradient is 1 inside [0, 1] and 0 outside', () => {
    const a = f64([-0.3, 0.2, 0.5, 0.99, 1.4]).requiresGrad_(true);
    const [g] = grad(new DorefaActQuantizer({ bits: 2 }).call(a), a, { gradOutputs: [f64([1, 2, 3, 4, 5])] });
    assert.deepEqual(g!.toArray(), [0, 2, 3, 4, 0]);
  });

  it('export: uint8 codes, codes * scale equal forward', () => {
    const a = f64(normals(300, 54));
    const q = new DorefaActQuantizer({ bits: 3 });
    const e = q.export(a);
    assert.equal(e.codes.dtype, 'uint8');
    assert.deepEqual([e.qMin, e.qMax], [0, 7]);
    assert.deepEqual(e.codes.to('float64').mul(e.scale).toArray(), q.call(a).toArray());
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { LsqQuantizer } from '../../src/quant/index.ts';
import { grad, linspace, noGrad } from '../../src/tensor/index.ts';
import { distinct, f64, lsqRef, maxAbsDiff, normals } from './reference.ts';

const ranges = (bits: number, signed: boolean) => (signed ? [2 ** (bits - 1), 2 ** (bits - 1) - 1] : [0, 2 ** bits - 1]);

describe('LsqQuantizer', () => {
  it('initializes s = 2 <|v|> / sqrt(Q_P) from the first tensor, then keeps it', () => {
    const w = normals(200, 31);
    for (const bits of [2, 3, 4, 8]) {
      const q = new LsqQuantizer({ bits, role: 'weight' });
      q.call(f64(w));
      const qP = 2 ** (bits - 1) - 1;
      const expected = (2 * w.reduce((a, v) => a + Math.abs(v), 0)) / w.length / Math.sqrt(qP);
      assert.ok(Math.abs(q.step.item() - expected) < 1e-6 * expected, `bits ${bits}`);
      assert.equal(q.initialized.item(), 1);
      q.call(f64(w.map((v) => v * 10)));
      assert.ok(Math.abs(q.step.item() - expected) < 1e-6 * expected, 'not re-initialized');
    }
  });

  it('forward matches round(clip(v / s, -Q_N, Q_P)) s, signed weights and unsigned activations', () => {
    const v = normals(500, 32, 2);
    for (const bits of [2, 3, 4, 8]) {
      for (const role of ['weight', 'activation'] as const) {
        const q = new LsqQuantizer({ bits, role });
        noGrad(() => q.step.fill_(0.37));
        q.initialized.fill_(1);
        const [qN, qP] = ranges(bits, role === 'weight');
        assert.ok(maxAbsDiff(q.call(f64(v)).toArray(), lsqRef(v, Math.fround(0.37), qN, qP)) < 1e-12, `${role} ${bits}`);
      }
    }
  });

  it('has 2^b levels: [-2^(b-1), 2^(b-1) - 1] for weights, [0, 2^b - 1] for activations', () => {
    const dense = linspace(-300, 300, 6001, { dtype: 'float64' });
    for (const bits of [2, 3, 4, 8]) {
      for (const role of ['weight', 'activation'] as const) {
        const q = new LsqQuantizer({ bits, role });
        noGrad(() => q.step.fill_(1));
        q.initialized.fill_(1);
        assert.equal(q.levels(), 2 ** bits);
        assert.equal(distinct(q.call(dense).toArray()), 2 ** bits, `${role} ${bits}`);
      }
    }
  });

  it('step gradient is g * sum(upstream * (-v/s + round(v/s) | -Q_N | Q_P)), g = 1/sqrt(N Q_P)', () => {
    // 2-bit weights: Q_N = 2, Q_P = 1, s = 0.5. v/s = -2.6 (below), -1.2, 0.2, 0.6, 1.4 (above), 0.9.
    const q = new LsqQuantizer({ bits: 2, role: 'weight' });
    noGrad(() => q.step.fill_(0.5));
    q.initialized.fill_(1);
    const v = f64([-1.3, -0.6, 0.1, 0.3, 0.7, 0.45]).requiresGrad_(true);
    const upstream = f64([1, 2, 3, 4, 5, 6]);
    const [gv, gs] = grad(q.call(v), [v, q.step], { gradOutputs: [upstream] });
    // per element: -2, -(-1.2) + (-1) = 0.2, -0.2 + 0 = -0.2, -0.6 + 1 = 0.4, 1, -0.9 + 1 = 0.1
    const raw = 1 * -2 + 2 * 0.2 + 3 * -0.2 + 4 * 0.4 + 5 * 1 + 6 * 0.1;
    assert.ok(Math.abs(gs!.item() - raw / Math.sqrt(6 * 1)) < 1e-6);
    assert.ok(maxAbsDiff(gv!.toArray(), [0, 2, 3, 4, 0, 6]) < 1e-12);
  });

  it('activations scale the step gradient by the features of one sample, not of the batch', () => {
    // 2-bit activations: Q_P = 3, s = 1, a batch of 2 samples with 3 features: N = 3.
    const q = new LsqQuantizer({ bits: 2, role: 'activation' });
    noGrad(() => q.step.fill_(1));
    q.initialized.fill_(1);
    const a = f64([-1, 0.4, 1.2, 2.6, 3.5, 0.5], [2, 3]);
    const [gs] = grad(q.call(a).sum(), q.step);
    // below: -Q_N = 0; 0.4: 0.4 - 0.4... -0.4 + 0 = -0.4; 1.2: -1.2 + 1 = -0.2; 2.6: -2.6 + 3 = 0.4;
    // 3.5 above: Q_P = 3; 0.5: -0.5 + 0 (half to even) = -0.5
    const raw = 0 - 0.4 - 0.2 + 0.4 + 3 - 0.5;
    assert.ok(Math.abs(gs!.item() - raw / Math.sqrt(3 * 3)) < 1e-6);
  });

  it('per-channel steps: one per output channel, each initialized and gradient-scaled by its own row', () => {
    const q = new LsqQuantizer({ bits: 3, role: 'weight', channels: 2 });
    const rows = [
      [0.1, -0.2, 0.3, -0.4],
      [1, -2, 3, -4],
    ];
    const w = f64(rows.flat(), [2, 2, 2]).requiresGrad_(true);
    const out = q.call(w);
    const qP = 3;
    const init = rows.map((r) => (2 * r.reduce((a, v) => a + Math.abs(v), 0)) / r.length / Math.sqrt(qP));
    assert.ok(maxAbsDiff(q.step.toArray(), init) < 1e-6);
    const s = q.step.toArray();
    const expected = rows.flatMap((r, c) => lsqRef(r, s[c], 4, 3));
    assert.ok(maxAbsDiff(out.toArray(), expected) < 1e-12);
    const [gs] = grad(out.sum(), q.step);
    const g = 1 / Math.sqrt(4 * qP);
    const perRow = rows.map((r, c) =>
      r.reduce((acc, v) => {
        const z = v / s[c];
        return acc + (z < -4 ? -4 : z > 3 ? 3 : -z + Math.round(z));
      }, 0),
    );
    assert.ok(maxAbsDiff(gs!.toArray(), perRow.map((t) => t * g)) < 1e-6);
    const e = q.export(w);
    assert.equal(e.axis, 0);
    assert.deepEqual(e.codes.to('float64').mul(e.scale.reshape([2, 1, 1])).toArray(), out.detach().toArray());
  });

  it('export: codes * step equals forward; refuses before initialization', () => {
    const x = f64(normals(120, 33));
    const q = new LsqQuantizer({ bits: 4, role: 'weight' });
    assert.throws(() => q.export(x), LowbitError);
    const y = q.call(x);
    const e = q.export(x);
    assert.equal(e.codes.dtype, 'int8');
    assert.deepEqual([e.qMin, e.qMax], [-8, 7]);
    assert.deepEqual(e.codes.to('float64').mul(e.scale).toArray().map((v) => v + 0), y.toArray().map((v) => v + 0));
    assert.deepEqual([...q.stateDict().keys()], ['step', 'initialized']);
    assert.throws(() => new LsqQuantizer({ bits: 4, role: 'activation', channels: 3 }), LowbitError);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { PactQuantizer } from '../../src/quant/index.ts';
import { fromArray, grad, linspace, noGrad } from '../../src/tensor/index.ts';
import { distinct, f64, maxAbsDiff, normals, pactRef } from './reference.ts';

describe('PactQuantizer', () => {
  it('forward matches round(clip(x, 0, alpha) n / alpha) alpha / n at 2, 3, 4, 8 bits', () => {
    // alpha is a float32 parameter: values agree to float32 precision, a wrong level would be off by alpha/255 or more.
    const x = normals(600, 21, 1.5);
    for (const bits of [2, 3, 4, 8]) {
      for (const alphaInit of [1, 2.5]) {
        const q = new PactQuantizer({ bits, alphaInit });
        assert.ok(maxAbsDiff(q.call(f64(x)).toArray(), pactRef(x, alphaInit, bits)) < 1e-6, `bits ${bits} alpha ${alphaInit}`);
      }
    }
  });

  it('has exactly 2^b levels {0, alpha/n, ..., alpha}; at 2 bits {0, alpha/3, 2alpha/3, alpha}', () => {
    const dense = linspace(-1, 3, 8001, { dtype: 'float64' });
    for (const bits of [2, 3, 4, 8]) {
      const q = new PactQuantizer({ bits, alphaInit: 2 });
      assert.equal(q.levels(), 2 ** bits);
      assert.equal(distinct(q.call(dense).toArray()), 2 ** bits);
    }
    const two = new PactQuantizer({ bits: 2, alphaInit: 1.5 });
    const levels = [...new Set(two.call(dense).toArray())].sort((a, b) => a - b);
    assert.ok(maxAbsDiff(levels, [0, 0.5, 1, 1.5]) < 1e-7);
  });

  it('gradients are PACT eq. 3: dx = 1 on [0, alpha), dalpha = sum of upstream where x >= alpha', () => {
    const q = new PactQuantizer({ bits: 2, alphaInit: 0.75 });
    // alpha = 0.75; x = 0.75 counts as clipped (x >= alpha), x = 0 as inside.
    const x = f64([-0.5, 0, 0.1, 0.5, 0.7, 0.75, 1.5, 3]).requiresGrad_(true);
    const upstream = f64([1, 2, 3, 4, 5, 6, 7, 8]);
    const [gx, ga] = grad(q.call(x), [x, q.alpha], { gradOutputs: [upstream] });
    assert.deepEqual(gx!.toArray(), [0, 2, 3, 4, 5, 0, 0, 0]);
    assert.deepEqual(ga!.toArray(), [6 + 7 + 8]);
  });

  it('export: uint8 codes in [0, 2^b - 1] with codes * scale equal to forward', () => {
    const x = f64(normals(300, 22));
    for (const bits of [2, 3, 4, 8]) {
      const q = new PactQuantizer({ bits, alphaInit: 1.25 });
      const e = q.export(x);
      assert.equal(e.codes.dtype, 'uint8');
      assert.equal(e.signed, false);
      assert.deepEqual([e.qMin, e.qMax], [0, 2 ** bits - 1]);
      assert.deepEqual(e.scale.shape, []);
      assert.deepEqual(
        e.codes.to('float64').mul(e.scale).toArray().map((v) => v + 0),
        noGrad(() => q.call(x)).toArray().map((v) => v + 0),
      );
    }
  });

  it('alpha is a registered parameter, and bad options are refused', () => {
    const q = new PactQuantizer({ bits: 4 });
    assert.deepEqual([...q.stateDict().keys()], ['alpha']);
    assert.equal(q.alpha.item(), 1);
    assert.equal(q.alpha.requiresGrad, true);
    assert.throws(() => new PactQuantizer({ bits: 4, alphaInit: 0 }), LowbitError);
    assert.throws(() => new PactQuantizer({ bits: 1 }), LowbitError);
  });

  it('float32 takes the fused native op: the same values bit for bit and the same gradients as the op-by-op form', () => {
    const values = normals(2 * 3 * 5 * 5, 31, 1.2);
    // exact edge cases: 0, alpha itself, values on grid ties (alpha/3 * 0.5 = 0.25 for alpha 1.5, 2 bits).
    values[0] = 0;
    values[1] = 1.5;
    values[2] = 0.25;
    values[3] = -0;
    values[4] = 1.4999999;
    for (const layout of ['contiguous', 'channelsLast'] as const) {
      for (const bits of [2, 4]) {
        const q = new PactQuantizer({ bits, alphaInit: 1.5 });
        const base = fromArray(Float32Array.from(values), [2, 3, 5, 5]).contiguous(layout);
        const upstream = fromArray(Float32Array.from(normals(values.length, 32)), [2, 3, 5, 5]).contiguous(layout);
        const x1 = base.detach().requiresGrad_(true);
        const fused = q.call(x1);
        assert.equal(fused.dtype, 'float32');
        const [gx1, ga1] = grad(fused, [x1, q.alpha], { gradOutputs: [upstream] });
        const x2 = base.detach().requiresGrad_(true);
        const byOps = q.forwardByOps(x2);
        const [gx2, ga2] = grad(byOps, [x2, q.alpha], { gradOutputs: [upstream] });
        assert.deepEqual(Array.from(fused.toFloat32Array()), Array.from(byOps.toFloat32Array()), `${layout} ${bits}-bit values`);
        assert.deepEqual(Array.from(gx1!.toFloat32Array()), Array.from(gx2!.toFloat32Array()), `${layout} ${bits}-bit d/dx`);
        assert.ok(Math.abs(ga1!.item() - ga2!.item()) <= 1e-5 * Math.max(1, Math.abs(ga2!.item())), `${layout} d/dalpha ${ga1!.item()} vs ${ga2!.item()}`);
        const e = q.export(base);
        assert.deepEqual(Array.from(e.codes.to('float32').mul(e.scale).toFloat32Array()), Array.from(noGrad(() => q.call(base)).toFloat32Array()));
      }
    }
  });

  it('fused op, hand-computed: alpha 3, 2 bits (levels 0, 1, 2, 3)', () => {
    const q = new PactQuantizer({ bits: 2, alphaInit: 3 });
    const x = fromArray(Float32Array.from([-1, 0, 0.4, 0.5, 1.5, 2.6, 3, 7]), [8]).requiresGrad_(true);
    const out = q.call(x);
    // 0.5 and 1.5 are ties: half to even gives 0 and 2.
    assert.deepEqual(Array.from(out.toFloat32Array()), [0, 0, 0, 0, 2, 3, 3, 3]);
    const [gx, ga] = grad(out, [x, q.alpha], { gradOutputs: [fromArray(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [8])] });
    assert.deepEqual(Array.from(gx!.toFloat32Array()), [0, 2, 3, 4, 5, 6, 0, 0]);
    assert.deepEqual(Array.from(ga!.toFloat32Array()), [7 + 8]);
  });
});

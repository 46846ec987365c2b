import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { PactQuantizer } from '../../src/quant/index.ts';
import { grad, linspace, noGrad } from '../../src/tensor/index.ts';
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
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import {
  createActQuantizer,
  createWeightQuantizer,
  DorefaActQuantizer,
  DorefaWeightQuantizer,
  FixedGridQuantizer,
  LsqQuantizer,
  PactQuantizer,
  SawbQuantizer,
  UniformQuantizer,
  type ActQuantSpec,
} from '../../src/quant/index.ts';

describe('createWeightQuantizer / createActQuantizer', () => {
  it('builds the quantizer of each weight kind with its options', () => {
    const u = createWeightQuantizer({ kind: 'uniform', bits: 3, perChannel: true, range: 'mse', mseGrid: 20 }, 16);
    assert.ok(u instanceof UniformQuantizer);
    assert.deepEqual([u.bits, u.signed, u.channels, u.running, u.rangeOptions.method, u.rangeOptions.mseGrid], [3, true, 16, false, 'mse', 20]);
    const l = createWeightQuantizer({ kind: 'lsq', bits: 2, perChannel: true }, 8);
    assert.ok(l instanceof LsqQuantizer);
    assert.deepEqual([l.role, l.channels, l.step.shape], ['weight', 8, [8]]);
    const lt = createWeightQuantizer({ kind: 'lsq', bits: 2 }, 8) as LsqQuantizer;
    assert.deepEqual([lt.channels, lt.step.shape], [null, [1]]);
    assert.ok(createWeightQuantizer({ kind: 'sawb', bits: 5 }, 4) instanceof SawbQuantizer);
    assert.ok(createWeightQuantizer({ kind: 'dorefa', bits: 4 }, 4) instanceof DorefaWeightQuantizer);
  });

  it('builds unsigned activation quantizers; uniform ones keep a running range', () => {
    const u = createActQuantizer({ kind: 'uniform', bits: 4, momentum: 0.2 }) as UniformQuantizer;
    assert.deepEqual([u.signed, u.running, u.momentum, u.qMax], [false, true, 0.2, 15]);
    const p = createActQuantizer({ kind: 'pact', bits: 2, alphaInit: 4 }) as PactQuantizer;
    assert.equal(p.alpha.item(), 4);
    const l = createActQuantizer({ kind: 'lsq', bits: 2 }) as LsqQuantizer;
    assert.deepEqual([l.role, l.signed, l.qN, l.qP], ['activation', false, 0, 3]);
    assert.ok(createActQuantizer({ kind: 'dorefa', bits: 2 }) instanceof DorefaActQuantizer);
    assert.throws(() => createActQuantizer({ kind: 'sawb', bits: 2 } as unknown as ActQuantSpec), LowbitError);
  });

  it("fixed weights take GPFQ's code ranges; a range wider than the bits is refused", () => {
    const signed = createWeightQuantizer({ kind: 'fixed', bits: 3 }, 4) as FixedGridQuantizer;
    assert.deepEqual([signed.qMin, signed.qMax, signed.levels(), signed.channels], [-4, 3, 8, null]);
    const reference = createWeightQuantizer({ kind: 'fixed', bits: 3, grid: 'reference', perChannel: true }, 4) as FixedGridQuantizer;
    assert.deepEqual([reference.qMin, reference.qMax, reference.levels(), reference.channels], [-4, 4, 9, 4]);
    assert.throws(() => new FixedGridQuantizer({ bits: 2, qMin: -2, qMax: 3 }), /do not fit 2 bits/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Linear } from '../../src/nn/index.ts';
import { DorefaActQuantizer, DorefaWeightQuantizer, QuantLinear, SawbQuantizer } from '../../src/quant/index.ts';
import { F, grad, manualSeed, randn } from '../../src/tensor/index.ts';

describe('QuantLinear', () => {
  it('fromFloat shares tensors and computes Q_a(x) Q_w(W)^T + b', () => {
    manualSeed(11);
    const lin = new Linear(6, 3);
    const wq = new DorefaWeightQuantizer({ bits: 2 });
    const aq = new DorefaActQuantizer({ bits: 2 });
    const q = QuantLinear.fromFloat(lin, wq, aq);
    assert.equal(q.weight, lin.weight);
    assert.equal(q.bias, lin.bias);
    assert.deepEqual([...q.stateDict().keys()], ['weight', 'bias']);
    const x = randn([4, 6]);
    assert.ok(q.call(x).allclose(F.linear(aq.call(x), wq.call(lin.weight), lin.bias), 0, 0));
  });

  it('works without bias and passes gradients to the float weight through the quantizer', () => {
    manualSeed(12);
    const lin = new Linear(5, 2, { bias: false });
    const q = QuantLinear.fromFloat(lin, new SawbQuantizer({ bits: 2 }));
    assert.equal(q.bias, null);
    const x = randn([3, 5]);
    const [gw] = grad(q.call(x).sum(), q.weight);
    // d sum(x W_q^T) / d W_q = column sums of x, masked by |W| <= alpha (SAWB's STE).
    const alpha = new SawbQuantizer({ bits: 2 }).clipLevel(lin.weight).item();
    const colSums = x.sum(0).toArray();
    const w = lin.weight.toArray();
    const expected = w.map((v, i) => (Math.abs(v) <= alpha ? colSums[i % 5] : 0));
    const got = gw!.toArray();
    assert.ok(got.every((v, i) => Math.abs(v - expected[i]) < 1e-5));
    assert.match(q.describe(), /QuantLinear\(5 -> 2, no bias\)/);
  });
});

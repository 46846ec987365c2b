import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Conv2d } from '../../src/nn/index.ts';
import { LsqQuantizer, PactQuantizer, QuantConv2d, UniformQuantizer } from '../../src/quant/index.ts';
import { F, grad, manualSeed, noGrad, rand, randn } from '../../src/tensor/index.ts';

describe('QuantConv2d', () => {
  it('fromFloat shares the float weight and bias, keeps geometry and PyTorch parameter names', () => {
    manualSeed(1);
    const conv = new Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: true });
    const q = QuantConv2d.fromFloat(conv, new LsqQuantizer({ bits: 4, role: 'weight', channels: 4 }), new PactQuantizer({ bits: 4 }));
    assert.equal(q.weight, conv.weight);
    assert.equal(q.bias, conv.bias);
    assert.deepEqual([q.stride, q.padding, q.kernelSize], [conv.stride, conv.padding, conv.kernelSize]);
    assert.deepEqual([...q.stateDict().keys()], ['weight', 'bias', 'weightQuantizer.step', 'weightQuantizer.initialized', 'inputQuantizer.alpha']);
    assert.equal(q.weightQuantizer.kind, 'lsq');
    assert.equal(q.inputQuantizer?.kind, 'pact');
  });

  it('forward = conv2d(Q_a(x), Q_w(W)) + b with the layer math unchanged', () => {
    manualSeed(2);
    const conv = new Conv2d(2, 3, 3, { padding: 1, bias: true });
    const wq = new UniformQuantizer({ bits: 3, signed: true, channels: 3 });
    const aq = new PactQuantizer({ bits: 2, alphaInit: 1.5 });
    const q = QuantConv2d.fromFloat(conv, wq, aq);
    const x = randn([2, 2, 5, 5]);
    const expected = F.conv2d(aq.call(x), wq.call(conv.weight), conv.bias, { padding: 1 });
    assert.ok(q.call(x).allclose(expected, 0, 0));
    // Without an input quantizer only the weight is quantized.
    const weightOnly = QuantConv2d.fromFloat(conv, new UniformQuantizer({ bits: 3, signed: true, channels: 3 }));
    assert.ok(weightOnly.call(x).allclose(F.conv2d(x, wq.call(conv.weight), conv.bias, { padding: 1 }), 0, 0));
  });

  it('the float weight receives the STE gradient of the quantized one', () => {
    manualSeed(3);
    const conv = new Conv2d(2, 2, 3, { bias: false });
    const q = QuantConv2d.fromFloat(conv, new UniformQuantizer({ bits: 8, signed: true }));
    const x = randn([1, 2, 4, 4]);
    const [gw] = grad(q.call(x).square().sum(), q.weight);
    // With min-max scales no weight is clipped, so dL/dW = dL/dW_q computed on a leaf copy of W_q.
    const wq = noGrad(() => q.weightQuantizer.call(conv.weight)).requiresGrad_(true);
    const [gref] = grad(F.conv2d(x, wq).square().sum(), wq);
    assert.ok(gw!.allclose(gref!, 1e-6, 1e-7));
  });

  it('quantizedWeight exports the weight codes; conversion does not advance the default generator', () => {
    manualSeed(4);
    const conv = new Conv2d(3, 2, 1, { bias: false });
    manualSeed(5);
    const before = rand([3]).toArray();
    manualSeed(5);
    const q = QuantConv2d.fromFloat(conv, new UniformQuantizer({ bits: 4, signed: true }));
    assert.deepEqual(rand([3]).toArray(), before);
    const e = q.quantizedWeight();
    assert.deepEqual(e.codes.shape, [2, 3, 1, 1]);
    assert.ok(e.codes.to('float32').mul(e.scale).allclose(q.weightQuantizer.call(q.weight), 0, 0));
    assert.match(q.describe(), /^QuantConv2d\(3 -> 2/);
  });

  it('keeps the float layer training mode', () => {
    const conv = new Conv2d(1, 1, 1).eval();
    const q = QuantConv2d.fromFloat(conv, new UniformQuantizer({ bits: 4, signed: true }));
    assert.equal(q.training, false);
    assert.equal(q.weightQuantizer.training, false);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { BatchNorm2d, Conv2d, Flatten, Linear, ReLU, Sequential } from '../../src/nn/index.ts';
import { calibrateActivations, quantizeModel, type QuantizedTensor, QuantConv2d, QuantLinear, UniformQuantizer, LsqQuantizer } from '../../src/quant/index.ts';
import { manualSeed, noGrad, randn } from '../../src/tensor/index.ts';

describe('calibrateActivations', () => {
  it('sets each running range to the mean of the per-batch maxima of that layer input, nothing else', () => {
    manualSeed(71);
    const net = new Sequential(new Conv2d(2, 4, 3), new BatchNorm2d(4), new ReLU(), new Flatten(), new Linear(4 * 4 * 4, 3));
    quantizeModel(net, { weight: { kind: 'uniform', bits: 4 }, act: { kind: 'uniform', bits: 4 }, firstLast: { bits: 8 } });
    net.train();
    const bn = net.at(1) as BatchNorm2d;
    const meanBefore = bn.runningMean.toArray();
    const batches = [randn([3, 2, 6, 6]), randn([3, 2, 6, 6]).mul(2), randn([3, 2, 6, 6]).mul(0.5)];
    // The fc input is relu(bn(conv x)) flattened, with BN in eval mode (running statistics).
    const maxima = batches.map((x) => noGrad(() => net.at(3).call(net.at(2).call(bn.eval().call(net.at(0).call(x)))).max().item()));
    net.train();
    assert.equal(calibrateActivations(net, batches), 3);
    const fc = net.at(4) as QuantLinear;
    const aq = fc.inputQuantizer as UniformQuantizer;
    const mean = maxima.reduce((a, b) => a + b, 0) / 3;
    assert.ok(Math.abs(aq.runningRange!.item() - mean) < 1e-5 * mean);
    assert.deepEqual(bn.runningMean.toArray(), meanBefore, 'BN statistics untouched');
    assert.ok(net.modules().every((m) => m.training), 'modes restored');
    // Calibrating again starts afresh.
    calibrateActivations(net, [batches[1]]);
    assert.ok(Math.abs(aq.runningRange!.item() - maxima[1]) < 1e-5 * maxima[1]);
    assert.throws(() => calibrateActivations(net, []), LowbitError);
  });

  it('initializes LSQ steps and accepts data-loader batches with images', () => {
    manualSeed(72);
    const net = new Sequential(new Linear(5, 6), new ReLU(), new Linear(6, 2));
    quantizeModel(net, { weight: { kind: 'lsq', bits: 2 }, act: { kind: 'lsq', bits: 2 }, firstLast: { bits: 8 } });
    const last = net.at(2) as QuantLinear;
    const aq = last.inputQuantizer as LsqQuantizer;
    assert.equal(aq.initialized.item(), 0);
    const x = randn([16, 5]);
    calibrateActivations(net, [{ images: x }]);
    assert.equal(aq.initialized.item(), 1);
    const hidden = noGrad(() => net.at(1).call((net.at(0) as QuantLinear).call(x)));
    const expected = (2 * hidden.abs().mean().item()) / Math.sqrt(255);
    assert.ok(Math.abs(aq.step.item() - expected) < 1e-5 * expected);
    const e: QuantizedTensor = aq.export(hidden);
    assert.equal(e.codes.dtype, 'uint8');
    assert.ok(net.at(0) instanceof QuantLinear && !(net.at(0) instanceof QuantConv2d));
  });
});

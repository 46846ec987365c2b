import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cifarResNet } from '../../src/models/index.ts';
import { namedQuantizers, nonQuantizerParameters, quantizeModel, quantizerParameters } from '../../src/quant/index.ts';
import { SGD } from '../../src/optim/index.ts';
import { grad, manualSeed, noGrad, randn } from '../../src/tensor/index.ts';

describe('quantizer parameters of a model', () => {
  it('lists PACT alphas and LSQ steps apart from the other parameters, each exactly once', () => {
    manualSeed(81);
    const net = cifarResNet(8, { name: 'resnet8', inChannels: 3, numClasses: 10, inputSize: [32, 32] });
    const plan = quantizeModel(net, { weight: { kind: 'lsq', bits: 2 }, act: { kind: 'pact', bits: 2 } });
    const withAct = plan.filter((l) => l.act !== null).length;
    assert.equal(quantizerParameters(net, 'pact').length, withAct);
    assert.equal(quantizerParameters(net, 'lsq').length, plan.length);
    assert.equal(quantizerParameters(net).length, withAct + plan.length);
    const all = net.parameters();
    const split = [...nonQuantizerParameters(net), ...quantizerParameters(net)];
    assert.equal(split.length, all.length);
    assert.equal(new Set(split).size, all.length);
    assert.ok(namedQuantizers(net).some(([name]) => name === 'layers.0.conv1.inputQuantizer'));
  });

  it('a weight-decay group on the alphas is PACT L2 regularization: alpha -= lr (g + wd alpha)', () => {
    manualSeed(82);
    const net = cifarResNet(8, { name: 'resnet8', inChannels: 3, numClasses: 10, inputSize: [16, 16] });
    quantizeModel(net, { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2, alphaInit: 0.5 } });
    const alphas = quantizerParameters(net, 'pact');
    const opt = new SGD(
      [
        { params: nonQuantizerParameters(net), weightDecay: 0 },
        { params: alphas, weightDecay: 0.1 },
      ],
      { lr: 0.01 },
    );
    const loss = net.call(randn([4, 3, 16, 16])).square().mean();
    const grads = grad(loss, alphas, { retainGraph: true }).map((g) => g!.item());
    assert.ok(grads.some((g) => g !== 0), 'some alpha receives a gradient');
    opt.zeroGrad();
    loss.backward();
    opt.step();
    const after = noGrad(() => alphas.map((a) => a.item()));
    after.forEach((a, i) => assert.ok(Math.abs(a - (0.5 - 0.01 * (grads[i] + 0.1 * 0.5))) < 1e-6));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { lenet5, mlp, cifarResNet } from '../../src/models/index.ts';
import { Conv2d, Linear, type Module } from '../../src/nn/index.ts';
import {
  calibrateActivations,
  LsqQuantizer,
  PactQuantizer,
  QuantConv2d,
  QuantLinear,
  quantizeModel,
  SawbQuantizer,
  type QuantConfig,
} from '../../src/quant/index.ts';
import { F, grad, manualSeed, noGrad, randn, scope } from '../../src/tensor/index.ts';

const resnet20 = () => cifarResNet(20, { name: 'resnet20', inChannels: 3, numClasses: 10, inputSize: [32, 32] });
const quantLayers = (m: Module) => [...m.namedModules()].filter(([, l]) => l instanceof QuantConv2d || l instanceof QuantLinear) as [string, QuantConv2d | QuantLinear][];

describe('quantizeModel', () => {
  it('ResNet-20: 8 bits on the stem conv and fc, b bits on every other conv, inputs quantized after ReLUs', () => {
    manualSeed(91);
    const net = resnet20();
    const floatLayers = [...net.namedModules()].filter(([, m]) => m instanceof Conv2d || m instanceof Linear);
    const weightsBefore = new Map(floatLayers.map(([n, m]) => [n, (m as Conv2d | Linear).weight]));
    const plan = quantizeModel(net, { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 } });

    const layers = quantLayers(net);
    assert.equal(layers.length, 22, '19 3x3 convs + 2 shortcut convs + fc');
    assert.equal(plan.length, 22);
    for (const [name, layer] of layers) {
      const ends = name === 'stem.0' || name === 'fc';
      assert.equal(layer.weightQuantizer.bits, ends ? 8 : 2, name);
      assert.ok(layer.weightQuantizer instanceof SawbQuantizer, name);
      assert.equal(layer.weight, weightsBefore.get(name), `${name} shares the float weight`);
      if (name === 'stem.0') assert.equal(layer.inputQuantizer, null, 'the network input is not quantized');
      else {
        assert.ok(layer.inputQuantizer instanceof PactQuantizer, name);
        assert.equal(layer.inputQuantizer.bits, ends ? 8 : 2, name);
      }
    }
    assert.deepEqual(
      plan.filter((l) => l.role !== 'body').map((l) => [l.name, l.role, l.weight?.bits, l.act?.bits ?? null]),
      [
        ['stem.0', 'first', 8, null],
        ['fc', 'last', 8, 8],
      ],
    );
    // The typed fields of the blocks point at the new layers, so their forward uses them.
    const block = net.layers.at(0) as unknown as { conv1: Module; conv2: Module };
    assert.ok(block.conv1 instanceof QuantConv2d && block.conv2 instanceof QuantConv2d);
    assert.ok(net.fc instanceof QuantLinear);
    // BN is kept; names of float parameters are unchanged.
    const keys = [...net.stateDict().keys()];
    assert.ok(keys.includes('layers.0.bn1.running_mean'));
    assert.ok(keys.includes('layers.0.conv1.weight') && keys.includes('layers.0.conv1.inputQuantizer.alpha'));
    assert.ok(keys.includes('layers.3.shortcut.0.weight'));
  });

  it('ResNet-20 at 2 bits runs forward and backward, with gradients reaching weights and alphas', () => {
    manualSeed(92);
    const net = resnet20();
    quantizeModel(net, { weight: { kind: 'lsq', bits: 2 }, act: { kind: 'lsq', bits: 2 } });
    scope(() => {
      const x = randn([2, 3, 32, 32]);
      const loss = F.crossEntropy(net.call(x), randn([2, 10]).argmax(1));
      const conv = net.getSubmodule('layers.4.conv2') as QuantConv2d;
      const wq = conv.weightQuantizer;
      const aq = conv.inputQuantizer;
      assert.ok(wq instanceof LsqQuantizer && aq instanceof LsqQuantizer);
      const [gw, gs, ga] = grad(loss, [conv.weight, wq.step, aq.step]);
      for (const g of [gw, gs, ga]) assert.ok(g !== null && g.abs().sum().item() > 0);
      // A 2-bit activation grid: that conv's input quantizer gives at most 4 values.
      const hidden = noGrad(() => aq.call(randn([1, 64, 8, 8]).relu()));
      assert.ok(new Set(hidden.toArray()).size <= 4);
    });
  });

  it('converts Sequential models the same way (LeNet-5, MLP) and honours overrides', () => {
    manualSeed(93);
    const lenet = lenet5({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
    const plan = quantizeModel(lenet, {
      weight: { kind: 'dorefa', bits: 3 },
      act: { kind: 'dorefa', bits: 3 },
      overrides: { '3': { weight: { kind: 'uniform', bits: 4, perChannel: true } }, '9': { float: true } },
    });
    assert.deepEqual(
      plan.map((l) => [l.name, l.role, l.weight?.kind ?? 'float', l.weight?.bits ?? 32]),
      [
        ['0', 'first', 'dorefa', 8],
        ['3', 'body', 'uniform', 4],
        ['7', 'body', 'dorefa', 3],
        ['9', 'body', 'float', 32],
        ['11', 'last', 'dorefa', 8],
      ],
    );
    assert.ok(lenet.at(9) instanceof Linear && !(lenet.at(9) instanceof QuantLinear));
    assert.deepEqual(lenet.call(randn([2, 1, 28, 28])).shape, [2, 10]);

    const net = mlp({ name: 'mlp', inChannels: 1, numClasses: 3, inputSize: [1, 6], widths: [5] });
    const mlpPlan = quantizeModel(net, { weight: { kind: 'uniform', bits: 4 }, act: null, firstLast: 'float' });
    assert.deepEqual(
      mlpPlan.map((l) => l.weight),
      [null, null],
    );
  });

  it('refuses unknown override names, a second conversion and a model without layers', () => {
    const cfg: QuantConfig = { weight: { kind: 'sawb', bits: 2 }, act: null, overrides: { 'layers.0.conv9': { float: true } } };
    assert.throws(() => quantizeModel(resnet20(), cfg), /overrides\['layers\.0\.conv9'\] names no Conv2d\/Linear layer/);
    const net = resnet20();
    quantizeModel(net, { weight: { kind: 'sawb', bits: 2 }, act: null });
    assert.throws(() => quantizeModel(net, { weight: { kind: 'sawb', bits: 2 }, act: null }), /already quantized/);
    assert.throws(() => quantizeModel(mlp({ name: 'mlp', inChannels: 1, numClasses: 2, inputSize: [1, 2], widths: [] }).at(0), cfg), LowbitError);
  });

  it('a float checkpoint loads into the converted model with only quantizer keys missing', () => {
    manualSeed(94);
    const source = resnet20();
    const target = resnet20();
    quantizeModel(target, { weight: { kind: 'lsq', bits: 4 }, act: { kind: 'pact', bits: 4 } });
    const { missingKeys, unexpectedKeys } = target.loadStateDict(source.stateDict(), { strict: false });
    assert.deepEqual(unexpectedKeys, []);
    assert.ok(missingKeys.length > 0 && missingKeys.every((k) => /Quantizer\./.test(k)));
    assert.ok((target.getSubmodule('layers.2.conv2') as QuantConv2d).weight.equal((source.getSubmodule('layers.2.conv2') as Conv2d).weight));
  });

  it('W8A8 conversion of a trained MLP keeps its accuracy (within 0.2 pp) and its outputs', () => {
    manualSeed(95);
    // Synthetic task: 4 overlapping Gaussian classes in 16-D (about 82% reachable), so that the test
    // set has borderline samples that quantization noise could flip.
    const D = 16;
    const K = 4;
    const means = randn([K, D]).mul(0.5);
    const sample = (n: number) =>
      scope(() => {
        const y = randn([n, K]).argmax(1);
        const x = means.indexSelect(0, y).add(randn([n, D]));
        return { x, y };
      });
    const train = sample(2048);
    const test = sample(2048);
    const net = mlp({ name: 'mlp', inChannels: 1, numClasses: K, inputSize: [1, D], widths: [64, 32] });
    const params = net.parameters();
    for (let step = 0; step < 300; step++) {
      scope(() => {
        const loss = F.crossEntropy(net.call(train.x), train.y);
        const grads = grad(loss, params);
        noGrad(() => params.forEach((p, i) => p.sub_(grads[i]!.mul(0.2))));
      });
    }
    const evaluate = (m: Module) =>
      noGrad(() =>
        scope(() => {
          const logits = m.call(test.x);
          return { logits, accuracy: logits.argmax(1).eq(test.y).to('float32').mean().item() * 100 };
        }),
      );
    net.eval();
    const float = evaluate(net);
    assert.ok(float.accuracy > 75, `the float model learned the task (${float.accuracy.toFixed(2)}%)`);

    quantizeModel(net, { weight: { kind: 'uniform', bits: 8, perChannel: true }, act: { kind: 'uniform', bits: 8 } });
    calibrateActivations(net, [train.x.narrow(0, 0, 512), train.x.narrow(0, 512, 512)]);
    net.eval();
    const quant = evaluate(net);
    const diff = Math.abs(quant.accuracy - float.accuracy);
    assert.ok(diff <= 0.2, `float ${float.accuracy.toFixed(2)}% vs W8A8 ${quant.accuracy.toFixed(2)}%`);
    const scale = float.logits.abs().max().item();
    const err = quant.logits.sub(float.logits).abs().max().item();
    assert.ok(err < 0.03 * scale, `max logit error ${err} vs max |logit| ${scale}`);
    const rms = quant.logits.sub(float.logits).square().mean().sqrt().item();
    const rmsLogit = float.logits.square().mean().sqrt().item();
    assert.ok(rms < 0.02 * rmsLogit, `rms logit error ${rms} vs rms logit ${rmsLogit}`);
    assert.ok(err > 0, 'the converted model really quantizes');
    if (process.env.LOWBIT_VERBOSE) console.log(`float ${float.accuracy}% W8A8 ${quant.accuracy}% max logit error ${err} (max |logit| ${scale}), rms ${rms} (rms logit ${rmsLogit})`);
  });
});

// VGG-small's supernet: the design's second topology (a plain chain with a flattening classifier).
// Checked like the ResNet's: its argmax network equals the zoo model of the derived widths (float and
// W2A2), a float start computes the float model, and its cost model agrees with complexity().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complexity, createModel } from '../../src/models/index.ts';
import { BatchNorm2d, Conv2d, Linear, type Module } from '../../src/nn/index.ts';
import { costAtWidths, createSupernet, deriveNetwork, initFromFloat, SearchVGG, type SupernetConfig } from '../../src/nas/index.ts';
import { quantizeModel } from '../../src/quant/index.ts';
import { fromArray, Generator, noGrad, randn, scope } from '../../src/tensor/index.ts';
import { W2A2 } from './helpers.ts';

const SIZE = 8;
const config = (over: Partial<SupernetConfig> = {}): SupernetConfig => ({
  model: 'vgg-small', inChannels: 1, numClasses: 4, inputSize: [SIZE, SIZE], expansionLimit: 1.5, growth: 1.25, quant: null, ...over,
});

/** Random BN statistics and affine parameters, so a wrong BN choice shows. */
function randomizeBatchNorms(m: Module) {
  const g = new Generator(8);
  noGrad(() => {
    for (const bn of m.modules().filter((x) => x instanceof BatchNorm2d)) {
      for (const [name, t] of bn.stateDict()) {
        if (name === 'running_var') t.copy_(randn(t.shape, { generator: g }).abs().add(0.5));
        else if (name !== 'num_batches_tracked') t.copy_(randn(t.shape, { generator: g }).mul(0.3).add(name === 'weight' ? 1 : 0));
      }
    }
  });
}

/** Copies the supernet's slices and the chosen widths' BNs into the zoo model of those widths. */
function copyInto(net: SearchVGG, model: Module, widths: number[]) {
  const mods = [...model.modules()];
  const convs = mods.filter((m): m is Conv2d => m instanceof Conv2d);
  const bns = mods.filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  const fc = mods.find((m): m is Linear => m instanceof Linear)!;
  noGrad(() => {
    let inC = 1;
    net.layers.forEach((l, i) => {
      convs[i].weight.copy_(l.weight.narrow(0, 0, widths[i]).narrow(1, 0, inC));
      const src = l.bnFor(widths[i]).stateDict();
      for (const [k, t] of bns[i].stateDict()) t.copy_(src.get(k)!);
      inC = widths[i];
    });
    const spatial = net.fc.spatial;
    const [classes, cols] = net.fc.weight.shape;
    fc.weight.copy_(net.fc.weight.view([classes, cols / spatial, spatial]).narrow(1, 0, inC).reshape([classes, inC * spatial]));
    fc.bias!.copy_(net.fc.bias);
  });
}

for (const quantized of [false, true]) {
  test(`VGG-small supernet: the argmax network equals the derived zoo vgg-small (${quantized ? 'W2A2' : 'float'})`, () => {
    const net = createSupernet(config({ quant: quantized ? W2A2 : null }), new Generator(3)) as SearchVGG;
    assert.ok(net instanceof SearchVGG);
    randomizeBatchNorms(net);
    // Every layer one level up (max 160, 320, 640), then a different candidate per layer.
    net.setLevels(net.layers.map(() => 1));
    noGrad(() => net.layers.forEach((l, i) => l.widthLogits.copy_(fromArray(Float32Array.from(l.ratios.map((_, k) => (k === (2 + i) % 8 ? 1 : 0)))))));
    const derived = deriveNetwork(net);
    const widths = derived.widths;
    assert.ok(widths.some((w, i) => w > net.originalWidths()[i]), `some layer above its original width: ${widths}`);
    const model = createModel(derived.modelConfig);
    if (quantized) quantizeModel(model, W2A2);
    copyInto(net, model, widths);
    net.eval();
    net.setMode('argmax');
    model.eval();
    scope(() => {
      const x = randn([3, 1, SIZE, SIZE], { generator: new Generator(4) });
      const diff = noGrad(() => net.call(x).sub(model.call(x)).abs().max().item());
      assert.ok(diff < 1e-4, `max difference ${diff}`);
    });
    // The first and last layers are quantized at 8 bits by role, like the zoo model's.
    if (quantized) assert.deepEqual([net.layers[0].weightQuantizer!.bits, net.fc.weightQuantizer!.bits, net.layers[1].weightQuantizer!.bits], [8, 8, 2]);
    net.dispose();
    model.dispose();
  });
}

test('VGG-small supernet started from a float vgg-small computes it at the original widths; costs agree with complexity()', () => {
  const model = createModel({ name: 'vgg-small', inChannels: 1, numClasses: 4, inputSize: [SIZE, SIZE] }, { generator: new Generator(6) });
  randomizeBatchNorms(model);
  const net = createSupernet(config(), new Generator(1));
  initFromFloat(net, model);
  noGrad(() => net.layers.forEach((l) => l.widthLogits.copy_(fromArray(Float32Array.from(l.ratios.map((r) => (r === 1 ? 1 : 0)))))));
  assert.deepEqual(net.argmaxWidths(), [128, 128, 256, 256, 512, 512]);
  net.eval();
  model.eval();
  scope(() => {
    const x = randn([2, 1, SIZE, SIZE], { generator: new Generator(4) });
    const diff = noGrad(() => net.call(x).sub(model.call(x)).abs().max().item());
    assert.ok(diff < 1e-4, `max difference ${diff}`);
  });
  for (const widths of [net.originalWidths(), [38, 128, 76, 256, 153, 460]]) {
    const m = createModel({ name: 'vgg-small', inChannels: 1, numClasses: 4, inputSize: [SIZE, SIZE], widths });
    const c = complexity(m, [1, SIZE, SIZE]);
    assert.deepEqual(costAtWidths(net.costTerms, widths), { macs: c.macs, params: c.params }, widths.join(','));
    m.dispose();
  }
  const resnet = createModel({ name: 'resnet20', inChannels: 1, numClasses: 4, inputSize: [SIZE, SIZE] });
  assert.throws(() => initFromFloat(net, resnet), /expected a float vgg-small/);
  net.dispose();
  model.dispose();
  resnet.dispose();
});

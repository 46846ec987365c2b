// The full-precision auxiliary module (src/qat/aux-module.ts): tap points and stage transitions for
// ResNet-20, ResNet-18 and ResNet-50, the side network's shapes against a composition written here,
// exact detachment (LP logits bit-identical with the module attached, no hooks or keys left after
// detach), and gradients of the aux loss reaching every low-precision conv weight and the module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, Identity, Sequential } from '../../src/nn/index.ts';
import { createModel, residualTapPoints, type ModelConfig } from '../../src/models/index.ts';
import { quantizeModel } from '../../src/quant/index.ts';
import { AuxiliaryModule, attachAuxiliaryModule } from '../../src/qat/index.ts';
import { F, Generator, noGrad, randint, randn, scope, type Tensor } from '../../src/tensor/index.ts';

const cfg = (name: string, size = 28, inChannels = 1): ModelConfig => ({ name, inChannels, numClasses: 10, inputSize: [size, size] });
const W2A2 = { weight: { kind: 'sawb' as const, bits: 2 }, act: { kind: 'pact' as const, bits: 2, alphaInit: 1 }, firstLast: { bits: 8 } };

function lpModel(name: string, seed = 0, size = 28) {
  const model = createModel(cfg(name, size), { generator: new Generator(seed) });
  quantizeModel(model, W2A2);
  return model;
}

test('tap points: ResNet-20 has the stem and 9 blocks, 16/32/64 wide, stride 2 where a stage starts', () => {
  const p = residualTapPoints(createModel(cfg('resnet20')));
  assert.equal(p.stemChannels, 16);
  assert.deepEqual(p.blocks.map((b) => b.outChannels), [16, 16, 16, 32, 32, 32, 64, 64, 64]);
  assert.deepEqual(p.blocks.map((b) => b.inChannels), [16, 16, 16, 16, 32, 32, 32, 64, 64]);
  assert.deepEqual(p.blocks.map((b) => b.stride), [1, 1, 1, 2, 1, 1, 2, 1, 1]);
  assert.deepEqual(p.blocks.map((b) => b.name), ['layers.0', 'layers.1', 'layers.2', 'layers.3', 'layers.4', 'layers.5', 'layers.6', 'layers.7', 'layers.8']);
});

test('tap points: ResNet-18 (64..512) and ResNet-50 (bottlenecks, 256..2048, 16 blocks)', () => {
  const r18 = residualTapPoints(createModel(cfg('resnet18', 32, 3)));
  assert.equal(r18.stemChannels, 64);
  assert.deepEqual(r18.blocks.map((b) => b.outChannels), [64, 64, 128, 128, 256, 256, 512, 512]);
  assert.deepEqual(r18.blocks.map((b) => b.stride), [1, 1, 2, 1, 2, 1, 2, 1]);
  const r50 = residualTapPoints(createModel(cfg('resnet50', 32, 3)));
  assert.equal(r50.stemChannels, 64);
  assert.equal(r50.blocks.length, 16);
  assert.deepEqual(r50.blocks.map((b) => b.outChannels), [...Array(3).fill(256), ...Array(4).fill(512), ...Array(6).fill(1024), ...Array(3).fill(2048)]);
  assert.deepEqual(r50.blocks.map((b) => b.stride), [1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1]);
  assert.deepEqual(r50.blocks.slice(0, 2).map((b) => b.inChannels), [64, 256]);
});

test('ResNet-50: 49 conv widths, bottleneck shapes and a 28x28 forward to 10 logits', () => {
  const m = createModel(cfg('resnet50'));
  const convs = m.modules().filter((x): x is Conv2d => x instanceof Conv2d);
  // stem + 16 blocks x 3 convs + 4 option-B shortcuts (the first block of each stage changes the width)
  assert.equal(convs.length, 1 + 48 + 4);
  const sd = m.stateDict();
  assert.deepEqual(sd.get('layers.0.conv1.weight')!.shape, [64, 64, 1, 1]);
  assert.deepEqual(sd.get('layers.0.conv3.weight')!.shape, [256, 64, 1, 1]);
  assert.deepEqual(sd.get('layers.3.conv2.weight')!.shape, [128, 128, 3, 3]);
  assert.deepEqual(sd.get('layers.3.shortcut.0.weight')!.shape, [512, 256, 1, 1]);
  assert.deepEqual(sd.get('fc.weight')!.shape, [10, 2048]);
  const y = scope(() => noGrad(() => m.eval().call(randn([2, 1, 28, 28])).shape));
  assert.deepEqual(y, [2, 10]);
  m.dispose();
});

test('the side network: adaptors C->C per tap, a strided downsample exactly where a block changes shape', () => {
  const aux = new AuxiliaryModule(residualTapPoints(createModel(cfg('resnet20'))), { numClasses: 10 });
  const adaptors = aux.adaptors.children() as Sequential[];
  assert.deepEqual(adaptors.map((a) => (a.at(0) as Conv2d).weight.shape), [16, 16, 16, 32, 32, 32, 64, 64, 64].map((c) => [c, c, 1, 1]));
  const downs = aux.downsamples.children();
  assert.deepEqual(downs.map((d) => !(d instanceof Identity)), [false, false, false, true, false, false, true, false, false]);
  const d3 = (downs[3] as Sequential).at(0) as Conv2d;
  assert.deepEqual(d3.weight.shape, [32, 16, 1, 1]);
  assert.deepEqual(d3.stride, [2, 2]);
  assert.deepEqual(aux.head.weight.shape, [10, 64]);
  // ResNet-50: the first block widens 64 -> 256 at stride 1, so the stream needs a downsample there too.
  const aux50 = new AuxiliaryModule(residualTapPoints(createModel(cfg('resnet50'))), { numClasses: 10 });
  const downs50 = aux50.downsamples.children();
  assert.deepEqual(downs50.map((d) => !(d instanceof Identity)), [true, false, false, true, false, false, false, true, false, false, false, false, false, true, false, false]);
  assert.deepEqual(((downs50[0] as Sequential).at(0) as Conv2d).weight.shape, [256, 64, 1, 1]);
});

test('taps and aux logits equal a composition written here from the LP network\'s own pieces', () => {
  const model = lpModel('resnet20').eval();
  const attachment = attachAuxiliaryModule(model, { numClasses: 10, generator: new Generator(1) });
  attachment.module.eval();
  scope(() =>
    noGrad(() => {
      const x = randn([3, 1, 28, 28], { generator: new Generator(2) });
      const { logits, auxLogits } = attachment.forward(x);
      // Recompute: stem, then each block's sum by hand (bn2(conv2(relu(bn1(conv1 a)))) + shortcut(a)).
      const r = model as unknown as { stem: Sequential; layers: Sequential };
      let a = r.stem.call(x);
      let h = attachment.module.stemAdaptor.call(a);
      const blocks = r.layers.children() as unknown as { conv1: Conv2d; bn1: Sequential; conv2: Conv2d; bn2: Sequential; shortcut: Sequential | null }[];
      blocks.forEach((b, i) => {
        const o = b.bn2.call(b.conv2.call(b.bn1.call(b.conv1.call(a)).relu())).add(b.shortcut ? b.shortcut.call(a) : a);
        h = attachment.module.downsamples.at(i).call(h).add((attachment.module.adaptors.at(i) as Sequential).call(o)).relu();
        a = o.relu();
      });
      const expected = attachment.module.head.call(F.adaptiveAvgPool2d(h, 1).flatten(1));
      assert.ok(auxLogits.sub(expected).abs().max().item() === 0, 'aux logits differ from the hand composition');
      assert.ok(logits.sub(model.call(x)).abs().max().item() === 0);
    }),
  );
  attachment.detach();
});

test('detachment is exact: LP logits bit-identical with the module attached, in training and eval mode', () => {
  for (const training of [true, false]) {
    const plain = lpModel('resnet20', 3).train(training);
    const withAux = lpModel('resnet20', 3).train(training);
    const attachment = attachAuxiliaryModule(withAux, { numClasses: 10, generator: new Generator(4) });
    scope(() => {
      const x = randn([4, 1, 28, 28], { generator: new Generator(5) });
      const a = plain.call(x);
      const { logits } = attachment.forward(x);
      assert.equal(a.sub(logits).abs().max().item(), 0, `training=${training}: LP logits changed by the attached module`);
      // BN running statistics moved identically too (training mode updates them).
      const sa = plain.stateDict();
      for (const [k, t] of withAux.stateDict()) assert.equal(t.sub(sa.get(k)!).abs().max().item(), 0, k);
    });
    const keysBefore = [...withAux.stateDict().keys()];
    attachment.detach();
    assert.deepEqual([...withAux.stateDict().keys()], keysBefore);
    assert.ok(![...withAux.stateDict().keys()].some((k) => k.includes('aux') || k.includes('adaptor')));
    // After detach a forward records nothing: the attachment has no taps to build aux logits from.
    scope(() => withAux.call(randn([2, 1, 28, 28])));
    assert.throws(() => scope(() => attachment.module.logitsFrom(randn([1, 16, 28, 28]), [])), /block taps/);
    plain.dispose();
    withAux.dispose();
  }
});

test('the aux loss alone reaches every LP conv weight (non-zero gradient) and every module parameter', () => {
  const model = lpModel('resnet20', 6).train();
  const attachment = attachAuxiliaryModule(model, { numClasses: 10, generator: new Generator(7) });
  scope(() => {
    const x = randn([8, 1, 28, 28], { generator: new Generator(8) });
    const y = randint(0, 10, [8], { generator: new Generator(9) });
    const { auxLogits } = attachment.forward(x);
    F.crossEntropy(auxLogits, y).backward();
  });
  const convs = [...model.namedModules()].filter(([, m]) => m instanceof Conv2d) as [string, Conv2d][];
  assert.equal(convs.length, 1 + 18 + 2);
  for (const [name, conv] of convs) {
    // The aux loss taps sums, not the classifier: every conv feeds some block sum (the stem through block 0).
    const g = conv.weight.grad;
    assert.ok(g !== null && g.abs().sum().item() > 0, `${name}.weight got no gradient from the aux loss`);
  }
  assert.equal((model as unknown as { fc: Conv2d }).fc.weight.grad, null, 'the LP classifier is not on the aux path');
  for (const [name, p] of attachment.module.namedParameters()) {
    assert.ok(p.grad !== null && p.grad.abs().sum().item() > 0, `aux ${name} got no gradient`);
  }
  // The PACT clip level of a block's inner activation is on the aux path too (through its STE).
  const alpha = model.stateDict().get('layers.0.conv2.inputQuantizer.alpha')!;
  assert.ok(alpha.grad !== null && alpha.grad.abs().item() > 0, 'PACT alpha inside block 0 got no gradient');
  attachment.detach();
  model.dispose();
  attachment.module.dispose();
});

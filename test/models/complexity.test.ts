// complexity(): MACs and parameters against hand-computed values (MLP 784-500-300-10, LeNet-5 on 28x28,
// ResNet-20's stem and stage-2 blocks), grouped convs, custom widths, and no side effects on the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchNorm2d, Conv2d, Dropout, Flatten, Linear, Sequential } from '../../src/nn/index.ts';
import { cifarResNet, complexity, lenet5, mlp } from '../../src/models/index.ts';
import { noGrad, randn, scope } from '../../src/tensor/index.ts';

test('MLP 784-500-300-10: MACs 784*500 + 500*300 + 300*10, params with biases', () => {
  const m = mlp({ name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
  const c = complexity(m, [1, 28, 28]);
  assert.equal(c.macs, 784 * 500 + 500 * 300 + 300 * 10);
  assert.equal(c.params, 784 * 500 + 500 + 500 * 300 + 300 + 300 * 10 + 10);
  assert.deepEqual(
    c.layers.map((l) => [l.name, l.kind, l.macs, l.params, l.inputShape, l.outputShape]),
    [
      ['1', 'linear', 392000, 392500, [784], [500]],
      ['3', 'linear', 150000, 150300, [500], [300]],
      ['5', 'linear', 3000, 3010, [300], [10]],
    ],
  );
  const narrow = complexity(mlp({ name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [100] }), [1, 28, 28]);
  assert.equal(narrow.macs, 784 * 100 + 100 * 10);
  m.dispose();
});

test('LeNet-5 on 28x28: per-layer MACs by hand, 61,706 params', () => {
  const m = lenet5({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
  const c = complexity(m, [1, 28, 28]);
  const expected: [string, number, number[]][] = [
    ['0', 28 * 28 * 6 * 1 * 25, [6, 28, 28]], // conv1, padded: 28x28 output
    ['3', 10 * 10 * 16 * 6 * 25, [16, 10, 10]], // conv2 on the 14x14 pooled map
    ['7', 400 * 120, [120]],
    ['9', 120 * 84, [84]],
    ['11', 84 * 10, [10]],
  ];
  assert.deepEqual(
    c.layers.map((l) => [l.name, l.macs, l.outputShape]),
    expected,
  );
  assert.equal(c.macs, 117600 + 240000 + 48000 + 10080 + 840);
  assert.equal(c.params, 6 * 25 + 6 + (16 * 150 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10));
  assert.equal(c.params, 61706);
  m.dispose();
});

test('ResNet-20 on 32x32: the stem and a stage-2 block by hand, and the total', () => {
  const m = cifarResNet(20, { name: 'resnet20', inChannels: 3, numClasses: 10, inputSize: [32, 32] });
  const c = complexity(m, [3, 32, 32]);
  const by = new Map(c.layers.map((l) => [l.name, l]));
  const stem = by.get('stem.0')!;
  assert.equal(stem.macs, 32 * 32 * 16 * 3 * 9);
  assert.equal(stem.params, 16 * 3 * 9);
  assert.deepEqual(stem.outputShape, [16, 32, 32]);
  // First block of stage 2: 16 -> 32 at stride 2, so 16x16 outputs; option-B projection 1x1.
  assert.equal(by.get('layers.3.conv1')!.macs, 16 * 16 * 32 * 16 * 9);
  assert.deepEqual(by.get('layers.3.conv1')!.inputShape, [16, 32, 32]);
  assert.equal(by.get('layers.3.conv2')!.macs, 16 * 16 * 32 * 32 * 9);
  assert.equal(by.get('layers.3.shortcut.0')!.macs, 16 * 16 * 32 * 16);
  assert.equal(by.get('layers.3.shortcut.0')!.params, 32 * 16);
  // Second block of stage 2: 32 -> 32, no shortcut.
  assert.equal(by.get('layers.4.conv1')!.macs, 16 * 16 * 32 * 32 * 9);
  assert.equal(by.has('layers.4.shortcut.0'), false);
  assert.equal(by.get('fc')!.macs, 640);
  // 19 convs + 2 projections + fc.
  assert.equal(c.layers.length, 22);
  const perStage = (hw: number, cIn: number, cOut: number) => hw * hw * cOut * (cIn * 9 + cOut * 9 * 5 + cIn);
  const total = 32 * 32 * 16 * 27 + 32 * 32 * 16 * 16 * 9 * 6 + perStage(16, 16, 32) + perStage(8, 32, 64) + 640;
  assert.equal(c.macs, total);
  assert.equal(c.macs, 40813184);
  assert.equal(c.params, m.numParameters());
  m.dispose();
});

test('a grouped conv counts in/groups input channels per output', () => {
  const m = new Sequential(new Conv2d(8, 16, 3, { padding: 1, groups: 4 }), new Flatten(), new Linear(16 * 6 * 6, 3));
  const c = complexity(m, [8, 6, 6]);
  assert.equal(c.layers[0].macs, 6 * 6 * 16 * 2 * 9);
  assert.equal(c.layers[0].params, 16 * 2 * 9 + 16);
  assert.equal(c.macs, 6 * 6 * 16 * 2 * 9 + 576 * 3);
  m.dispose();
});

test('complexity leaves the model as it was: modes, BN statistics, hooks', () => {
  const bn = new BatchNorm2d(4);
  const drop = new Dropout(0.5);
  const m = new Sequential(new Conv2d(3, 4, 3), bn, drop, new Flatten(), new Linear(4 * 6 * 6, 2));
  // A training model with one BN frozen in eval (as in fine-tuning) keeps exactly that.
  bn.eval();
  complexity(m, [3, 8, 8]);
  assert.equal(m.training, true);
  assert.equal(drop.training, true);
  assert.equal(bn.training, false);
  assert.equal(bn.numBatchesTracked.item(), 0);
  assert.deepEqual(bn.runningMean.toArray(), [0, 0, 0, 0]);
  m.eval();
  const c = complexity(m, [3, 8, 8]);
  assert.ok(m.modules().every((x) => !x.training));
  // The counting hooks are gone: a later forward under other hooks sees only those hooks' calls, and
  // adds no layer to the earlier result.
  let calls = 0;
  const handles = m.modules().map((x) => x.registerForwardHook(() => void calls++));
  scope(() => noGrad(() => m.call(randn([1, 3, 8, 8]))));
  for (const h of handles) h.remove();
  assert.equal(calls, 6);
  assert.equal(c.layers.length, 2);
  m.dispose();
});

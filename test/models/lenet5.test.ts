// LeNet-5: layer shapes on 28x28 (padded first conv) and 32x32 inputs, output shapes, custom widths
// and forward equal to the composed layers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Conv2d, Linear, MaxPool2d } from '../../src/nn/index.ts';
import { LENET5_WIDTHS, lenet5 } from '../../src/models/index.ts';
import { F, Generator, noGrad, randn, scope } from '../../src/tensor/index.ts';

const shapes = (m: ReturnType<typeof lenet5>) =>
  m.children().flatMap((c) => (c instanceof Conv2d || c instanceof Linear ? [c.weight.shape] : []));

test('LeNet-5 on 1x28x28: conv 5x5 (pad 2) 6, conv 5x5 16, fc 400-120-84-10', () => {
  assert.deepEqual(LENET5_WIDTHS, [6, 16, 120, 84]);
  const m = lenet5({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
  assert.deepEqual(shapes(m), [
    [6, 1, 5, 5],
    [16, 6, 5, 5],
    [120, 400],
    [84, 120],
    [10, 84],
  ]);
  assert.deepEqual((m.at(0) as Conv2d).padding, [2, 2]);
  assert.deepEqual((m.at(3) as Conv2d).padding, [0, 0]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([3, 1, 28, 28])).shape)), [3, 10]);
  m.dispose();
});

test('LeNet-5 on 3x32x32 needs no padding and keeps the 16x5x5 feature map', () => {
  const m = lenet5({ name: 'lenet5', inChannels: 3, numClasses: 10, inputSize: [32, 32] });
  assert.deepEqual((m.at(0) as Conv2d).padding, [0, 0]);
  assert.deepEqual(shapes(m)[0], [6, 3, 5, 5]);
  assert.deepEqual(shapes(m)[2], [120, 400]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([2, 3, 32, 32])).shape)), [2, 10]);
  m.dispose();
});

test('custom widths and a non-square input size the classifier from the real feature map', () => {
  const m = lenet5({ name: 'lenet5', inChannels: 1, numClasses: 5, inputSize: [36, 40], widths: [4, 10, 50, 20] });
  // 36x40 -> conv 32x36 -> pool 16x18 -> conv 12x14 -> pool 6x7.
  assert.deepEqual(shapes(m), [
    [4, 1, 5, 5],
    [10, 4, 5, 5],
    [50, 10 * 6 * 7],
    [20, 50],
    [5, 20],
  ]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([2, 1, 36, 40])).shape)), [2, 5]);
  assert.throws(() => lenet5({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [6, 16, 120] }), LowbitError);
  m.dispose();
});

test('forward is conv-relu-pool-conv-relu-pool-fc-relu-fc-relu-fc', () => {
  const m = lenet5({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] }, { generator: new Generator(3) });
  assert.ok(m.at(2) instanceof MaxPool2d && m.at(5) instanceof MaxPool2d);
  const [c1, c2, f1, f2, f3] = m.children().filter((c) => c instanceof Conv2d || c instanceof Linear) as (Conv2d & Linear)[];
  scope(() => {
    const x = randn([2, 1, 28, 28], { generator: new Generator(4) });
    let h = F.maxPool2d(F.conv2d(x, c1.weight, c1.bias, { padding: 2 }).relu(), 2);
    h = F.maxPool2d(F.conv2d(h, c2.weight, c2.bias).relu(), 2).reshape(2, 400);
    const manual = F.linear(F.linear(F.linear(h, f1.weight, f1.bias).relu(), f2.weight, f2.bias).relu(), f3.weight, f3.bias);
    assert.ok(noGrad(() => m.call(x)).allclose(manual, 1e-5, 1e-6));
  });
  m.dispose();
});

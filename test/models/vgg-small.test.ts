// VGG-small: six conv3x3-BN-ReLU layers 128-128-256-256-512-512, a pool after every second one, one
// Linear classifier sized from the input; output shapes on 28x28 and 32x32, custom widths.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU } from '../../src/nn/index.ts';
import { VGG_SMALL_WIDTHS, vggSmall } from '../../src/models/index.ts';
import { noGrad, randn, scope } from '../../src/tensor/index.ts';

const convShapes = (m: ReturnType<typeof vggSmall>) => m.children().flatMap((c) => (c instanceof Conv2d ? [c.weight.shape] : []));
const classifier = (m: ReturnType<typeof vggSmall>) => m.children().find((c) => c instanceof Linear) as Linear;

test('VGG-small on 3x32x32: layer order, conv shapes, classifier 512*4*4 -> 10', () => {
  assert.deepEqual(VGG_SMALL_WIDTHS, [128, 128, 256, 256, 512, 512]);
  const m = vggSmall({ name: 'vgg-small', inChannels: 3, numClasses: 10, inputSize: [32, 32] });
  const block = [Conv2d, BatchNorm2d, ReLU];
  assert.deepEqual(
    m.children().map((c) => c.constructor),
    [...block, ...block, MaxPool2d, ...block, ...block, MaxPool2d, ...block, ...block, MaxPool2d, Flatten, Linear],
  );
  assert.deepEqual(convShapes(m), [
    [128, 3, 3, 3],
    [128, 128, 3, 3],
    [256, 128, 3, 3],
    [256, 256, 3, 3],
    [512, 256, 3, 3],
    [512, 512, 3, 3],
  ]);
  assert.ok(m.children().every((c) => !(c instanceof Conv2d) || (c.bias === null && c.padding[0] === 1)));
  assert.deepEqual(classifier(m).weight.shape, [10, 512 * 4 * 4]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([1, 3, 32, 32])).shape)), [1, 10]);
  m.dispose();
});

test('VGG-small on 1x28x28: 28 -> 14 -> 7 -> 3, classifier 512*3*3', () => {
  const m = vggSmall({ name: 'vgg-small', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
  assert.deepEqual(convShapes(m)[0], [128, 1, 3, 3]);
  assert.deepEqual(classifier(m).weight.shape, [10, 512 * 3 * 3]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([2, 1, 28, 28])).shape)), [2, 10]);
  m.dispose();
});

test('custom widths reach every conv, BN and the classifier', () => {
  const widths = [8, 12, 16, 20, 24, 28];
  const m = vggSmall({ name: 'vgg-small', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths });
  const ins = [3, ...widths.slice(0, 5)];
  assert.deepEqual(convShapes(m), widths.map((w, i) => [w, ins[i], 3, 3]));
  assert.deepEqual(m.children().flatMap((c) => (c instanceof BatchNorm2d ? [c.numFeatures] : [])), widths);
  assert.deepEqual(classifier(m).weight.shape, [10, 28 * 16]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([2, 3, 32, 32])).shape)), [2, 10]);
  assert.throws(() => vggSmall({ name: 'vgg-small', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths: [8, 8] }), LowbitError);
  m.dispose();
});

// createModel: every model of the zoo builds from a config and maps 1x28x28 and 3x32x32 inputs to 10
// logits; unknown names and bad widths are LowbitErrors naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { MODEL_NAMES, ResNet, createModel } from '../../src/models/index.ts';
import { Sequential } from '../../src/nn/index.ts';
import { Generator, getNumThreads, noGrad, randn, scope, setNumThreads } from '../../src/tensor/index.ts';

test('the registry lists the zoo', () => {
  assert.deepEqual([...MODEL_NAMES].sort(), ['lenet5', 'mlp', 'resnet18', 'resnet20', 'resnet32', 'resnet50', 'resnet56', 'vgg-small']);
});

test('every model maps 1x28x28 and 3x32x32 inputs to 10 logits', () => {
  // Single-sample forwards: one intra-op thread avoids thread-pool overhead on shared cores.
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    for (const name of MODEL_NAMES) {
      for (const [c, s] of [
        [1, 28],
        [3, 32],
      ]) {
        const m = createModel({ name, inChannels: c, numClasses: 10, inputSize: [s, s] }, { generator: new Generator(1) });
        assert.ok(m instanceof (name.startsWith('resnet') ? ResNet : Sequential), name);
        for (const mode of ['train', 'eval'] as const) {
          m[mode]();
          const shape: number[] = scope(() => noGrad(() => m.call(randn([2, c, s, s])).shape));
          assert.deepEqual(shape, [2, 10], `${name} on ${c}x${s}x${s} (${mode})`);
        }
        m.dispose();
      }
    }
  } finally {
    setNumThreads(threads);
  }
});

test('numClasses sizes the classifier', () => {
  const m = createModel({ name: 'resnet20', inChannels: 3, numClasses: 100, inputSize: [32, 32] });
  assert.deepEqual((m as ResNet).fc.weight.shape, [100, 64]);
  m.dispose();
});

test('unknown names and bad widths are LowbitErrors that say what to do', () => {
  assert.throws(
    () => createModel({ name: 'resnet9000', inChannels: 3, numClasses: 10, inputSize: [32, 32] }),
    (e: unknown) => e instanceof LowbitError && e.message.includes("'resnet9000'") && MODEL_NAMES.every((n) => e.message.includes(n)),
  );
  assert.throws(
    () => createModel({ name: 'vgg-small', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths: [64, 64, 128] }),
    (e: unknown) => e instanceof LowbitError && e.message.includes('vgg-small') && e.message.includes('6 positive integers'),
  );
  assert.throws(
    () => createModel({ name: 'resnet18', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths: Array(17).fill(-1) }),
    LowbitError,
  );
});

// libtorch's messages for a model fed the wrong data become one line naming the model, the data and
// the fix; the messages are produced here by libtorch itself, so a changed wording fails this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainTorchError, setErrorContext } from '../../src/cli/error-context.ts';
import { F, fromArray, randn } from '../../src/tensor/index.ts';

function torchMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('libtorch accepted it');
}

test('shape and class-count mismatches from libtorch name the model and the data', () => {
  setErrorContext({ model: 'checkpoint m.safetensors (mlp)', data: 'digits (./digits)' });
  const shapes = torchMessage(() => F.linear(randn([4, 392]), randn([10, 784])));
  assert.match(explainTorchError(shapes) ?? '', /^checkpoint m\.safetensors \(mlp\) does not fit the images of digits \(\.\/digits\) \(libtorch: mat1 and mat2 shapes cannot be multiplied, 4x392 and 784x10\): .*use data of the model's input size/);
  const target = torchMessage(() => F.crossEntropy(randn([2, 10]), fromArray(Float64Array.from([3, 12]), [2], { dtype: 'int64' })));
  assert.match(explainTorchError(target) ?? '', /^digits \(\.\/digits\) has label 12, beyond the classes of checkpoint m\.safetensors \(mlp\) \(libtorch: Target 12 is out of bounds\)/);
  assert.equal(explainTorchError('something else'), null);
});

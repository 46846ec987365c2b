import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelWiseInterpolation, cwiMatrix } from '../../src/nas/index.ts';
import { fromArray, scope } from '../../src/tensor/index.ts';

test('CWI of 3 channels to 4 averages the adaptive-pooling bins', () => {
  // Bins [floor(i*3/4), ceil((i+1)*3/4)): {0}, {0,1}, {1,2}, {2}.
  assert.deepEqual(cwiMatrix(3, 4), [
    [1, 0, 0],
    [0.5, 0.5, 0],
    [0, 0.5, 0.5],
    [0, 0, 1],
  ]);
  scope(() => {
    // One sample, 3 channels of 1 x 2 pixels: channel c holds (c+1, 10(c+1)).
    const x = fromArray(Float32Array.of(1, 10, 2, 20, 3, 30), [1, 3, 1, 2]);
    const y = channelWiseInterpolation(x, 4);
    assert.deepEqual(y.shape, [1, 4, 1, 2]);
    assert.deepEqual(y.toArray(), [1, 10, 1.5, 15, 2.5, 25, 3, 30]);
    // Channels-last input gives the same numbers.
    assert.deepEqual(channelWiseInterpolation(x.contiguous('channelsLast'), 4).contiguous().toArray(), [1, 10, 1.5, 15, 2.5, 25, 3, 30]);
    // 2 -> 5: bins {0}, {0}, {0,1}, {1}, {1}.
    const z = channelWiseInterpolation(fromArray(Float32Array.of(2, 4), [1, 2, 1, 1]), 5);
    assert.deepEqual(z.toArray(), [2, 2, 3, 4, 4]);
    assert.equal(channelWiseInterpolation(x, 3), x);
  });
});

test('CWI refuses to narrow', () => {
  scope(() => assert.throws(() => channelWiseInterpolation(fromArray(new Float32Array(4), [1, 4, 1, 1]), 2), /widens only/));
});

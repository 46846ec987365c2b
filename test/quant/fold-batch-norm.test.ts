import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { BatchNorm2d, Conv2d } from '../../src/nn/index.ts';
import { foldBatchNorm, QuantConv2d, UniformQuantizer } from '../../src/quant/index.ts';
import { manualSeed, noGrad, rand, randn } from '../../src/tensor/index.ts';

function trainedBn(C: number, affine: boolean): BatchNorm2d {
  const bn = new BatchNorm2d(C, { affine, eps: 1e-3 });
  noGrad(() => {
    bn.runningMean.copy_(randn([C]));
    bn.runningVar.copy_(rand([C]).add(0.2));
    if (affine) {
      bn.weight!.copy_(randn([C]));
      bn.bias!.copy_(randn([C]));
    }
  });
  return bn.eval();
}

describe('foldBatchNorm', () => {
  for (const [bias, affine] of [
    [false, true],
    [true, true],
    [true, false],
  ] as const) {
    it(`eval outputs equal bn(conv(x)) (conv bias ${bias}, affine ${affine})`, () => {
      manualSeed(61);
      const conv = new Conv2d(3, 5, 3, { stride: 2, padding: 1, bias });
      const bn = trainedBn(5, affine);
      const folded = foldBatchNorm(conv, bn);
      const x = randn([4, 3, 9, 9]);
      const expected = bn.call(conv.call(x));
      const got = folded.call(x);
      assert.deepEqual(got.shape, expected.shape);
      const err = got.sub(expected).abs().max().item();
      assert.ok(err < 1e-4 * Math.max(1, expected.abs().max().item()), `max error ${err}`);
      assert.deepEqual([folded.stride, folded.padding], [conv.stride, conv.padding]);
      assert.notEqual(folded.weight, conv.weight);
    });
  }

  it('refuses a quantized conv and a BN of the wrong width', () => {
    const conv = new Conv2d(2, 4, 1);
    assert.throws(() => foldBatchNorm(conv, new BatchNorm2d(3)), LowbitError);
    const q = QuantConv2d.fromFloat(conv, new UniformQuantizer({ bits: 4, signed: true }));
    assert.throws(() => foldBatchNorm(q, new BatchNorm2d(4)), /fold BatchNorm into the float model first/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { BatchNorm2d, Conv2d } from '../../src/nn/index.ts';
import { batchNormFold, foldBatchNorm, QuantConv2d, SawbQuantizer, UniformQuantizer } from '../../src/quant/index.ts';
import { manualSeed, noGrad, rand, randn, tensor } from '../../src/tensor/index.ts';

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

  it('batchNormFold: f and shift by hand; foldBatchNorm stores exactly W f and the shift', () => {
    const conv = new Conv2d(1, 2, 1, { bias: true });
    const bn = new BatchNorm2d(2, { eps: 0.25 });
    noGrad(() => {
      conv.weight.copy_(tensor([[[[3]]], [[[-2]]]]));
      conv.bias!.copy_(tensor([1, 0.5]));
      bn.weight!.copy_(tensor([2, -1]));
      bn.bias!.copy_(tensor([0.5, 4]));
      bn.runningMean.copy_(tensor([-1, 2.5]));
      bn.runningVar.copy_(tensor([3.75, 0]));
    });
    // f = gamma / sqrt(var + eps) = [2 / 2, -1 / 0.5]; shift = (b - mean) f + beta = [2 * 1 + 0.5, -2 * -2 + 4].
    const { scale, shift } = batchNormFold(conv, bn);
    assert.deepEqual(Array.from(scale), [1, -2]);
    assert.deepEqual(Array.from(shift), [2.5, 8]);
    const folded = foldBatchNorm(conv, bn.eval());
    assert.deepEqual(folded.weight.toArray(), [3, 4]); // flat, as toArray() reads
    assert.deepEqual(folded.bias!.toArray(), [2.5, 8]);
  });

  it('batchNormFold reads a quantized conv too (its scales take f), with the numbers of its float conv', () => {
    manualSeed(62);
    const conv = new Conv2d(3, 4, 3, { bias: false });
    const bn = trainedBn(4, true);
    const q = QuantConv2d.fromFloat(conv, new SawbQuantizer({ bits: 2 }));
    const a = batchNormFold(conv, bn);
    const b = batchNormFold(q, bn);
    assert.deepEqual([Array.from(b.scale), Array.from(b.shift)], [Array.from(a.scale), Array.from(a.shift)]);
    const folded = foldBatchNorm(conv, bn);
    const w = conv.weight.to('float64').toFloat64Array();
    const got = folded.weight.toFloat32Array();
    w.forEach((v, i) => assert.equal(got[i], Math.fround(v * a.scale[Math.floor(i / 27)]), `weight ${i}`));
  });
});

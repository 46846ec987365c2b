// Layer cost functions against hand-computed MACs and parameters (plain, strided, grouped and biased
// convs, Linear, BatchNorm), the bilinear coefficient form and its gradient as a search would use it,
// and a ResNet-20 with non-default widths (three option-B 1x1 shortcuts, two of them at stride 1)
// whose totals were computed by hand outside lowbit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import {
  batchNormCost,
  cifarResNet,
  complexity,
  convCost,
  convCostCoefficients,
  linearCost,
  linearCostCoefficients,
} from '../../src/models/index.ts';
import { BatchNorm2d } from '../../src/nn/index.ts';
import { tensor } from '../../src/tensor/index.ts';

test('convCost, linearCost, batchNormCost by hand', () => {
  // 3x3, 16 -> 32 at stride 2 on 32x32: 16x16 outputs, 32*16*9 = 4608 weights.
  assert.deepEqual(convCost({ inChannels: 16, outChannels: 32, kernelSize: [3, 3], outputSize: [16, 16] }), { macs: 1179648, params: 4608 });
  assert.deepEqual(convCost({ inChannels: 16, outChannels: 32, kernelSize: [3, 3], outputSize: [16, 16], bias: true }), { macs: 1179648, params: 4640 });
  // Grouped: 8 -> 16 in 4 groups, each output sees 2 input channels.
  assert.deepEqual(convCost({ inChannels: 8, outChannels: 16, kernelSize: [3, 3], groups: 4, outputSize: [6, 6], bias: true }), { macs: 10368, params: 304 });
  // A 1x5 kernel on a 7x3 output.
  assert.deepEqual(convCost({ inChannels: 2, outChannels: 3, kernelSize: [1, 5], outputSize: [7, 3] }), { macs: 630, params: 30 });
  assert.deepEqual(linearCost({ inFeatures: 784, outFeatures: 500 }), { macs: 392000, params: 392500 });
  assert.deepEqual(linearCost({ inFeatures: 784, outFeatures: 500, bias: false }), { macs: 392000, params: 392000 });
  assert.deepEqual(batchNormCost({ channels: 16 }), { macs: 0, params: 32 });
  assert.deepEqual(batchNormCost({ channels: 16, affine: false }), { macs: 0, params: 0 });
  assert.throws(() => convCost({ inChannels: 6, outChannels: 16, kernelSize: [3, 3], groups: 4, outputSize: [6, 6] }), LowbitError);
  assert.throws(() => linearCost({ inFeatures: 0, outFeatures: 2 }), /inFeatures must be a positive integer/);
});

test('the coefficient form is bilinear in (C_in, C_out) and its expected cost differentiates like the closed form', () => {
  const shapes = [
    { kernelSize: [3, 3] as [number, number], outputSize: [16, 16] as [number, number], bias: false },
    { kernelSize: [1, 1] as [number, number], outputSize: [8, 8] as [number, number], bias: true },
    { kernelSize: [3, 3] as [number, number], outputSize: [5, 7] as [number, number], groups: 2, bias: true },
  ];
  for (const shape of shapes) {
    const k = convCostCoefficients(shape);
    for (const [cin, cout] of [
      [4, 6],
      [10, 2],
      [16, 32],
    ]) {
      const c = convCost({ ...shape, inChannels: cin, outChannels: cout });
      assert.equal(k.macsPerChannelPair * cin * cout, c.macs);
      assert.equal(k.paramsPerChannelPair * cin * cout + k.paramsPerOutChannel * cout, c.params);
    }
  }
  const lin = linearCostCoefficients();
  assert.equal(lin.macsPerChannelPair * 64 * 10, linearCost({ inFeatures: 64, outFeatures: 10 }).macs);
  assert.equal(lin.paramsPerChannelPair * 64 * 10 + lin.paramsPerOutChannel * 10, linearCost({ inFeatures: 64, outFeatures: 10 }).params);

  // A search's expected MACs with width probabilities p (input) and q (output) over candidate widths:
  // a * E[C_in] * E[C_out]; d/dp_i = a * c_i * E[C_out].
  const a = convCostCoefficients(shapes[0]).macsPerChannelPair;
  const widths = tensor([4, 8, 12], { dtype: 'float64' });
  const p = tensor([0.2, 0.5, 0.3], { dtype: 'float64' }).requiresGrad_(true);
  const q = tensor([0.6, 0.1, 0.3], { dtype: 'float64' }).requiresGrad_(true);
  const eIn = p.mul(widths).sum();
  const eOut = q.mul(widths).sum();
  const expected = eIn.mul(eOut).mul(a);
  const byHand = a * (0.2 * 4 + 0.5 * 8 + 0.3 * 12) * (0.6 * 4 + 0.1 * 8 + 0.3 * 12);
  assert.ok(Math.abs(expected.item() - byHand) < 1e-9 * byHand);
  expected.backward();
  const eOutValue = 0.6 * 4 + 0.1 * 8 + 0.3 * 12;
  (p.grad!.toArray() as number[]).forEach((g, i) => assert.ok(Math.abs(g - a * [4, 8, 12][i] * eOutValue) < 1e-9 * a * 100));
});

test('ResNet-20 with non-default widths and option-B shortcuts: MACs and params computed by hand', () => {
  // stem 8; stage 1 (6,10) (7,10) (5,10); stage 2 (12,20) (9,20) (11,16); stage 3 (24,32) (20,32) (28,32).
  const widths = [8, 6, 10, 7, 10, 5, 10, 12, 20, 9, 20, 11, 16, 24, 32, 20, 32, 28, 32];
  const m = cifarResNet(20, { name: 'resnet20', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths });
  const c = complexity(m, [3, 32, 32]);
  // Totals computed by hand (a separate script, block by block) from the widths above.
  assert.equal(c.macs, 8680768);
  assert.equal(c.params, 53630);
  assert.equal(m.numParameters(), 53630);
  const by = new Map(c.layers.map((l) => [l.name, l]));
  // The shortcuts: 8 -> 10 at 32x32 (stride 1, widths differ), 10 -> 20 at stride 2 (16x16),
  // 20 -> 16 at 16x16 (stride 1), 16 -> 32 at stride 2 (8x8).
  assert.deepEqual(
    ['layers.0.shortcut.0', 'layers.3.shortcut.0', 'layers.5.shortcut.0', 'layers.6.shortcut.0'].map((n) => [by.get(n)?.macs, by.get(n)?.params]),
    [
      [32 * 32 * 10 * 8, 80],
      [16 * 16 * 20 * 10, 200],
      [16 * 16 * 16 * 20, 320],
      [8 * 8 * 32 * 16, 512],
    ],
  );
  assert.equal(c.layers.length, 19 + 4 + 1);
  // The layers' own parameters plus BatchNorm's gamma and beta per channel make up every parameter.
  const bnParams = m
    .modules()
    .filter((x): x is BatchNorm2d => x instanceof BatchNorm2d)
    .reduce((s, bn) => s + batchNormCost({ channels: bn.numFeatures }).params, 0);
  assert.equal(c.layers.reduce((s, l) => s + l.params, 0) + bnParams, 53630);
  m.dispose();
});

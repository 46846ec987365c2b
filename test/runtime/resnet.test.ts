import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BasicBlock, ResNet } from '../../src/models/index.ts';
import { compileResNet, type IntPlan } from '../../src/runtime/index.ts';
import { QuantConv2d, QuantLinear, type Quantizer } from '../../src/quant/index.ts';
import { noGrad, scope, type Tensor } from '../../src/tensor/index.ts';
import { FIXTURE_MEAN, FIXTURE_STD, fakeQuantResNet, normalize, randomPixels } from './resnet-fixture.ts';

interface PointReport {
  name: string;
  count: number;
  mismatches: number;
  maxDiff: number;
  /** Mismatches whose fake-quant value y / s lies within 1e-4 of a rounding boundary k + 1/2. */
  ties: number;
  /** Distinct code values seen (a comparison of all-zero or all-saturated codes would prove little). */
  distinct: number;
}

/** Compares the plan's codes at one quantization point with the quantizer's export() of the fake-quant tensor. */
function comparePoint(plan: IntPlan, name: string, q: Quantizer, x: Tensor): PointReport {
  return scope(() => {
    const ref = q.export(x);
    const nhwc = (t: Tensor) => (t.shape.length === 4 ? t.permute(0, 2, 3, 1) : t).contiguous().toArray();
    const want = nhwc(ref.codes);
    // y / s as PACT computes it, to tell rounding ties from real errors.
    const pre = nhwc(x.clamp(0, Infinity).div(ref.scale));
    const got = plan.read(name);
    assert.equal(got.length, want.length, `${name}: size`);
    let mismatches = 0;
    let maxDiff = 0;
    let ties = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(got[i] - want[i]);
      if (d === 0) continue;
      mismatches++;
      maxDiff = Math.max(maxDiff, d);
      if (Math.abs(pre[i] - Math.floor(pre[i]) - 0.5) < 1e-4) ties++;
    }
    return { name, count: want.length, mismatches, maxDiff, ties, distinct: new Set(want).size };
  });
}

/** Runs the fake-quant model step by step and compares every quantization point with the plan's codes. */
function layerByLayer(model: ResNet, plan: IntPlan, x: Tensor): { points: PointReport[]; logitsRef: number[] } {
  return scope(() =>
    noGrad(() => {
      const points: PointReport[] = [];
      let X = model.stem.call(x);
      model.layers.children().forEach((m, i) => {
        const b = m as BasicBlock;
        points.push(comparePoint(plan, `layers.${i}.conv1.in`, (b.conv1 as QuantConv2d).inputQuantizer!, X));
        if (b.shortcut) points.push(comparePoint(plan, `layers.${i}.shortcut.in`, (b.shortcut.at(0) as QuantConv2d).inputQuantizer!, X));
        const h = b.bn1.call(b.conv1.call(X)).relu();
        points.push(comparePoint(plan, `layers.${i}.conv2.in`, (b.conv2 as QuantConv2d).inputQuantizer!, h));
        X = b.call(X);
      });
      const pooled = model.flatten.call(model.pool.call(X));
      points.push(comparePoint(plan, 'fc.in', (model.fc as QuantLinear).inputQuantizer!, pooled));
      return { points, logitsRef: model.fc.call(pooled).toArray() };
    }),
  );
}

describe('compileResNet: the integer plan of a fake-quant ResNet-20', () => {
  for (const bits of [2, 4]) {
    it(`W${bits}A${bits}: every layer's codes equal the fake-quant model's, off by one only at rounding ties`, () => {
      const size = 12;
      const n = 6;
      const model = fakeQuantResNet(bits, size, 7 + bits) as ResNet;
      const plan = compileResNet(model, { mean: FIXTURE_MEAN, std: FIXTURE_STD, inputSize: [size, size] });
      const pixels = randomPixels(n, size, 3);
      const logits = plan.run(pixels, n);
      const x = normalize(pixels, n, size);
      const { points, logitsRef } = layerByLayer(model, plan, x);
      x.dispose();
      assert.equal(points.length, 9 * 2 + 2 + 1);
      let total = 0;
      let mismatched = 0;
      for (const p of points) {
        total += p.count;
        mismatched += p.mismatches;
        assert.ok(p.maxDiff <= 1, `${p.name}: a code differs by ${p.maxDiff}`);
        assert.ok(p.distinct >= 3, `${p.name}: only ${p.distinct} distinct codes; the fixture does not exercise the grid`);
      }
      // The first quantization point sees only float rounding differences (integer conv vs float conv):
      // every mismatch there must be a tie of round(); later points may inherit a neighbour's tie.
      const first = points[0];
      assert.equal(first.mismatches, first.ties, `${first.name}: ${first.mismatches - first.ties} mismatches are not rounding ties`);
      assert.ok(mismatched / total < 2e-3, `${mismatched} of ${total} codes differ`);
      // The logits: float32 rounding and the rare tie, nothing structural.
      const scale = Math.max(...logitsRef.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < logits.length; i++) worst = Math.max(worst, Math.abs(logits[i] - logitsRef[i]));
      assert.ok(worst < 0.05 * scale, `logits differ by ${worst} (scale ${scale})`);
      if (process.env.LOWBIT_TEST_VERBOSE) console.log(points.map((p) => `${p.name} ${p.mismatches}/${p.count} ties ${p.ties} distinct ${p.distinct}`).join('\n'));
    });
  }

  it('gives the same logits on every instruction set and with any chunk size', () => {
    const size = 10;
    const model = fakeQuantResNet(2, size, 11) as ResNet;
    const pixels = randomPixels(5, size, 5);
    const base = compileResNet(model, { mean: FIXTURE_MEAN, std: FIXTURE_STD, inputSize: [size, size], isa: 'portable' }).run(pixels, 5);
    for (const isa of ['avx2', 'avxvnni', 'avx512vnni'] as const) {
      let plan: IntPlan;
      try {
        plan = compileResNet(model, { mean: FIXTURE_MEAN, std: FIXTURE_STD, inputSize: [size, size], isa });
      } catch {
        continue; // not on this CPU
      }
      assert.deepEqual(plan.run(pixels, 5), base, isa);
      assert.deepEqual(plan.run(pixels, 5, 2), base, `${isa}, chunks of 2`);
    }
  });

  it('refuses what it cannot run with one clear error', () => {
    const model = fakeQuantResNet(2, 8, 1) as ResNet;
    assert.throws(() => compileResNet(model, { mean: [0.1, 0.2], std: [0.3, 0.3], inputSize: [8, 8] }), /mean and std need 1 values/);
    const block = model.layers.at(0) as BasicBlock;
    const saved = block.conv2;
    (block as unknown as { conv2: unknown }).conv2 = block.bn1;
    assert.throws(() => compileResNet(model, { mean: FIXTURE_MEAN, std: FIXTURE_STD, inputSize: [8, 8] }), /layers\.0\.conv2: expected a quantized conv/);
    (block as unknown as { conv2: unknown }).conv2 = saved;
  });
});

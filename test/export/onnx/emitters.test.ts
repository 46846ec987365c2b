/**
 * How the exporter finds a module's graph (src/export/onnx/emitters.ts): the emitter of its class, else
 * its forward chain, else a clear refusal; and the BatchNorm fold, which goes through quant's
 * foldBatchNorm. Outputs are checked in onnxruntime with its optimizations off (the file's semantics as
 * written), to float32 accumulation noise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx, type EmitContext } from '../../../src/export/index.ts';
import { decodeModel } from '../../../src/export/onnx/proto.ts';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential, type HasForwardChain } from '../../../src/nn/index.ts';
import { foldBatchNorm, QuantConv2d, quantizeModel } from '../../../src/quant/index.ts';
import { fromArray, manualSeed, noGrad, rand, randn, scope, type Tensor } from '../../../src/tensor/index.ts';
import { lowbitForward, maxAbsDiff, runOrt } from '../ort-helper.ts';

/** Gives a BatchNorm2d statistics and an affine part far from the identity; gamma's sign per channel from `signs`. */
function setBatchNorm(bn: BatchNorm2d, signs?: number[]): void {
  const C = bn.numFeatures;
  noGrad(() =>
    scope(() => {
      bn.runningMean.copy_(randn([C]).mul(0.5));
      bn.runningVar.copy_(rand([C]).mul(2).add(0.1));
      const gamma = rand([C]).add(0.5);
      bn.weight!.copy_(signs ? gamma.mul(fromArray(Float32Array.from(signs))) : gamma);
      bn.bias!.copy_(randn([C]).mul(0.3));
    }),
  );
}

function floatInitializer(bytes: Uint8Array, name: string): Float32Array {
  const t = decodeModel(bytes).graph!.initializer.find((i) => i.name === name);
  assert.ok(t, `initializer ${name}`);
  const raw = t.rawData;
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

function opTypes(bytes: Uint8Array): string[] {
  return decodeModel(bytes).graph!.node.map((n) => n.opType);
}

async function assertOrtMatches(m: Module, bytes: Uint8Array, x: Tensor): Promise<void> {
  const { diff, scale } = maxAbsDiff(await runOrt(bytes, x.toFloat32Array(), x.shape, { optimization: 'disabled' }), lowbitForward(m, x));
  assert.ok(diff <= 1e-5 * Math.max(1, scale), `onnxruntime differs from lowbit by ${diff} (max |y| ${scale})`);
}

/** A model of known modules whose forward() is hand-written, with no emitter of its own. */
class SmallNet extends Module implements HasForwardChain {
  conv = this.registerModule('conv', new Conv2d(2, 6, 3, { padding: 1, bias: false }));
  bn = this.registerModule('bn', new BatchNorm2d(6));
  relu = this.registerModule('relu', new ReLU());
  pool = this.registerModule('pool', new AdaptiveAvgPool2d(1));
  flatten = this.registerModule('flatten', new Flatten());
  fc = this.registerModule('fc', new Linear(6, 3));

  forward(x: Tensor): Tensor {
    return this.fc.call(this.flatten.call(this.pool.call(this.relu.call(this.bn.call(this.conv.call(x))))));
  }

  forwardChain(): Module[] {
    return [this.conv, this.bn, this.relu, this.pool, this.flatten, this.fc];
  }
}

class Doubler extends Module {
  forward(x: Tensor): Tensor {
    return x.mul(2);
  }
}

describe('ONNX emitters', () => {
  it('a new model made of known modules exports from its forward chain, conv + BN folded', async () => {
    manualSeed(11);
    const m = new SmallNet();
    setBatchNorm(m.bn);
    m.eval();
    const r = exportOnnx(m, { inputShape: [2, 5, 5] });
    assert.deepEqual(opTypes(r.bytes), ['Conv', 'Relu', 'GlobalAveragePool', 'Flatten', 'MatMul', 'Add', 'Identity']);
    assert.deepEqual(r.outputShape, [3]);
    await assertOrtMatches(m, r.bytes, randn([3, 2, 5, 5]));
  });

  it('a conv and the BatchNorm that starts the next Sequential fold too (chains are flattened)', async () => {
    manualSeed(12);
    const bn = new BatchNorm2d(4);
    setBatchNorm(bn);
    const m = new Sequential(new Sequential(new Conv2d(1, 4, 3)), new Sequential(bn, new ReLU())).eval();
    const r = exportOnnx(m, { inputShape: [1, 6, 6] });
    assert.deepEqual(opTypes(r.bytes), ['Conv', 'Relu', 'Identity']);
    await assertOrtMatches(m, r.bytes, randn([2, 1, 6, 6]));
  });

  it('refuses a module that is neither registered nor a chain, naming both ways to export it', () => {
    const m = new Sequential(new Linear(4, 3), new Doubler());
    assert.throws(
      () => exportOnnx(m, { inputShape: [4] }),
      (err: Error) => /no ONNX emitter for Doubler at '1'/.test(err.message) && /forwardChain\(\)/.test(err.message) && /emitters: \[\[Doubler, /.test(err.message),
    );
  });

  it("exports a module through an emitter the caller passes, composed with lowbit's own", async () => {
    manualSeed(13);
    const m = new Sequential(new Linear(4, 3), new Doubler(), new ReLU()).eval();
    const emitDoubler = (d: Doubler, x: string, ctx: EmitContext) => {
      const name = ctx.nameOf(d);
      return ctx.builder.add('Mul', [x, ctx.builder.floatInit(`${name}.two`, [], [2])], name);
    };
    const r = exportOnnx(m, { inputShape: [4], emitters: [[Doubler, emitDoubler]] });
    assert.deepEqual(opTypes(r.bytes), ['MatMul', 'Add', 'Mul', 'Relu', 'Identity']);
    await assertOrtMatches(m, r.bytes, randn([5, 4]));
  });

  it("a float conv's folded weight and bias are foldBatchNorm's, bit for bit", () => {
    manualSeed(14);
    const conv = new Conv2d(3, 5, 3, { bias: true });
    const bn = new BatchNorm2d(5);
    setBatchNorm(bn);
    const m = new Sequential(conv, bn).eval();
    const r = exportOnnx(m, { inputShape: [3, 4, 4] });
    const folded = foldBatchNorm(conv, bn);
    const floats = (t: Tensor) => scope(() => t.contiguous().toFloat32Array());
    assert.deepEqual(floatInitializer(r.bytes, '0.weight'), floats(folded.weight));
    assert.deepEqual(floatInitializer(r.bytes, '0.bias'), floats(folded.bias!));
    folded.dispose();
  });

  it("a quantized conv keeps its codes and takes the BN factor in its scale: s' = s gamma / sqrt(var + eps)", async () => {
    manualSeed(15);
    const bn = new BatchNorm2d(4);
    setBatchNorm(bn);
    const m = new Sequential(new Conv2d(2, 4, 3, { bias: false }), bn);
    // No activation quantizer, so the conv has no input quantizer and its BN folds.
    quantizeModel(m, { weight: { kind: 'uniform', bits: 4, perChannel: true }, act: null, firstLast: { bits: 4 } });
    m.eval();
    const conv = m.at(0) as QuantConv2d;
    const r = exportOnnx(m, { inputShape: [2, 5, 5] });
    assert.ok(!opTypes(r.bytes).includes('BatchNormalization'));
    const { s, gamma, beta, mean, variance } = scope(() =>
      noGrad(() => ({
        s: conv.quantizedWeight().scale.toFloat32Array(),
        gamma: bn.weight!.toFloat32Array(),
        beta: bn.bias!.toFloat32Array(),
        mean: bn.runningMean.toFloat32Array(),
        variance: bn.runningVar.toFloat32Array(),
      })),
    );
    const scale = floatInitializer(r.bytes, '0.weight_scale');
    const bias = floatInitializer(r.bytes, '0.bias');
    for (let c = 0; c < 4; c++) {
      // Independent reference in float64; at most one float32 ulp apart (1/sqrt vs rsqrt rounding).
      const f = gamma[c] / Math.sqrt(variance[c] + bn.eps);
      assert.ok(Math.abs(scale[c] - s[c] * f) <= 2 ** -23 * Math.abs(s[c] * f), `channel ${c}: scale ${scale[c]} vs ${s[c] * f}`);
      assert.ok(Math.abs(bias[c] - (beta[c] - mean[c] * f)) <= 2 ** -22 * Math.max(1, Math.abs(beta[c] - mean[c] * f)), `channel ${c}: bias`);
    }
    await assertOrtMatches(m, r.bytes, randn([2, 2, 5, 5]));
  });

  it('a BN with a non-positive gamma stays a BatchNormalization node (a scale must stay positive)', async () => {
    manualSeed(16);
    const bn = new BatchNorm2d(3);
    setBatchNorm(bn, [1, -1, 1]);
    const m = new Sequential(new Conv2d(1, 3, 3), bn).eval();
    const r = exportOnnx(m, { inputShape: [1, 5, 5] });
    assert.deepEqual(opTypes(r.bytes), ['Conv', 'BatchNormalization', 'Identity']);
    await assertOrtMatches(m, r.bytes, randn([2, 1, 5, 5]));
  });
});

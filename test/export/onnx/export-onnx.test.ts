/**
 * Every exported model runs in onnxruntime-node and is compared with lowbit's own forward.
 *
 * Tolerances: with ORT's graph optimizations off the file's ONNX semantics are computed as written,
 * and outputs agree to float32 accumulation-order noise: max |diff| <= 1e-5 * max(1, max |y|). At
 * ORT's default level ('all') its WeightBiasQuantization pass rounds the float bias of every Conv /
 * Gemm whose input and weight come from DequantizeLinear to int32 at scale s_x * s_w, a change of at
 * most s_x * s_w / 2 per bias; there outputs agree to 5% of max |y| and in argmax (accuracy agreement
 * on real data is test/export/accuracy.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx, fromPtqCodes, type OnnxExportOptions } from '../../../src/export/index.ts';
import { decodeModel, DataType } from '../../../src/export/onnx/proto.ts';
import { createModel, type ModelConfig } from '../../../src/models/index.ts';
import { Linear, Module, ReLU, Sequential } from '../../../src/nn/index.ts';
import { quantizeNetwork } from '../../../src/ptq/index.ts';
import { calibrateActivations, PactQuantizer, QuantAct, quantizeModel, type QuantConfig } from '../../../src/quant/index.ts';
import { fromArray, manualSeed, noGrad, randn, scope, type Tensor } from '../../../src/tensor/index.ts';
import { argmaxRows, lowbitForward, maxAbsDiff, runOrt } from '../ort-helper.ts';

const FMNIST: Pick<ModelConfig, 'inChannels' | 'numClasses' | 'inputSize'> = { inChannels: 1, numClasses: 10, inputSize: [28, 28] };

/** A model with non-trivial BatchNorm statistics (a few training-mode passes) in eval mode. */
function buildModel(cfg: ModelConfig, seed: number): Module {
  manualSeed(seed);
  const m = createModel(cfg);
  m.train();
  scope(() => noGrad(() => { for (let i = 0; i < 3; i++) m.call(randn([8, cfg.inChannels, ...cfg.inputSize]).mul(1.5).add(0.2)); }));
  return m.eval();
}

function quantize(m: Module, cfg: QuantConfig, inputShape: number[]): Module {
  quantizeModel(m, cfg);
  // Calibration also initializes LSQ steps; weights of PACT/SAWB/DoReFa/uniform need none.
  calibrateActivations(m, [randn([16, ...inputShape]), randn([16, ...inputShape])]);
  return m.eval();
}

async function compare(m: Module, opts: OnnxExportOptions, x: Tensor, label: string, t: { diagnostic(s: string): void }) {
  const r = exportOnnx(m, opts);
  const ref = lowbitForward(m, x);
  const input = x.toFloat32Array();
  const exact = maxAbsDiff(await runOrt(r.bytes, input, x.shape, { optimization: 'disabled' }), ref);
  const tuned = await runOrt(r.bytes, input, x.shape, { optimization: 'all' });
  const dflt = maxAbsDiff(tuned, ref);
  t.diagnostic(`${label}: ${r.bytes.length} bytes, opset ${r.opset}; max|diff| ${exact.diff.toExponential(2)} (ORT opt off), ${dflt.diff.toExponential(2)} (ORT 'all'), max|y| ${exact.scale.toFixed(3)}`);
  assert.ok(exact.diff <= 1e-5 * Math.max(1, exact.scale), `${label}: ORT (optimizations off) differs by ${exact.diff}`);
  assert.ok(dflt.diff <= 0.05 * Math.max(1, dflt.scale), `${label}: ORT 'all' differs by ${dflt.diff}`);
  const cols = ref.length / x.shape[0];
  assert.deepEqual(argmaxRows(tuned, cols), argmaxRows(ref, cols), `${label}: argmax differs`);
  return r;
}

function initializerTypes(bytes: Uint8Array): Map<string, string> {
  const g = decodeModel(bytes).graph!;
  return new Map(g.initializer.map((t) => [t.name, DataType[t.dataType]]));
}

describe('ONNX export, float models', () => {
  for (const [name, widths] of [['mlp', [64, 32]], ['lenet5', undefined], ['vgg-small', [8, 8, 16, 16, 16, 16]], ['resnet20', undefined]] as const) {
    it(`${name}: onnxruntime output equals lowbit's`, async (t) => {
      const cfg = { name, ...FMNIST, ...(widths ? { widths: [...widths] } : {}) };
      const m = buildModel(cfg, 1);
      const r = await compare(m, { inputShape: [1, 28, 28] }, randn([3, 1, 28, 28]), `${name} float`, t);
      assert.equal(r.opset, 13, 'a float file needs no newer opset');
      assert.deepEqual(r.outputShape, [10]);
      assert.ok(r.layers.every((l) => l.format === 'float' && l.storage === 'float32'));
    });
  }
});

describe('ONNX export, quantized models (QDQ with integer weights of the real width)', () => {
  it('MLP W2A2 (uniform per-channel weights, PACT activations): int2 body, int8 first/last, per-channel axis', async (t) => {
    const m = quantize(buildModel({ name: 'mlp', ...FMNIST, widths: [64, 32] }, 2), { weight: { kind: 'uniform', bits: 2, perChannel: true }, act: { kind: 'pact', bits: 2 } }, [1, 28, 28]);
    const r = await compare(m, { inputShape: [1, 28, 28] }, randn([4, 1, 28, 28]), 'mlp W2A2', t);
    assert.equal(r.opset, 25);
    const types = initializerTypes(r.bytes);
    assert.equal(types.get('1.weight_codes'), 'INT8');
    assert.equal(types.get('3.weight_codes'), 'INT2');
    assert.equal(types.get('5.weight_codes'), 'INT8');
    assert.equal(types.get('3.input_quant.zero_point'), 'UINT8', 'activations use 8-bit containers by default');
    const dq = decodeModel(r.bytes).graph!.node.find((n) => n.output[0] === '3.weight_dq')!;
    assert.equal(Number(dq.attribute.find((a) => a.name === 'axis')!.i), 1, 'per output channel of the [in, out] MatMul weight');
    assert.deepEqual(r.layers.map((l) => l.storage), ['int8', 'int2', 'int8']);
  });

  it('LeNet-5 W3A3 (LSQ): int4 weights; narrowActivations writes uint4 activation Q/DQ', async (t) => {
    const cfg: QuantConfig = { weight: { kind: 'lsq', bits: 3, perChannel: true }, act: { kind: 'lsq', bits: 3 } };
    const m = quantize(buildModel({ name: 'lenet5', ...FMNIST }, 3), cfg, [1, 28, 28]);
    const x = randn([4, 1, 28, 28]);
    const r = await compare(m, { inputShape: [1, 28, 28] }, x, 'lenet5 W3A3', t);
    assert.equal(r.opset, 21, 'int4 needs opset 21, no more');
    assert.ok(r.layers.slice(1, -1).every((l) => l.storage === 'int4'));
    const narrow = exportOnnx(m, { inputShape: [1, 28, 28], narrowActivations: true });
    assert.equal(initializerTypes(narrow.bytes).get('3.input_quant.zero_point'), 'UINT4');
    // Sub-byte activation Q/DQ is exact as written (ORT optimizations off; see emit-quant.ts for 'all').
    const out = await runOrt(narrow.bytes, x.toFloat32Array(), x.shape, { optimization: 'disabled' });
    assert.ok(maxAbsDiff(out, lowbitForward(m, x)).diff < 1e-5);
  });

  it('VGG-small W2A2 (SAWB weights, DoReFa activations): zero-free grids stay 2-bit as uint2 levels + offset', async (t) => {
    const cfg: QuantConfig = { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'dorefa', bits: 2 }, firstLast: { bits: 8, weight: { kind: 'uniform' } } };
    const m = quantize(buildModel({ name: 'vgg-small', ...FMNIST, widths: [8, 8, 16, 16, 16, 16] }, 4), cfg, [1, 28, 28]);
    const r = await compare(m, { inputShape: [1, 28, 28] }, randn([3, 1, 28, 28]), 'vgg-small SAWB/DoReFa W2A2', t);
    const types = initializerTypes(r.bytes);
    assert.equal(types.get('3.weight_codes'), 'UINT2');
    assert.ok(types.has('3.weight_offset'));
  });

  it('ResNet-20 W2A2 (BasicBlocks with 1x1 shortcuts) matches onnxruntime', async (t) => {
    const cfg: QuantConfig = { weight: { kind: 'uniform', bits: 2, perChannel: true }, act: { kind: 'uniform', bits: 2 } };
    const m = quantize(buildModel({ name: 'resnet20', ...FMNIST }, 5), cfg, [1, 28, 28]);
    await compare(m, { inputShape: [1, 28, 28] }, randn([2, 1, 28, 28]), 'resnet20 W2A2', t);
  });

  it('a W2 ResNet-20 file (first/last layer 8-bit) is at most 1/12 of the float file', (t) => {
    const m = buildModel({ name: 'resnet20', ...FMNIST }, 6);
    const float = exportOnnx(m, { inputShape: [1, 28, 28] }).bytes.length;
    // W2: 2-bit weights, float activations (as `lowbit ptq --wbits 2` makes).
    quantize(m, { weight: { kind: 'uniform', bits: 2, perChannel: true }, act: null }, [1, 28, 28]);
    const w2 = exportOnnx(m, { inputShape: [1, 28, 28] });
    const m2 = quantize(buildModel({ name: 'resnet20', ...FMNIST }, 6), { weight: { kind: 'uniform', bits: 2, perChannel: true }, act: { kind: 'pact', bits: 2 } }, [1, 28, 28]);
    const w2a2 = exportOnnx(m2, { inputShape: [1, 28, 28] }).bytes.length;
    t.diagnostic(`ResNet-20: float ${float} B, W2 ${w2.bytes.length} B (ratio ${(float / w2.bytes.length).toFixed(2)}), W2A2 ${w2a2} B (ratio ${(float / w2a2).toFixed(2)})`);
    assert.ok(w2.bytes.length * 12 <= float, `W2 file ${w2.bytes.length} B is more than 1/12 of the float file ${float} B`);
    const roles = w2.layers.map((l) => l.storage);
    assert.equal(roles[0], 'int8');
    assert.equal(roles.at(-1), 'int8');
    assert.ok(roles.slice(1, -1).every((s) => s === 'int2'));
  });

  it('rounds ties half to even in lowbit and in ONNX QuantizeLinear alike', async () => {
    // PACT with alpha = 15 * 0.25: step 0.25 exactly, so x = (k + 1/2) * 0.25 are exact ties.
    const model = new Sequential(new QuantAct(new PactQuantizer({ bits: 4, alphaInit: 3.75 })));
    const ties = Float32Array.from({ length: 15 }, (_, k) => (k + 0.5) * 0.25);
    const x = fromArray(ties, [1, 15]);
    const ref = lowbitForward(model, x);
    assert.deepEqual([...ref].map((v) => v / 0.25), [0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14], 'lowbit: half to even');
    const r = exportOnnx(model, { inputShape: [15] });
    for (const optimization of ['disabled', 'all'] as const) assert.deepEqual([...(await runOrt(r.bytes, ties, [1, 15], { optimization }))], [...ref]);
  });
});

describe('ONNX export options', () => {
  it('--opset below 25 widens 2-bit codes to int4 (21-24) or int8 (13-20); out-of-range opsets are refused', async () => {
    const m = quantize(buildModel({ name: 'mlp', ...FMNIST, widths: [32, 16] }, 7), { weight: { kind: 'uniform', bits: 2 }, act: null }, [1, 28, 28]);
    const x = randn([2, 1, 28, 28]);
    for (const [opset, type] of [[21, 'INT4'], [13, 'INT8'], [26, 'INT2']] as const) {
      const r = exportOnnx(m, { inputShape: [1, 28, 28], opset });
      assert.equal(r.opset, opset);
      assert.equal(initializerTypes(r.bytes).get('3.weight_codes'), type);
      assert.ok(maxAbsDiff(await runOrt(r.bytes, x.toFloat32Array(), x.shape, { optimization: 'disabled' }), lowbitForward(m, x)).diff < 1e-5);
    }
    assert.throws(() => exportOnnx(m, { inputShape: [1, 28, 28], opset: 27 }), /opset 27 is not supported.*rejects 27/);
    assert.throws(() => exportOnnx(m, { inputShape: [1, 28, 28], opset: 12 }), /opset 12 is not supported/);
  });

  it('--matmul-nbits writes Linear layers as com.microsoft::MatMulNBits (2, 4 and 8 bits) that ORT runs', async (t) => {
    for (const [kind, bits, expectBits] of [['uniform', 2, 2], ['lsq', 3, 4], ['sawb', 2, 2], ['uniform', 4, 4]] as const) {
      const weight = kind === 'sawb' ? { kind, bits } : { kind, bits, perChannel: true };
      const m = quantize(buildModel({ name: 'mlp', ...FMNIST, widths: [64, 48] }, 8), { weight, act: null }, [1, 28, 28]);
      const x = randn([3, 1, 28, 28]);
      const r = exportOnnx(m, { inputShape: [1, 28, 28], matmulNBits: true });
      const nodes = decodeModel(r.bytes).graph!.node.filter((n) => n.opType === 'MatMulNBits');
      const nodeBits = nodes.map((n) => Number(n.attribute.find((a) => a.name === 'bits')!.i));
      if (kind === 'sawb') {
        // 8-bit SAWB (first/last) has 256 odd levels: zero point 127.5, which ORT's kernel takes as a
        // float only at 2 and 4 bits, so those layers fall back to DequantizeLinear + MatMul.
        assert.deepEqual(r.layers.map((l) => l.format), ['qdq', 'matmulnbits', 'qdq']);
        assert.deepEqual(nodeBits, [2]);
      } else {
        assert.deepEqual(r.layers.map((l) => l.format), ['matmulnbits', 'matmulnbits', 'matmulnbits']);
        assert.deepEqual(nodeBits, [8, expectBits, 8]);
      }
      const ref = lowbitForward(m, x);
      for (const optimization of ['disabled', 'all'] as const) {
        const d = maxAbsDiff(await runOrt(r.bytes, x.toFloat32Array(), x.shape, { optimization }), ref);
        t.diagnostic(`MatMulNBits ${kind} W${bits} (${optimization}): max|diff| ${d.diff.toExponential(2)}`);
        assert.ok(d.diff <= 1e-4 * Math.max(1, d.scale), `${kind} W${bits}: ${d.diff}`);
      }
    }
  });

  it('exports a PTQ result from its codes (GPFQ/RTN): signed alphabet as int2, reference alphabet (5 levels) as int4', async () => {
    for (const [convention, type] of [['signed', 'INT2'], ['reference', 'INT4']] as const) {
      const analog = buildModel({ name: 'mlp', ...FMNIST, widths: [32, 16] }, 9);
      const copy = buildModel({ name: 'mlp', ...FMNIST, widths: [32, 16] }, 9);
      const calib = randn([64, 1, 28, 28]);
      const reports = quantizeNetwork(analog, copy, calib, { method: 'rtn', bits: 2, convention, granularity: 'channel' });
      const names = new Map([...copy.namedModules()].map(([n, mod]) => [mod, n]));
      const codes = new Map(
        reports.map((rep) => {
          const layer = copy.getSubmodule(rep.name) as Linear;
          const { kMin, kMax } = convention === 'signed' ? { kMin: -(2 ** (rep.bits - 1)), kMax: 2 ** (rep.bits - 1) - 1 } : { kMin: -(2 ** (rep.bits - 1)), kMax: 2 ** (rep.bits - 1) };
          return [names.get(layer)!, fromPtqCodes(rep.codes, rep.scales, { kMin, kMax, bits: rep.bits }, layer.weight.shape, rep.name)];
        }),
      );
      const r = exportOnnx(copy, { inputShape: [1, 28, 28], weightCodes: codes });
      assert.equal(initializerTypes(r.bytes).get('3.weight_codes'), type);
      const x = randn([2, 1, 28, 28]);
      assert.ok(maxAbsDiff(await runOrt(r.bytes, x.toFloat32Array(), x.shape, { optimization: 'disabled' }), lowbitForward(copy, x)).diff < 1e-5);
    }
  });

  it('refuses modules it has no emitter for, by class and name', () => {
    class Custom extends Module {
      forward(x: Tensor): Tensor {
        return x.mul(2);
      }
    }
    const m = new Sequential(new Linear(4, 3), new ReLU(), new Custom());
    assert.throws(() => exportOnnx(m, { inputShape: [4] }), /no ONNX emitter for Custom at '2'/);
    assert.throws(() => exportOnnx(m, { inputShape: [5] }), /does not run on inputs of shape \[N, 5\]/);
  });
});

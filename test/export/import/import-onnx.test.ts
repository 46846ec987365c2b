import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx, fromPtqCodes, importOnnx, OnnxGraphModule } from '../../../src/export/index.ts';
import { createModel } from '../../../src/models/index.ts';
import { BatchNorm2d, Conv2d, Linear, type Module } from '../../../src/nn/index.ts';
import { codeRange, quantizableLayers, quantizeNetwork } from '../../../src/ptq/index.ts';
import { calibrateActivations, quantizeModel } from '../../../src/quant/index.ts';
import { fromArray, manualSeed, randn } from '../../../src/tensor/index.ts';
import { attribute, DataType, floatTensor, node, rawTensor } from '../../../src/export/onnx/proto.ts';
import { lowbitForward, maxAbsDiff, runOrt } from '../ort-helper.ts';
import { branchyNet, convNet, encodeFixture, legacyNet, randomFloats, type Fixture } from './fixtures.ts';

async function agreesWithOrt(f: Fixture, batch: number, seed: number) {
  const bytes = encodeFixture(f);
  const model = importOnnx(bytes, 'fixture');
  const dims = [batch, ...f.inputShape.slice(1).map(Number)];
  const data = randomFloats(dims.reduce((a, b) => a * b, 1), seed, 2);
  const ours = lowbitForward(model, fromArray(data, dims));
  const theirs = await runOrt(bytes, data, dims, { optimization: 'disabled' });
  return { model, bytes, ...maxAbsDiff(ours, theirs) };
}

describe('ONNX import', () => {
  it('a hand-built CNN (Conv, BatchNormalization, Relu, MaxPool, grouped strided Conv, Clip, GlobalAveragePool, Flatten, Gemm, Softmax) computes what onnxruntime computes', async () => {
    const { model, diff } = await agreesWithOrt(convNet(), 3, 11);
    assert.ok(diff < 1e-6, `max |diff| ${diff}`);
    // Conv / Gemm / BatchNormalization are real lowbit modules, named after their nodes.
    const kinds = [...model.namedModules()].filter(([, m]) => m instanceof Conv2d || m instanceof Linear || m instanceof BatchNorm2d).map(([n, m]) => `${n}:${m.constructor.name}`);
    assert.deepEqual(kinds, ['conv1:Conv2d', 'bn1:BatchNorm2d', 'conv2:Conv2d', 'fc:Linear']);
  });

  it('AveragePool (count_include_pad), Reshape with 0 and -1, MatMul by a constant, Add, Concat and Identity', async () => {
    const { model, diff } = await agreesWithOrt(branchyNet(), 2, 12);
    assert.ok(diff < 1e-5, `max |diff| ${diff}`);
    assert.deepEqual(quantizableLayers(model, randn([1, 3, 6, 6])).map((l) => l.name), ['mm1', 'mm2']);
  });

  it('opset-10 forms: Clip with attributes, Softmax flattening at its axis', async () => {
    const { diff } = await agreesWithOrt(legacyNet(), 2, 13);
    assert.ok(diff < 1e-6, `max |diff| ${diff}`);
  });

  it('round trip: lowbit export -> import gives the same outputs (float LeNet-5, weight-only W2 ResNet-20 folded from DequantizeLinear)', () => {
    manualSeed(3);
    const lenet = createModel({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] }).eval();
    const resnet = createModel({ name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28] }).eval();
    quantizeModel(resnet, { weight: { kind: 'sawb', bits: 2 }, act: null });
    for (const m of [lenet, resnet]) {
      const back = importOnnx(exportOnnx(m, { inputShape: [1, 28, 28] }).bytes, 'roundtrip');
      const x = randn([2, 1, 28, 28]);
      const { diff, scale } = maxAbsDiff(lowbitForward(back, x), lowbitForward(m, x));
      assert.ok(diff <= 1e-5 * Math.max(1, scale), `max |diff| ${diff}`);
    }
  });

  it('PTQ quantizes an imported model (its Conv/Gemm are lowbit layers) and the result exports as low-bit ONNX that onnxruntime runs', async () => {
    // groups = 1 here; grouped convolutions through PTQ: test/ptq/grouped-layer.test.ts and test/fixtures-onnx.
    const bytes = encodeFixture(convNet(1));
    const analog = importOnnx(bytes, 'a');
    const copy = importOnnx(bytes, 'b');
    const calib = fromArray(randomFloats(32 * 128, 21, 2), [32, 2, 8, 8]);
    const reports = quantizeNetwork(analog, copy, calib, { method: 'gpfq', bits: 2, firstLastBits: 8, granularity: 'layer' });
    assert.deepEqual(reports.map((r) => [r.name, r.bits]), [['conv1', 8], ['conv2', 2], ['fc', 8]]);
    const codes = new Map(
      reports.map((r) => {
        const layer = copy.getSubmodule(r.name) as Conv2d | Linear;
        return [r.name, fromPtqCodes(r.codes, r.scales, { ...codeRange(r.bits, 'signed'), bits: r.bits }, layer.weight.shape, r.name)];
      }),
    );
    const out = exportOnnx(copy, { inputShape: copy.sampleShape(), weightCodes: codes });
    assert.deepEqual(out.layers.map((l) => l.storage), ['int8', 'int2', 'int8']);
    const x = randomFloats(3 * 128, 22, 2);
    const ref = lowbitForward(copy, fromArray(x, [3, 2, 8, 8]));
    assert.ok(maxAbsDiff(await runOrt(out.bytes, x, [3, 2, 8, 8], { optimization: 'disabled' }), ref).diff < 1e-6);
    assert.ok(copy instanceof OnnxGraphModule);
  });

  it('a quantized-activation file (QAT export: Clip -> QuantizeLinear -> DequantizeLinear) imports as fake quantization, and exports again', async () => {
    manualSeed(4);
    const m: Module = createModel({ name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [16, 16] });
    quantizeModel(m, { weight: { kind: 'uniform', bits: 4 }, act: { kind: 'pact', bits: 4 } });
    calibrateActivations(m, [randn([4, 1, 28, 28])]);
    const bytes = exportOnnx(m, { inputShape: [1, 28, 28] }).bytes;
    const imported = importOnnx(bytes, 'qat.onnx');
    const x = randomFloats(16 * 784, 23, 2);
    const dims = [16, 1, 28, 28];
    const ours = lowbitForward(imported, fromArray(x, dims));
    // The same numbers as the QAT model and as onnxruntime running the file (both round half to even).
    assert.ok(maxAbsDiff(ours, lowbitForward(m, fromArray(x, dims))).diff < 1e-5);
    assert.ok(maxAbsDiff(await runOrt(bytes, x, dims, { optimization: 'disabled' }), ours).diff < 1e-5);
    // Written again, the activation quantization stays Q/DQ with the same scale and zero point.
    const again = exportOnnx(imported, { inputShape: [1, 28, 28] }).bytes;
    assert.ok(maxAbsDiff(await runOrt(again, x, dims, { optimization: 'disabled' }), ours).diff < 1e-5);
  });

  it('refuses per-axis quantization of a computed value, naming the node', () => {
    const f: Fixture = {
      inputShape: ['N', 2],
      outputShape: ['N', 2],
      initializers: [floatTensor('s', [2], Float32Array.from([0.1, 0.2])), rawTensor('zp', DataType.UINT8, [2], Uint8Array.from([0, 0]))],
      nodes: [node('QuantizeLinear', ['x', 's', 'zp'], ['q'], { name: 'q1', attributes: [attribute('axis', 1)] }), node('DequantizeLinear', ['q', 's', 'zp'], ['y'], { name: 'dq1', attributes: [attribute('axis', 1)] })],
    };
    assert.throws(() => importOnnx(encodeFixture(f), 'peraxis.onnx'), /node 'q1' \(QuantizeLinear\): only a per-tensor \(scalar\) float scale/);
  });
});

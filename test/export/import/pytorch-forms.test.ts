/**
 * The forms torch.onnx.export writes, hand-built node by node and checked against onnxruntime:
 * a fixed batch of 1, `x.view(x.size(0), -1)` shape arithmetic, MobileNetV3's HardSwish and
 * squeeze-excite (HardSigmoid, Sigmoid, Mul), scope names and weight names as layer paths, and every
 * unsupported op named at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx, importOnnx } from '../../../src/export/index.ts';
import { pathFromScopeName, pathFromWeightName } from '../../../src/export/import/layer-names.ts';
import { attribute, DataType, encodeModel, floatTensor, graph, int64Tensor, model, node, valueInfo } from '../../../src/export/onnx/proto.ts';
import { LowbitError } from '../../../src/errors.ts';
import { Conv2d, Linear } from '../../../src/nn/index.ts';
import { quantizableLayers } from '../../../src/ptq/index.ts';
import { fromArray, randn } from '../../../src/tensor/index.ts';
import { lowbitForward, maxAbsDiff, runOrt } from '../ort-helper.ts';
import { randomFloats, type Fixture } from './fixtures.ts';

function encode(f: Fixture & { inputName?: string; outputName?: string }): Uint8Array {
  return encodeModel(
    model({
      graph: graph({
        name: 'torch-like',
        nodes: f.nodes,
        initializers: f.initializers,
        inputs: [valueInfo(f.inputName ?? 'input', DataType.FLOAT, f.inputShape)],
        outputs: [valueInfo(f.outputName ?? 'logits', DataType.FLOAT, f.outputShape)],
      }),
      irVersion: 8,
      opsets: { '': f.opset ?? 17 },
    }),
  );
}

/** MobileNetV3-like: conv + HardSwish, depthwise conv, squeeze-excite (HardSigmoid gate), SiLU, view-flatten, Gemm. */
function mobileNetV3Block(): Fixture {
  const c = 8;
  return {
    inputShape: ['batch', 4, 6, 6],
    outputShape: ['batch', 5],
    initializers: [
      floatTensor('block.0.weight', [c, 4, 1, 1], randomFloats(c * 4, 31, 0.6)),
      floatTensor('onnx::Conv_7', [c, 1, 3, 3], randomFloats(c * 9, 32, 0.5)),
      floatTensor('onnx::Conv_8', [c], randomFloats(c, 33, 0.1)),
      floatTensor('se.fc1.weight', [4, c, 1, 1], randomFloats(4 * c, 34, 0.5)),
      floatTensor('se.fc1.bias', [4], randomFloats(4, 35, 0.1)),
      floatTensor('se.fc2.weight', [c, 4, 1, 1], randomFloats(4 * c, 36, 0.5)),
      floatTensor('se.fc2.bias', [c], randomFloats(c, 37, 0.1)),
      floatTensor('classifier.weight', [5, c], randomFloats(5 * c, 38, 0.5)),
      floatTensor('classifier.bias', [5], randomFloats(5, 39, 0.1)),
      int64Tensor('zero', [], [0]),
      int64Tensor('axes0', [1], [0]),
      int64Tensor('minus1', [1], [-1]),
    ],
    nodes: [
      node('Conv', ['input', 'block.0.weight'], ['/block/block.0/Conv_output_0'], { name: '/block/block.0/Conv' }),
      node('HardSwish', ['/block/block.0/Conv_output_0'], ['h0'], { name: '/block/block.2/HardSwish' }),
      node('Conv', ['h0', 'onnx::Conv_7', 'onnx::Conv_8'], ['dw'], { name: '/block/block.1/Conv', attributes: [attribute('group', c), attribute('pads', [1, 1, 1, 1])] }),
      node('GlobalAveragePool', ['dw'], ['sq'], { name: '/se/avgpool/GlobalAveragePool' }),
      node('Conv', ['sq', 'se.fc1.weight', 'se.fc1.bias'], ['s1'], { name: '/se/fc1/Conv' }),
      node('Relu', ['s1'], ['s1r'], { name: '/se/Relu' }),
      node('Conv', ['s1r', 'se.fc2.weight', 'se.fc2.bias'], ['s2'], { name: '/se/fc2/Conv' }),
      node('HardSigmoid', ['s2'], ['gate'], { name: '/se/HardSigmoid', attributes: [attribute('alpha', 1 / 6, 'float'), attribute('beta', 0.5, 'float')] }),
      node('Mul', ['gate', 'dw'], ['scaled'], { name: '/se/Mul' }),
      node('Sigmoid', ['scaled'], ['sig'], { name: '/act/Sigmoid' }),
      node('Mul', ['scaled', 'sig'], ['silu'], { name: '/act/Mul' }),
      node('GlobalAveragePool', ['silu'], ['pooled'], { name: '/pool/GlobalAveragePool' }),
      node('Shape', ['pooled'], ['shape'], { name: '/Shape' }),
      node('Gather', ['shape', 'zero'], ['n'], { name: '/Gather', attributes: [attribute('axis', 0)] }),
      node('Unsqueeze', ['n', 'axes0'], ['n1'], { name: '/Unsqueeze' }),
      node('Concat', ['n1', 'minus1'], ['target'], { name: '/Concat', attributes: [attribute('axis', 0)] }),
      node('Reshape', ['pooled', 'target'], ['flat'], { name: '/Reshape' }),
      node('Gemm', ['flat', 'classifier.weight', 'classifier.bias'], ['logits'], { name: '/classifier/Gemm', attributes: [attribute('transB', 1)] }),
    ],
  };
}

describe('PyTorch export forms', () => {
  it('MobileNetV3 ops (HardSwish, depthwise conv, squeeze-excite HardSigmoid x Mul, Sigmoid) and view-flatten agree with onnxruntime at batch 1, 3 and 7', async () => {
    const bytes = encode(mobileNetV3Block());
    const m = importOnnx(bytes, 'mbv3.onnx');
    for (const batch of [1, 3, 7]) {
      const dims = [batch, 4, 6, 6];
      const x = randomFloats(batch * 144, 40 + batch, 3);
      const { diff, scale } = maxAbsDiff(lowbitForward(m, fromArray(x, dims)), await runOrt(bytes, x, dims, { optimization: 'disabled' }));
      assert.ok(scale > 0.05 && diff <= 1e-5 * scale, `batch ${batch}: max |diff| ${diff} of ${scale}`);
    }
    // Shape/Gather/Unsqueeze/Concat were folded: no step runs them.
    assert.deepEqual(m.steps.map((s) => s.node.opType).filter((op) => ['Shape', 'Gather', 'Unsqueeze', 'Concat'].includes(op)), []);
    // Layers are named after their weights, or after their PyTorch scope when the weight name was lost.
    assert.deepEqual(quantizableLayers(m, randn([1, 4, 6, 6])).map((l) => l.name), ['block.0', 'block.1', 'se.fc1', 'se.fc2', 'classifier']);
    assert.ok(m.getSubmodule('block.1') instanceof Conv2d && (m.getSubmodule('block.1') as Conv2d).groups === 8);
    assert.ok(m.getSubmodule('classifier') instanceof Linear);
  });

  it('re-exported, the model keeps its input and output names and still runs any batch in onnxruntime', async () => {
    const m = importOnnx(encode(mobileNetV3Block()), 'mbv3.onnx');
    const out = exportOnnx(m, { inputShape: m.sampleShape(), inputName: m.input.name, outputName: m.outputName });
    assert.equal(out.inputName, 'input');
    assert.equal(out.outputName, 'logits');
    const x = randomFloats(5 * 144, 50, 3);
    const ref = lowbitForward(m, fromArray(x, [5, 4, 6, 6]));
    const { diff, scale } = maxAbsDiff(await runOrt(out.bytes, x, [5, 4, 6, 6]), ref);
    assert.ok(diff <= 1e-5 * scale, `max |diff| ${diff}`);
    // and back again: the shape arithmetic was written as a plain Reshape [0, -1]
    const back = importOnnx(out.bytes, 'again.onnx');
    assert.equal(back.input.name, 'input');
    assert.ok(maxAbsDiff(lowbitForward(back, fromArray(x, [5, 4, 6, 6])), ref).diff <= 1e-5 * scale);
  });

  it('a file exported with a fixed batch of 1 (input [1, C, H, W], Reshape to [1, -1]) runs any batch, sample by sample as onnxruntime does', async () => {
    const f: Fixture = {
      inputShape: [1, 2, 3, 3],
      outputShape: [1, 4],
      initializers: [int64Tensor('flat_shape', [2], [1, -1]), floatTensor('fc.weight', [4, 18], randomFloats(72, 51, 0.5)), floatTensor('fc.bias', [4], randomFloats(4, 52))],
      nodes: [
        node('Relu', ['input'], ['r'], { name: '/Relu' }),
        node('Reshape', ['r', 'flat_shape'], ['flat'], { name: '/Reshape' }),
        node('Gemm', ['flat', 'fc.weight', 'fc.bias'], ['logits'], { name: '/fc/Gemm', attributes: [attribute('transB', 1)] }),
      ],
    };
    const bytes = encode(f);
    const m = importOnnx(bytes, 'static.onnx');
    assert.deepEqual(m.input.shape, [null, 2, 3, 3]);
    assert.equal(m.input.fixedBatch, 1);
    const x = randomFloats(4 * 18, 53, 2);
    const ours = lowbitForward(m, fromArray(x, [4, 2, 3, 3]));
    const theirs: number[] = [];
    for (let b = 0; b < 4; b++) theirs.push(...(await runOrt(bytes, x.slice(b * 18, (b + 1) * 18), [1, 2, 3, 3])));
    assert.ok(maxAbsDiff(ours, Float32Array.from(theirs)).diff < 1e-5);
  });

  it('every unsupported op is named at once, with its nodes', () => {
    const f: Fixture = {
      inputShape: ['N', 3],
      outputShape: ['N', 3],
      initializers: [],
      nodes: [
        node('Gelu', ['input'], ['a'], { name: 'gelu1' }),
        node('Erf', ['a'], ['b'], { name: 'erf' }),
        node('Gelu', ['b'], ['c'], { name: 'gelu2' }),
        node('Relu', ['c'], ['logits'], { name: 'relu' }),
      ],
    };
    assert.throws(
      () => importOnnx(encode(f), 'gelu.onnx'),
      (err: unknown) =>
        err instanceof LowbitError &&
        /gelu\.onnx: unsupported op 'Gelu' \(2 nodes: 'gelu1', 'gelu2'\); unsupported op 'Erf' \(node 'erf'\)\. lowbit imports Conv, /.test(err.message),
    );
  });

  it('Gather on a computed tensor (not shape arithmetic) is refused by node', () => {
    const f: Fixture = {
      inputShape: ['N', 3],
      outputShape: ['N'],
      initializers: [int64Tensor('i', [], [1])],
      nodes: [node('Gather', ['input', 'i'], ['logits'], { name: 'pick', attributes: [attribute('axis', 1)] })],
    };
    assert.throws(() => importOnnx(encode(f), 'g.onnx'), /node 'pick' \(Gather\): lowbit imports Gather only as shape arithmetic/);
  });

  it('layer paths from PyTorch scope names and weight names', () => {
    assert.equal(pathFromScopeName('/features/features.1/conv/conv.0/conv.0.0/Conv'), 'features.1.conv.0.0');
    assert.equal(pathFromScopeName('/stem/stem.0/Conv'), 'stem.0');
    assert.equal(pathFromScopeName('/l1/c1/Conv'), 'l1.c1');
    assert.equal(pathFromScopeName('/layer1/layer1.0/conv1/Conv'), 'layer1.0.conv1');
    assert.equal(pathFromScopeName('/fc/Gemm'), 'fc');
    assert.equal(pathFromScopeName('/Gemm'), null);
    assert.equal(pathFromScopeName('conv1'), null);
    assert.equal(pathFromWeightName('features.0.0.weight'), 'features.0.0');
    assert.equal(pathFromWeightName('onnx::Conv_538'), null);
    assert.equal(pathFromWeightName('w1'), null);
  });
});

/**
 * ONNX models built node by node with onnx-buf (through the thin constructors of proto.ts), not by
 * lowbit's exporter, so the importer is checked against ONNX semantics as onnxruntime runs them.
 */
import { attribute, DataType, encodeModel, floatTensor, graph, int64Tensor, model, node, valueInfo, type NodeProto, type TensorProto } from '../../../src/export/onnx/proto.ts';
import { rng } from '../../helpers/rng.ts';

export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

export interface Fixture {
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputShape: (number | string)[];
  outputShape: (number | string)[];
  opset?: number;
}

export function encodeFixture(f: Fixture): Uint8Array {
  return encodeModel(
    model({
      graph: graph({ name: 'handmade', nodes: f.nodes, initializers: f.initializers, inputs: [valueInfo('x', DataType.FLOAT, f.inputShape)], outputs: [valueInfo('y', DataType.FLOAT, f.outputShape)] }),
      irVersion: 8,
      opsets: { '': f.opset ?? 17 },
    }),
  );
}

/** A small CNN: Conv-BN-Relu-MaxPool-Conv(stride 2, groups 2)-Clip-GlobalAveragePool-Flatten-Gemm-Softmax. */
export function convNet(groups = 2): Fixture {
  return {
    inputShape: ['N', 2, 8, 8],
    outputShape: ['N', 5],
    initializers: [
      floatTensor('w1', [4, 2, 3, 3], randomFloats(72, 1, 0.5)),
      floatTensor('b1', [4], randomFloats(4, 2, 0.1)),
      floatTensor('bn_scale', [4], Float32Array.from([1.2, 0.8, 1.0, 1.5])),
      floatTensor('bn_bias', [4], Float32Array.from([0.1, -0.2, 0.0, 0.3])),
      floatTensor('bn_mean', [4], randomFloats(4, 3, 0.2)),
      floatTensor('bn_var', [4], Float32Array.from([0.5, 1.5, 1.0, 2.0])),
      floatTensor('w2', [6, 4 / groups, 3, 3], randomFloats((6 * 4 * 9) / groups, 4, 0.4)),
      floatTensor('fc_w', [5, 6], randomFloats(30, 5)),
      floatTensor('fc_b', [5], randomFloats(5, 6)),
    ],
    nodes: [
      node('Conv', ['x', 'w1', 'b1'], ['c1'], { name: 'conv1', attributes: [attribute('kernel_shape', [3, 3]), attribute('pads', [1, 1, 1, 1])] }),
      node('BatchNormalization', ['c1', 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'], ['n1'], { name: 'bn1', attributes: [attribute('epsilon', 1e-3, 'float')] }),
      node('Relu', ['n1'], ['r1'], { name: 'relu1' }),
      node('MaxPool', ['r1'], ['p1'], { name: 'pool1', attributes: [attribute('kernel_shape', [2, 2]), attribute('strides', [2, 2])] }),
      node('Conv', ['p1', 'w2'], ['c2'], { name: 'conv2', attributes: [attribute('strides', [2, 2]), attribute('pads', [1, 1, 1, 1]), attribute('group', groups)] }),
      node('Constant', [], ['lo'], { name: 'lo', attributes: [attribute('value_float', 0, 'float')] }),
      node('Constant', [], ['hi'], { name: 'hi', attributes: [attribute('value', floatTensor('', [], [0.7]))] }),
      node('Clip', ['c2', 'lo', 'hi'], ['k2'], { name: 'clip2' }),
      node('GlobalAveragePool', ['k2'], ['g'], { name: 'gap' }),
      node('Flatten', ['g'], ['f'], { name: 'flatten', attributes: [attribute('axis', 1)] }),
      node('Gemm', ['f', 'fc_w', 'fc_b'], ['logits'], { name: 'fc', attributes: [attribute('transB', 1), attribute('alpha', 0.5, 'float'), attribute('beta', 2, 'float')] }),
      node('Softmax', ['logits'], ['y'], { name: 'softmax', attributes: [attribute('axis', 1)] }),
    ],
  };
}

/** AveragePool, Reshape (0 and -1), MatMul by a constant + Add, Concat of two branches, Identity. */
export function branchyNet(): Fixture {
  return {
    inputShape: ['N', 3, 6, 6],
    outputShape: ['N', 7],
    initializers: [
      int64Tensor('shape', [2], [0, -1]),
      floatTensor('m1', [27, 4], randomFloats(108, 7, 0.3)),
      floatTensor('a1', [4], randomFloats(4, 8)),
      floatTensor('m2', [108, 3], randomFloats(324, 9, 0.1)),
    ],
    nodes: [
      node('AveragePool', ['x'], ['ap'], { name: 'avgpool', attributes: [attribute('kernel_shape', [3, 3]), attribute('strides', [2, 2]), attribute('pads', [1, 1, 1, 1]), attribute('count_include_pad', 1)] }),
      node('Reshape', ['ap', 'shape'], ['flat1'], { name: 'reshape1' }),
      node('MatMul', ['flat1', 'm1'], ['mm1'], { name: 'mm1' }),
      node('Add', ['mm1', 'a1'], ['h1'], { name: 'add1' }),
      node('Relu', ['x'], ['rx'], { name: 'relu' }),
      node('Flatten', ['rx'], ['flat2'], { name: 'flatten2' }),
      node('MatMul', ['flat2', 'm2'], ['h2'], { name: 'mm2' }),
      node('Identity', ['h2'], ['h2i'], { name: 'id' }),
      node('Concat', ['h1', 'h2i'], ['y'], { name: 'concat', attributes: [attribute('axis', 1)] }),
    ],
  };
}

/** Opset 10 forms: Clip with min/max attributes, Softmax that flattens at its axis. */
export function legacyNet(): Fixture {
  return {
    opset: 10,
    inputShape: ['N', 2, 3],
    outputShape: ['N', 2, 3],
    initializers: [],
    nodes: [
      node('Clip', ['x'], ['c'], { name: 'clip', attributes: [attribute('min', -0.5, 'float'), attribute('max', 0.75, 'float')] }),
      node('Softmax', ['c'], ['y'], { name: 'softmax', attributes: [attribute('axis', 1)] }),
    ],
  };
}

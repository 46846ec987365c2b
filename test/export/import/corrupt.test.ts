/**
 * Bad ONNX files: every variant must fail with a LowbitError that names the problem (or, for bit
 * flips that leave a well-formed model, import cleanly); no variant may crash with another error.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema } from 'onnx-buf';
import { importOnnx } from '../../../src/export/index.ts';
import { attribute, DataType, decodeModel, encodeModel, floatTensor, valueInfo, type ModelProto } from '../../../src/export/onnx/proto.ts';
import { LowbitError } from '../../../src/errors.ts';
import { fromArray, noGrad, scope } from '../../../src/tensor/index.ts';
import { rng } from '../../helpers/rng.ts';
import { convNet, encodeFixture, randomFloats } from './fixtures.ts';

const GOOD = encodeFixture(convNet());

/** A decoded copy of the good model, changed by `edit`, re-encoded. */
function edited(edit: (m: ModelProto) => void): Uint8Array {
  const m = decodeModel(GOOD);
  edit(m);
  return encodeModel(m);
}

function expectLowbitError(bytes: Uint8Array, pattern: RegExp, label: string, input?: number[]): void {
  assert.throws(
    () => {
      const model = importOnnx(bytes, 'bad.onnx');
      if (input) scope(() => noGrad(() => model.call(fromArray(randomFloats(input.reduce((a, b) => a * b, 1), 1), input))));
    },
    (err: unknown) => {
      assert.ok(err instanceof LowbitError, `${label}: expected a LowbitError, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
      assert.match(err.message, pattern, `${label}: ${err.message}`);
      return true;
    },
  );
}

const named: [string, Uint8Array, RegExp, number[]?][] = [
  ['empty file', new Uint8Array(0), /file is empty/],
  ['garbage bytes', Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff), /not a valid ONNX file|no graph|opset/],
  ['text file', new TextEncoder().encode('this is not an onnx model\n'), /not a valid ONNX file|no graph|opset/],
  ['unsupported op', edited((m) => (m.graph!.node[2].opType = 'Gelu')), /unsupported op 'Gelu' \(node 'relu1'\)/],
  ['missing initializer', edited((m) => (m.graph!.initializer = m.graph!.initializer.filter((t) => t.name !== 'w2'))), /node 'conv2' \(Conv\) reads 'w2', which no initializer/],
  ['truncated initializer data', edited((m) => (m.graph!.initializer[0].rawData = m.graph!.initializer[0].rawData.slice(0, 100))), /initializer 'w1': 100 bytes of float data.*truncated/],
  ['unsupported element type', edited((m) => (m.graph!.initializer[1].dataType = DataType.COMPLEX64)), /initializer 'b1': element type COMPLEX64 is not supported/],
  ['external data', edited((m) => m.graph!.initializer[0].externalData.push(create(StringStringEntryProtoSchema, { key: 'location', value: 'w.bin' }))), /external file/],
  ['no graph', edited((m) => (m.graph = undefined)), /has no graph/],
  ['no default opset', edited((m) => (m.opsetImport = [])), /imports no default-domain opset/],
  ['two inputs', edited((m) => m.graph!.input.push(valueInfo('x2', DataType.FLOAT, ['N', 3]))), /exactly one input; this one has 2 \(x, x2\)/],
  ['integer input', edited((m) => (m.graph!.input[0] = valueInfo('x', DataType.INT64, ['N', 2, 8, 8]))), /input 'x' has element type INT64/],
  ['input without shape', edited((m) => (m.graph!.input[0] = valueInfo('x', DataType.FLOAT, []))), /no shape of rank >= 2/],
  ['nodes out of order', edited((m) => m.graph!.node.reverse()), /reads '.*', which no initializer, graph input or earlier node provides/],
  ['output produced by no node', edited((m) => (m.graph!.output[0] = valueInfo('nothing', DataType.FLOAT, ['N', 5]))), /graph output 'nothing' is produced by no node/],
  ['foreign operator domain', edited((m) => (m.graph!.node[2].domain = 'com.microsoft')), /node 'relu1' \(Relu\): operator domain 'com.microsoft' is not supported/],
  ['asymmetric pads', edited((m) => (m.graph!.node[0].attribute[1] = attribute('pads', [1, 1, 0, 0]))), /asymmetric pads \[1, 1, 0, 0\]/],
  ['kernel_shape disagrees with the weight', edited((m) => (m.graph!.node[0].attribute[0] = attribute('kernel_shape', [5, 5]))), /kernel_shape \[5, 5\] does not match the weight's \[3, 3\]/],
  ['group that does not divide the channels', edited((m) => m.graph!.node[0].attribute.push(attribute('group', 3))), /^bad\.onnx: node '[^']+' \(Conv\): Conv2d\(\d+, 4, groups=3\): channels must be divisible by groups/],
  ['3-D conv weight', edited((m) => (m.graph!.initializer[0] = floatTensor('w1', [4, 2, 9], randomFloats(72, 1)))), /only 2-D convolutions/],
  ['Gemm with transA', edited((m) => m.graph!.node[10].attribute.push(attribute('transA', 1))), /transA=1 is not supported/],
  ['Constant without value', edited((m) => (m.graph!.node[5].attribute = [])), /Constant needs exactly one value attribute/],
  ['node without op type', edited((m) => (m.graph!.node[3].opType = '')), /has no op type/],
  ['SAME auto padding', edited((m) => (m.graph!.node[3].attribute.push(attribute('auto_pad', 'SAME_UPPER')))), /auto_pad=SAME_UPPER is not supported/],
  ['conv weight for the wrong channel count', edited((m) => (m.graph!.initializer[0] = floatTensor('w1', [4, 3, 3, 3], randomFloats(108, 1)))), /node 'conv1' \(Conv\) failed on input shape\(s\) \[2, 2, 8, 8\]/, [2, 2, 8, 8]],
  ['wrong input shape at run time', GOOD, /input of shape \[2, 3, 8, 8\] does not match the model input 'x' of shape \[N, 2, 8, 8\]/, [2, 3, 8, 8]],
  ['wrong input rank at run time', GOOD, /input of shape \[2, 128\] does not match/, [2, 128]],
  ['int64 initializer used as weight', edited((m) => {
    const t = m.graph!.initializer[0];
    t.dataType = DataType.INT64;
    t.rawData = new Uint8Array(8 * 72);
  }), /only 2-D convolutions with a float OIHW weight/],
];

describe('corrupt and unsupported ONNX files', () => {
  for (const [label, bytes, pattern, input] of named) {
    it(`${label}: LowbitError naming the problem`, () => expectLowbitError(bytes, pattern, label, input));
  }

  it('every truncation of a valid file is refused with a LowbitError', () => {
    const cuts = [1, 2, 5, 17, 64, 200, GOOD.length >> 2, GOOD.length >> 1, GOOD.length - 40, GOOD.length - 3, GOOD.length - 1];
    for (const n of cuts) expectLowbitError(GOOD.slice(0, n), /not a valid ONNX file|no graph|opset|truncated|reads|produced by no node|exactly one/, `truncated to ${n} bytes`);
  });

  it('random byte corruption never crashes: a LowbitError or a model that runs', () => {
    const r = rng(99);
    let refused = 0;
    for (let trial = 0; trial < 60; trial++) {
      const bytes = GOOD.slice();
      for (let k = 0; k < 1 + Math.floor(r() * 4); k++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
      try {
        const model = importOnnx(bytes, 'flipped.onnx');
        scope(() => noGrad(() => model.call(fromArray(randomFloats(2 * 128, 3), [2, 2, 8, 8]))));
      } catch (err) {
        assert.ok(err instanceof LowbitError, `trial ${trial}: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
        refused++;
      }
    }
    assert.ok(refused > 0);
  });

  it('the untouched file imports and runs', () => {
    const model = importOnnx(GOOD, 'good.onnx');
    scope(() => noGrad(() => assert.deepEqual(model.call(fromArray(randomFloats(2 * 128, 3), [2, 2, 8, 8])).shape, [2, 5])));
  });
});

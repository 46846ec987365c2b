/**
 * ONNX bytes -> the graph as written, for readers that need the quantized form itself (the integer
 * runtime): unlike read-model.ts nothing is folded, so a weight's DequantizeLinear keeps its integer
 * codes and scales, and each integer constant keeps its ONNX type (uint8 vs uint2 says the grid).
 */
import { LowbitError } from '../../errors.ts';
import { decodeOnnxFile } from './decode-onnx.ts';
import { intTypeByDataType, type IntType } from '../onnx/int-types.ts';
import { AttributeType } from '../onnx/proto.ts';
import { readTensorProto, type HostTensor } from './tensor-proto.ts';

export interface QdqNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** INT, FLOAT and INTS attributes by name (the ones Conv, Gemm, QDQ and BatchNormalization have). */
  attrs: Record<string, number | number[]>;
}

export interface QdqConstant {
  tensor: HostTensor;
  /** The ONNX integer type of an integer initializer (undefined for float and int64 ones). */
  intType?: IntType;
}

export interface QdqGraph {
  input: { name: string; dims: (number | null)[] };
  output: string;
  nodes: QdqNode[];
  constants: Map<string, QdqConstant>;
  metadata: Record<string, string>;
}

export function readQdqGraph(bytes: Uint8Array, source: string): QdqGraph {
  const model = decodeOnnxFile(bytes, source);
  const g = model.graph;
  if (g === undefined || g.node.length === 0) throw new LowbitError(`${source}: the ONNX model has no graph (an empty or truncated file, or not an ONNX model)`);
  const constants = new Map<string, QdqConstant>();
  for (const t of g.initializer) constants.set(t.name, { tensor: readTensorProto(t, `${source}: initializer '${t.name}'`), intType: intTypeByDataType(t.dataType) });
  const inputs = g.input.filter((v) => !constants.has(v.name));
  if (inputs.length !== 1 || g.output.length !== 1) throw new LowbitError(`${source}: expected one graph input and one output, found ${inputs.length} and ${g.output.length}`);
  const t = inputs[0].type?.value;
  const dims = t?.case === 'tensorType' ? (t.value.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : null)) : [];
  const nodes = g.node.map((n, i): QdqNode => {
    const attrs: Record<string, number | number[]> = {};
    for (const a of n.attribute) {
      if (a.type === AttributeType.INT) attrs[a.name] = Number(a.i);
      else if (a.type === AttributeType.FLOAT) attrs[a.name] = a.f;
      else if (a.type === AttributeType.INTS) attrs[a.name] = a.ints.map(Number);
    }
    return { name: n.name || `#${i}`, opType: n.opType, domain: n.domain, inputs: [...n.input], outputs: [...n.output], attrs };
  });
  return { input: { name: inputs[0].name, dims }, output: g.output[0].name, nodes, constants, metadata: Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value])) };
}

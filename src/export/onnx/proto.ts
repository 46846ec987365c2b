/**
 * Thin constructors over onnx-buf's generated ONNX schema (@bufbuild/protobuf), so the exporter, the
 * tests and the hand-built fixtures all write messages the same way. No wire encoding here: the
 * protobuf library serializes.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';

export { TensorProto_DataType as DataType, AttributeProto_AttributeType as AttributeType };
export type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto };

/** An attribute value: number (float unless listed in `ints`), integer list, float list, string or tensor. */
export type AttributeValue = number | bigint | string | number[] | { ints: number[] } | { floats: number[] } | TensorProto;

/** An attribute; plain numbers are INT when integral and `kind` is not 'float'. */
export function attribute(name: string, value: AttributeValue, kind: 'int' | 'float' = 'int'): AttributeProto {
  if (typeof value === 'bigint') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: value });
  if (typeof value === 'number') {
    return kind === 'float' || !Number.isInteger(value)
      ? create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: value })
      : create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
  }
  if (typeof value === 'string') {
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) });
  }
  if (Array.isArray(value) || 'ints' in value) {
    const ints = Array.isArray(value) ? value : value.ints;
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: ints.map((v) => BigInt(v)) });
  }
  if ('floats' in value) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: value.floats });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.TENSOR, t: value });
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  opts: { name?: string; domain?: string; attributes?: AttributeProto[] } = {},
): NodeProto {
  return create(NodeProtoSchema, {
    opType,
    input: inputs,
    output: outputs,
    name: opts.name ?? outputs[0],
    domain: opts.domain ?? '',
    attribute: opts.attributes ?? [],
  });
}

/** A tensor whose bytes are already laid out as ONNX stores them (little-endian, packed sub-byte types). */
export function rawTensor(name: string, dataType: TensorProto_DataType, dims: readonly number[], rawData: Uint8Array): TensorProto {
  return create(TensorProtoSchema, { name, dataType, dims: dims.map((d) => BigInt(d)), rawData: copyBytes(rawData) });
}

export function floatTensor(name: string, dims: readonly number[], values: Float32Array | readonly number[]): TensorProto {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  return rawTensor(name, TensorProto_DataType.FLOAT, dims, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  const a = BigInt64Array.from(values.map((v) => BigInt(v)));
  return rawTensor(name, TensorProto_DataType.INT64, dims, new Uint8Array(a.buffer));
}

/** A graph input or output: element type and shape; a string dim is symbolic ('N' for the batch). */
export function valueInfo(name: string, elemType: TensorProto_DataType, shape: readonly (number | string)[]): ValueInfoProto {
  const dim = shape.map((d) =>
    create(TensorShapeProto_DimensionSchema, { value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: BigInt(d) } }),
  );
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }) },
    }),
  });
}

export function graph(init: { name: string; nodes: NodeProto[]; initializers: TensorProto[]; inputs: ValueInfoProto[]; outputs: ValueInfoProto[]; docString?: string }): GraphProto {
  return create(GraphProtoSchema, {
    name: init.name,
    node: init.nodes,
    initializer: init.initializers,
    input: init.inputs,
    output: init.outputs,
    docString: init.docString ?? '',
  });
}

export function model(init: { graph: GraphProto; irVersion: number; opsets: Record<string, number>; producerVersion?: string; docString?: string; metadata?: Record<string, string> }): ModelProto {
  return create(ModelProtoSchema, {
    metadataProps: Object.entries(init.metadata ?? {}).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
    irVersion: BigInt(init.irVersion),
    opsetImport: Object.entries(init.opsets).map(([domain, version]) => create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) })),
    producerName: 'lowbit',
    producerVersion: init.producerVersion ?? '',
    graph: init.graph,
    docString: init.docString ?? '',
  });
}

export function encodeModel(m: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, m);
}

/** Parses bytes as a ModelProto; throws the protobuf library's error on malformed input. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return fromBinary(ModelProtoSchema, bytes);
}

function copyBytes(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.byteLength);
  out.set(b);
  return out;
}

/**
 * ONNX bytes -> a checked graph description: one float NCHW (or N x features) input, one output,
 * nodes in the default domain, constants (initializers and Constant nodes) decoded. Everything a
 * malformed, truncated or foreign file can get wrong is reported here as a LowbitError naming the
 * problem, before any compute runs.
 */
import { LowbitError } from '../../errors.ts';
import { decodeOnnxFile } from './decode-onnx.ts';
import { DataType, type NodeProto, type TensorProto, type ValueInfoProto } from '../onnx/proto.ts';
import { foldNode } from './fold-constants.ts';
import { readTensorProto, type HostTensor } from './tensor-proto.ts';

export interface GraphInput {
  name: string;
  /** null for a symbolic or missing dim; the leading dim (the batch) is always null. */
  shape: (number | null)[];
  /** The batch size the file fixed, when it did (PyTorch's default export: 1). */
  fixedBatch?: number;
}

export interface ReadGraph {
  /** Version of the default ('' / 'ai.onnx') operator set. */
  opset: number;
  input: GraphInput;
  output: string;
  nodes: NodeProto[];
  constants: Map<string, HostTensor>;
}

const MIN_IMPORT_OPSET = 7;

export function readOnnxModel(bytes: Uint8Array, source: string): ReadGraph {
  const model = decodeOnnxFile(bytes, source);
  const g = model.graph;
  if (g === undefined || (g.node.length === 0 && g.output.length === 0)) {
    throw new LowbitError(`${source}: the ONNX model has no graph (an empty or truncated file, or not an ONNX model)`);
  }
  let opset: number | undefined;
  for (const o of model.opsetImport) {
    if (o.domain === '' || o.domain === 'ai.onnx') opset = Number(o.version);
  }
  if (opset === undefined) throw new LowbitError(`${source}: the model imports no default-domain opset; it is not a valid ONNX model`);
  if (!(opset >= MIN_IMPORT_OPSET)) throw new LowbitError(`${source}: opset ${opset} is too old; lowbit imports opset ${MIN_IMPORT_OPSET} or later (convert with onnx.version_converter)`);

  const constants = new Map<string, HostTensor>();
  for (const [i, t] of g.initializer.entries()) {
    const name = t.name;
    if (name === '') throw new LowbitError(`${source}: initializer #${i} has no name`);
    constants.set(name, readTensorProto(t, `${source}: initializer '${name}'`));
  }
  if (g.sparseInitializer.length > 0) throw new LowbitError(`${source}: sparse initializers are not supported`);

  const inputs = g.input.filter((v) => !constants.has(v.name));
  if (inputs.length !== 1) {
    throw new LowbitError(
      `${source}: lowbit imports models with exactly one input; this one has ${inputs.length}${inputs.length ? ` (${inputs.map((v) => v.name).join(', ')})` : ''}`,
    );
  }
  const input = graphInput(inputs[0], source);
  if (g.output.length !== 1) {
    throw new LowbitError(`${source}: lowbit imports models with exactly one output; this one has ${g.output.length}${g.output.length ? ` (${g.output.map((v) => v.name).join(', ')})` : ''}`);
  }

  const nodes: NodeProto[] = [];
  const produced = new Set<string>([input.name, ...constants.keys()]);
  for (const [i, n] of g.node.entries()) {
    const where = `${source}: node '${n.name || `#${i}`}' (${n.opType || 'no op type'})`;
    if (n.opType === '') throw new LowbitError(`${where} has no op type (corrupt file)`);
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      throw new LowbitError(`${where}: operator domain '${n.domain}' is not supported; lowbit imports default-domain ONNX ops only`);
    }
    for (const name of n.input) {
      if (name !== '' && !produced.has(name)) {
        throw new LowbitError(`${where} reads '${name}', which no initializer, graph input or earlier node provides (a missing initializer, or nodes out of order)`);
      }
    }
    if (n.output.length === 0 || n.output[0] === '') throw new LowbitError(`${where} has no output`);
    for (const out of n.output) if (out !== '') produced.add(out);
    if (n.opType === 'Constant') {
      constants.set(n.output[0], constantValue(n, where));
      continue;
    }
    const folded = foldNode(n, constants, where);
    if (folded !== null) {
      constants.set(n.output[0], folded);
      continue;
    }
    nodes.push(n);
  }
  const output = g.output[0].name;
  if (!produced.has(output)) throw new LowbitError(`${source}: the graph output '${output}' is produced by no node`);
  return { opset, input, output, nodes, constants };
}

function graphInput(v: ValueInfoProto, source: string): GraphInput {
  const t = v.type?.value;
  if (t === undefined || t.case !== 'tensorType') throw new LowbitError(`${source}: input '${v.name}' is not a tensor`);
  if (t.value.elemType !== DataType.FLOAT) {
    throw new LowbitError(`${source}: input '${v.name}' has element type ${DataType[t.value.elemType] ?? t.value.elemType}; lowbit imports float32 inputs`);
  }
  const dims = t.value.shape?.dim;
  if (dims === undefined || dims.length < 2) {
    throw new LowbitError(`${source}: input '${v.name}' has no shape of rank >= 2; lowbit needs (N, C, H, W) or (N, features)`);
  }
  const shape = dims.map((d) => (d.value.case === 'dimValue' && d.value.value > 0n ? Number(d.value.value) : null));
  // The leading dim is the batch, whatever the file says: torch.onnx.export fixes it at 1 by default.
  return { name: v.name, shape: [null, ...shape.slice(1)], ...(shape[0] === null ? {} : { fixedBatch: shape[0] }) };
}

/** Constant node -> host tensor (value tensor or the value_float(s) / value_int(s) forms). */
function constantValue(n: NodeProto, where: string): HostTensor {
  const a = n.attribute[0];
  if (n.attribute.length !== 1 || a === undefined) throw new LowbitError(`${where}: a Constant needs exactly one value attribute`);
  switch (a.name) {
    case 'value':
      if (a.t === undefined) throw new LowbitError(`${where}: 'value' holds no tensor`);
      return readTensorProto(a.t, where);
    case 'value_float':
      return { dims: [], kind: 'float', data: Float32Array.of(a.f) };
    case 'value_floats':
      return { dims: [a.floats.length], kind: 'float', data: Float32Array.from(a.floats) };
    case 'value_int':
      return { dims: [], kind: 'int', data: [Number(a.i)] };
    case 'value_ints':
      return { dims: [a.ints.length], kind: 'int', data: a.ints.map(Number) };
    default:
      throw new LowbitError(`${where}: Constant attribute '${a.name}' is not supported (use value, value_float(s) or value_int(s))`);
  }
}

export type { TensorProto };

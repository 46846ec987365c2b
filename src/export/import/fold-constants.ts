/**
 * Constant folding at import for the two node kinds that compute weights rather than activations in
 * QDQ files: DequantizeLinear of constant codes, and the Add that shifts a zero-free grid (see
 * emit-quant.ts). Folding them turns a low-bit ONNX file (lowbit's own, or another tool's QDQ
 * weights) into the float weights a lowbit Conv2d / Linear holds.
 */
import { LowbitError } from '../../errors.ts';
import type { NodeProto } from '../onnx/proto.ts';
import { Attributes } from './attributes.ts';
import type { HostTensor } from './tensor-proto.ts';

/** The folded value of `node` if it is a foldable node whose inputs are all constants, else null. */
export function foldNode(node: NodeProto, constants: Map<string, HostTensor>, where: string): HostTensor | null {
  if (node.opType !== 'DequantizeLinear' && node.opType !== 'Add' && node.opType !== 'Identity') return null;
  const inputs = node.input.filter((n) => n !== '');
  if (!inputs.every((n) => constants.has(n))) return null;
  const args = inputs.map((n) => constants.get(n)!);
  if (node.opType === 'Identity') return args[0];
  if (node.opType === 'Add') return broadcastAdd(args[0], args[1], where);
  return dequantize(args, new Attributes(node, where), where);
}

function dequantize([x, scale, zeroPoint]: HostTensor[], attrs: Attributes, where: string): HostTensor {
  if (scale === undefined || scale.kind !== 'float') throw new LowbitError(`${where}: DequantizeLinear needs a float scale`);
  if (attrs.int('block_size', 0) !== 0) throw new LowbitError(`${where}: blocked DequantizeLinear is not supported`);
  const rank = x.dims.length;
  const axisAttr = attrs.int('axis', 1);
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  const perAxis = scale.data.length > 1 || scale.dims.length === 1;
  const channels = perAxis ? x.dims[axis] : 1;
  if (perAxis && (axis < 0 || axis >= rank || scale.data.length !== channels)) {
    throw new LowbitError(`${where}: ${scale.data.length} scales do not match dim ${axisAttr} of the input [${x.dims.join(', ')}]`);
  }
  if (zeroPoint !== undefined && zeroPoint.data.length !== scale.data.length) throw new LowbitError(`${where}: zero point and scale differ in length`);
  const inner = x.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const c = perAxis ? Math.floor(i / inner) % channels : 0;
    const zp = zeroPoint ? Number(zeroPoint.data[c]) : 0;
    data[i] = (Number(x.data[i]) - zp) * scale.data[c];
  }
  return { dims: x.dims, kind: 'float', data };
}

/** a + b with numpy broadcasting, in float32. */
function broadcastAdd(a: HostTensor, b: HostTensor, where: string): HostTensor {
  const rank = Math.max(a.dims.length, b.dims.length);
  const pad = (d: number[]) => [...new Array<number>(rank - d.length).fill(1), ...d];
  const [da, db] = [pad(a.dims), pad(b.dims)];
  const dims = da.map((n, i) => {
    if (n !== db[i] && n !== 1 && db[i] !== 1) throw new LowbitError(`${where}: cannot broadcast [${a.dims.join(', ')}] with [${b.dims.join(', ')}]`);
    return Math.max(n, db[i]);
  });
  const count = dims.reduce((p, n) => p * n, 1);
  const strides = (d: number[]) => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) {
      s[i] = d[i] === 1 ? 0 : acc;
      acc *= d[i];
    }
    return s;
  };
  const [sa, sb] = [strides(da), strides(db)];
  const data = new Float32Array(count);
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < count; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      ia += idx[k] * sa[k];
      ib += idx[k] * sb[k];
    }
    data[i] = Number(a.data[ia]) + Number(b.data[ib]);
    for (let k = rank - 1; k >= 0 && ++idx[k] === dims[k]; k--) idx[k] = 0;
  }
  return { dims, kind: 'float', data };
}

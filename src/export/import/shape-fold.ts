/**
 * Shape arithmetic folded at import. PyTorch writes `x.view(x.size(0), -1)` as
 *   Shape(x) -> Gather(0) -> Unsqueeze -> Concat(.., [-1]) -> Reshape(x, ..)
 * a small integer program over the shapes of activations. lowbit knows every activation's shape
 * except the batch size N, so these nodes are evaluated here, on integer vectors whose entries are
 * numbers or multiples of N, and never run as tensor ops: a Reshape then gets a target that is known
 * up to N, which it resolves at run time (and writes back to ONNX as 0 = "copy the input's dim").
 *
 * Semantics per the ONNX operator docs: Shape (start/end since opset 15), Gather (axis 0 of a 1-D
 * vector), Unsqueeze / Squeeze (axes as attribute before opset 13, as input since), Concat, Slice
 * (attributes before opset 10, inputs since), Cast to an integer type, Identity, and the elementwise
 * Add / Sub / Mul / Div on such vectors.
 */
import { LowbitError } from '../../errors.ts';
import type { NodeProto } from '../onnx/proto.ts';
import { DataType } from '../onnx/proto.ts';
import { Attributes } from './attributes.ts';
import type { HostTensor } from './tensor-proto.ts';

/** One entry of a shape vector: a number, or `batch` times the batch size N. */
export type SymDim = number | { batch: number };

/** An integer tensor (rank 0 or 1, or an Unsqueezed vector) whose entries may depend on N. */
export interface ShapeValue {
  dims: number[];
  data: SymDim[];
}

/** Ops this file folds; they are imported only as shape arithmetic. */
export const SHAPE_OPS = ['Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Slice', 'Cast'] as const;
/** Ops that are shape arithmetic when their inputs are shape values, and tensor ops otherwise. */
const MIXED_OPS = new Set(['Concat', 'Add', 'Sub', 'Mul', 'Div', 'Identity']);

export interface ShapeContext {
  opset: number;
  constants: Map<string, HostTensor>;
  symbolic: Map<string, ShapeValue>;
  /** The shape of a computed tensor, entries that scale with the batch as multiples of N. */
  tensorShape(name: string): SymDim[];
}

export function isBatchDim(d: SymDim): d is { batch: number } {
  return typeof d !== 'number';
}

export function formatDim(d: SymDim): string {
  return typeof d === 'number' ? String(d) : d.batch === 1 ? 'N' : `${d.batch}N`;
}

/**
 * The value of `node` if it is shape arithmetic (a Shape of a computed tensor, or one of the ops above
 * on constants and shape values), else null. Throws when a shape-only op reads a computed tensor.
 */
export function foldShapeNode(node: NodeProto, ctx: ShapeContext, where: string): ShapeValue | null {
  const op = node.opType;
  if (!(SHAPE_OPS as readonly string[]).includes(op) && !MIXED_OPS.has(op)) return null;
  const inputs = node.input;
  const known = (name: string) => name === '' || ctx.constants.has(name) || ctx.symbolic.has(name);
  if (op === 'Shape') {
    if (ctx.constants.has(inputs[0])) throw new LowbitError(`${where}: Shape of a constant; fold it before import`);
    const attrs = new Attributes(node, where);
    const shape = ctx.tensorShape(inputs[0]);
    const [s, e] = [clampAxis(attrs.int('start', 0), shape.length), clampAxis(attrs.int('end', shape.length), shape.length)];
    const data = shape.slice(s, Math.max(s, e));
    return { dims: [data.length], data };
  }
  if (!inputs.every(known)) {
    if (MIXED_OPS.has(op)) return null;
    throw new LowbitError(`${where}: lowbit imports ${op} only as shape arithmetic (on the output of Shape or on constants); this node reads a computed tensor`);
  }
  // Only fold what involves a shape value or is shape-only; constant float math is read-model's business.
  const args = inputs.map((n) => (n === '' ? null : value(n, ctx)));
  if (MIXED_OPS.has(op) && !inputs.some((n) => ctx.symbolic.has(n))) {
    if (!args.every((a) => a === null || a.isInt)) return null;
  }
  const attrs = new Attributes(node, where);
  const vals = args.map((a) => a?.v ?? null);
  const x = vals[0]!;
  switch (op) {
    case 'Identity':
      return x;
    case 'Cast': {
      const to = attrs.int('to');
      if (![DataType.INT64, DataType.INT32].includes(to)) throw new LowbitError(`${where}: Cast of a shape to ${DataType[to] ?? to} is not supported (only to int64 / int32)`);
      return x;
    }
    case 'Gather': {
      if (x.dims.length !== 1) throw new LowbitError(`${where}: Gather on a shape of rank ${x.dims.length} is not supported`);
      if (attrs.int('axis', 0) !== 0) throw new LowbitError(`${where}: Gather on a shape vector needs axis 0`);
      const idx = vals[1]!;
      const data = idx.data.map((i) => {
        if (isBatchDim(i)) throw new LowbitError(`${where}: Gather with an index that depends on the batch size`);
        const k = i < 0 ? i + x.data.length : i;
        if (k < 0 || k >= x.data.length) throw new LowbitError(`${where}: Gather index ${i} is out of range for a shape of ${x.data.length} entries`);
        return x.data[k];
      });
      return { dims: idx.dims, data };
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = ctx.opset >= 13 ? (vals[1] ? numbers(vals[1], where) : op === 'Squeeze' ? null : []) : attrs.ints('axes', op === 'Squeeze' ? undefined : []);
      if (op === 'Unsqueeze') {
        const rank = x.dims.length + axes!.length;
        const norm = axes!.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
        const dims = [...x.dims];
        for (const a of norm) dims.splice(a, 0, 1);
        return { dims, data: x.data };
      }
      const rank = x.dims.length;
      const norm = (axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => (a < 0 ? a + rank : a));
      if (norm.some((a) => x.dims[a] !== 1)) throw new LowbitError(`${where}: Squeeze of an axis whose size is not 1`);
      return { dims: x.dims.filter((_, i) => !norm.includes(i)), data: x.data };
    }
    case 'Concat': {
      const parts = vals.filter((v): v is ShapeValue => v !== null);
      if (parts.some((p) => p.dims.length !== 1)) throw new LowbitError(`${where}: Concat of shape values must join 1-D vectors`);
      const data = parts.flatMap((p) => p.data);
      return { dims: [data.length], data };
    }
    case 'Slice': {
      if (x.dims.length !== 1) throw new LowbitError(`${where}: Slice of a shape of rank ${x.dims.length} is not supported`);
      const n = x.data.length;
      let starts: number[];
      let ends: number[];
      let axes: number[];
      let steps: number[];
      if (ctx.opset < 10) {
        starts = attrs.ints('starts');
        ends = attrs.ints('ends');
        axes = attrs.ints('axes', [0]);
        steps = [1];
      } else {
        starts = numbers(vals[1]!, where);
        ends = numbers(vals[2]!, where);
        axes = vals[3] ? numbers(vals[3], where) : [0];
        steps = vals[4] ? numbers(vals[4], where) : [1];
      }
      if (axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) throw new LowbitError(`${where}: Slice of a shape vector must act on axis 0`);
      const step = steps[0];
      if (step === 0) throw new LowbitError(`${where}: Slice step 0`);
      const clampIdx = (i: number, lo: number, hi: number) => Math.min(Math.max(i < 0 ? i + n : i, lo), hi);
      const data: SymDim[] = [];
      if (step > 0) for (let i = clampIdx(starts[0], 0, n); i < clampIdx(ends[0], 0, n); i += step) data.push(x.data[i]);
      else for (let i = clampIdx(starts[0], 0, n - 1); i > clampIdx(ends[0], -1, n - 1); i += step) data.push(x.data[i]);
      return { dims: [data.length], data };
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return elementwise(op, x, vals[1]!, where);
  }
  return null;
}

/** A constant or shape value as a ShapeValue (integers only), and whether it was a plain int constant. */
function value(name: string, ctx: ShapeContext): { v: ShapeValue; isInt: boolean } {
  const s = ctx.symbolic.get(name);
  if (s) return { v: s, isInt: true };
  const c = ctx.constants.get(name)!;
  if (c.kind !== 'int') return { v: { dims: c.dims, data: Array.from(c.data) }, isInt: false };
  return { v: { dims: c.dims, data: c.data }, isInt: true };
}

function numbers(v: ShapeValue, where: string): number[] {
  return v.data.map((d) => {
    if (isBatchDim(d)) throw new LowbitError(`${where}: an axis or index that depends on the batch size is not supported`);
    return d;
  });
}

function clampAxis(a: number, rank: number): number {
  return Math.min(Math.max(a < 0 ? a + rank : a, 0), rank);
}

function elementwise(op: string, a: ShapeValue, b: ShapeValue, where: string): ShapeValue {
  const n = Math.max(a.data.length, b.data.length);
  if (!(a.data.length === n || a.data.length === 1) || !(b.data.length === n || b.data.length === 1)) {
    throw new LowbitError(`${where}: ${op} of shape vectors of lengths ${a.data.length} and ${b.data.length}`);
  }
  const dims = a.data.length >= b.data.length ? a.dims : b.dims;
  const data = Array.from({ length: n }, (_, i) => combine(op, a.data[a.data.length === 1 ? 0 : i], b.data[b.data.length === 1 ? 0 : i], where));
  return { dims, data };
}

function combine(op: string, x: SymDim, y: SymDim, where: string): SymDim {
  if (!isBatchDim(x) && !isBatchDim(y)) {
    switch (op) {
      case 'Add':
        return x + y;
      case 'Sub':
        return x - y;
      case 'Mul':
        return x * y;
      default:
        if (y === 0) throw new LowbitError(`${where}: division by zero in shape arithmetic`);
        return Math.trunc(x / y);
    }
  }
  const fail = () => new LowbitError(`${where}: shape arithmetic ${formatDim(x)} ${op} ${formatDim(y)} on the batch size is not supported; export with a fixed batch or use x.flatten(1)`);
  if (op === 'Mul') {
    if (isBatchDim(x) && !isBatchDim(y)) return y === 0 ? 0 : { batch: x.batch * y };
    if (isBatchDim(y) && !isBatchDim(x)) return x === 0 ? 0 : { batch: y.batch * x };
    throw fail();
  }
  if (op === 'Div' && isBatchDim(x) && !isBatchDim(y) && y !== 0 && x.batch % y === 0) return { batch: x.batch / y };
  if ((op === 'Add' || op === 'Sub') && !isBatchDim(y) && y === 0) return x;
  if (op === 'Add' && !isBatchDim(x) && x === 0) return y;
  throw fail();
}

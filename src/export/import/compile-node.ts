/**
 * ONNX node -> GraphStep, for the ops lowbit imports: Conv, Gemm, MatMul, Add, Sub, Mul, Div, Relu,
 * Clip, Sigmoid, HardSigmoid, HardSwish, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool,
 * Flatten, Reshape, Softmax, Concat, Identity (Constant nodes are folded into constants when the file
 * is read, shape arithmetic by shape-fold.ts), DequantizeLinear of constant weights (folded, so
 * lowbit's own low-bit exports import as float models), and QuantizeLinear / DequantizeLinear of
 * computed values (activation fake quantization, activation-qdq.ts).
 *
 * Semantics follow the ONNX operator docs at the file's opset; the forms lowbit does not compute
 * (asymmetric or SAME padding, 1-D/3-D convolutions, Gemm with transposed A) are refused by name.
 */
import { LowbitError } from '../../errors.ts';
import { BatchNorm2d, Conv2d, Linear, type Module } from '../../nn/index.ts';
import { cat, F, fromArray, noGrad, type Tensor } from '../../tensor/index.ts';
import { attribute } from '../onnx/proto.ts';
import type { GraphStep } from './graph-step.ts';
import { Attributes } from './attributes.ts';
import type { ReadGraph } from './read-model.ts';
import type { HostTensor } from './tensor-proto.ts';
import type { NodeProto } from '../onnx/proto.ts';
import type { EmitContext } from '../onnx/emit-context.ts';
import { layerPath } from './layer-names.ts';
import { compileActivationQdq } from './activation-qdq.ts';
import { formatDim, isBatchDim, type ShapeValue, type SymDim } from './shape-fold.ts';

export const IMPORTED_OPS = [
  'Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'HardSwish',
  'BatchNormalization', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Reshape', 'Softmax', 'Concat',
  'Identity', 'Constant', 'QuantizeLinear', 'DequantizeLinear',
] as const;

/**
 * The layer registered for a node, read at each call: quantizeModel may have replaced the Conv2d /
 * Linear the import made by its quantized subclass, which the graph then runs and exports.
 */
export type LayerRef<M extends Module> = () => M;

/** What a compiled node needs from the module that owns it. */
export interface StepOwner {
  /** Registers a layer under a dotted module path (`features.0.0`), made unique on clash. */
  addModule<M extends Module>(path: string, m: M): LayerRef<M>;
  /** A constant as a float tensor owned by the graph module. */
  constTensor(name: string): Tensor;
  /** A folded shape vector whose entries may be multiples of the batch size (see shape-fold.ts). */
  shapeValue(name: string): ShapeValue | undefined;
  /** The shape of a computed value, batch-dependent dims as multiples of N (probed; costs a forward pass). */
  valueShape(name: string): SymDim[];
  /** Batch size of the forward pass in progress. */
  batchSize(): number;
}

export function compileNode(node: NodeProto, index: number, graph: ReadGraph, owner: StepOwner, source: string): GraphStep {
  const where = `${source}: node '${node.name || `#${index}`}' (${node.opType})`;
  const attrs = new Attributes(node, where);
  const isConst = (name: string) => graph.constants.has(name);
  const constant = (i: number, what: string): HostTensor => {
    const name = node.input[i];
    const c = name ? graph.constants.get(name) : undefined;
    if (c === undefined) throw new LowbitError(`${where}: input ${i} (${what}) must be a constant initializer${name ? `; '${name}' is computed at run time` : ' and is missing'}`);
    return c;
  };
  const dynamicInput = (i: number): string => {
    const name = node.input[i];
    if (!name) throw new LowbitError(`${where}: input ${i} is missing`);
    if (isConst(name)) throw new LowbitError(`${where}: input ${i} ('${name}') is a constant; lowbit expects a computed tensor here`);
    return name;
  };
  const output = node.output[0];
  const step = (inputs: string[], run: (a: Tensor[]) => Tensor, emit: (ctx: EmitContext, a: string[]) => string, layer?: LayerRef<Module>): GraphStep => ({
    node,
    where,
    inputs,
    output,
    layer,
    run,
    emit,
  });
  /** A layer node: one dynamic input through the layer registered for it (see LayerRef). */
  const layerStep = (layer: LayerRef<Module>) => step([dynamicInput(0)], ([x]) => layer().call(x), (ctx, [x]) => ctx.emit(layer(), x), layer);
  const baseName = node.name || `${node.opType.toLowerCase()}_${index}`;
  /** Module path of a layer node: its weight's name, its PyTorch scope, or its node name. */
  const modulePath = () => layerPath(node.name, node.input[1], `${node.opType.toLowerCase()}_${index}`);
  /** Dynamic operands as step inputs, constants as owned tensors: for elementwise ops and Concat. */
  const mixedOperands = () => {
    const inputs: string[] = [];
    const slots = node.input.map((name) => {
      if (!name) throw new LowbitError(`${where}: an input name is empty`);
      if (isConst(name)) return { constName: name };
      inputs.push(name);
      return { index: inputs.length - 1 };
    });
    const resolve = (a: Tensor[]) => slots.map((s) => ('constName' in s ? owner.constTensor(s.constName!) : a[s.index!]));
    const emitArgs = (ctx: EmitContext, a: string[]) => slots.map((s) => ('constName' in s ? emitConstant(ctx, s.constName!, graph) : a[s.index!]));
    return { inputs, resolve, emitArgs };
  };

  switch (node.opType) {
    case 'Conv': {
      const w = constant(1, 'weight');
      if (w.kind !== 'float' || w.dims.length !== 4) throw new LowbitError(`${where}: only 2-D convolutions with a float OIHW weight are supported, got weight dims [${w.dims.join(', ')}]`);
      const [outC, inPerGroup, kh, kw] = w.dims;
      const group = attrs.int('group', 1);
      const kernel = attrs.ints('kernel_shape', [kh, kw]);
      if (kernel[0] !== kh || kernel[1] !== kw) throw new LowbitError(`${where}: kernel_shape [${kernel.join(', ')}] does not match the weight's [${kh}, ${kw}]`);
      const padding = symmetricPads(attrs, where, 2);
      const conv = new Conv2d(inPerGroup * group, outC, [kh, kw], {
        stride: pairOf(attrs.ints('strides', [1, 1]), 'strides', where),
        padding,
        dilation: pairOf(attrs.ints('dilations', [1, 1]), 'dilations', where),
        groups: group,
        bias: node.input.length > 2 && node.input[2] !== '',
      });
      loadFloat(conv.weight, w, where);
      if (conv.bias) loadFloat(conv.bias, constant(2, 'bias'), where);
      return layerStep(owner.addModule(modulePath(), conv));
    }
    case 'Gemm': {
      if (attrs.int('transA', 0) !== 0) throw new LowbitError(`${where}: Gemm with transA=1 is not supported`);
      const b = constant(1, 'B');
      if (b.kind !== 'float' || b.dims.length !== 2) throw new LowbitError(`${where}: B must be a 2-D float constant, got dims [${b.dims.join(', ')}]`);
      const transB = attrs.int('transB', 0) !== 0;
      const [n, k] = transB ? b.dims : [b.dims[1], b.dims[0]];
      const alpha = attrs.float('alpha', 1);
      const beta = attrs.float('beta', 1);
      const hasC = node.input.length > 2 && node.input[2] !== '';
      const linear = new Linear(k, n, { bias: hasC });
      // Linear's weight is (out, in): B^T unless transB; alpha and beta fold into weight and bias.
      const wData = new Float32Array(n * k);
      for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) wData[o * k + i] = alpha * b.data[transB ? o * k + i : i * n + o];
      loadFloat(linear.weight, { dims: [n, k], kind: 'float', data: wData }, where);
      if (hasC) {
        const c = constant(2, 'C');
        if (c.kind !== 'float' || !(c.data.length === n || c.data.length === 1)) {
          throw new LowbitError(`${where}: C must be a float constant of ${n} values (or one), got dims [${c.dims.join(', ')}]`);
        }
        const bias = Float32Array.from({ length: n }, (_, o) => beta * c.data[c.data.length === 1 ? 0 : o]);
        loadFloat(linear.bias!, { dims: [n], kind: 'float', data: bias }, where);
      }
      return layerStep(owner.addModule(modulePath(), linear));
    }
    case 'MatMul': {
      if (isConst(node.input[1]) && !isConst(node.input[0])) {
        const b = constant(1, 'B');
        if (b.kind !== 'float' || b.dims.length !== 2) throw new LowbitError(`${where}: a constant B must be a 2-D float matrix, got dims [${b.dims.join(', ')}]`);
        const [k, n] = b.dims;
        const linear = new Linear(k, n, { bias: false });
        const wData = new Float32Array(n * k);
        for (let o = 0; o < n; o++) for (let i = 0; i < k; i++) wData[o * k + i] = b.data[i * n + o];
        loadFloat(linear.weight, { dims: [n, k], kind: 'float', data: wData }, where);
        return layerStep(owner.addModule(modulePath(), linear));
      }
      const ops = mixedOperands();
      return step(ops.inputs, (a) => { const [x, y] = ops.resolve(a); return x.matmul(y); }, (ctx, a) => ctx.builder.add('MatMul', ops.emitArgs(ctx, a), baseName));
    }
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div': {
      const ops = mixedOperands();
      if (ops.inputs.length === 0) throw new LowbitError(`${where}: computes on two constants; fold it before import`);
      const op = node.opType;
      const apply = (x: Tensor, y: Tensor) => (op === 'Add' ? x.add(y) : op === 'Sub' ? x.sub(y) : op === 'Mul' ? x.mul(y) : x.div(y));
      return step(ops.inputs, (a) => { const [x, y] = ops.resolve(a); return apply(x, y); }, (ctx, a) => ctx.builder.add(op, ops.emitArgs(ctx, a), baseName));
    }
    case 'Relu':
      return step([dynamicInput(0)], ([x]) => x.relu(), (ctx, [x]) => ctx.builder.add('Relu', [x], baseName));
    case 'Sigmoid':
      return step([dynamicInput(0)], ([x]) => x.sigmoid(), (ctx, [x]) => ctx.builder.add('Sigmoid', [x], baseName));
    case 'HardSigmoid': {
      // y = max(0, min(1, alpha x + beta)); ONNX defaults alpha 0.2, beta 0.5 (PyTorch's Hardsigmoid exports alpha 1/6).
      const alpha = attrs.float('alpha', 0.2);
      const beta = attrs.float('beta', 0.5);
      return step(
        [dynamicInput(0)],
        ([x]) => x.mul(alpha).add(beta).clamp(0, 1),
        (ctx, [x]) => ctx.builder.add('HardSigmoid', [x], baseName, [attribute('alpha', alpha, 'float'), attribute('beta', beta, 'float')]),
      );
    }
    case 'HardSwish':
      // y = x * max(0, min(1, x / 6 + 1/2)) (opset 14); written back as x * HardSigmoid(x), which opset 13 has.
      return step(
        [dynamicInput(0)],
        ([x]) => x.mul(x.mul(1 / 6).add(0.5).clamp(0, 1)),
        (ctx, [x]) => {
          const b = ctx.builder;
          const gate = b.add('HardSigmoid', [x], `${baseName}.gate`, [attribute('alpha', 1 / 6, 'float'), attribute('beta', 0.5, 'float')]);
          return b.add('Mul', [x, gate], baseName);
        },
      );
    case 'Clip': {
      let lo: number | null;
      let hi: number | null;
      if (graph.opset < 11) {
        lo = attrs.float('min', -3.4028234663852886e38);
        hi = attrs.float('max', 3.4028234663852886e38);
      } else {
        const scalarAt = (i: number, what: string) => {
          if (node.input.length <= i || node.input[i] === '') return null;
          const c = constant(i, what);
          if (c.data.length !== 1) throw new LowbitError(`${where}: ${what} must be a scalar`);
          return Number(c.data[0]);
        };
        lo = scalarAt(1, 'min');
        hi = scalarAt(2, 'max');
      }
      return step(
        [dynamicInput(0)],
        ([x]) => x.clamp(lo, hi),
        (ctx, [x]) => {
          const b = ctx.builder;
          const args = [x, lo === null ? '' : b.floatInit(`${baseName}.min`, [], [lo]), hi === null ? '' : b.floatInit(`${baseName}.max`, [], [hi])];
          return b.add('Clip', args, baseName);
        },
      );
    }
    case 'BatchNormalization': {
      if (attrs.int('training_mode', 0) !== 0 || node.output.filter(Boolean).length > 1) {
        throw new LowbitError(`${where}: training-mode BatchNormalization is not supported; export the model in eval mode`);
      }
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => constant(i, ['', 'scale', 'B', 'mean', 'var'][i]));
      const C = scale.data.length;
      if ([bias, mean, variance].some((t) => t.data.length !== C) || scale.kind !== 'float') {
        throw new LowbitError(`${where}: scale, B, mean and var must be float vectors of one length`);
      }
      const bn = new BatchNorm2d(C, { eps: attrs.float('epsilon', 1e-5) });
      loadFloat(bn.weight!, scale, where);
      loadFloat(bn.bias!, bias, where);
      loadFloat(bn.runningMean, mean, where);
      loadFloat(bn.runningVar, variance, where);
      bn.eval();
      return layerStep(owner.addModule(modulePath(), bn));
    }
    case 'MaxPool':
    case 'AveragePool': {
      const kernel = pairOf(attrs.ints('kernel_shape'), 'kernel_shape', where);
      const stride = pairOf(attrs.ints('strides', [1, 1]), 'strides', where);
      const padding = symmetricPads(attrs, where, 2);
      const dilation = pairOf(attrs.ints('dilations', [1, 1]), 'dilations', where);
      const ceilMode = attrs.int('ceil_mode', 0) !== 0;
      if (node.opType === 'MaxPool') {
        if (attrs.int('storage_order', 0) !== 0) throw new LowbitError(`${where}: storage_order=1 is not supported`);
        if (node.output.filter(Boolean).length > 1) throw new LowbitError(`${where}: the Indices output of MaxPool is not supported`);
        return step(
          [dynamicInput(0)],
          ([x]) => F.maxPool2d(x, kernel, { stride, padding, dilation, ceilMode }),
          (ctx, [x]) => ctx.builder.add('MaxPool', [x], baseName, [attribute('kernel_shape', kernel), attribute('strides', stride), attribute('pads', [...padding, ...padding]), attribute('dilations', dilation), attribute('ceil_mode', ceilMode ? 1 : 0)]),
        );
      }
      if (dilation[0] !== 1 || dilation[1] !== 1) throw new LowbitError(`${where}: dilated AveragePool is not supported`);
      const countIncludePad = attrs.int('count_include_pad', 0) !== 0;
      return step(
        [dynamicInput(0)],
        ([x]) => F.avgPool2d(x, kernel, { stride, padding, ceilMode, countIncludePad }),
        (ctx, [x]) => ctx.builder.add('AveragePool', [x], baseName, [attribute('kernel_shape', kernel), attribute('strides', stride), attribute('pads', [...padding, ...padding]), attribute('ceil_mode', ceilMode ? 1 : 0), attribute('count_include_pad', countIncludePad ? 1 : 0)]),
      );
    }
    case 'GlobalAveragePool':
      return step(
        [dynamicInput(0)],
        ([x]) => {
          if (x.ndim !== 4) throw new LowbitError(`${where}: expects an NCHW input, got shape [${x.shape.join(', ')}]`);
          return F.adaptiveAvgPool2d(x, 1);
        },
        (ctx, [x]) => ctx.builder.add('GlobalAveragePool', [x], baseName),
      );
    case 'Flatten': {
      const axis = attrs.int('axis', 1);
      return step(
        [dynamicInput(0)],
        ([x]) => {
          const a = axis < 0 ? axis + x.ndim : axis;
          if (a < 0 || a > x.ndim) throw new LowbitError(`${where}: axis ${axis} is out of range for rank ${x.ndim}`);
          const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
          return x.reshape([outer, -1]);
        },
        (ctx, [x]) => ctx.builder.add('Flatten', [x], baseName, [attribute('axis', axis)]),
      );
    }
    case 'Reshape': {
      if (graph.opset < 5) throw new LowbitError(`${where}: the attribute form of Reshape (opset < 5) is not supported`);
      const allowZero = attrs.int('allowzero', 0) !== 0;
      const x0 = dynamicInput(0);
      const folded = owner.shapeValue(node.input[1]);
      let target: SymDim[];
      if (folded) {
        target = folded.data;
      } else {
        const shape = constant(1, 'shape');
        if (shape.kind !== 'int') throw new LowbitError(`${where}: the shape must be an int64 constant`);
        target = shape.data;
        // A file exported with a fixed batch B reshapes to [B, ...]: that leading B is the batch.
        const fixed = graph.input.fixedBatch;
        if (fixed !== undefined && target[0] === fixed && !allowZero) {
          const inShape = owner.valueShape(x0);
          if (isBatchDim(inShape[0]) && inShape[0].batch === 1) target = [{ batch: 1 }, ...target.slice(1)];
        }
      }
      const nums = target.filter((d): d is number => !isBatchDim(d));
      if (nums.filter((d) => d === -1).length > 1 || nums.some((d) => d < -1)) throw new LowbitError(`${where}: invalid shape [${target.map(formatDim).join(', ')}]`);
      const emitTarget = target.some(isBatchDim) ? batchTarget(target, () => owner.valueShape(x0), allowZero, where) : (target as number[]);
      return step(
        [x0],
        ([x]) => x.reshape(target.map((d, i) => (isBatchDim(d) ? d.batch * owner.batchSize() : d === 0 && !allowZero ? x.shape[i] : d))),
        (ctx, [x]) => ctx.builder.add('Reshape', [x, ctx.builder.int64Init(`${baseName}.shape`, [emitTarget.length], emitTarget)], baseName, allowZero ? [attribute('allowzero', 1)] : []),
      );
    }
    case 'Softmax': {
      // Before opset 13 Softmax flattened the input to 2-D at `axis` (default 1); since 13 it acts on one axis (default -1).
      const legacy = graph.opset < 13;
      const axis = attrs.int('axis', legacy ? 1 : -1);
      return step(
        [dynamicInput(0)],
        ([x]) => {
          if (!legacy) return F.softmax(x, axis);
          const a = axis < 0 ? axis + x.ndim : axis;
          const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
          return F.softmax(x.reshape([outer, -1]), 1).reshape(x.shape);
        },
        (ctx, [x]) => {
          const b = ctx.builder;
          if (!legacy) return b.add('Softmax', [x], baseName, [attribute('axis', axis)]);
          // The legacy form at a modern opset: Flatten at axis, Softmax over the flattened rest, reshape back.
          const flat = b.add('Flatten', [x], `${baseName}.flatten`, [attribute('axis', axis)]);
          const soft = b.add('Softmax', [flat], `${baseName}.softmax`, [attribute('axis', 1)]);
          return b.add('Reshape', [soft, b.add('Shape', [x], `${baseName}.shape`)], baseName);
        },
      );
    }
    case 'Concat': {
      const axis = attrs.int('axis');
      const ops = mixedOperands();
      return step(ops.inputs, (a) => cat(ops.resolve(a), axis), (ctx, a) => ctx.builder.add('Concat', ops.emitArgs(ctx, a), baseName, [attribute('axis', axis)]));
    }
    case 'Identity':
      return step([dynamicInput(0)], ([x]) => x, (_ctx, [x]) => x);
    case 'QuantizeLinear':
    case 'DequantizeLinear': {
      const constantAt = (i: number, what: string) => (node.input.length > i && node.input[i] !== '' ? constant(i, what) : undefined);
      const qdq = compileActivationQdq({ opType: node.opType, attrs, constantAt, baseName, where });
      return step([dynamicInput(0)], ([x]) => qdq.run(x), (ctx, [x]) => qdq.emit(ctx, x));
    }
    default:
      throw new LowbitError(`${where}: unsupported op '${node.opType}' (node '${node.name || `#${index}`}'); lowbit imports ${IMPORTED_OPS.join(', ')}`);
  }
}

/**
 * A Reshape target known up to the batch size, as ONNX can store it: N in front, where the input's
 * leading dim is N too, becomes 0 ("copy the input's dim"); a single other N-dependent entry becomes
 * -1 when nothing else is -1. Anything else cannot be written without the batch size.
 */
function batchTarget(target: SymDim[], inputShape: () => SymDim[], allowZero: boolean, where: string): number[] {
  const out: number[] = [];
  let inferred = target.some((d) => d === -1);
  let shape: SymDim[] | null = null;
  for (const [i, d] of target.entries()) {
    if (!isBatchDim(d)) {
      out.push(d);
      continue;
    }
    shape ??= inputShape();
    const same = shape[i];
    if (!allowZero && i < shape.length && isBatchDim(same) && same.batch === d.batch) {
      out.push(0);
    } else if (!inferred) {
      inferred = true;
      out.push(-1);
    } else {
      throw new LowbitError(`${where}: the target shape [${target.map(formatDim).join(', ')}] depends on the batch size in a way ONNX's Reshape cannot express`);
    }
  }
  return out;
}

/** ONNX pads [x1_begin, x2_begin, x1_end, x2_end] as lowbit's symmetric (ph, pw); auto_pad VALID is zero padding. */
function symmetricPads(attrs: Attributes, where: string, rank: number): [number, number] {
  const autoPad = attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') return [0, 0];
  if (autoPad !== 'NOTSET') throw new LowbitError(`${where}: auto_pad=${autoPad} is not supported; give explicit pads`);
  const pads = attrs.ints('pads', new Array<number>(2 * rank).fill(0));
  if (pads.length !== 2 * rank || pads.some((p) => p < 0)) throw new LowbitError(`${where}: pads [${pads.join(', ')}] must be ${2 * rank} non-negative numbers`);
  if (pads[0] !== pads[2] || pads[1] !== pads[3]) throw new LowbitError(`${where}: asymmetric pads [${pads.join(', ')}] are not supported`);
  return [pads[0], pads[1]];
}

function pairOf(v: number[], what: string, where: string): [number, number] {
  if (v.length !== 2 || v.some((d) => !(Number.isInteger(d) && d > 0))) throw new LowbitError(`${where}: ${what} [${v.join(', ')}] must be two positive integers (2-D ops only)`);
  return [v[0], v[1]];
}

function loadFloat(target: Tensor, src: HostTensor, where: string): void {
  if (src.kind !== 'float') throw new LowbitError(`${where}: expected float data`);
  const numel = target.numel;
  if (src.data.length !== numel) throw new LowbitError(`${where}: a constant of ${src.data.length} values where [${target.shape.join(', ')}] (${numel}) is needed`);
  noGrad(() => {
    const t = fromArray(src.data, target.shape);
    target.copy_(t);
    t.dispose();
  });
}

/** Writes a constant of the imported graph into the export graph (once per name). */
function emitConstant(ctx: EmitContext, name: string, graph: ReadGraph): string {
  const c = graph.constants.get(name)!;
  return c.kind === 'float' ? ctx.builder.floatInit(name, c.dims, c.data) : ctx.builder.int64Init(name, c.dims, c.data);
}

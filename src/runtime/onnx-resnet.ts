/**
 * lowbit's own QDQ ONNX export of a quantized ResNet (`lowbit export` of a QAT checkpoint) as a
 * ResNetSpec: the graph is matched node by node against the pattern export-onnx writes, and the
 * integers are taken from the file, not re-derived:
 *
 *   weights      DequantizeLinear(codes, s_w[, axis 0]) [-> Add(offset)]: codes as stored; the zero-free
 *                odd grids (SAWB, DoReFa) are level indices u with scale 2 s_w and offset qMin s_w, so
 *                c = 2u + qMin (see export/onnx/emit-quant.ts)
 *   activations  [Clip(0, alpha) ->] QuantizeLinear(s, 0) -> DequantizeLinear: PACT's grid, levels = alpha / s
 *   stem         Conv with the BatchNorm folded into s_w and the bias (its input is not quantized)
 *   blocks       Conv -> BatchNormalization -> Relu -> Q/DQ -> Conv -> BatchNormalization -> Add -> Relu,
 *                the Add's other input the block input (identity) or a Q/DQ -> Conv -> BatchNormalization
 *   head         GlobalAveragePool -> Flatten -> Q/DQ -> MatMul(DQ weight [in, out]) -> Add(bias), or Gemm
 *
 * Anything else is refused by node name: a file from another exporter, or written with
 * --matmul-nbits / --narrow-activations, goes through the checkpoint instead.
 */
import { LowbitError } from '../errors.ts';
import type { QdqGraph, QdqNode } from '../export/index.ts';
import type { ActParams, ConvSpec, LayerWeight, ResNetSpec } from './resnet-spec.ts';
import { packWeightCodes } from './weight-pack.ts';

export interface OnnxResNet {
  spec: ResNetSpec;
  inChannels: number;
  inputSize: [number, number];
  numClasses: number;
}

class Graph {
  readonly producer = new Map<string, QdqNode>();
  readonly consumers = new Map<string, QdqNode[]>();

  constructor(
    readonly g: QdqGraph,
    readonly source: string,
  ) {
    for (const n of g.nodes) {
      for (const o of n.outputs) this.producer.set(o, n);
      for (const i of n.inputs) if (i !== '') this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
  }

  fail(what: string): never {
    throw new LowbitError(`${this.source}: ${what}; the integer runtime reads lowbit's own QDQ export of a quantized ResNet ('lowbit export --checkpoint QAT_CHECKPOINT', without --matmul-nbits or --narrow-activations); run the checkpoint instead`);
  }

  /** The node that computes `value`, which must be one of `ops`. */
  made(value: string, ops: string[], role: string): QdqNode {
    const n = this.producer.get(value);
    if (n === undefined || !ops.includes(n.opType)) this.fail(`${role} '${value}' is ${n ? `a ${n.opType} (node '${n.name}')` : 'not computed by a node'}, expected ${ops.join(' or ')}`);
    return n;
  }

  /** The one node that reads `value`, which must be one of `ops`. */
  only(value: string, ops: string[], role: string): QdqNode {
    const cs = this.consumers.get(value) ?? [];
    if (cs.length !== 1 || !ops.includes(cs[0].opType)) this.fail(`${role} '${value}' is read by ${cs.map((c) => `${c.opType} '${c.name}'`).join(', ') || 'nothing'}, expected one ${ops.join(' or ')}`);
    return cs[0];
  }

  readers(value: string): QdqNode[] {
    return this.consumers.get(value) ?? [];
  }

  floats(name: string, role: string): Float32Array {
    const c = this.g.constants.get(name);
    if (c === undefined || c.tensor.kind !== 'float') this.fail(`${role} '${name}' is not a float initializer`);
    return c.tensor.data;
  }

  scalar(name: string, role: string): number {
    const c = this.g.constants.get(name);
    if (c === undefined || c.tensor.data.length !== 1) this.fail(`${role} '${name}' is not a one-value initializer`);
    return c.tensor.data[0];
  }
}

/** [Clip ->] QuantizeLinear -> DequantizeLinear ending in `dq`: the float value quantized and its grid. */
function activation(G: Graph, dqValue: string, where: string): { source: string; act: ActParams } {
  const dq = G.made(dqValue, ['DequantizeLinear'], `${where} input`);
  const q = G.made(dq.inputs[0], ['QuantizeLinear'], `${where} input codes`);
  const scale = G.scalar(q.inputs[1], `${where} activation scale`);
  const zpName = q.inputs[2] ?? '';
  const zp = zpName === '' ? 0 : G.scalar(zpName, `${where} activation zero point`);
  const type = zpName === '' ? undefined : G.g.constants.get(zpName)?.intType;
  if (zp !== 0 || (type !== undefined && type.signed)) G.fail(`${where}: activation grid with zero point ${zp} (${type?.name ?? 'uint8'}); the integer runtime takes unsigned grids from 0 (PACT)`);
  if (dq.inputs[1] !== q.inputs[1]) G.fail(`${where}: QuantizeLinear and DequantizeLinear with different scales`);
  let source = q.inputs[0];
  let levels = 2 ** (type?.width ?? 8) - 1;
  let alpha = Math.fround(levels * scale);
  const clip = G.producer.get(source);
  if (clip?.opType === 'Clip') {
    if (G.scalar(clip.inputs[1], `${where} clip min`) !== 0) G.fail(`${where}: activation clip from a nonzero minimum`);
    alpha = G.scalar(clip.inputs[2], `${where} clip max`);
    const n = Math.round(alpha / scale);
    if (!(n >= 1 && n <= levels && Math.abs(alpha / scale - n) < 1e-3)) G.fail(`${where}: activation clip ${alpha} is not a whole number of steps ${scale}`);
    levels = n;
    source = clip.inputs[0];
  }
  return { source, act: { alpha, scale, levels } };
}

/**
 * DequantizeLinear(codes, scale[, zp]) [-> Add(offset)] as packed codes; `layout` 'oi' for OIHW conv
 * and Gemm (transB) weights, 'io' for MatMul's [in, out].
 */
function weight(G: Graph, value: string, layout: 'oi' | 'io', where: string): { lw: LayerWeight; dims: number[] } {
  let offset: Float32Array | null = null;
  let node = G.made(value, ['DequantizeLinear', 'Add'], `${where} weight`);
  if (node.opType === 'Add') {
    offset = G.floats(node.inputs[1], `${where} weight offset`);
    node = G.made(node.inputs[0], ['DequantizeLinear'], `${where} weight`);
  }
  const c = G.g.constants.get(node.inputs[0]);
  if (c === undefined || c.tensor.kind !== 'int' || c.intType === undefined) G.fail(`${where}: weight '${node.inputs[0]}' is not an integer initializer (a float model? export a quantized checkpoint)`);
  const dims = c.tensor.dims;
  const stored = c.tensor.data;
  const zp = (node.inputs[2] ?? '') === '' ? 0 : G.scalar(node.inputs[2], `${where} weight zero point`);
  const s = G.floats(node.inputs[1], `${where} weight scale`);
  const outDim = layout === 'oi' ? 0 : 1;
  const O = dims[outDim];
  const axis = typeof node.attrs.axis === 'number' ? node.attrs.axis : 1;
  if (s.length !== 1 && (s.length !== O || axis !== outDim)) G.fail(`${where}: ${s.length} weight scales along axis ${axis}, expected one or one per output channel (axis ${outDim})`);
  const K = stored.length / O;
  // Codes in the runtime's [out, in...] order.
  const codes = new Int32Array(stored.length);
  for (let o = 0; o < O; o++) for (let k = 0; k < K; k++) codes[o * K + k] = (layout === 'oi' ? stored[o * K + k] : stored[k * O + o]) - zp;
  const scaleOf = (o: number) => s[s.length === 1 ? 0 : o];
  let scale: Float64Array;
  let grid: { qMin: number; qMax: number; codeStep: 1 | 2 };
  if (offset === null) {
    scale = Float64Array.from({ length: O }, (_, o) => scaleOf(o));
    grid = { qMin: Math.min(...codes), qMax: Math.max(...codes), codeStep: 1 };
  } else {
    // emit-quant.ts: stored level u = (c - qMin) / 2, scale 2 s, offset fround(qMin s).
    if (offset.length !== 1 && offset.length !== O) G.fail(`${where}: ${offset.length} weight offsets for ${O} output channels`);
    scale = Float64Array.from({ length: O }, (_, o) => scaleOf(o) / 2);
    const qMins = new Set(Array.from({ length: O }, (_, o) => Math.round(offset![offset!.length === 1 ? 0 : o] / scale[o])));
    if (qMins.size !== 1) G.fail(`${where}: the weight offsets are not one grid minimum times the scales`);
    const qMin = [...qMins][0];
    if (qMin % 2 === 0) G.fail(`${where}: weight offset gives the even grid minimum ${qMin}; zero-free grids are odd`);
    for (let i = 0; i < codes.length; i++) codes[i] = 2 * codes[i] + qMin;
    grid = { qMin, qMax: qMin + 2 * (2 ** c.intType.width - 1), codeStep: 2 };
  }
  return { lw: { packed: packWeightCodes(codes, grid), scale, oddOnes: grid.codeStep === 2 && grid.qMax > 127 }, dims };
}

/** BatchNormalization in eval mode as y = x f + shift, in float64 like compile-resnet.ts's bnOf. */
function batchNorm(G: Graph, bn: QdqNode, where: string): { f: Float64Array; shift: Float64Array } {
  const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((name, i) => G.floats(name, `${where} BatchNorm ${['scale', 'bias', 'mean', 'var'][i]}`));
  const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
  const f = Float64Array.from(gamma, (g, o) => g / Math.sqrt(variance[o] + eps));
  return { f, shift: Float64Array.from(beta, (b, o) => b - mean[o] * f[o]) };
}

/** A Conv node and the BatchNormalization after it (if any): the spec and the value after BN. */
function conv(G: Graph, node: QdqNode, act: ActParams | null): { spec: ConvSpec; out: string } {
  const where = node.name;
  const { lw, dims } = weight(G, node.inputs[1], 'oi', where);
  if (dims.length !== 4) G.fail(`${where}: a ${dims.length}-d conv weight`);
  const [O, I, kh, kw] = dims;
  const strides = (node.attrs.strides as number[] | undefined) ?? [1, 1];
  const pads = (node.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
  const dil = (node.attrs.dilations as number[] | undefined) ?? [1, 1];
  if ((node.attrs.group ?? 1) !== 1 || dil.some((d) => d !== 1)) G.fail(`${where}: grouped or dilated convs are not supported by the integer runtime`);
  if (strides[0] !== strides[1] || pads.some((p) => p !== pads[0])) G.fail(`${where}: the integer runtime takes equal strides and paddings in both directions`);
  const bias = (node.inputs[2] ?? '') === '' ? new Float32Array(O) : G.floats(node.inputs[2], `${where} bias`);
  let f = new Float64Array(O).fill(1);
  let shift = Float64Array.from(bias);
  let out = node.outputs[0];
  const next = G.readers(out);
  if (next.length === 1 && next[0].opType === 'BatchNormalization') {
    const bn = batchNorm(G, next[0], where);
    f = bn.f;
    shift = Float64Array.from(bn.shift, (sh, o) => bias[o] * bn.f[o] + sh);
    out = next[0].outputs[0];
  }
  return { spec: { where, inChannels: I, outChannels: O, kernel: [kh, kw], stride: strides[0], pad: pads[0], weight: lw, f, shift, act }, out };
}

/** The Conv reading a Q/DQ chain that starts at `value`, and its activation grid. */
function quantizedConvAfter(G: Graph, reader: QdqNode): { node: QdqNode; act: ActParams } {
  const q = reader.opType === 'Clip' ? G.only(reader.outputs[0], ['QuantizeLinear'], `clip '${reader.name}'`) : reader;
  const dq = G.only(q.outputs[0], ['DequantizeLinear'], `quantize '${q.name}'`);
  const node = G.only(dq.outputs[0], ['Conv'], `dequantize '${dq.name}'`);
  return { node, act: activation(G, dq.outputs[0], node.name).act };
}

export function resnetSpecFromOnnx(g: QdqGraph, source: string): OnnxResNet {
  const G = new Graph(g, source);
  if (g.input.dims.length !== 4 || g.input.dims.slice(1).some((d) => d === null)) G.fail(`input '${g.input.name}' has shape [${g.input.dims.join(', ')}], expected [N, C, H, W] with fixed C, H, W`);
  const [, C, H, W] = g.input.dims as number[];
  const stemNode = G.only(g.input.name, ['Conv'], 'the input');
  const stem = conv(G, stemNode, null);
  let x = G.only(stem.out, ['Relu'], 'the stem output').outputs[0];

  const blocks: ResNetSpec['blocks'] = [];
  for (;;) {
    const readers = G.readers(x);
    if (readers.length === 1 && readers[0].opType === 'GlobalAveragePool') break;
    const p = `block ${blocks.length} (input '${x}')`;
    const quantReaders = readers.filter((r) => r.opType === 'Clip' || r.opType === 'QuantizeLinear');
    const adds = readers.filter((r) => r.opType === 'Add');
    if (quantReaders.length + adds.length !== readers.length || quantReaders.length < 1 || quantReaders.length > 2) G.fail(`${p}: read by ${readers.map((r) => r.opType).join(', ')}, expected a residual block's quantized convs`);
    let conv1: ConvSpec | null = null;
    let mid = '';
    let shortcut: { spec: ConvSpec; out: string } | null = null;
    for (const r of quantReaders) {
      const { node, act } = quantizedConvAfter(G, r);
      const c = conv(G, node, act);
      const after = G.readers(c.out);
      if (after.length === 1 && after[0].opType === 'Relu') {
        conv1 = c.spec;
        mid = after[0].outputs[0];
      } else if (after.length === 1 && after[0].opType === 'Add') shortcut = c;
      else G.fail(`${p}: conv '${node.name}' is followed by ${after.map((a) => a.opType).join(', ') || 'nothing'}`);
    }
    const c1 = conv1 ?? G.fail(`${p}: no conv -> BatchNorm -> Relu`);
    const midReaders = G.readers(mid);
    if (midReaders.length !== 1) G.fail(`${p}: '${mid}' has ${midReaders.length} readers, expected the second conv's quantizer`);
    const second = quantizedConvAfter(G, midReaders[0]);
    const c2 = conv(G, second.node, second.act);
    const add = G.only(c2.out, ['Add'], `${second.node.name} output`);
    const other = add.inputs[0] === c2.out ? add.inputs[1] : add.inputs[0];
    if (other !== (shortcut ? shortcut.out : x)) G.fail(`${p}: the residual Add '${add.name}' reads '${other}', expected ${shortcut ? 'the shortcut conv' : 'the block input'}`);
    if (!shortcut && adds.length !== 1) G.fail(`${p}: an identity block whose input is not added once`);
    blocks.push({ conv1: c1, conv2: c2.spec, shortcut: shortcut?.spec ?? null });
    x = G.only(add.outputs[0], ['Relu'], `${add.name} output`).outputs[0];
  }

  // Head: pool, flatten, the classifier's input quantizer, the classifier.
  const pool = G.only(x, ['GlobalAveragePool'], 'the last block output');
  const flat = G.only(pool.outputs[0], ['Flatten', 'Reshape'], 'the pool output').outputs[0];
  const fcQ = G.only(flat, ['Clip', 'QuantizeLinear'], 'the flattened features');
  const fcDq = G.only((fcQ.opType === 'Clip' ? G.only(fcQ.outputs[0], ['QuantizeLinear'], 'classifier clip') : fcQ).outputs[0], ['DequantizeLinear'], 'classifier quantize');
  const lin = G.only(fcDq.outputs[0], ['MatMul', 'Gemm'], 'the classifier input');
  const { act } = activation(G, fcDq.outputs[0], lin.name);
  let fcWeight: { lw: LayerWeight; dims: number[] };
  let bias: Float32Array | null = null;
  let logits: string;
  if (lin.opType === 'Gemm') {
    if ((lin.attrs.transA ?? 0) !== 0 || (lin.attrs.transB ?? 0) !== 1 || (lin.attrs.alpha ?? 1) !== 1 || (lin.attrs.beta ?? 1) !== 1) G.fail(`${lin.name}: a Gemm other than x W^T + b`);
    fcWeight = weight(G, lin.inputs[1], 'oi', lin.name);
    if ((lin.inputs[2] ?? '') !== '') bias = G.floats(lin.inputs[2], `${lin.name} bias`);
    logits = lin.outputs[0];
  } else {
    fcWeight = weight(G, lin.inputs[1], 'io', lin.name);
    logits = lin.outputs[0];
    const addBias = G.readers(logits);
    if (addBias.length === 1 && addBias[0].opType === 'Add') {
      const b = addBias[0];
      bias = G.floats(b.inputs[0] === logits ? b.inputs[1] : b.inputs[0], `${b.name} bias`);
      logits = b.outputs[0];
    }
  }
  const [inF, outF] = lin.opType === 'Gemm' ? [fcWeight.dims[1], fcWeight.dims[0]] : [fcWeight.dims[0], fcWeight.dims[1]];
  let end = logits;
  while (end !== g.output) {
    const r = G.readers(end);
    if (r.length !== 1 || r[0].opType !== 'Identity') G.fail(`the logits '${logits}' are not the graph output (read by ${r.map((n) => n.opType).join(', ') || 'nothing'})`);
    end = r[0].outputs[0];
  }
  const fc: ConvSpec = {
    where: 'fc',
    inChannels: inF,
    outChannels: outF,
    kernel: [1, 1],
    stride: 1,
    pad: 0,
    weight: fcWeight.lw,
    f: new Float64Array(outF).fill(1),
    shift: bias ? Float64Array.from(bias) : new Float64Array(outF),
    act,
  };
  return { spec: { stem: stem.spec, blocks, fc }, inChannels: C, inputSize: [H, W], numClasses: outF };
}

/**
 * Quantized values in ONNX QDQ form.
 *
 * Weights: DequantizeLinear(codes, scale[, axis]) from an integer initializer of the grid's real
 * width (see int-types.ts). The zero-free odd grids of SAWB and DoReFa (codeStep 2: -3, -1, 1, 3)
 * have no integer zero point, so they are stored as level indices u = (c - qMin) / 2 in an unsigned
 * type of the true width, dequantized with scale 2s, and shifted by the constant qMin * s:
 * c * s = 2s * u + qMin * s. That keeps a 2-bit DoReFa weight at 2 bits in the file.
 *
 * Activations: QuantizeLinear -> DequantizeLinear with the quantizer's scale and zero point.
 * QuantizeLinear rounds half to even and saturates to the type's range, which is what every lowbit
 * quantizer computes (round(x / s) with torch.round, then a clamp to [qMin, qMax]). When the grid is
 * narrower than the type a Clip to [qMin s, qMax s] first makes the saturation the grid's own, so the
 * values are exactly the b-bit grid's. The type is 8-bit by default (uint8 for the unsigned grids
 * after a ReLU): activations are not stored in the file, so the narrow types would save nothing, and
 * onnxruntime 1.30's QDQ optimizer (levels 'extended' and 'all', its default) moves uint2/uint4
 * Q/DQ pairs across MaxPool and then fails to load the model ("Type 'tensor(uint2)' of input
 * parameter ... of operator (MaxPool) is invalid"). `narrowActivations` writes the matching sub-byte
 * type (uint2 for 2-bit activations) for runtimes that handle it.
 *
 * MatMulNBits (ORT contrib op): unsigned b-bit levels q = (c - qMin) / codeStep packed along K in
 * blocks of 32, one scale per (row, block), zero point -qMin / codeStep (omitted when it is the
 * default 2^(b-1), packed uint8 when another integer, float otherwise; ORT's CPU kernel takes float
 * zero points at 2 and 4 bits only).
 */
import { LowbitError } from '../../errors.ts';
import type { Conv2d, Linear } from '../../nn/index.ts';
import { UniformQuantizer, type Quantizer } from '../../quant/index.ts';
import { intGrid } from '../../quant/int-grid.ts';
import { noGrad, scope, zeros } from '../../tensor/index.ts';
import type { EmitContext } from './emit-context.ts';
import { narrowestIntType, type IntType } from './int-types.ts';
import type { LowBitWeight } from './low-bit-weight.ts';
import { intRange, packedSize, packIntegers } from './pack.ts';
import { attribute, DataType, rawTensor } from './proto.ts';

export interface WeightValue {
  /** Value name of the float weight the layer computes with. */
  value: string;
  storage: string;
  weightBytes: number;
}

/** The weight's integer storage: what is written and how it maps back to codes * scale. */
interface WeightStorage {
  type: IntType;
  stored: Int32Array;
  scale: Float32Array;
  /** Added after dequantization (per channel or one value), for zero-free grids; null otherwise. */
  offset: Float32Array | null;
}

function weightStorage(lw: LowBitWeight, opset: number): WeightStorage {
  if (lw.codeStep === 1) return { type: narrowestIntType(lw.qMin, lw.qMax, opset), stored: lw.codes, scale: lw.scale, offset: null };
  const stored = lw.codes.map((c) => (c - lw.qMin) / 2);
  return {
    type: narrowestIntType(0, (lw.qMax - lw.qMin) / 2, opset),
    stored,
    scale: lw.scale.map((s) => 2 * s),
    offset: lw.scale.map((s) => Math.fround(lw.qMin * s)),
  };
}

/**
 * The float weight of a Conv2d ('conv', OIHW) or a Linear transposed for MatMul ('matmul', [in, out]),
 * from codes when `lw` is given, else from the float parameter.
 */
export function emitWeight(layer: Conv2d | Linear, layout: 'conv' | 'matmul', lw: LowBitWeight | undefined, base: string, ctx: EmitContext): WeightValue {
  const b = ctx.builder;
  const shape = layer.weight.shape;
  const outDim = layout === 'conv' ? 0 : 1;
  const dims = layout === 'conv' ? shape : [shape[1], shape[0]];
  if (lw === undefined) {
    const values = scope(() => noGrad(() => (layout === 'conv' ? layer.weight : layer.weight.t()).detach().contiguous().toFloat32Array()));
    return { value: b.floatInit(`${base}.weight`, dims, values), storage: 'float32', weightBytes: values.byteLength };
  }
  const st = weightStorage(lw, b.opset);
  const codes = layout === 'conv' ? st.stored : transpose(st.stored, shape[0], shape[1]);
  const perChannel = st.scale.length > 1;
  const codesName = b.intInit(`${base}.weight_codes`, st.type, dims, codes);
  const scaleName = b.floatInit(`${base}.weight_scale`, perChannel ? [st.scale.length] : [], st.scale);
  const attrs = perChannel ? [attribute('axis', outDim)] : [];
  let value = b.add('DequantizeLinear', [codesName, scaleName], `${base}.weight_dq`, attrs);
  let weightBytes = packedSize(codes.length, st.type.width) + 4 * st.scale.length;
  if (st.offset !== null) {
    // Broadcast the per-channel offset along the output dim: [C,1,1,1] for OIHW, [C] for [in, out].
    const offsetDims = !perChannel ? [] : layout === 'conv' ? [shape[0], 1, 1, 1] : [shape[0]];
    const offsetName = b.floatInit(`${base}.weight_offset`, offsetDims, st.offset);
    value = b.add('Add', [value, offsetName], `${base}.weight_dq_shifted`);
    weightBytes += 4 * st.offset.length;
  }
  return { value, storage: st.type.name, weightBytes };
}

function transpose(a: Int32Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}

/** QuantizeLinear -> DequantizeLinear of an activation quantizer; returns [output value, ONNX type name]. */
export function emitActQuant(q: Quantizer, x: string, base: string, ctx: EmitContext): [string, string] {
  if (q instanceof UniformQuantizer && q.runningRange === null) {
    throw new LowbitError(
      `ONNX export: the activation quantizer at '${base}' takes its range from every batch; a file needs a fixed scale. ` +
        'Use a running-range (calibrated) quantizer, PACT or LSQ for activations.',
    );
  }
  const qt = scope(() => {
    const e = noGrad(() => q.export(zeros([1])));
    if (e.scale.numel !== 1) throw new LowbitError(`ONNX export: activation quantizer at '${base}' has ${e.scale.numel} scales; only per-tensor activation scales are supported`);
    if (e.codeStep !== 1) throw new LowbitError(`ONNX export: activation quantizer at '${base}' has a zero-free grid, which QuantizeLinear cannot express`);
    return { scale: e.scale.item(), zeroPoint: e.zeroPoint, qMin: e.qMin, qMax: e.qMax };
  });
  if (!(qt.scale > 0 && Number.isFinite(qt.scale))) {
    throw new LowbitError(`ONNX export: activation quantizer at '${base}' has scale ${qt.scale}; calibrate or train it before export`);
  }
  const b = ctx.builder;
  const type = narrowestIntType(qt.qMin, qt.qMax, ctx.narrowActivations ? b.opset : 13);
  const range = intRange(type.width, type.signed);
  let input = x;
  if (qt.qMin > range.min || qt.qMax < range.max) {
    const lo = b.floatInit(`${base}.clip_min`, [], [(qt.qMin - qt.zeroPoint) * qt.scale]);
    const hi = b.floatInit(`${base}.clip_max`, [], [(qt.qMax - qt.zeroPoint) * qt.scale]);
    input = b.add('Clip', [x, lo, hi], `${base}.clip`);
  }
  const scale = b.floatInit(`${base}.scale`, [], [qt.scale]);
  const zp = b.intInit(`${base}.zero_point`, type, [], [qt.zeroPoint]);
  const quantized = b.add('QuantizeLinear', [input, scale, zp], `${base}.q`);
  return [b.add('DequantizeLinear', [quantized, scale, zp], `${base}.dq`), type.name];
}

const MATMUL_NBITS_BLOCK = 32;

/**
 * Y = X W^T as com.microsoft::MatMulNBits, or null when the grid does not fit 2, 4 or 8 bits in a way
 * ORT's CPU kernel runs (the caller then writes QDQ).
 */
export function emitMatMulNBits(layer: Linear, lw: LowBitWeight, x: string, base: string, ctx: EmitContext): WeightValue | null {
  const levels = (lw.qMax - lw.qMin) / lw.codeStep + 1;
  const bits = ([2, 4, 8] as const).find((n) => levels <= intGrid({ bits: n, signed: false }).levels);
  if (bits === undefined) return null;
  // The kernel stores unsigned levels 0..2^b-1; the zero point says where code 0 sits among them.
  const stored = intGrid({ bits, signed: false });
  const zeroPoint = -lw.qMin / lw.codeStep;
  const integerZp = Number.isInteger(zeroPoint) && zeroPoint >= stored.qMin && zeroPoint <= stored.qMax;
  if (!integerZp && bits === 8) return null;
  const b = ctx.builder;
  const [N, K] = layer.weight.shape;
  const block = MATMUL_NBITS_BLOCK;
  const kBlocks = Math.ceil(K / block);
  const blob = (block * bits) / 8;
  const packed = new Uint8Array(N * kBlocks * blob);
  const row = new Int32Array(block);
  for (let n = 0; n < N; n++) {
    for (let kb = 0; kb < kBlocks; kb++) {
      row.fill(0);
      for (let j = 0; j < block && kb * block + j < K; j++) row[j] = (lw.codes[n * K + kb * block + j] - lw.qMin) / lw.codeStep;
      packed.set(packIntegers(row, bits, false), (n * kBlocks + kb) * blob);
    }
  }
  const scales = new Float32Array(N * kBlocks);
  for (let n = 0; n < N; n++) scales.fill(lw.codeStep * lw.scale[lw.scale.length > 1 ? n : 0], n * kBlocks, (n + 1) * kBlocks);
  const inputs = [
    x,
    b.rawInit(`${base}.weight_packed`, (name) => rawTensor(name, DataType.UINT8, [N, kBlocks, blob], packed)),
    b.floatInit(`${base}.weight_scale`, [N * kBlocks], scales),
  ];
  let weightBytes = packed.length + 4 * scales.length;
  if (!integerZp) {
    inputs.push(b.floatInit(`${base}.weight_zero_point`, [N * kBlocks], new Array<number>(N * kBlocks).fill(zeroPoint)));
    weightBytes += 4 * N * kBlocks;
  } else if (zeroPoint !== stored.levels / 2) {
    // Not ORT's default zero point 2^(b-1), the middle level: written out.
    // Packed like B: per row, ceil(kBlocks * bits / 8) bytes.
    const rowBytes = packedSize(kBlocks, bits);
    const zp = new Uint8Array(N * rowBytes);
    const zpRow = new Array<number>(kBlocks).fill(zeroPoint);
    for (let n = 0; n < N; n++) zp.set(packIntegers(zpRow, bits, false), n * rowBytes);
    inputs.push(b.rawInit(`${base}.weight_zero_point`, (name) => rawTensor(name, DataType.UINT8, [N * rowBytes], zp)));
    weightBytes += zp.length;
  }
  const attrs = [attribute('K', K), attribute('N', N), attribute('bits', bits), attribute('block_size', block)];
  const value = b.add('MatMulNBits', inputs, `${base}.matmul`, attrs, 'com.microsoft');
  return { value, storage: `uint${bits} (MatMulNBits)`, weightBytes };
}

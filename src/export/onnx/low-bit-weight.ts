/**
 * A quantized weight as the exporter needs it: integer codes in the float weight's layout, the
 * scale(s) that turn them back into reals, and the code grid they were drawn from. Two sources feed
 * it: a QAT layer's weight quantizer (QuantizedTensor) and the codes `lowbit ptq` writes per layer.
 *
 * The grid, not the data, decides the stored type: a 2-bit quantizer whose codes happen to use only
 * -1..1 is still described by its [qMin, qMax], so equal configs give equal files.
 */
import { LowbitError } from '../../errors.ts';
import type { QuantizedTensor } from '../../quant/index.ts';
import { noGrad, scope, type Tensor } from '../../tensor/index.ts';

export interface LowBitWeight {
  /** Integer codes, row-major in the float weight's shape: real = codes * scale (zero point folded in). */
  codes: Int32Array;
  shape: number[];
  /** One scale (per tensor) or one per output channel (dim 0). */
  scale: Float32Array;
  qMin: number;
  qMax: number;
  /** 2 for the zero-free odd grids of SAWB and DoReFa (codes -3, -1, 1, 3 at 2 bits). */
  codeStep: 1 | 2;
  /** The layer's nominal bit width, for the export report. */
  bits: number;
}

/** From a quantizer's export(); a nonzero zero point is folded into the codes and the grid. */
export function fromQuantizedTensor(q: QuantizedTensor, where: string): LowBitWeight {
  const codes = Int32Array.from(q.codes.toArray());
  const zp = q.zeroPoint;
  if (zp !== 0) for (let i = 0; i < codes.length; i++) codes[i] -= zp;
  const scale = q.scale.toFloat32Array();
  const lw: LowBitWeight = {
    codes,
    shape: q.codes.shape,
    scale,
    qMin: q.qMin - zp,
    qMax: q.qMax - zp,
    codeStep: q.codeStep,
    bits: q.bits,
  };
  checkShape(lw, where);
  return lw;
}

/**
 * From the per-layer codes of `lowbit ptq` (codes as an N1 x N0 matrix, steps [1] or [N1]) and the
 * alphabet's range; `weightShape` is the layer's float weight shape (conv weights are flattened per
 * output channel in the codes file).
 */
export function fromPtqCodes(codes: Tensor, scales: Tensor, grid: { kMin: number; kMax: number; bits: number }, weightShape: number[], where: string): LowBitWeight {
  const lw: LowBitWeight = {
    codes: Int32Array.from(codes.toArray()),
    shape: weightShape,
    scale: scales.toFloat32Array(),
    qMin: grid.kMin,
    qMax: grid.kMax,
    codeStep: 1,
    bits: grid.bits,
  };
  checkShape(lw, where);
  return lw;
}

function checkShape(lw: LowBitWeight, where: string): void {
  const numel = lw.shape.reduce((a, b) => a * b, 1);
  if (lw.codes.length !== numel) {
    throw new LowbitError(`${where}: ${lw.codes.length} weight codes for a weight of shape [${lw.shape.join(', ')}] (${numel} values); the codes belong to another layer or model`);
  }
  if (lw.scale.length !== 1 && lw.scale.length !== lw.shape[0]) {
    throw new LowbitError(`${where}: ${lw.scale.length} scales for ${lw.shape[0]} output channels; expected 1 or ${lw.shape[0]}`);
  }
  for (let i = 0; i < lw.codes.length; i++) {
    const c = lw.codes[i];
    if (c < lw.qMin || c > lw.qMax) throw new LowbitError(`${where}: code ${c} lies outside the grid [${lw.qMin}, ${lw.qMax}]`);
  }
}

/** codes * scale, the weight the quantized layer computes with (float32, as DequantizeLinear gives it). */
export function dequantizeWeight(lw: LowBitWeight): Float32Array {
  const out = new Float32Array(lw.codes.length);
  const perChannel = lw.scale.length > 1;
  const rowSize = lw.codes.length / lw.shape[0];
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(lw.codes[i] * lw.scale[perChannel ? Math.floor(i / rowSize) : 0]);
  return out;
}

/**
 * Checks that codes * scale reproduces the layer's weight (to float32 rounding of the scale product),
 * so a codes file from another run or model is refused instead of exported with the wrong numbers.
 */
export function checkMatchesWeight(lw: LowBitWeight, weight: Tensor, where: string): void {
  const w = scope(() => noGrad(() => weight.detach().contiguous().toFloat32Array()));
  if (w.length !== lw.codes.length) {
    throw new LowbitError(`${where}: the codes have ${lw.codes.length} values but the weight has ${w.length}`);
  }
  const dq = dequantizeWeight(lw);
  let worst = 0;
  let maxAbs = 0;
  for (let i = 0; i < w.length; i++) {
    worst = Math.max(worst, Math.abs(dq[i] - w[i]));
    maxAbs = Math.max(maxAbs, Math.abs(w[i]));
  }
  if (worst > 1e-5 * Math.max(maxAbs, 1e-12)) {
    throw new LowbitError(
      `${where}: codes * scale differs from the layer's weight by up to ${worst.toExponential(2)}; ` +
        'the codes file does not belong to this checkpoint (pass the codes.safetensors of the same ptq run)',
    );
  }
}

/**
 * Weight codes at their real width. A layer's integer code c is stored as a signed integer m of the
 * narrowest width (2, 4 or 8 bits) that holds the grid, LSB first (the ONNX int2/int4 layout, four or
 * two per byte): c = m for unit-step grids, and c = 2m + 1 for the zero-free odd grids of SAWB and
 * DoReFa (codeStep 2: at 2 bits c in {-3, -1, 1, 3} is m in {-2, -1, 0, 1}, a true 2-bit integer).
 * The kernels expand them once, at load (native/src/runtime-plan.cc expandWeights).
 */
import { LowbitError } from '../errors.ts';

export type PackWidth = 2 | 4 | 8;

export interface PackedWeight {
  /** m values, `width` bits each, LSB first, in the float weight's row-major (OIHW) order. */
  packed: Uint8Array;
  width: PackWidth;
  count: number;
  codeStep: 1 | 2;
}

/** Bytes of `count` values of `width` bits. */
export function packedBytes(count: number, width: PackWidth): number {
  return Math.ceil((count * width) / 8);
}

export function packSigned(values: ArrayLike<number>, width: PackWidth): Uint8Array {
  const lo = -(2 ** (width - 1));
  const hi = 2 ** (width - 1) - 1;
  const out = new Uint8Array(packedBytes(values.length, width));
  const perByte = 8 / width;
  const mask = 2 ** width - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw new LowbitError(`packSigned: value ${v} at index ${i} does not fit a signed ${width}-bit integer`);
    out[Math.floor(i / perByte)] |= (v & mask) << ((i % perByte) * width);
  }
  return out;
}

export function unpackSigned(bytes: Uint8Array, count: number, width: PackWidth): Int32Array {
  if (bytes.length !== packedBytes(count, width)) {
    throw new LowbitError(`unpackSigned: ${bytes.length} bytes for ${count} ${width}-bit values (expected ${packedBytes(count, width)})`);
  }
  const out = new Int32Array(count);
  const perByte = 8 / width;
  const half = 2 ** (width - 1);
  for (let i = 0; i < count; i++) {
    const field = (bytes[Math.floor(i / perByte)] >> ((i % perByte) * width)) & (2 ** width - 1);
    out[i] = field >= half ? field - 2 * half : field;
  }
  return out;
}

/** The narrowest width holding integers in [lo, hi]. */
export function widthFor(lo: number, hi: number): PackWidth {
  for (const w of [2, 4, 8] as const) if (lo >= -(2 ** (w - 1)) && hi <= 2 ** (w - 1) - 1) return w;
  throw new LowbitError(`weight codes in [${lo}, ${hi}] need more than 8 bits; the runtime takes grids of up to 8 bits`);
}

/** Packs a layer's codes drawn from the grid [qMin, qMax] with step codeStep (odd codes when 2). */
export function packWeightCodes(codes: ArrayLike<number>, grid: { qMin: number; qMax: number; codeStep: 1 | 2 }): PackedWeight {
  const { qMin, qMax, codeStep } = grid;
  const toM = (c: number) => (codeStep === 2 ? (c - 1) / 2 : c);
  const width = widthFor(toM(qMin), toM(qMax));
  const m = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (codeStep === 2 && (c - 1) % 2 !== 0) throw new LowbitError(`packWeightCodes: code ${c} at index ${i} is even on an odd (codeStep 2) grid`);
    m[i] = toM(c);
  }
  return { packed: packSigned(m, width), width, count: codes.length, codeStep };
}

/** The codes back from a packed weight (c = m, or 2m + 1 on odd grids). */
export function unpackWeightCodes(p: PackedWeight): Int32Array {
  const m = unpackSigned(p.packed, p.count, p.width);
  if (p.codeStep === 2) for (let i = 0; i < m.length; i++) m[i] = 2 * m[i] + 1;
  return m;
}

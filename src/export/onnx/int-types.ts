/**
 * Which ONNX integer type stores a grid of integer codes, given the opset the file targets.
 *
 * The narrowest type whose range holds [min, max] wins: int2/uint2 need opset 25, int4/uint4 and
 * int16/uint16 opset 21, int8/uint8 opset 10+ (lowbit writes 13 or later). Signed grids (min < 0) get
 * signed types. A grid that does not fit b bits goes to the next width that holds it: GPFQ's
 * 'reference' alphabet at "2 bits" has the 5 codes -2..2 and is stored as int4, its 3-bit 9-level
 * alphabet as int4, its 4-bit 17-level one as int8. With an opset below 25 (or 21) the same rule
 * widens 2-bit codes to int4 (or int8), so the opset option trades file size for reader compatibility.
 */
import { LowbitError } from '../../errors.ts';
import { intRange, type IntWidth } from './pack.ts';
import { DataType } from './proto.ts';

export interface IntType {
  name: string;
  dataType: DataType;
  width: IntWidth;
  signed: boolean;
  /** The first default-domain opset whose QuantizeLinear / DequantizeLinear accept the type. */
  minOpset: number;
}

export const INT_TYPES: readonly IntType[] = [
  { name: 'int2', dataType: DataType.INT2, width: 2, signed: true, minOpset: 25 },
  { name: 'uint2', dataType: DataType.UINT2, width: 2, signed: false, minOpset: 25 },
  { name: 'int4', dataType: DataType.INT4, width: 4, signed: true, minOpset: 21 },
  { name: 'uint4', dataType: DataType.UINT4, width: 4, signed: false, minOpset: 21 },
  { name: 'int8', dataType: DataType.INT8, width: 8, signed: true, minOpset: 10 },
  { name: 'uint8', dataType: DataType.UINT8, width: 8, signed: false, minOpset: 10 },
  { name: 'int16', dataType: DataType.INT16, width: 16, signed: true, minOpset: 21 },
  { name: 'uint16', dataType: DataType.UINT16, width: 16, signed: false, minOpset: 21 },
];

/** The narrowest type available at `opset` that holds every integer in [min, max]. */
export function narrowestIntType(min: number, max: number, opset: number): IntType {
  const signed = min < 0;
  for (const t of INT_TYPES) {
    if (t.signed !== signed || t.minOpset > opset) continue;
    const r = intRange(t.width, t.signed);
    if (min >= r.min && max <= r.max) return t;
  }
  throw new LowbitError(`no ONNX integer type at opset ${opset} holds codes in [${min}, ${max}]; use at most 16-bit grids and an opset of 21 or later (OnnxExportOptions.opset)`);
}

export function intTypeByDataType(dataType: number): IntType | undefined {
  return INT_TYPES.find((t) => t.dataType === dataType);
}

/**
 * Sub-byte integer packing as the ONNX spec lays it out (onnx.proto, TensorProto.raw_data):
 * 4-bit types two per byte, the first element in the low nibble; 2-bit types four per byte, element
 * 0 in bits 0-1 up to element 3 in bits 6-7; an incomplete last byte is zero-padded. Signed values
 * are stored in two's complement within their field. 8- and 16-bit types are plain little-endian.
 */
import { LowbitError } from '../../errors.ts';
import { intGrid } from '../../quant/int-grid.ts';

export type IntWidth = 2 | 4 | 8 | 16;

/** The representable range of a `width`-bit integer (the full, not narrow, grid of quant's intGrid). */
export function intRange(width: IntWidth, signed: boolean): { min: number; max: number } {
  const g = intGrid({ bits: width, signed });
  return { min: g.qMin, max: g.qMax };
}

/** Bytes of `count` elements of a width-bit type. */
export function packedSize(count: number, width: IntWidth): number {
  return Math.ceil((count * width) / 8);
}

export function packIntegers(values: ArrayLike<number>, width: IntWidth, signed: boolean): Uint8Array {
  const { min, max } = intRange(width, signed);
  const out = new Uint8Array(packedSize(values.length, width));
  const view = new DataView(out.buffer);
  const mask = 2 ** Math.min(width, 8) - 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(Number.isInteger(v) && v >= min && v <= max)) {
      throw new LowbitError(`packIntegers: value ${v} at index ${i} does not fit a ${signed ? '' : 'u'}int${width}`);
    }
    if (width === 16) view.setInt16(2 * i, v, true);
    else if (width === 8) out[i] = v & 0xff;
    else {
      const perByte = 8 / width;
      out[Math.floor(i / perByte)] |= (v & mask) << ((i % perByte) * width);
    }
  }
  return out;
}

export function unpackIntegers(bytes: Uint8Array, count: number, width: IntWidth, signed: boolean): Int32Array {
  if (bytes.length < packedSize(count, width)) {
    throw new LowbitError(`unpackIntegers: ${bytes.length} bytes hold fewer than ${count} ${width}-bit values`);
  }
  const out = new Int32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    if (width === 16) {
      out[i] = signed ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true);
      continue;
    }
    const perByte = 8 / width;
    const field = width === 8 ? bytes[i] : (bytes[Math.floor(i / perByte)] >> ((i % perByte) * width)) & (2 ** width - 1);
    out[i] = signed && field >= 2 ** (width - 1) ? field - 2 ** width : field;
  }
  return out;
}

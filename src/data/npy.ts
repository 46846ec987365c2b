/**
 * NumPy .npy files (format 1.0-3.0, numpy/lib/format.py): the magic "\x93NUMPY", a version, a header
 * length, a Python-dict header {'descr', 'fortran_order', 'shape'}, then the raw array. Read here:
 * C-order arrays of bool, (u)int8-64 and float16/32/64 in either byte order. The byte count must match
 * the header exactly, so a file whose header lies about its dtype (int32 over float bytes of another
 * length, a truncated copy) is refused instead of read as noise.
 */
import { LowbitError } from '../errors.ts';

export type NpyDtype = 'bool' | 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'uint64' | 'int64' | 'float16' | 'float32' | 'float64';

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** The elements as numbers, C order. */
  data: Float64Array | Uint8Array;
}

const KINDS: Record<string, NpyDtype> = {
  b1: 'bool', u1: 'uint8', i1: 'int8', u2: 'uint16', i2: 'int16', u4: 'uint32', i4: 'int32', u8: 'uint64', i8: 'int64', f2: 'float16', f4: 'float32', f8: 'float64',
};

export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) throw new LowbitError(`${source}: not a .npy file (no \\x93NUMPY magic); save arrays with numpy.save`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  if (![1, 2, 3].includes(major)) throw new LowbitError(`${source}: .npy format version ${major}.${bytes[7]} is not supported (1.0-3.0)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = (major === 1 ? 10 : 12) + headerLen;
  if (dataStart > bytes.length) throw new LowbitError(`${source}: truncated .npy file (the header runs past the end)`);
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, dataStart));
  const descr = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw new LowbitError(`${source}: corrupt .npy header '${header.trim()}'`);
  const dtype = KINDS[descr[2]];
  if (dtype === undefined) throw new LowbitError(`${source}: .npy dtype '${descr[1]}${descr[2]}' is not supported; save images as uint8 or float32 and labels as an integer type`);
  if (fortran[1] === 'True') throw new LowbitError(`${source}: Fortran-order arrays are not supported; save with numpy.save(path, numpy.ascontiguousarray(a))`);
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new LowbitError(`${source}: invalid .npy shape (${shapeM[1]})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = Number(descr[2].slice(1));
  const have = bytes.length - dataStart;
  if (have !== count * size) {
    throw new LowbitError(
      `${source}: the header says ${descr[1]}${descr[2]} [${shape.join(', ')}] = ${count * size} bytes of data but ${have} follow; ` +
        `the file is truncated or its dtype is not what the header says`,
    );
  }
  const little = descr[1] !== '>';
  const raw = bytes.subarray(dataStart);
  if (dtype === 'uint8' || dtype === 'bool') return { dtype, shape, data: Uint8Array.from(raw) };
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const data = new Float64Array(count);
  const read: (i: number) => number = {
    int8: (i: number) => dv.getInt8(i),
    uint16: (i: number) => dv.getUint16(2 * i, little),
    int16: (i: number) => dv.getInt16(2 * i, little),
    uint32: (i: number) => dv.getUint32(4 * i, little),
    int32: (i: number) => dv.getInt32(4 * i, little),
    uint64: (i: number) => Number(dv.getBigUint64(8 * i, little)),
    int64: (i: number) => Number(dv.getBigInt64(8 * i, little)),
    float16: (i: number) => half(dv.getUint16(2 * i, little)),
    float32: (i: number) => dv.getFloat32(4 * i, little),
    float64: (i: number) => dv.getFloat64(8 * i, little),
  }[dtype];
  for (let i = 0; i < count; i++) data[i] = read(i);
  return { dtype, shape, data };
}

/** IEEE 754 half -> number. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Writes an array as .npy 1.0 (little-endian, C order): for tests and for exporting data. */
export function encodeNpy(dtype: 'uint8' | 'int64' | 'float32' | 'int32', shape: number[], values: ArrayLike<number>): Uint8Array {
  const descr = { uint8: '|u1', int64: '<i8', float32: '<f4', int32: '<i4' }[dtype];
  const size = { uint8: 1, int64: 8, float32: 4, int32: 4 }[dtype];
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = header + ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + values.length * size);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const dv = new DataView(out.buffer, 10 + header.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (dtype === 'uint8') dv.setUint8(i, v);
    else if (dtype === 'int64') dv.setBigInt64(8 * i, BigInt(v), true);
    else if (dtype === 'int32') dv.setInt32(4 * i, v, true);
    else dv.setFloat32(4 * i, v, true);
  }
  return out;
}

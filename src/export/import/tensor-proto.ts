/**
 * ONNX TensorProto -> host arrays, checked: the declared dims must match the stored element count,
 * and only the element types lowbit can compute with are accepted (float/double as float32,
 * int64/int32 as numbers, the 2-16-bit integer types of quantized weights as integers).
 */
import { LowbitError } from '../../errors.ts';
import { intTypeByDataType } from '../onnx/int-types.ts';
import { packedSize, unpackIntegers } from '../onnx/pack.ts';
import { DataType, type TensorProto } from '../onnx/proto.ts';

/**
 * A constant of the graph: float data as Float32Array, integer data as plain numbers with the ONNX
 * element type it was stored as (a QuantizeLinear zero point's type sets the quantized range).
 */
export type HostTensor = { dims: number[]; kind: 'float'; data: Float32Array } | { dims: number[]; kind: 'int'; data: number[]; dataType?: number };

const MAX_ELEMENTS = 2 ** 31 - 1;

export function readTensorProto(t: TensorProto, where: string): HostTensor {
  const dims = t.dims.map((d) => Number(d));
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new LowbitError(`${where}: invalid dims [${t.dims.join(', ')}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) throw new LowbitError(`${where}: dims [${dims.join(', ')}] describe ${count} elements, more than lowbit handles`);
  if (t.dataLocation === 1 || t.externalData.length > 0) {
    throw new LowbitError(`${where}: data stored in an external file is not supported; save the model with all weights inside the .onnx file`);
  }
  if (t.segment !== undefined) throw new LowbitError(`${where}: segmented tensors are not supported`);
  const raw = t.rawData.length > 0 ? t.rawData : null;
  const size = (have: number, unit: string) => {
    if (have !== count) throw new LowbitError(`${where}: holds ${have} ${unit} but dims [${dims.join(', ')}] need ${count} (truncated or corrupt data)`);
  };
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  switch (t.dataType) {
    case DataType.FLOAT: {
      if (view) {
        if (raw!.length !== 4 * count) throw new LowbitError(`${where}: ${raw!.length} bytes of float data, dims [${dims.join(', ')}] need ${4 * count} (truncated or corrupt data)`);
        const data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
        return { dims, kind: 'float', data };
      }
      size(t.floatData.length, 'floats');
      return { dims, kind: 'float', data: Float32Array.from(t.floatData) };
    }
    case DataType.DOUBLE: {
      if (view) {
        if (raw!.length !== 8 * count) throw new LowbitError(`${where}: ${raw!.length} bytes of double data, dims need ${8 * count}`);
        const data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat64(8 * i, true);
        return { dims, kind: 'float', data };
      }
      size(t.doubleData.length, 'doubles');
      return { dims, kind: 'float', data: Float32Array.from(t.doubleData) };
    }
    case DataType.INT64: {
      if (view) {
        if (raw!.length !== 8 * count) throw new LowbitError(`${where}: ${raw!.length} bytes of int64 data, dims need ${8 * count}`);
        return { dims, kind: 'int', data: Array.from({ length: count }, (_, i) => Number(view.getBigInt64(8 * i, true))), dataType: t.dataType };
      }
      size(t.int64Data.length, 'int64 values');
      return { dims, kind: 'int', data: t.int64Data.map((v) => Number(v)), dataType: t.dataType };
    }
    case DataType.INT32: {
      if (view) {
        if (raw!.length !== 4 * count) throw new LowbitError(`${where}: ${raw!.length} bytes of int32 data, dims need ${4 * count}`);
        return { dims, kind: 'int', data: Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true)), dataType: t.dataType };
      }
      size(t.int32Data.length, 'int32 values');
      return { dims, kind: 'int', data: [...t.int32Data], dataType: t.dataType };
    }
  }
  const it = intTypeByDataType(t.dataType);
  if (it === undefined) {
    const name = DataType[t.dataType] ?? `data type ${t.dataType}`;
    throw new LowbitError(`${where}: element type ${name} is not supported; lowbit reads float, double, int64, int32 and the 2-16-bit integer types`);
  }
  if (raw) {
    if (raw.length !== packedSize(count, it.width)) {
      throw new LowbitError(`${where}: ${raw.length} bytes of ${it.name} data, dims [${dims.join(', ')}] need ${packedSize(count, it.width)} (truncated or corrupt data)`);
    }
    return { dims, kind: 'int', data: Array.from(unpackIntegers(raw, count, it.width, it.signed)), dataType: t.dataType };
  }
  // int32_data holds one element each for 8/16-bit types and packed groups for 4- and 2-bit ones.
  const perWord = it.width < 8 ? 8 / it.width : 1;
  if (t.int32Data.length !== Math.ceil(count / perWord)) size(t.int32Data.length * perWord, `${it.name} values`);
  if (perWord === 1) return { dims, kind: 'int', data: [...t.int32Data], dataType: t.dataType };
  const bytes = Uint8Array.from(t.int32Data, (v) => v & 0xff);
  return { dims, kind: 'int', data: Array.from(unpackIntegers(bytes, count, it.width, it.signed)), dataType: t.dataType };
}

import { LowbitError } from '../../errors.ts';
import { decodeModel, type ModelProto } from '../onnx/proto.ts';

/** ONNX bytes -> ModelProto; a file that does not decode is one line naming it (the readers all start here). */
export function decodeOnnxFile(bytes: Uint8Array, source: string): ModelProto {
  if (bytes.length === 0) throw new LowbitError(`${source}: the file is empty; expected an ONNX model`);
  try {
    return decodeModel(bytes);
  } catch (err) {
    throw new LowbitError(`${source}: not a valid ONNX file (protobuf decoding failed: ${(err as Error).message}); the file is truncated, corrupt or not ONNX`, { cause: err });
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { LowbitError } from '../../errors.ts';
import { checkFinite } from '../../util/check-finite.ts';
import { withFsErrors } from '../../util/fs-errors.ts';
import { OnnxGraphModule } from './onnx-graph-module.ts';
import { readOnnxModel } from './read-model.ts';
import { decodeOnnxFile } from './decode-onnx.ts';

/**
 * An ONNX model as a lowbit Module (see OnnxGraphModule), from bytes. `source` names the file in
 * messages. Any problem with the file is a LowbitError; unexpected failures of the decoder are
 * wrapped so a bad file never escapes as a crash.
 */
export function importOnnx(bytes: Uint8Array, source = 'ONNX model'): OnnxGraphModule {
  try {
    const model = new OnnxGraphModule(readOnnxModel(bytes, source), source);
    checkFinite([...model.namedParameters(), ...model.namedBuffers()], source);
    return model.eval();
  } catch (err) {
    if (err instanceof LowbitError) throw err;
    throw new LowbitError(`${source}: cannot import the ONNX model: ${(err as Error).message}`, { cause: err });
  }
}

export function loadOnnx(path: string): OnnxGraphModule {
  if (!existsSync(path)) throw new LowbitError(`ONNX file ${path} does not exist: check the path`);
  return importOnnx(withFsErrors('read', path, () => readFileSync(path)), path);
}

/** An ONNX file's metadata_props as a record (where lowbit stores the data set, see data/provenance). */
export function readOnnxMetadata(bytes: Uint8Array, source = 'ONNX model'): Record<string, string> {
  return Object.fromEntries(decodeOnnxFile(bytes, source).metadataProps.map((e) => [e.key, e.value]));
}

/**
 * The nodes that hold weights as integers: DequantizeLinear of an initializer, MatMulNBits. Importing
 * folds them into float weights, so a file with any of them is re-exported at its bit width only
 * from its codes (see `lowbit export --onnx`).
 */
export function integerWeightNodes(bytes: Uint8Array, source = 'ONNX model'): string[] {
  const graph = decodeOnnxFile(bytes, source).graph;
  if (graph === undefined) return [];
  const initializers = new Set(graph.initializer.map((t) => t.name));
  return graph.node.filter((n) => n.opType === 'MatMulNBits' || (n.opType === 'DequantizeLinear' && initializers.has(n.input[0]))).map((n) => n.name || `${n.opType} of ${n.input[0]}`);
}

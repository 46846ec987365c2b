/** ONNX export (float and true low-bit QDQ / MatMulNBits) and import (ONNX graph -> lowbit modules). */
export { exportOnnx, saveOnnx, checkOpset, MIN_OPSET, MAX_OPSET, type OnnxExportOptions, type OnnxExportResult } from './onnx/export-onnx.ts';
export type { ExportedLayer, EmitContext, Emitter, EmitterEntry, ModuleClass } from './onnx/emit-context.ts';
export { emitChain } from './onnx/emit-layers.ts';
export { BUILTIN_EMITTERS } from './onnx/emitters.ts';
export { fromQuantizedTensor, fromPtqCodes, checkMatchesWeight, dequantizeWeight, type LowBitWeight } from './onnx/low-bit-weight.ts';
export { narrowestIntType, INT_TYPES, type IntType } from './onnx/int-types.ts';
export { packIntegers, unpackIntegers, packedSize, intRange, type IntWidth } from './onnx/pack.ts';
export { importOnnx, integerWeightNodes, loadOnnx, readOnnxMetadata } from './import/import-onnx.ts';
export { readQdqGraph, type QdqGraph, type QdqNode, type QdqConstant } from './import/read-qdq-graph.ts';
export { OnnxGraphModule } from './import/onnx-graph-module.ts';
export { IMPORTED_OPS } from './import/compile-node.ts';
export { loadOnnxForPtq, savePtqOnnx } from './ptq-onnx.ts';
export { readPtqWeightCodes, applyPtqActivations, ptqLayerBits, PTQ_METADATA_KEY } from './ptq-codes.ts';

/** The low-bit runtime: quantized models as integer execution plans (u8 codes x s8 weights -> int32, fused epilogues). */
export { IntPlan, type BufferDesc, type ConvDesc, type CodesTarget, type PoolQuantDesc, type StepProfile } from './int-plan.ts';
export { compileResNet, type CompileOptions } from './compile-resnet.ts';
export { loadIntModel, argmaxRows, type IntModel, type LoadIntModelOptions } from './load.ts';
export { runtimeInfo, setRuntimeThreads, peakMacsPerSecond, RUNTIME_ISAS, type RuntimeIsa, type RuntimeInfo } from './native.ts';
export { packSigned, unpackSigned, packWeightCodes, unpackWeightCodes, packedBytes, widthFor, type PackedWeight, type PackWidth } from './weight-pack.ts';
export { classifyDataset, datasetPixels, timeModel, timeIntModel, type ClassifyResult, type TimingResult } from './evaluate.ts';
export { savePlan, loadPlan, isPlanFile, type PlanMeta } from './plan-file.ts';
export { WasmRuntime, WasmPlan } from './wasm.ts';
export { encodePlan, decodePlan, PLAN_MAGIC, type PlanTarget, type PlanSource } from './plan-format.ts';

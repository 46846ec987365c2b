export { Tensor, type DType, type MemoryFormat, type Operand, type AnyTypedArray } from './tensor.ts';
export { scope, keep, adopt, scopeDepth } from './scope.ts';
export * from './creation.ts';
export * from './ops.ts';
export { manualSeed, getRngState, setRngState, Generator } from './random.ts';
export { noGrad, enableGrad, isGradEnabled, grad, type GradOptions } from './autograd.ts';
export { setNumThreads, getNumThreads, buildInfo, blasInUse, mallocSettings, releaseCachedMemory, type BuildInfo, type MallocTuning } from './system.ts';
export * as F from './functional.ts';

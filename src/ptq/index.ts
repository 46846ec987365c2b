/** Post-training quantization: GPFQ's alphabet, its reference and Gram-matrix layer solvers. */
export {
  alphabetFor,
  minMaxAlphabet,
  codeRange,
  quantizeCode,
  quantizeToCodes,
  dequantize,
  stepColumn,
  scaleTensor,
  DEFAULT_RADIUS_FACTOR,
  type Alphabet,
  type AlphabetOptions,
  type AlphabetConvention,
  type StepGranularity,
} from './alphabet.ts';
export { type GpfqResult, disposeGpfqResult } from './gpfq-result.ts';
export { gpfqReference, type GpfqReferenceOptions } from './gpfq-reference.ts';
export { GramAccumulator, type GramAccumulatorOptions, type GramMatrices } from './gram-accumulator.ts';
export { gpfqFast, type GpfqFastOptions } from './gpfq-fast.ts';
export { gpfqBlocked, type GpfqBlockedOptions } from './gpfq-blocked.ts';
export { toQuantModel, ptqQuantConfig, inputQuantizerState } from './to-quant-model.ts';
export { PTQ_DEFAULTS, resolvePtqConfig, type PtqConfig, type ResolvedPtqConfig, type PtqMethod, type GpfqSolver } from './ptq-config.ts';
export { quantizeNetwork, quantizableLayers, type LayerReport, type PtqProgress } from './quantize-network.ts';
export { runPtq, PTQ_METADATA_KEY, PTQ_ACT_BITS_KEY, type RunPtqArgs, type PtqRun, type PtqRunResult, type PtqLayerSummary } from './run-ptq.ts';

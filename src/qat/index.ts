/** Quantization-aware training: the fine-tune pipeline, its quantizer config and its optimizer groups. */
export { qatQuantConfig, qatBits, QAT_QUANT_DEFAULTS, QAT_TRAINING_DEFAULTS, type QatQuantOptions } from './qat-options.ts';
export { qatParamGroups, qatOptimizer } from './qat-optimizer.ts';
export { runQat, type RunQatArgs, type QatRun, type QatExtension, type QatContext } from './run-qat.ts';

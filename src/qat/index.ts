/** Quantization-aware training: the fine-tune pipeline, its quantizer config and its optimizer groups. */
export { qatQuantConfig, qatBits, QAT_QUANT_DEFAULTS, QAT_TRAINING_DEFAULTS, type QatQuantOptions } from './qat-options.ts';
export { qatParamGroups, qatOptimizer } from './qat-optimizer.ts';
export { runQat, type RunQatArgs, type QatRun, type QatExtension, type QatContext } from './run-qat.ts';
export { AuxiliaryModule, AuxiliaryAttachment, attachAuxiliaryModule, type AuxiliaryModuleOptions } from './aux-module.ts';
export { runAuxQat, auxiliaryExtension, auxTrainStep, auxOptions, AUX_DEFAULTS, AUX_WEIGHTS_FILE, type AuxOptions } from './aux-qat.ts';

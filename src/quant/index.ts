/** Quantizers, quantized layers and float-to-quantized model conversion. */
export {
  FLOAT_BITS,
  MIN_BITS,
  MAX_BITS,
  isFloatBits,
  bitsProblem,
  checkBits,
  intGrid,
  oddGrid,
  referenceGrid,
  type IntGrid,
  type IntGridSpec,
} from './int-grid.ts';
export {
  Quantizer,
  straightThrough,
  gradScale,
  codesDtype,
  type QuantizerKind,
  type QuantizedTensor,
} from './quantizer.ts';
export {
  estimateRange,
  rowQuantile,
  RANGE_METHODS,
  DEFAULT_PERCENTILE,
  DEFAULT_MSE_GRID,
  type RangeMethod,
  type RangeOptions,
} from './range-estimators.ts';
export { UniformQuantizer, type UniformQuantizerOptions } from './uniform-quantizer.ts';
export { FixedGridQuantizer, type FixedGridQuantizerOptions } from './fixed-grid.ts';
export { PactQuantizer, DEFAULT_PACT_ALPHA, type PactQuantizerOptions } from './pact.ts';
export { LsqQuantizer, type LsqQuantizerOptions } from './lsq.ts';
export { SawbQuantizer, SAWB_COEFFICIENTS, SAWB_BITS } from './sawb.ts';
export { DorefaWeightQuantizer, DorefaActQuantizer } from './dorefa.ts';
export {
  validateQuantConfig,
  validateWeightSpec,
  validateActSpec,
  layerQuantSpec,
  WEIGHT_QUANT_KINDS,
  TRAINABLE_WEIGHT_QUANT_KINDS,
  ACT_QUANT_KINDS,
  DEFAULT_FIRST_LAST,
  type QuantConfig,
  type WeightQuantSpec,
  type ActQuantSpec,
  type FirstLastSpec,
  type LayerOverride,
  type LayerQuantSpec,
  type LayerRole,
  type WeightQuantKind,
  type ActQuantKind,
} from './quant-config.ts';
export { createWeightQuantizer, createActQuantizer } from './create-quantizer.ts';
export { QuantConv2d, type QuantLayerOptions } from './quant-conv2d.ts';
export { QuantLinear } from './quant-linear.ts';
export { QuantAct } from './quant-act.ts';
export { quantizeModel, type QuantizedLayer } from './quantize-model.ts';
export { foldBatchNorm } from './fold-batch-norm.ts';
export { calibrateActivations } from './calibrate.ts';
export { namedQuantizers, quantizerParameters, nonQuantizerParameters } from './model-quantizers.ts';

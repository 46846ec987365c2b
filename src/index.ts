/**
 * lowbit's public API, the package entry (`import { ... } from 'lowbit'`): each layer's index, in the
 * order data flows (see DESIGN.md). Deeper paths are internal.
 */
export * from './errors.ts';
export * from './tensor/index.ts';
export * from './nn/index.ts';
export * from './optim/index.ts';
export * from './data/index.ts';
export * from './models/index.ts';
export * from './train/index.ts';
export * from './quant/index.ts';
export * from './ptq/index.ts';
export * from './qat/index.ts';
export * from './nas/index.ts';
export * from './export/index.ts';
export * from './runtime/index.ts';
export * from './report/index.ts';
// Re-exported by nas from models: named once here so the two star exports do not clash.
export { convCostCoefficients, type Cost, type ConvCostShape } from './models/index.ts';

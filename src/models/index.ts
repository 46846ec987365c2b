export type { ModelConfig, BuildOptions } from './config.ts';
export { modelConfigProblem } from './config.ts';
export { mlp, MLP_WIDTHS } from './mlp.ts';
export { lenet5, LENET5_WIDTHS } from './lenet5.ts';
export { vggSmall, VGG_SMALL_WIDTHS } from './vgg-small.ts';
export { ResNet, BasicBlock, cifarResNet, cifarResNetWidths, resnet18, RESNET18_WIDTHS, resnet50, RESNET50_WIDTHS, type ResidualBlockKind } from './resnet.ts';
export { Bottleneck } from './bottleneck.ts';
export { residualTapPoints, type ResidualTapPoints, type ResidualTapPoint } from './residual-taps.ts';
export { complexity, type Complexity, type LayerComplexity } from './complexity.ts';
export {
  convCost,
  convCostCoefficients,
  linearCost,
  linearCostCoefficients,
  batchNormCost,
  BATCH_NORM_PARAMS_PER_CHANNEL,
  type Cost,
  type CostCoefficients,
  type ConvCostShape,
  type LinearCostShape,
} from './cost.ts';
export { createModel, MODEL_NAMES } from './registry.ts';
export { widthLayers } from './width-names.ts';
export { torchvisionResNetKey, resNetBlocksPerStage } from './torchvision-keys.ts';

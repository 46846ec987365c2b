/** NCE: the channel search for low-bit networks (supernet, search, derive, retrain). */
export { convCostCoefficients, layerCost, type ConvCostCoefficients, type ConvCostShape } from './cost.ts';
export { TAS_RATIOS, candidateWidths, widthLevels, remapLogits } from './candidates.ts';
export { sampleTwo, gumbelTemperature, type TwoCandidates } from './gumbel.ts';
export { channelWiseInterpolation, cwiMatrix } from './cwi.ts';
export { SearchableConv, type SearchMode, type SearchableConvOptions } from './searchable-conv.ts';
export { Supernet, type SupernetConfig, type CostTerm } from './supernet-base.ts';
export { SearchResNet, SearchBlock, addUnequal, SEARCHABLE_RESNETS } from './supernet.ts';
export { SearchVGG } from './search-vgg.ts';
export { createSupernet, SEARCHABLE_MODELS } from './create-supernet.ts';
export {
  costAtWidths,
  expectedCost,
  expectedCostValues,
  widthDistributions,
  budgetLoss,
  budgetSide,
  type Cost,
  type WidthDistribution,
  type BudgetSpec,
  type BudgetSide,
} from './search-cost.ts';
export { expandLayers, type ExpansionEvent } from './expansion.ts';
export { splitHalves } from './search-data.ts';
export { runSearch, searchCheckpointPath, DEFAULT_SEARCH, type SearchHyperParams, type SearchOptions, type SearchResult, type SearchStepInfo, type SearchEpochMetrics } from './search.ts';
export { deriveNetwork, describeWidths, type DerivedNetwork, type LayerWidthChange } from './derive.ts';
import './quantize-supernet.ts';
export { SearchLayer } from './search-layer.ts';
export { ProjectionShortcut, SearchClassifier } from './search-layers.ts';
export { retrain, distillationLoss, type RetrainOptions, type RetrainResult, type PhaseRecipe, type DistillationSpec } from './retrain.ts';
export { initFromFloat } from './init-from-float.ts';

import type { Module } from '../nn/index.ts';
import { makeOptimizer, type Optimizer, type OptimizerConfig, type OptimizerParamGroup } from '../optim/index.ts';
import { nonQuantizerParameters, quantizerParameters } from '../quant/index.ts';

/**
 * Parameter groups for fake-quant training. Weights, BN and PACT's alpha share the main group with its
 * weight decay (PACT's L2 penalty on alpha is weight decay on it, and the anchor recipe keeps alpha in
 * the SGD group); LSQ steps get a group without weight decay, as in the LSQ paper.
 */
export function qatParamGroups(model: Module): OptimizerParamGroup[] {
  const lsqSteps = quantizerParameters(model, 'lsq');
  const lsqSet = new Set(lsqSteps);
  const main = [...nonQuantizerParameters(model), ...quantizerParameters(model).filter((p) => !lsqSet.has(p))];
  return [{ params: main }, ...(lsqSteps.length ? [{ params: lsqSteps, weightDecay: 0 }] : [])];
}

/** The optimizer `config` names over qatParamGroups(model). */
export function qatOptimizer(model: Module, config: OptimizerConfig): Optimizer {
  return makeOptimizer(qatParamGroups(model), config);
}

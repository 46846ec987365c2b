import { LowbitError } from '../errors.ts';
import type { Module } from '../nn/index.ts';
import { modelConfigProblem, type BuildOptions, type ModelConfig } from './config.ts';
import { lenet5 } from './lenet5.ts';
import { mlp } from './mlp.ts';
import { cifarResNet, resnet18, resnet50 } from './resnet.ts';
import { vggSmall } from './vgg-small.ts';

const BUILDERS: Record<string, (cfg: ModelConfig, opts: BuildOptions) => Module> = {
  mlp,
  lenet5,
  'vgg-small': vggSmall,
  resnet20: (c, o) => cifarResNet(20, c, o),
  resnet32: (c, o) => cifarResNet(32, c, o),
  resnet56: (c, o) => cifarResNet(56, c, o),
  resnet18,
  resnet50,
};

export const MODEL_NAMES = Object.keys(BUILDERS);

/** Builds a model of the zoo from its config. */
export function createModel(cfg: ModelConfig, opts: BuildOptions = {}): Module {
  const build = BUILDERS[cfg.name];
  if (build === undefined) {
    throw new LowbitError(`unknown model '${cfg.name}': choose one of ${MODEL_NAMES.join(', ')}`);
  }
  const problem = modelConfigProblem(cfg);
  if (problem !== null) throw new LowbitError(`cannot build ${cfg.name}: ${problem}`);
  try {
    return build(cfg, opts);
  } catch (err) {
    if (err instanceof LowbitError) throw err;
    throw new LowbitError(`cannot build ${cfg.name}: ${(err as Error).message}`, { cause: err });
  }
}

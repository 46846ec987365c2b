import { Flatten, Linear, ReLU, Sequential, type Module } from '../nn/index.ts';
import { checkWidths, type BuildOptions, type ModelConfig } from './config.ts';

export const MLP_WIDTHS = [500, 300];

/** Fully connected network, e.g. 784-500-300-10 on Fashion-MNIST. widths are the hidden layer sizes. */
export function mlp(cfg: ModelConfig, opts: BuildOptions = {}): Sequential {
  const hidden = checkWidths('mlp', cfg.widths ?? MLP_WIDTHS, (cfg.widths ?? MLP_WIDTHS).length);
  const layers: Module[] = [new Flatten()];
  let inFeatures = cfg.inChannels * cfg.inputSize[0] * cfg.inputSize[1];
  for (const h of hidden) {
    layers.push(new Linear(inFeatures, h, { generator: opts.generator }), new ReLU());
    inFeatures = h;
  }
  layers.push(new Linear(inFeatures, cfg.numClasses, { generator: opts.generator }));
  return new Sequential(...layers);
}

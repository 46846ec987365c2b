/**
 * PyTorch's ResNet state-dict names (torchvision's resnet18/resnet50: conv1, bn1, layer1.0.conv1,
 * layer1.0.downsample.0, fc; the CIFAR variants of pytorch-cifar: shortcut.0, linear) mapped onto the
 * zoo's ResNet (stem.0, stem.1, layers.<i>, shortcut.0, fc). Only the names change: torchvision's own
 * ImageNet stem (7x7 conv + max pool) does not fit the zoo's small-image stem (3x3 conv, no pool), so
 * such a file is refused at its conv1 shape; models trained with conv1 = 3x3 and maxpool = Identity,
 * the usual CIFAR setup, load.
 */
import { LowbitError } from '../errors.ts';

/** The zoo name of one PyTorch ResNet key, given the blocks per stage ([2, 2, 2, 2] for resnet18). */
export function torchvisionResNetKey(key: string, blocksPerStage: readonly number[]): string {
  const stem = /^(conv1|bn1)\.(.+)$/.exec(key);
  if (stem) return `stem.${stem[1] === 'conv1' ? 0 : 1}.${stem[2]}`;
  const head = /^(fc|linear)\.(.+)$/.exec(key);
  if (head) return `fc.${head[2]}`;
  const block = /^layer(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (block) {
    const stage = Number(block[1]) - 1;
    const b = Number(block[2]);
    if (stage < 0 || stage >= blocksPerStage.length || b >= blocksPerStage[stage]) {
      throw new LowbitError(`state dict key '${key}': block ${block[1]}.${block[2]} does not exist in a ResNet of ${blocksPerStage.join('-')} blocks per stage; choose the matching --model`);
    }
    const index = blocksPerStage.slice(0, stage).reduce((a, n) => a + n, 0) + b;
    return `layers.${index}.${block[3].replace(/^downsample\./, 'shortcut.')}`;
  }
  return key;
}

/** Blocks per stage of the zoo's ResNets, by model name. */
export function resNetBlocksPerStage(model: string): number[] {
  if (model === 'resnet18') return [2, 2, 2, 2];
  if (model === 'resnet50') return [3, 4, 6, 3];
  const depth = /^resnet(\d+)$/.exec(model);
  if (depth && (Number(depth[1]) - 2) % 6 === 0) {
    const n = (Number(depth[1]) - 2) / 6;
    return [n, n, n];
  }
  throw new LowbitError(`--key-map torchvision applies to the zoo's ResNets (resnet18, resnet50, resnet20/32/56), not ${model}`);
}

/** The supernet of a zoo model: SearchResNet for the CIFAR ResNets and ResNet-18, SearchVGG for VGG-small. */
import { LowbitError } from '../errors.ts';
import type { Generator } from '../tensor/index.ts';
import { SearchVGG } from './search-vgg.ts';
import type { Supernet, SupernetConfig } from './supernet-base.ts';
import { SEARCHABLE_RESNETS, SearchResNet } from './supernet.ts';

export const SEARCHABLE_MODELS: readonly string[] = [...SEARCHABLE_RESNETS, 'vgg-small'];

export function createSupernet(config: SupernetConfig, generator?: Generator): Supernet {
  if (config.model === 'vgg-small') return new SearchVGG(config, generator);
  if (SEARCHABLE_RESNETS.includes(config.model)) return new SearchResNet(config, generator);
  throw new LowbitError(`the channel search supports ${SEARCHABLE_MODELS.join(', ')}, not '${config.model}'`);
}

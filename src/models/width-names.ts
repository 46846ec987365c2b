/**
 * Names of the layers a ModelConfig.widths list sets, in its order: every conv of the built model except
 * the projection shortcuts (whose widths follow from their block's), e.g. stem.0, layers.0.conv1, ... for
 * a ResNet. A report uses them to label a channel search's widths, which the search records as a plain list.
 */
import { Conv2d } from '../nn/index.ts';
import type { ModelConfig } from './config.ts';
import { createModel } from './registry.ts';

export function widthLayerNames(config: ModelConfig): string[] {
  const model = createModel(config);
  try {
    return [...model.namedModules()].filter(([name, m]) => m instanceof Conv2d && !name.includes('shortcut')).map(([name]) => name);
  } finally {
    model.dispose();
  }
}

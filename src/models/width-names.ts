/**
 * The layers a ModelConfig.widths list sets, in its order: every conv of the built model except the
 * projection shortcuts (whose widths follow from their block's), e.g. stem.0, layers.0.conv1, ... for a
 * ResNet. A report uses them to label a channel search's widths, which the search records as a plain list.
 */
import { Conv2d } from '../nn/index.ts';
import type { ModelConfig } from './config.ts';
import { createModel } from './registry.ts';

/** Name and output width of every layer the widths list sets; `config.widths` absent: the zoo's default. */
export function widthLayers(config: ModelConfig): { name: string; width: number }[] {
  const model = createModel(config);
  try {
    return [...model.namedModules()]
      .filter(([name, m]) => m instanceof Conv2d && !name.includes('shortcut'))
      .map(([name, m]) => ({ name, width: (m as Conv2d).outChannels }));
  } finally {
    model.dispose();
  }
}

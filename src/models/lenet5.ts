import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential } from '../nn/index.ts';
import { checkWidths, type BuildOptions, type ModelConfig } from './config.ts';

export const LENET5_WIDTHS = [6, 16, 120, 84];

/**
 * LeNet-5 (LeCun et al. 1998) with ReLU and max pooling: conv5x5(6) - pool - conv5x5(16) - pool -
 * fc120 - fc84 - fc(classes). 28x28 inputs get padding 2 on the first conv so the feature map is 5x5
 * before the classifier, as for the original 32x32.
 */
export function lenet5(cfg: ModelConfig, opts: BuildOptions = {}): Sequential {
  const [c1, c2, f1, f2] = checkWidths('lenet5', cfg.widths ?? LENET5_WIDTHS, 4);
  const g = opts.generator;
  const pad = cfg.inputSize[0] < 32 ? Math.ceil((32 - cfg.inputSize[0]) / 2) : 0;
  const conv1 = new Conv2d(cfg.inChannels, c1, 5, { padding: pad, generator: g });
  const [h1, w1] = conv1.outputSize(...cfg.inputSize);
  const pooledAfterConv2 = (n: number) => Math.floor((Math.floor(n / 2) - 4) / 2);
  const [h3, w3] = [pooledAfterConv2(h1), pooledAfterConv2(w1)];
  return new Sequential(
    conv1,
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(c1, c2, 5, { generator: g }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(c2 * h3 * w3, f1, { generator: g }),
    new ReLU(),
    new Linear(f1, f2, { generator: g }),
    new ReLU(),
    new Linear(f2, cfg.numClasses, { generator: g }),
  );
}

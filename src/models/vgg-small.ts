import { BatchNorm2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, type Module } from '../nn/index.ts';
import { checkWidths, type BuildOptions, type ModelConfig } from './config.ts';

export const VGG_SMALL_WIDTHS = [128, 128, 256, 256, 512, 512];

/**
 * VGG-small as used in the low-bit literature (LQ-Nets, NCE): six 3x3 conv-BN-ReLU layers of widths
 * 128-128-256-256-512-512 with a 2x2 max pool after every second one, then one Linear classifier.
 */
export function vggSmall(cfg: ModelConfig, opts: BuildOptions = {}): Sequential {
  const widths = checkWidths('vgg-small', cfg.widths ?? VGG_SMALL_WIDTHS, 6);
  const g = opts.generator;
  const layers: Module[] = [];
  let inC = cfg.inChannels;
  let [h, w] = cfg.inputSize;
  widths.forEach((c, i) => {
    layers.push(new Conv2d(inC, c, 3, { padding: 1, bias: false, generator: g }), new BatchNorm2d(c), new ReLU());
    inC = c;
    if (i % 2 === 1) {
      layers.push(new MaxPool2d(2));
      [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
    }
  });
  layers.push(new Flatten(), new Linear(inC * h * w, cfg.numClasses, { generator: g }));
  return new Sequential(...layers);
}

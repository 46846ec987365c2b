import { BatchNorm2d, Conv2d, Module, ReLU, Sequential } from '../nn/index.ts';
import type { Generator, Tensor } from '../tensor/index.ts';
import { projectionShortcut } from './shortcut.ts';

/**
 * The bottleneck residual block of ResNet-50/101/152 (He et al. 2016, fig. 5 right):
 * conv1x1 (in -> mid) - BN - ReLU - conv3x3 (mid -> mid, stride) - BN - ReLU - conv1x1 (mid -> out) - BN,
 * plus the shortcut (identity, or 1x1 conv + BN when the shape changes), then ReLU. The stride sits on the
 * 3x3 conv, as in torchvision ("ResNet v1.5"). The output activation is the child `relu`, so a forward
 * pre-hook on it sees the block's sum (main branch + shortcut), the tap of the auxiliary module.
 */
export class Bottleneck extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  shortcut: Sequential | null;
  relu: ReLU;

  /** Widths: conv1 -> w1, conv2 -> w2, conv3 -> outC (the published net has w1 = w2 = outC / 4). */
  constructor(inC: number, w1: number, w2: number, outC: number, stride: number, generator?: Generator) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inC, w1, 1, { bias: false, generator }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(w1));
    this.conv2 = this.registerModule('conv2', new Conv2d(w1, w2, 3, { stride, padding: 1, bias: false, generator }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(w2));
    this.conv3 = this.registerModule('conv3', new Conv2d(w2, outC, 1, { bias: false, generator }));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(outC));
    const shortcut = projectionShortcut(inC, outC, stride, generator);
    this.shortcut = shortcut ? this.registerModule('shortcut', shortcut) : null;
    this.relu = this.registerModule('relu', new ReLU());
  }

  forward(x: Tensor): Tensor {
    const h = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu())).relu();
    const y = this.bn3.call(this.conv3.call(h));
    const s = this.shortcut ? this.shortcut.call(x) : x;
    return this.relu.call(y.add_(s));
  }
}

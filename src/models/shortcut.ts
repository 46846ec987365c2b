import { BatchNorm2d, Conv2d, Sequential } from '../nn/index.ts';
import type { Generator } from '../tensor/index.ts';

/**
 * A residual block's shortcut: null (the identity) when the block keeps the shape, else a 1x1 conv + BN
 * ("option B" of He et al.), which also lets a channel search give a block any output width.
 */
export function projectionShortcut(inC: number, outC: number, stride: number, generator?: Generator): Sequential | null {
  return stride !== 1 || inC !== outC ? new Sequential(new Conv2d(inC, outC, 1, { stride, bias: false, generator }), new BatchNorm2d(outC)) : null;
}

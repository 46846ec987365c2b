import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential, init } from '../nn/index.ts';
import { LowbitError } from '../errors.ts';
import type { Generator, Tensor } from '../tensor/index.ts';
import { Bottleneck } from './bottleneck.ts';
import { checkWidths, type BuildOptions, type ModelConfig } from './config.ts';
import { projectionShortcut } from './shortcut.ts';

/** BasicBlock: two 3x3 convs per block (ResNet-18/34, CIFAR ResNets); bottleneck: 1x1-3x3-1x1 (ResNet-50 and up). */
export type ResidualBlockKind = 'basic' | 'bottleneck';
const CONVS_PER_BLOCK: Record<ResidualBlockKind, number> = { basic: 2, bottleneck: 3 };

/**
 * The basic residual block: conv3x3-BN-ReLU-conv3x3-BN plus a shortcut, then ReLU. The shortcut is
 * the identity when shapes agree, otherwise a 1x1 conv + BN ("option B" of He et al.), which also
 * lets the channel search give a block any output width.
 *
 * The final ReLU is the child `relu`, so the block's pre-activation sum bn2(conv2(...)) + shortcut(x)
 * can be read (or replaced) by a forward pre-hook on it, `block.relu.registerForwardPreHook(...)`,
 * without copying this forward. It has no parameters, so the state dict keys are PyTorch's.
 */
export class BasicBlock extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  shortcut: Sequential | null;
  relu: ReLU;

  constructor(inC: number, midC: number, outC: number, stride: number, generator?: Generator) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inC, midC, 3, { stride, padding: 1, bias: false, generator }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(midC));
    this.conv2 = this.registerModule('conv2', new Conv2d(midC, outC, 3, { padding: 1, bias: false, generator }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outC));
    const shortcut = projectionShortcut(inC, outC, stride, generator);
    this.shortcut = shortcut ? this.registerModule('shortcut', shortcut) : null;
    this.relu = this.registerModule('relu', new ReLU());
  }

  forward(x: Tensor): Tensor {
    const y = this.bn2.call(this.conv2.call(this.bn1.call(this.conv1.call(x)).relu()));
    const s = this.shortcut ? this.shortcut.call(x) : x;
    return this.relu.call(y.add_(s));
  }
}

/** Stem, stages of BasicBlocks, global average pool and a Linear classifier. */
export class ResNet extends Module {
  stem: Sequential;
  layers: Sequential;
  pool: AdaptiveAvgPool2d;
  flatten: Flatten;
  fc: Linear;

  /**
   * widths: [stem, then for every block its convs' widths (conv1, conv2 and, for bottlenecks, conv3)];
   * strides: the first block's stride of each stage.
   */
  constructor(
    inChannels: number,
    numClasses: number,
    blocksPerStage: number[],
    widths: number[],
    stageStrides: number[],
    generator?: Generator,
    blockKind: ResidualBlockKind = 'basic',
  ) {
    super();
    this.stem = this.registerModule(
      'stem',
      new Sequential(new Conv2d(inChannels, widths[0], 3, { padding: 1, bias: false, generator }), new BatchNorm2d(widths[0]), new ReLU()),
    );
    const blocks: Module[] = [];
    const step = CONVS_PER_BLOCK[blockKind];
    let inC = widths[0];
    let k = 1;
    blocksPerStage.forEach((n, stage) => {
      for (let b = 0; b < n; b++) {
        const stride = b === 0 ? stageStrides[stage] : 1;
        const w = widths.slice(k, k + step);
        blocks.push(blockKind === 'basic' ? new BasicBlock(inC, w[0], w[1], stride, generator) : new Bottleneck(inC, w[0], w[1], w[2], stride, generator));
        inC = w[step - 1];
        k += step;
      }
    });
    this.layers = this.registerModule('layers', new Sequential(...blocks));
    this.pool = this.registerModule('pool', new AdaptiveAvgPool2d(1));
    this.flatten = this.registerModule('flatten', new Flatten());
    this.fc = this.registerModule('fc', new Linear(inC, numClasses, { generator }));
    // He et al.: kaiming-normal convs (fan_out, ReLU), BN gamma 1 / beta 0.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu', generator });
    }
  }

  forward(x: Tensor): Tensor {
    return this.fc.call(this.flatten.call(this.pool.call(this.layers.call(this.stem.call(x)))));
  }

  /** forward() as a chain of stages (see forwardChain): stem, blocks, pool, flatten, fc. */
  forwardChain(): Module[] {
    return [this.stem, this.layers, this.pool, this.flatten, this.fc];
  }
}

/** [stem, then per block its convs' widths]: BasicBlocks use the stage width twice, bottlenecks (w, w, 4w). */
function stageWidths(base: number[], blocksPerStage: number[], blockKind: ResidualBlockKind = 'basic'): number[] {
  const w = [base[0]];
  blocksPerStage.forEach((n, s) => {
    for (let b = 0; b < n; b++) w.push(...(blockKind === 'basic' ? [base[s], base[s]] : [base[s], base[s], 4 * base[s]]));
  });
  return w;
}

/** Default per-layer widths of a CIFAR ResNet of depth 6n+2 (16/32/64 channels). */
export function cifarResNetWidths(depth: number): number[] {
  const n = (depth - 2) / 6;
  return stageWidths([16, 32, 64], [n, n, n]);
}

/** ResNet-20/32/56 of He et al. (2016) for 32x32 (or 28x28) inputs: depth = 6n + 2. */
export function cifarResNet(depth: number, cfg: ModelConfig, opts: BuildOptions = {}): ResNet {
  if (!((depth - 2) % 6 === 0 && depth >= 8)) throw new LowbitError(`CIFAR ResNet depth must be 6n+2 (20, 32, 56), got ${depth}`);
  const n = (depth - 2) / 6;
  const widths = checkWidths(`resnet${depth}`, cfg.widths ?? cifarResNetWidths(depth), 1 + 6 * n);
  return new ResNet(cfg.inChannels, cfg.numClasses, [n, n, n], widths, [1, 2, 2], opts.generator);
}

export const RESNET18_WIDTHS = stageWidths([64, 128, 256, 512], [2, 2, 2, 2]);

/** ResNet-18 with the small-image stem (3x3 conv, no max pool) common for CIFAR-sized inputs. */
export function resnet18(cfg: ModelConfig, opts: BuildOptions = {}): ResNet {
  const widths = checkWidths('resnet18', cfg.widths ?? RESNET18_WIDTHS, RESNET18_WIDTHS.length);
  return new ResNet(cfg.inChannels, cfg.numClasses, [2, 2, 2, 2], widths, [1, 2, 2, 2], opts.generator);
}

export const RESNET50_WIDTHS = stageWidths([64, 128, 256, 512], [3, 4, 6, 3], 'bottleneck');

/**
 * ResNet-50 (bottleneck blocks 3-4-6-3, 64..2048 channels), the auxiliary-module paper's own network, with
 * the small-image stem of resnet18 (3x3 conv, no max pool) so it runs on 28x28 and 32x32 inputs.
 */
export function resnet50(cfg: ModelConfig, opts: BuildOptions = {}): ResNet {
  const widths = checkWidths('resnet50', cfg.widths ?? RESNET50_WIDTHS, RESNET50_WIDTHS.length);
  return new ResNet(cfg.inChannels, cfg.numClasses, [3, 4, 6, 3], widths, [1, 2, 2, 2], opts.generator, 'bottleneck');
}

import { LowbitError } from '../errors.ts';
import { Conv2d, type Module } from '../nn/index.ts';
import { Bottleneck } from './bottleneck.ts';
import { BasicBlock, ResNet } from './resnet.ts';

/** One residual block seen from outside: its widths, its stride, and the module whose input is its sum. */
export interface ResidualTapPoint {
  /** Dotted name of the block in the model ('layers.3'). */
  name: string;
  inChannels: number;
  outChannels: number;
  stride: number;
  /** The block's output activation: a forward pre-hook on it receives main branch + shortcut. */
  sumTap: Module;
}

/** Where a side network can read a ResNet: the stem's output and every block's sum, in forward order. */
export interface ResidualTapPoints {
  stem: Module;
  stemChannels: number;
  blocks: ResidualTapPoint[];
}

function blockPoint(name: string, block: Module): ResidualTapPoint {
  if (block instanceof BasicBlock) {
    return { name, inChannels: block.conv1.inChannels, outChannels: block.bn2.numFeatures, stride: block.conv1.stride[0], sumTap: block.relu };
  }
  if (block instanceof Bottleneck) {
    return { name, inChannels: block.conv1.inChannels, outChannels: block.bn3.numFeatures, stride: block.conv2.stride[0], sumTap: block.relu };
  }
  throw new LowbitError(`'${name}' is a ${block.constructor.name}, not a residual block (BasicBlock or Bottleneck)`);
}

/** The tap points of a zoo ResNet (resnet20/32/56, resnet18, resnet50, any widths; float or quantized). */
export function residualTapPoints(model: Module): ResidualTapPoints {
  if (!(model instanceof ResNet)) {
    throw new LowbitError(`the auxiliary module needs a ResNet of the model zoo (resnet20/32/56, resnet18, resnet50), got ${model.constructor.name}`);
  }
  const stemConv = model.stem.children().find((m): m is Conv2d => m instanceof Conv2d);
  if (stemConv === undefined) throw new LowbitError('ResNet stem has no Conv2d');
  const names = new Map<Module, string>();
  for (const [n, m] of model.namedModules()) names.set(m, n);
  return {
    stem: model.stem,
    stemChannels: stemConv.outChannels,
    blocks: model.layers.children().map((b) => blockPoint(names.get(b) ?? '?', b)),
  };
}

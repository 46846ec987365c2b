/**
 * Emitters of the model-zoo modules whose forward() is hand-written code rather than a Sequential:
 * ResNet's BasicBlock (two convs, a shortcut and an addition) and the ResNet shell around it.
 */
import { BasicBlock, ResNet } from '../../models/index.ts';
import type { Emitter } from './emit-context.ts';
import { emitConvBn } from './emit-layers.ts';

/** relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)), as BasicBlock.forward (BN folded into the convs). */
function emitBasicBlock(m: BasicBlock, x: string, ctx: Parameters<Emitter>[2]): string {
  const name = ctx.nameOf(m) || 'block';
  const b = ctx.builder;
  const h = b.add('Relu', [emitConvBn(m.conv1, m.bn1, x, ctx)], `${name}.relu1`);
  const y = emitConvBn(m.conv2, m.bn2, h, ctx);
  const s = m.shortcut ? ctx.emit(m.shortcut, x) : x;
  return b.add('Relu', [b.add('Add', [y, s], `${name}.add`)], `${name}.relu2`);
}

/** fc(flatten(pool(layers(stem x)))), as ResNet.forward. */
function emitResNet(m: ResNet, x: string, ctx: Parameters<Emitter>[2]): string {
  let y = x;
  for (const part of [m.stem, m.layers, m.pool, m.flatten, m.fc]) y = ctx.emit(part, y);
  return y;
}

export const MODEL_EMITTERS: [abstract new (...args: never[]) => unknown, Emitter][] = [
  [BasicBlock, emitBasicBlock],
  [ResNet, emitResNet],
];

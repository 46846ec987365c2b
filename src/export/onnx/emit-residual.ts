/**
 * The residual block's graph. A BasicBlock's forward() adds two branches, which no chain of modules
 * expresses, so this emitter is the one place its export is written; everything around it (the
 * ResNet shell, the stages) is exported from the model's forward chain (emitters.ts).
 */
import { BasicBlock } from '../../models/index.ts';
import type { EmitContext, EmitterEntry } from './emit-context.ts';
import { emitConvBn } from './emit-layers.ts';

/** relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)), as BasicBlock.forward (BN folded into the convs). */
function emitBasicBlock(m: BasicBlock, x: string, ctx: EmitContext): string {
  const name = ctx.nameOf(m) || 'block';
  const b = ctx.builder;
  const h = b.add('Relu', [emitConvBn(m.conv1, m.bn1, x, ctx)], `${name}.relu1`);
  const y = emitConvBn(m.conv2, m.bn2, h, ctx);
  const s = m.shortcut ? ctx.emit(m.shortcut, x) : x;
  return b.add('Relu', [b.add('Add', [y, s], `${name}.add`)], `${name}.relu2`);
}

export const RESIDUAL_EMITTERS: EmitterEntry[] = [[BasicBlock, emitBasicBlock]];

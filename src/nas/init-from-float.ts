/**
 * Starting the supernet from a trained float network of the original widths (`nce search --init`):
 * every layer's first C_l x C_in slice gets the trained weight, every BN of a width w gets the trained
 * BN's first min(w, C_l) channels, the projection shortcuts and the classifier likewise. Channels beyond
 * the original keep their He initialization. lowbit's uniform W2A2 baseline also starts its QAT from a
 * float model, and a 2-bit supernet trained from scratch may not learn at all in a short search (a W2A2
 * ResNet-20 from scratch stays at chance on the toy task of test/nas, as the plain zoo model does).
 */
import { LowbitError } from '../errors.ts';
import type { Module } from '../nn/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import type { SearchResNet } from './supernet.ts';

const BN_KEYS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Copies a float zoo ResNet (same model name, original widths) into the supernet's slices. */
export function initFromFloat(net: SearchResNet, model: Module): void {
  const sd = model.stateDict();
  const get = (key: string): Tensor => {
    const t = sd.get(key);
    if (t === undefined) throw new LowbitError(`initFromFloat: the float model has no '${key}'; pass a float checkpoint of ${net.config.model} at its original widths`);
    return t;
  };
  const copyWeight = (dst: Tensor, src: Tensor, what: string) => {
    const [o, i] = src.shape;
    if (o > dst.shape[0] || i > dst.shape[1] || src.shape[2] !== dst.shape[2]) {
      throw new LowbitError(`initFromFloat: ${what} has shape [${src.shape.join(', ')}], which does not fit the supernet's [${dst.shape.join(', ')}]; the checkpoint must have the original widths`);
    }
    dst.narrow(0, 0, o).narrow(1, 0, i).copy_(src);
  };
  const copyBatchNorms = (owner: Module, prefix: string) => {
    for (const [name, child] of owner.namedChildren()) {
      if (!/^bn\d+$/.test(name)) continue;
      const dst = child.stateDict();
      for (const k of BN_KEYS) {
        const src = get(`${prefix}.${k}`);
        const n = Math.min(src.shape[0], dst.get(k)!.shape[0]);
        dst.get(k)!.narrow(0, 0, n).copy_(src.narrow(0, 0, n));
      }
    }
  };
  scope(() =>
    noGrad(() => {
      copyWeight(net.stem.weight, get('stem.0.weight'), 'stem.0.weight');
      copyBatchNorms(net.stem, 'stem.1');
      net.blocks.forEach((b, i) => {
        copyWeight(b.conv1.weight, get(`layers.${i}.conv1.weight`), `layers.${i}.conv1.weight`);
        copyBatchNorms(b.conv1, `layers.${i}.bn1`);
        copyWeight(b.conv2.weight, get(`layers.${i}.conv2.weight`), `layers.${i}.conv2.weight`);
        copyBatchNorms(b.conv2, `layers.${i}.bn2`);
        if (b.shortcut) {
          copyWeight(b.shortcut.weight, get(`layers.${i}.shortcut.0.weight`), `layers.${i}.shortcut.0.weight`);
          copyBatchNorms(b.shortcut, `layers.${i}.shortcut.1`);
        }
      });
      const fc = get('fc.weight');
      if (fc.shape[0] !== net.fc.weight.shape[0]) throw new LowbitError(`initFromFloat: the float model has ${fc.shape[0]} classes, the supernet ${net.fc.weight.shape[0]}`);
      net.fc.weight.narrow(1, 0, fc.shape[1]).copy_(fc);
      net.fc.bias.copy_(get('fc.bias'));
    }),
  );
}

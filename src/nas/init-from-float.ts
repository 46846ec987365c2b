/**
 * Starting the supernet from a trained float network of the original widths (`nce search --init`):
 * every layer's first C_l x C_in slice gets the trained weight, every BN of a width w gets the trained
 * BN's first min(w, C_l) channels, the projection shortcuts and the classifier likewise. Channels beyond
 * the original keep their He initialization. Each supernet class knows its zoo model's keys
 * (Supernet.initFromFloat); the copying rules are here, shared. lowbit's uniform W2A2 baseline also starts its QAT from a
 * float model, and a 2-bit supernet trained from scratch may not learn at all in a short search (a W2A2
 * ResNet-20 from scratch stays at chance on the toy task of test/nas, as the plain zoo model does).
 */
import { LowbitError } from '../errors.ts';
import type { Module } from '../nn/index.ts';
import { noGrad, scope, type Tensor } from '../tensor/index.ts';
import type { Supernet } from './supernet-base.ts';

const BN_KEYS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

/** Starts `net` from a float zoo model (same model name, original widths). */
export function initFromFloat(net: Supernet, model: Module): void {
  scope(() => noGrad(() => net.initFromFloat(model)));
}

/** A getter of the float model's tensors that names a missing key and what to pass instead. */
export function floatTensors(model: Module, supernetModel: string): (key: string) => Tensor {
  const sd = model.stateDict();
  return (key) => {
    const t = sd.get(key);
    if (t === undefined) throw new LowbitError(`initFromFloat: the float model has no '${key}'; pass a float checkpoint of ${supernetModel} at its original widths`);
    return t;
  };
}

/** Copies a trained weight [O, I, ...] into the first O rows and I columns of the supernet's larger one. */
export function copyWeightSlice(dst: Tensor, src: Tensor, what: string): void {
  const [o, i] = src.shape;
  if (o > dst.shape[0] || i > dst.shape[1] || src.shape.slice(2).join() !== dst.shape.slice(2).join()) {
    throw new LowbitError(`initFromFloat: ${what} has shape [${src.shape.join(', ')}], which does not fit the supernet's [${dst.shape.join(', ')}]; the checkpoint must have the original widths`);
  }
  dst.narrow(0, 0, o).narrow(1, 0, i).copy_(src);
}

/** Every per-width BN of `owner` (children bn<width>) gets the trained BN's first channels. */
export function copyBatchNorms(owner: Module, trained: (key: (typeof BN_KEYS)[number]) => Tensor): void {
  for (const [name, child] of owner.namedChildren()) {
    if (!/^bn\d+$/.test(name)) continue;
    const dst = child.stateDict();
    for (const k of BN_KEYS) {
      const src = trained(k);
      const n = Math.min(src.shape[0], dst.get(k)!.shape[0]);
      dst.get(k)!.narrow(0, 0, n).copy_(src.narrow(0, 0, n));
    }
  }
}

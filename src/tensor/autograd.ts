import { native, type NativeHandle } from './native.ts';
import { Tensor } from './tensor.ts';

/** Runs fn with gradient recording off (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

/** Runs fn with gradient recording on, e.g. inside a noGrad block. */
export function enableGrad<T>(fn: () => T): T {
  const prev = native.setGradEnabled(true);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

export interface GradOptions {
  gradOutputs?: Tensor[];
  retainGraph?: boolean;
  createGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. */
  allowUnused?: boolean;
}

/** d(outputs)/d(inputs) without touching .grad, like torch.autograd.grad. */
export function grad(outputs: Tensor | Tensor[], inputs: Tensor | Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const res = native.autogradGrad(
    outs.map((t) => t.handle),
    ins.map((t) => t.handle),
    opts.gradOutputs?.map((t) => t.handle),
    opts.retainGraph,
    opts.createGraph ?? false,
    opts.allowUnused ?? false,
  ) as (NativeHandle | null)[];
  return res.map((h) => (h === null ? null : new Tensor(h)));
}

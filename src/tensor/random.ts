import { native, type NativeGenerator } from './native.ts';
import { Tensor } from './tensor.ts';

/** Seeds the default generator: every later random op without an explicit generator repeats. */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

/** The default generator's state, to save in a checkpoint and restore on resume. */
export function getRngState(): Uint8Array {
  const t = new Tensor(native.defaultGeneratorState());
  const bytes = t.toTypedArray() as Uint8Array;
  t.dispose();
  return bytes;
}

export function setRngState(state: Uint8Array): void {
  const t = new Tensor(native.fromBuffer(state, [state.length], 'uint8'));
  native.defaultGeneratorSetState(t.handle);
  t.dispose();
}

/** An independent, seeded random stream (a CPU at::Generator). */
export class Generator {
  readonly handle: NativeGenerator;
  constructor(readonly seed: number) {
    this.handle = native.generatorNew(seed);
  }
  getState(): Uint8Array {
    const t = new Tensor(native.generatorState(this.handle));
    const bytes = t.toTypedArray() as Uint8Array;
    t.dispose();
    return bytes;
  }
  setState(state: Uint8Array): void {
    const t = new Tensor(native.fromBuffer(state, [state.length], 'uint8'));
    native.generatorSetState(this.handle, t.handle);
    t.dispose();
  }
}

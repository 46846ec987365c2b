import { Generator } from '../tensor/index.ts';

let scratch: Generator | undefined;

/**
 * A private generator for layers that are built only to receive another layer's tensors (a quantized
 * copy of a float layer, a folded conv): their throw-away initialization draws from this one, so
 * converting a model does not advance the default generator and change the rest of a seeded run.
 */
export function scratchGenerator(): Generator {
  scratch ??= new Generator(0);
  return scratch;
}

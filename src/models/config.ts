import { LowbitError } from '../errors.ts';
import type { Generator } from '../tensor/index.ts';

/** Plain, serializable description of a model: enough to rebuild it for a checkpoint. */
export interface ModelConfig {
  name: string;
  inChannels: number;
  numClasses: number;
  /** Input height and width; sizes the first Linear layer of models that flatten feature maps. */
  inputSize: [number, number];
  /**
   * Output width of every conv / hidden linear layer in network order (the classifier's output is
   * numClasses and is not listed). Omitted: the architecture's published widths. The channel search
   * (NCE) sets these.
   */
  widths?: number[];
}

export interface BuildOptions {
  /** Seeded initialization; the default generator otherwise. */
  generator?: Generator;
}

export function checkWidths(name: string, widths: number[], expected: number): number[] {
  if (widths.length !== expected || !widths.every((w) => Number.isInteger(w) && w > 0)) {
    throw new LowbitError(`${name}: widths must be ${expected} positive integers, got [${widths.join(', ')}]`);
  }
  return widths;
}

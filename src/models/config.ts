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

/**
 * Why `cfg` cannot describe a model, or null: every size a positive integer. Checked before any layer
 * is built, so a bad size reads as a field of the config, not as "Linear(84, 0)".
 */
export function modelConfigProblem(cfg: ModelConfig): string | null {
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  const show = (v: unknown) => JSON.stringify(v) ?? String(v);
  if (!positive(cfg.inChannels)) return `inChannels is ${show(cfg.inChannels)}, not a positive integer`;
  if (!positive(cfg.numClasses)) return `numClasses is ${show(cfg.numClasses)}, not a positive integer`;
  if (!Array.isArray(cfg.inputSize) || cfg.inputSize.length !== 2 || !cfg.inputSize.every(positive)) return `inputSize is ${show(cfg.inputSize)}, not [height, width] in positive integers`;
  if (cfg.widths !== undefined && (!Array.isArray(cfg.widths) || !cfg.widths.every(positive))) return `widths is ${show(cfg.widths)}, not a list of positive integers`;
  return null;
}

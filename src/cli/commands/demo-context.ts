/** What every demo stage shares: where it writes, the float model it starts from, its budget and seed. */
import type { DemoBudget } from './demo-stages.ts';

export interface DemoContext {
  /** The demo directory (runs/demo): one run directory per run, stages/ for the stage records. */
  out: string;
  /** The float ResNet-20 checkpoint every stage starts from. */
  floatCheckpoint: string;
  budget: DemoBudget;
  seed: number;
}

/** The data set of the demo (the committed float model was trained on it). */
export const DEMO_DATASET = 'fashion-mnist';

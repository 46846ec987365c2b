/**
 * One training-throughput case, as plain JSON that both sides read: the lowbit child
 * (lowbit-train-child.ts) and the PyTorch child (bench/train_throughput_torch.py) build the same
 * ResNet-20, batch, optimizer and (for QAT) quantizers from it.
 */
import type { QuantConfig } from '../../src/quant/index.ts';

export interface TrainCase {
  inChannels: number;
  /** Square input: inputSize x inputSize. */
  inputSize: number;
  numClasses: number;
  batch: number;
  /**
   * 'synthetic': one random batch made once and fed at every step, so only the model and optimizer are
   * timed. 'fashion-mnist': the real training set through lowbit's DataLoader (lowbit side only).
   */
  data: 'synthetic' | 'fashion-mnist';
  /** null: float training; else the fake-quant conversion (the PyTorch side implements SAWB + PACT only). */
  quant: QuantConfig | null;
  /** SGD for every parameter (PACT's alphas included, as in the issue 5 anchor). */
  optimizer: { lr: number; momentum: number; weightDecay: number; nesterov: boolean };
  seed: number;
  /**
   * lowbit side only: train with the full-precision auxiliary module attached (src/qat/aux-module.ts):
   * L = CE(LP) + CE(aux), the module in the same SGD optimizer.
   */
  aux?: boolean;
}

/** SGD Nesterov, momentum 0.9, weight decay 5e-4: the float recipe of issue 4 (lr 0.1) and QAT's (lr 0.01). */
export const sgdRecipe = (lr: number): TrainCase['optimizer'] => ({ lr, momentum: 0.9, weightDecay: 5e-4, nesterov: true });

/** Issue 5's W2A2 baseline: SAWB 2-bit weights, PACT 2-bit inputs (alpha 1.0), stem conv and FC at 8 bits. */
export const W2A2_SAWB_PACT: QuantConfig = {
  weight: { kind: 'sawb', bits: 2 },
  act: { kind: 'pact', bits: 2, alphaInit: 1.0 },
  firstLast: { bits: 8 },
};

export const caseLabel = (c: TrainCase): string => `${c.inputSize}x${c.inputSize}x${c.inChannels} b${c.batch}`;

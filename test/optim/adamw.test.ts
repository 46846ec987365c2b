import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, AdamW, type AdamOptions } from '../../src/optim/index.ts';
import { fromArray } from '../../src/tensor/index.ts';
import {
  backwardObjective,
  maxAbsDiff,
  naiveAdamState,
  naiveAdamStep,
  objectiveGrad,
  param,
  randomObjective,
} from './naive-rules.ts';

const START = [0.5, -1.2, 0.8, 0.3, -0.4, 1.1];

function compare(options: AdamOptions, steps: number): void {
  const o = randomObjective(START.length, 17);
  const p = param(START, [2, 3]);
  const opt = new AdamW([p], options);
  const ref = [...START];
  const state = naiveAdamState(START.length);
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  const hyper = { weightDecay: 1e-2, ...options, lr: options.lr ?? 1e-3, beta1, beta2, decoupled: true };
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    backwardObjective(p, o);
    opt.step();
    naiveAdamStep(ref, objectiveGrad(ref, o), hyper, state);
    assert.ok(maxAbsDiff(p.toFloat64Array(), ref) < 1e-12, `step ${s}: ${p.toFloat64Array()} vs ${ref}`);
  }
  opt.dispose();
}

test('AdamW defaults (weightDecay 1e-2): 6 steps match the naive decoupled rule', () => compare({}, 6));
test('AdamW with strong decoupled decay: 6 steps match', () => compare({ lr: 0.05, weightDecay: 0.5 }, 6));
test('AdamW amsgrad: 6 steps match', () => compare({ lr: 0.05, weightDecay: 0.1, amsgrad: true, betas: [0.7, 0.9] }, 6));

test('AdamW decays a parameter with zero gradient by lr * weightDecay; Adam with L2 moves it by ~lr', () => {
  const w = param([2, -4]);
  const adamw = new AdamW([w], { lr: 0.1, weightDecay: 0.5 });
  w.grad = fromArray(Float64Array.from([0, 0]));
  adamw.step();
  // The moments stay zero, so only the decay p * (1 - 0.05) acts.
  assert.ok(maxAbsDiff(w.toFloat64Array(), [1.9, -3.8]) < 1e-15, `${w.toFloat64Array()}`);

  const v = param([2, -4]);
  const adam = new Adam([v], { lr: 0.1, weightDecay: 0.5 });
  v.grad = fromArray(Float64Array.from([0, 0]));
  adam.step();
  // The L2 term becomes the gradient and is normalized: a step of lr against its sign.
  assert.ok(maxAbsDiff(v.toFloat64Array(), [1.9, -3.9]) < 1e-7, `${v.toFloat64Array()}`);
  adamw.dispose();
  adam.dispose();
});

test('AdamW parameter groups: no decay on one group', () => {
  const w = param([1, 1]);
  const bias = param([1]);
  const opt = new AdamW([{ params: [w] }, { params: [bias], weightDecay: 0 }], { lr: 0.1, weightDecay: 0.2 });
  w.grad = fromArray(Float64Array.from([0, 0]));
  bias.grad = fromArray(Float64Array.from([0]));
  opt.step();
  assert.ok(maxAbsDiff(w.toFloat64Array(), [0.98, 0.98]) < 1e-15);
  assert.deepEqual(Array.from(bias.toFloat64Array()), [1]);
  opt.dispose();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, type AdamOptions } from '../../src/optim/index.ts';
import { fromArray, type Tensor } from '../../src/tensor/index.ts';
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
  const o = randomObjective(START.length, 5);
  const p = param(START, [3, 2]);
  const opt = new Adam([p], options);
  const ref = [...START];
  const state = naiveAdamState(START.length);
  const [beta1, beta2] = options.betas ?? [0.9, 0.999];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    backwardObjective(p, o);
    opt.step();
    naiveAdamStep(ref, objectiveGrad(ref, o), { ...options, lr: options.lr ?? 1e-3, beta1, beta2 }, state);
    assert.ok(maxAbsDiff(p.toFloat64Array(), ref) < 1e-12, `step ${s}: ${p.toFloat64Array()} vs ${ref}`);
  }
  assert.ok(maxAbsDiff(p.toFloat64Array(), START) > 1e-3, 'the parameters moved');
  assert.equal(opt.stateDict().scalars['state.0.step'], steps);
  opt.dispose();
}

test('Adam defaults: 6 steps match the naive rule (bias-corrected moments)', () => compare({}, 6));
test('Adam with lr, betas and eps: 6 steps match', () => compare({ lr: 0.05, betas: [0.8, 0.95], eps: 1e-6 }, 6));
test('Adam with L2 weight decay: 6 steps match', () => compare({ lr: 0.05, weightDecay: 0.1 }, 6));
test('Adam amsgrad: 8 steps match', () => compare({ lr: 0.1, betas: [0.5, 0.9], amsgrad: true }, 8));

test('Adam first step moves each coordinate by about lr against its gradient sign (bias correction)', () => {
  const p = param([1, 1, 1]);
  const opt = new Adam([p], { lr: 0.01, eps: 0 });
  p.grad = fromArray(Float64Array.from([3, -0.001, 50]));
  opt.step();
  // m_hat = g and v_hat = g^2 after bias correction, so the step is exactly lr * sign(g).
  assert.ok(maxAbsDiff(p.toFloat64Array(), [0.99, 1.01, 0.99]) < 1e-12, `${p.toFloat64Array()}`);
  opt.dispose();
});

test('Adam skips parameters without a gradient; each keeps its own step count', () => {
  const a = param([1, 2]);
  const b = param([3]);
  const opt = new Adam([a, b], { lr: 0.1 });
  a.grad = fromArray(Float64Array.from([1, 1]));
  opt.step();
  assert.deepEqual(Array.from(b.toFloat64Array()), [3], 'b has no gradient and stays');
  assert.deepEqual(Object.keys(opt.stateDict().state).sort(), ['state.0.exp_avg', 'state.0.exp_avg_sq']);
  b.grad = fromArray(Float64Array.from([2]));
  opt.step();
  const d = opt.stateDict();
  assert.equal(d.scalars['state.0.step'], 2);
  assert.equal(d.scalars['state.1.step'], 1);
  // b's first step is bias-corrected as a first step: exactly lr * sign(g) up to eps.
  assert.ok(Math.abs(b.toFloat64Array()[0] - 2.9) < 1e-7);
  opt.dispose();
});

test('Adam state dict round trip continues the same trajectory, step counts included', () => {
  const o = randomObjective(START.length, 13);
  const options: AdamOptions = { lr: 0.05, amsgrad: true, weightDecay: 1e-2 };
  const run = (p: Tensor, opt: Adam, steps: number) => {
    for (let s = 0; s < steps; s++) {
      opt.zeroGrad();
      backwardObjective(p, o);
      opt.step();
    }
  };
  const straight = param(START);
  const straightOpt = new Adam([straight], options);
  run(straight, straightOpt, 7);

  const first = param(START);
  const firstOpt = new Adam([first], options);
  run(first, firstOpt, 4);
  const dict = firstOpt.stateDict();
  assert.deepEqual(Object.keys(dict.state).sort(), ['state.0.exp_avg', 'state.0.exp_avg_sq', 'state.0.max_exp_avg_sq']);
  const plain = JSON.parse(JSON.stringify({ groups: dict.groups, scalars: dict.scalars }));
  assert.deepEqual(plain.groups[0], { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: true, params: [0] });
  const resumed = fromArray(first.toFloat64Array(), [START.length], { requiresGrad: true });
  const resumedOpt = new Adam([resumed]);
  resumedOpt.loadStateDict({ ...plain, state: dict.state });
  firstOpt.dispose(); // frees dict.state: the resumed optimizer must hold copies
  run(resumed, resumedOpt, 3);
  assert.deepEqual(Array.from(resumed.toFloat64Array()), Array.from(straight.toFloat64Array()));
  straightOpt.dispose();
  resumedOpt.dispose();
});

test('Adam minimizes an ill-conditioned quadratic (condition number 1e4) below 1e-6', () => {
  const scales = [1e-2, 0.1, 1, 10, 100];
  const target = [1, -2, 0.5, 3, -1];
  const p = param([0, 0, 0, 0, 0]);
  const opt = new Adam([p], { lr: 0.05 });
  const t = fromArray(Float64Array.from(target));
  const s = fromArray(Float64Array.from(scales));
  const loss = (): number => {
    const d = p.sub(t);
    const l = d.mul(d).mul(s).sum().mul(0.5);
    l.backward();
    const v = l.item();
    for (const x of [d, l]) x.dispose();
    return v;
  };
  let last = Infinity;
  for (let i = 0; i < 1500; i++) {
    opt.zeroGrad();
    last = loss();
    opt.step(); // lr decays so that Adam settles instead of oscillating at scale lr
    opt.paramGroups[0].lr = 0.05 * 0.996 ** i;
  }
  assert.ok(last < 1e-6, `final loss ${last}`);
  assert.ok(maxAbsDiff(p.toFloat64Array(), target) < 2e-2);
  opt.dispose();
});

test('Adam rejects betas outside [0, 1) and unknown hyper-parameters', () => {
  const p = param([1]);
  assert.throws(() => new Adam([p], { betas: [0.9, 1] }), /betas must be two numbers in \[0, 1\)/);
  assert.throws(() => new Adam([p], { eps: -1 }), /eps must be >= 0/);
  assert.throws(() => new Adam([{ params: [p], weight_decay: 0.1 } as never]), /unknown hyper-parameter 'weight_decay'/);
});

test('Adam on float32 parameters keeps float32 state and tracks the float64 rule to float32 precision', () => {
  const o = randomObjective(START.length, 5);
  const p = fromArray(Float32Array.from(START), [START.length], { requiresGrad: true });
  const opt = new Adam([p], { lr: 0.05, amsgrad: true });
  const ref = Array.from(Float32Array.from(START));
  const state = naiveAdamState(START.length);
  for (let s = 0; s < 5; s++) {
    opt.zeroGrad();
    const values = Array.from(p.toFloat32Array());
    p.grad = fromArray(Float32Array.from(objectiveGrad(values, o)));
    opt.step();
    naiveAdamStep(ref, objectiveGrad(ref, o), { lr: 0.05, amsgrad: true }, state);
  }
  assert.equal(p.dtype, 'float32');
  assert.equal(opt.stateDict().state['state.0.exp_avg_sq'].dtype, 'float32');
  assert.ok(maxAbsDiff(p.toFloat32Array(), ref) < 1e-5, `${p.toFloat32Array()} vs ${ref}`);
  opt.dispose();
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SGD, type SGDOptions } from '../../src/optim/index.ts';
import { fromArray, manualSeed, randn, scope, zeros, type Tensor } from '../../src/tensor/index.ts';
import {
  backwardObjective,
  maxAbsDiff,
  naiveSgdStep,
  objectiveGrad,
  param,
  randomObjective,
  type NaiveSgdState,
} from './naive-rules.ts';

const START = [0.5, -1.2, 0.8, 0.3, -0.4, 1.1];

/** Runs `steps` SGD steps in lowbit and in the naive reference from the same start; returns both trajectories. */
function trajectories(options: SGDOptions, steps: number): { lowbit: number[][]; naive: number[][] } {
  const o = randomObjective(START.length, 7);
  const p = param(START, [2, 3]);
  const opt = new SGD([p], options);
  const ref = [...START];
  const refState: NaiveSgdState = {};
  const lowbit: number[][] = [];
  const naive: number[][] = [];
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad();
    backwardObjective(p, o);
    opt.step();
    naiveSgdStep(ref, objectiveGrad(ref, o), options, refState);
    lowbit.push(Array.from(p.toFloat64Array()));
    naive.push([...ref]);
  }
  opt.dispose();
  return { lowbit, naive };
}

for (const [name, options] of [
  ['plain', { lr: 0.1 }],
  ['momentum', { lr: 0.05, momentum: 0.9 }],
  ['momentum + dampening', { lr: 0.05, momentum: 0.8, dampening: 0.3 }],
  ['nesterov', { lr: 0.05, momentum: 0.9, nesterov: true }],
  ['weight decay', { lr: 0.1, weightDecay: 0.05 }],
  ['nesterov + weight decay', { lr: 0.05, momentum: 0.7, nesterov: true, weightDecay: 1e-2 }],
] as [string, SGDOptions][]) {
  test(`SGD ${name}: 5 steps match the naive PyTorch rule`, () => {
    const { lowbit, naive } = trajectories(options, 5);
    for (let s = 0; s < 5; s++) assert.ok(maxAbsDiff(lowbit[s], naive[s]) < 1e-12, `step ${s}: ${lowbit[s]} vs ${naive[s]}`);
    // The trajectory moved: a test of a no-op would pass the comparison above only if the reference did nothing too.
    assert.ok(maxAbsDiff(lowbit[4], START) > 1e-2);
  });
}

test('SGD momentum buffer starts at the first gradient, undamped', () => {
  const p = param([1, 2]);
  const opt = new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.5 });
  p.grad = fromArray(Float64Array.from([1, -1]));
  opt.step();
  assert.deepEqual(Array.from(p.toFloat64Array()), [1 - 0.1, 2 + 0.1]);
  p.grad = fromArray(Float64Array.from([1, -1]));
  opt.step();
  // buf = 0.9 * 1 + 0.5 * 1 = 1.4
  assert.ok(maxAbsDiff(p.toFloat64Array(), [0.9 - 0.14, 2.1 + 0.14]) < 1e-15);
  assert.deepEqual(Array.from(opt.stateDict().state['state.0.momentum_buffer'].toFloat64Array()), [1.4, -1.4]);
  opt.dispose();
});

test('SGD parameter groups use their own lr and weight decay', () => {
  const o = randomObjective(4, 3);
  const oa = { a: o.a.slice(0, 2), b: o.b.slice(0, 2), c: o.c.slice(0, 2) };
  const ob = { a: o.a.slice(2), b: o.b.slice(2), c: o.c.slice(2) };
  const pa = param([0.3, -0.7]);
  const pb = param([1.0, 0.2]);
  const opt = new SGD([{ params: [pa] }, { params: [pb], lr: 0.01, weightDecay: 0.1 }], { lr: 0.2, momentum: 0.5 });
  assert.equal(opt.paramGroups[0].lr, 0.2);
  assert.equal(opt.paramGroups[1].lr, 0.01);
  assert.equal(opt.paramGroups[1].momentum, 0.5);
  const ra = [0.3, -0.7];
  const rb = [1.0, 0.2];
  const sa: NaiveSgdState = {};
  const sb: NaiveSgdState = {};
  for (let s = 0; s < 4; s++) {
    opt.zeroGrad();
    backwardObjective(pa, oa);
    backwardObjective(pb, ob);
    opt.step();
    naiveSgdStep(ra, objectiveGrad(ra, oa), { lr: 0.2, momentum: 0.5 }, sa);
    naiveSgdStep(rb, objectiveGrad(rb, ob), { lr: 0.01, momentum: 0.5, weightDecay: 0.1 }, sb);
  }
  assert.ok(maxAbsDiff(pa.toFloat64Array(), ra) < 1e-12);
  assert.ok(maxAbsDiff(pb.toFloat64Array(), rb) < 1e-12);
  opt.dispose();
});

test('SGD rejects Nesterov without momentum or with dampening, and a missing lr', () => {
  const p = param([1]);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov momentum needs momentum > 0/);
  assert.throws(() => new SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /dampening = 0/);
  assert.throws(() => new SGD([p], {} as SGDOptions), /lr is required/);
  assert.throws(() => new SGD([p], { lr: -1 }), /lr must be >= 0/);
});

test('SGD state dict round trip (through JSON and float arrays) continues the same trajectory', () => {
  const o = randomObjective(START.length, 11);
  const options: SGDOptions = { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 };
  const run = (p: Tensor, opt: SGD, steps: number) => {
    for (let s = 0; s < steps; s++) {
      opt.zeroGrad();
      backwardObjective(p, o);
      opt.step();
    }
  };
  const straight = param(START, [2, 3]);
  const straightOpt = new SGD([straight], options);
  run(straight, straightOpt, 6);

  const first = param(START, [2, 3]);
  const firstOpt = new SGD([first], options);
  run(first, firstOpt, 3);
  // What a checkpoint would write: JSON for the plain parts, raw values for the tensors.
  const dict = firstOpt.stateDict();
  const json = JSON.stringify({ groups: dict.groups, scalars: dict.scalars });
  const saved = Object.entries(dict.state).map(([k, t]) => [k, t.toFloat64Array(), t.shape] as const);
  const savedParam = first.toFloat64Array();
  firstOpt.dispose();

  const resumed = fromArray(savedParam, [2, 3], { requiresGrad: true });
  const resumedOpt = new SGD([resumed], { lr: 999 });
  const plain = JSON.parse(json);
  const state = Object.fromEntries(saved.map(([k, v, shape]) => [k, fromArray(v, shape)]));
  resumedOpt.loadStateDict({ ...plain, state });
  for (const t of Object.values(state)) t.dispose(); // the optimizer copied them
  assert.equal(resumedOpt.paramGroups[0].lr, 0.05);
  assert.equal(resumedOpt.paramGroups[0].nesterov, true);
  run(resumed, resumedOpt, 3);
  assert.deepEqual(Array.from(resumed.toFloat64Array()), Array.from(straight.toFloat64Array()));
  straightOpt.dispose();
  resumedOpt.dispose();
});

test('SGD with momentum fits a logistic regression (loss below 0.1 from 0.69)', () => {
  manualSeed(0);
  const n = 256;
  const { x, y } = scope(() => {
    const x = randn([n, 2]);
    // Labels from a known separating direction with a margin, so a low loss is reachable.
    const y = x.matmul(fromArray(Float32Array.from([2, -1]), [2, 1])).add(0.5).gt(0).float();
    return { x, y };
  });
  const w = zeros([2, 1], { requiresGrad: true });
  const b = zeros([1], { requiresGrad: true });
  const opt = new SGD([w, b], { lr: 0.5, momentum: 0.9 });
  const bce = (): number => {
    return scope(() => {
      const z = x.matmul(w).add(b);
      // Binary cross-entropy with logits: log(1 + e^z) - y z.
      const loss = z.exp().add(1).log().sub(y.mul(z)).mean();
      loss.backward();
      return loss.item();
    });
  };
  let first = NaN;
  let last = NaN;
  for (let s = 0; s < 100; s++) {
    opt.zeroGrad();
    last = bce();
    if (s === 0) first = last;
    opt.step();
  }
  assert.ok(Math.abs(first - Math.log(2)) < 1e-6, `initial loss ${first}`);
  assert.ok(last < 0.1, `final loss ${last}`);
  const direction = w.toFloat32Array();
  assert.ok(direction[0] > 0 && direction[1] < 0, `learned direction ${direction}`);
  opt.dispose();
});

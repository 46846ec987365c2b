import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CosineAnnealingLR, LinearLR, MultiStepLR, SGD, StepLR, type LRScheduler } from '../../src/optim/index.ts';
import { param } from './naive-rules.ts';

const sgd = (lrs: number[]) => new SGD(lrs.map((lr) => ({ params: [param([0])], lr })), { lr: 1 });

/** The lr of every group after construction and after each of `steps` further step() calls. */
function trace(s: LRScheduler, steps: number): number[][] {
  const out = [s.getLastLr()];
  for (let i = 0; i < steps; i++) {
    s.step();
    out.push(s.getLastLr());
    assert.deepEqual(out[out.length - 1], s.optimizer.paramGroups.map((g) => g.lr), 'getLastLr() is what the groups hold');
  }
  return out;
}

/**
 * PyTorch's recursive ("chainable") get_lr forms, transcribed from torch/optim/lr_scheduler.py: each
 * derives the new lr from the previous one. The closed forms under test must agree with them.
 */
function chained(base: number, epochs: number, next: (lr: number, epoch: number) => number): number[] {
  const lrs: number[] = [];
  let lr = base;
  for (let e = 0; e <= epochs; e++) {
    lr = next(lr, e);
    lrs.push(lr);
  }
  return lrs;
}

function close(actual: number[], expected: number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `epoch ${i}: ${a} vs ${expected[i]}`));
}

test('StepLR: lr * gamma^floor(epoch / stepSize), per group from its own base', () => {
  const opt = sgd([0.1, 1]);
  const lrs = trace(new StepLR(opt, { stepSize: 3, gamma: 0.5 }), 9);
  close(lrs.map((l) => l[0]), [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]);
  close(lrs.map((l) => l[1]), [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]);
  close(
    lrs.map((l) => l[1]),
    chained(1, 9, (lr, e) => (e === 0 || e % 3 !== 0 ? lr : lr * 0.5)),
  );
});

test('MultiStepLR: gamma at each milestone, twice for a repeated one, unsorted input accepted', () => {
  const opt = sgd([2]);
  const lrs = trace(new MultiStepLR(opt, { milestones: [5, 2, 5], gamma: 0.1 }), 7).map((l) => l[0]);
  close(lrs, [2, 2, 0.2, 0.2, 0.2, 0.002, 0.002, 0.002]);
  const counts = new Map([
    [2, 1],
    [5, 2],
  ]);
  close(lrs, chained(2, 7, (lr, e) => lr * 0.1 ** (counts.get(e) ?? 0)));
});

test('CosineAnnealingLR: closed form with etaMin, equal to PyTorch recursive form over two periods', () => {
  const base = 0.4;
  const etaMin = 0.01;
  const tMax = 6;
  const lrs = trace(new CosineAnnealingLR(sgd([base]), { tMax, etaMin }), 2 * tMax + 3).map((l) => l[0]);
  // Hand values: the start, the middle of the half cosine, the bottom.
  close([lrs[0], lrs[3], lrs[6]], [base, etaMin + (base - etaMin) / 2, etaMin]);
  close(
    lrs,
    chained(base, 2 * tMax + 3, (lr, e) => {
      if (e === 0) return lr;
      if ((e - 1 - tMax) % (2 * tMax) === 0) return lr + ((base - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
      return ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (lr - etaMin) + etaMin;
    }),
    1e-10,
  );
});

test('LinearLR: ramps the factor from startFactor to endFactor over totalIters, then holds', () => {
  const lrs = trace(new LinearLR(sgd([0.3]), { startFactor: 0.25, endFactor: 1, totalIters: 3 }), 5).map((l) => l[0]);
  close(lrs, [0.075, 0.15, 0.225, 0.3, 0.3, 0.3]);
  const [s, en, n] = [0.25, 1, 3];
  close(
    lrs,
    chained(0.3, 5, (lr, e) => (e === 0 ? lr * s : e > n ? lr : lr * (1 + (en - s) / (n * s + (e - 1) * (en - s))))),
  );
  // PyTorch's defaults: startFactor 1/3 over 5 iterations.
  const d = trace(new LinearLR(sgd([0.3])), 5).map((l) => l[0]);
  close([d[0], d[5]], [0.1, 0.3]);
});

test('the first scheduler records initialLr; the base stays the initial lr under a second scheduler', () => {
  const opt = sgd([0.2]);
  new StepLR(opt, { stepSize: 1, gamma: 0.5 }).step(); // lr is now 0.1
  assert.equal(opt.paramGroups[0].initialLr, 0.2);
  const cosine = new CosineAnnealingLR(opt, { tMax: 4 });
  assert.deepEqual(cosine.baseLrs, [0.2]);
  assert.equal(cosine.getLastLr()[0], 0.2);
});

test('scheduler state dict resumes the same schedule (with the optimizer state dict)', () => {
  const straightOpt = sgd([0.5, 0.05]);
  const straight = new CosineAnnealingLR(straightOpt, { tMax: 10, etaMin: 1e-3 });
  const expected = trace(straight, 8);

  const opt = sgd([0.5, 0.05]);
  const s = new CosineAnnealingLR(opt, { tMax: 10, etaMin: 1e-3 });
  for (let i = 0; i < 3; i++) s.step();
  const saved = JSON.parse(JSON.stringify({ optimizer: { ...opt.stateDict(), state: {} }, scheduler: s.stateDict() }));
  assert.equal(saved.scheduler.lastEpoch, 3);

  // Resume in a fresh process: build both as at the start, then load both.
  const opt2 = sgd([0.5, 0.05]);
  const s2 = new CosineAnnealingLR(opt2, { tMax: 10, etaMin: 1e-3 });
  opt2.loadStateDict({ ...saved.optimizer, state: {} });
  s2.loadStateDict(saved.scheduler);
  assert.deepEqual(s2.getLastLr(), expected[3]);
  assert.deepEqual(opt2.paramGroups.map((g) => g.lr), expected[3]);
  const rest = [];
  for (let i = 0; i < 5; i++) {
    s2.step();
    rest.push(s2.getLastLr());
  }
  assert.deepEqual(rest, expected.slice(4));
  assert.throws(() => new StepLR(opt2, { stepSize: 2 }).loadStateDict(saved.scheduler), /saved from a CosineAnnealingLR/);
});

test('resuming with lastEpoch needs initialLr in the groups, then continues in closed form', () => {
  assert.throws(() => new StepLR(sgd([1]), { stepSize: 2, lastEpoch: 4 }), /no initialLr/);
  const opt = sgd([1]);
  opt.paramGroups[0].initialLr = 0.8;
  const s = new StepLR(opt, { stepSize: 2, gamma: 0.5, lastEpoch: 4 });
  assert.equal(s.lastEpoch, 5);
  assert.deepEqual(s.getLastLr(), [0.2]);
});

test('bad schedule settings are refused', () => {
  assert.throws(() => new StepLR(sgd([1]), { stepSize: 0 }), /stepSize must be a positive integer/);
  assert.throws(() => new CosineAnnealingLR(sgd([1]), { tMax: 2.5 }), /tMax must be a positive integer/);
  assert.throws(() => new MultiStepLR(sgd([1]), { milestones: [-1] }), /non-negative integers/);
  assert.throws(() => new LinearLR(sgd([1]), { startFactor: 0 }), /startFactor must be in \(0, 1\]/);
});

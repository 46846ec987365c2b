import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CosineAnnealingLR, LinearLR, LinearWarmup, SequentialLR, SGD, StepLR } from '../../src/optim/index.ts';
import { param } from './naive-rules.ts';

const sgd = (lr: number) => new SGD([param([0])], { lr });

function run(step: () => void, read: () => number, steps: number): number[] {
  const out = [read()];
  for (let i = 0; i < steps; i++) {
    step();
    out.push(read());
  }
  return out;
}

function close(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) < 1e-12, `epoch ${i}: ${a} vs ${expected[i]}`));
}

test('SequentialLR: linear warm-up for 3 epochs, then cosine from its own epoch 0', () => {
  const opt = sgd(0.8);
  const warm = new LinearLR(opt, { startFactor: 0.25, totalIters: 3 });
  const cosine = new CosineAnnealingLR(opt, { tMax: 4 });
  const s = new SequentialLR(opt, { schedulers: [warm, cosine], milestones: [3] });
  const lrs = run(() => s.step(), () => opt.paramGroups[0].lr, 8);
  // Warm-up 0.2, 0.4, 0.6; at the milestone the cosine restarts at 0.8 and reaches 0 four epochs later.
  const c = (e: number) => (0.8 * (1 + Math.cos((Math.PI * e) / 4))) / 2;
  close(lrs, [0.2, 0.4, 0.6, c(0), c(1), c(2), c(3), c(4), c(5)]);
  assert.deepEqual(s.getLastLr(), [lrs[8]]);
});

test('SequentialLR with three phases and a state dict resume', () => {
  const build = () => {
    const opt = sgd(1);
    const phases = [new LinearLR(opt, { startFactor: 0.5, totalIters: 2 }), new StepLR(opt, { stepSize: 2, gamma: 0.5 }), new LinearLR(opt, { startFactor: 0.1, endFactor: 0.1, totalIters: 1 })];
    return { opt, s: new SequentialLR(opt, { schedulers: phases, milestones: [2, 6] }) };
  };
  const a = build();
  const lrs = run(() => a.s.step(), () => a.opt.paramGroups[0].lr, 8);
  close(lrs, [0.5, 0.75, 1, 1, 0.5, 0.5, 0.1, 0.1, 0.1]);

  const b = build();
  for (let i = 0; i < 4; i++) b.s.step();
  const saved = JSON.parse(JSON.stringify({ o: { ...b.opt.stateDict(), state: {} }, s: b.s.stateDict() }));
  const c = build();
  c.opt.loadStateDict({ ...saved.o, state: {} });
  c.s.loadStateDict(saved.s);
  close(run(() => c.s.step(), () => c.opt.paramGroups[0].lr, 4), lrs.slice(4));
});

test('SequentialLR refuses mismatched milestones and foreign schedulers', () => {
  const opt = sgd(1);
  const one = new StepLR(opt, { stepSize: 1 });
  assert.throws(() => new SequentialLR(opt, { schedulers: [one, one], milestones: [] }), /one milestone fewer/);
  assert.throws(() => new SequentialLR(opt, { schedulers: [one, one, one], milestones: [3, 3] }), /increasing positive integers/);
  assert.throws(() => new SequentialLR(opt, { schedulers: [new StepLR(sgd(1), { stepSize: 1 })], milestones: [] }), /another optimizer/);
});

test('LinearWarmup gives the same rates as SequentialLR(LinearLR, after)', () => {
  const optA = sgd(0.5);
  const warmup = new LinearWarmup(optA, { warmupEpochs: 4, startFactor: 0.2, after: new CosineAnnealingLR(optA, { tMax: 6, etaMin: 0.01 }) });
  const optB = sgd(0.5);
  const cosine = new CosineAnnealingLR(optB, { tMax: 6, etaMin: 0.01 });
  const seq = new SequentialLR(optB, {
    schedulers: [new LinearLR(optB, { startFactor: 0.2, endFactor: 1, totalIters: 4 }), cosine],
    milestones: [4],
  });
  const a = run(() => warmup.step(), () => optA.paramGroups[0].lr, 12);
  const b = run(() => seq.step(), () => optB.paramGroups[0].lr, 12);
  close(a, b);
  close(a.slice(0, 5), [0.1, 0.2, 0.3, 0.4, 0.5]);
});

test('LinearWarmup without a following schedule holds the base lr', () => {
  const opt = sgd(0.3);
  const w = new LinearWarmup(opt, { warmupEpochs: 2 });
  close(run(() => w.step(), () => opt.paramGroups[0].lr, 4), [0.03, 0.165, 0.3, 0.3, 0.3]);
  assert.throws(() => new LinearWarmup(opt, { warmupEpochs: 0 }), /positive integer/);
});

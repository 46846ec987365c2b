// Optimizers and schedules from plain configs: the right class with the config's hyper-parameters,
// per-group overrides, and the schedules' learning rates against their closed forms computed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adam, AdamW, makeOptimizer, makeScheduler, SGD } from '../../src/optim/index.ts';
import { LowbitError } from '../../src/errors.ts';
import { zeros } from '../../src/tensor/index.ts';

const hyper = (g: unknown) => g as Record<string, unknown>;

test('makeOptimizer builds the named optimizer with the config and per-group overrides', () => {
  const p = [zeros([2], { requiresGrad: true }), zeros([3], { requiresGrad: true })];
  const sgd = makeOptimizer([{ params: [p[0]] }, { params: [p[1]], weightDecay: 0 }], { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
  assert.ok(sgd instanceof SGD);
  assert.deepEqual(
    sgd.paramGroups.map((g) => [hyper(g).lr, hyper(g).momentum, hyper(g).nesterov, hyper(g).weightDecay]),
    [
      [0.1, 0.9, true, 5e-4],
      [0.1, 0.9, true, 0],
    ],
  );
  const plain = makeOptimizer(p, { name: 'sgd', lr: 0.2 });
  assert.deepEqual([hyper(plain.paramGroups[0]).momentum, hyper(plain.paramGroups[0]).nesterov, hyper(plain.paramGroups[0]).weightDecay], [0, false, 0]);
  const adam = makeOptimizer(p, { name: 'adam', lr: 1e-3, weightDecay: 1e-4 });
  assert.ok(adam instanceof Adam && !(adam instanceof AdamW));
  assert.equal(hyper(adam.paramGroups[0]).weightDecay, 1e-4);
  assert.ok(makeOptimizer(p, { name: 'adamw', lr: 1e-3 }) instanceof AdamW);
  assert.throws(() => makeOptimizer(p, { name: 'sgd', lr: 0 }), (e: Error) => e instanceof LowbitError && /OptimizerConfig\.lr must be a positive number/.test(e.message));
  assert.throws(() => makeOptimizer(p, { name: 'rmsprop' as 'sgd', lr: 1 }), /OptimizerConfig\.name 'rmsprop'/);
});

test('makeScheduler: cosine, multistep at 1/2 and 3/4 of the run, constant = none', () => {
  const epochs = 8;
  const lrs = (schedule: 'cosine' | 'multistep') => {
    const opt = makeOptimizer([zeros([1], { requiresGrad: true })], { name: 'sgd', lr: 0.1 });
    const s = makeScheduler(opt, schedule, epochs)!;
    const out: number[] = [];
    for (let e = 0; e < epochs; e++) {
      out.push(opt.paramGroups[0].lr);
      s.step();
    }
    return out;
  };
  lrs('cosine').forEach((lr, e) => assert.ok(Math.abs(lr - 0.05 * (1 + Math.cos((Math.PI * e) / epochs))) < 1e-15, `cosine epoch ${e}`));
  lrs('multistep').forEach((lr, e) => assert.ok(Math.abs(lr - (e < 4 ? 0.1 : e < 6 ? 0.01 : 0.001)) < 1e-15, `multistep epoch ${e}: ${lr}`));
  assert.equal(makeScheduler(makeOptimizer([zeros([1], { requiresGrad: true })], { name: 'sgd', lr: 0.1 }), 'constant', epochs), undefined);
});

// Identity, Flatten, Dropout and Sequential: values against their definitions, Dropout's scaling and
// drop rate in training and identity in eval, Sequential's order and naming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../../src/errors.ts';
import { Dropout, Flatten, Identity, Linear, ReLU, Sequential, type Module } from '../../../src/nn/index.ts';
import { Generator, arange, fromArray, manualSeed, ones, randn, type Tensor } from '../../../src/tensor/index.ts';

test('Identity returns its input', () => {
  const x = randn([2, 3]);
  assert.equal(new Identity().call(x), x);
});

test('Flatten keeps the batch dim by default; start/end dims as torch.flatten', () => {
  const x = arange(0, 120).reshape(2, 3, 4, 5);
  const y = new Flatten().call(x);
  assert.deepEqual(y.shape, [2, 60]);
  assert.deepEqual(y.toArray(), x.toArray());
  assert.deepEqual(new Flatten(2).call(x).shape, [2, 3, 20]);
  assert.deepEqual(new Flatten(0, 1).call(x).shape, [6, 4, 5]);
  assert.deepEqual(new Flatten(1, 2).call(x).shape, [2, 12, 5]);
});

test('Dropout: identity in eval; in training zeros about p of the values and scales the rest by 1/(1-p)', () => {
  manualSeed(3);
  const x = ones([100000]);
  const d = new Dropout(0.3);
  d.eval();
  assert.deepEqual(d.call(x).toArray(), x.toArray());
  d.train();
  const y = d.call(x).toArray();
  const kept = Math.fround(1 / 0.7);
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(y.every((v) => v === 0 || v === kept), 'values are 0 or 1/(1-p)');
  // 100k Bernoulli(0.3) draws: the std of the rate is 0.0014.
  assert.ok(Math.abs(zeros / y.length - 0.3) < 0.01, `drop rate ${zeros / y.length}`);
  assert.deepEqual(new Dropout(0).call(x).toArray(), x.toArray());
  assert.throws(() => new Dropout(1), LowbitError);
  assert.throws(() => new Dropout(-0.1), LowbitError);
});

test('Sequential runs its children in order, named 0, 1, ...', () => {
  const g = new Generator(5);
  const lin1 = new Linear(3, 4, { generator: g });
  const lin2 = new Linear(4, 2, { generator: g });
  const relu = new ReLU();
  const seq = new Sequential(lin1, relu, lin2);
  assert.equal(seq.length, 3);
  assert.equal(seq.at(1), relu);
  assert.deepEqual([...seq.namedChildren()].map(([n]) => n), ['0', '1', '2']);
  assert.deepEqual([...seq.namedParameters()].map(([n]) => n), ['0.weight', '0.bias', '2.weight', '2.bias']);
  const x = fromArray(new Float32Array([0.5, -1, 2, 1, 1, -3]), [2, 3]);
  // Manual composition in the same order, then the other order to show order matters.
  const manual = lin2.forward(lin1.forward(x).relu());
  assert.ok(seq.call(x).equal(manual));
  const swapped: Tensor = new Sequential(lin1, lin2, relu).call(x);
  assert.equal(swapped.equal(manual), false);
  const empty: Module = new Sequential();
  assert.equal(empty.call(x), x);
  seq.dispose();
});

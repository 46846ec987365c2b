// The MLP builder: layer shapes for the default 784-500-300-10 and custom widths, output shapes on
// MNIST- and CIFAR-sized inputs, forward equal to the composed layers, seeded repeatability, and a short
// SGD run (written inline) that must fit XOR-labelled data a linear model cannot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Flatten, Linear, ReLU, type Module } from '../../src/nn/index.ts';
import { MLP_WIDTHS, mlp } from '../../src/models/index.ts';
import { F, Generator, fromArray, getNumThreads, noGrad, rand, randn, scope, setNumThreads, type Tensor } from '../../src/tensor/index.ts';

const linearShapes = (m: ReturnType<typeof mlp>) => m.children().filter((c) => c instanceof Linear).map((l) => (l as Linear).weight.shape);

test('default MLP is 784-500-300-10 on 1x28x28 and outputs 10 logits', () => {
  assert.deepEqual(MLP_WIDTHS, [500, 300]);
  const m = mlp({ name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
  assert.deepEqual(linearShapes(m), [
    [500, 784],
    [300, 500],
    [10, 300],
  ]);
  assert.deepEqual(
    m.children().map((c) => c.constructor),
    [Flatten, Linear, ReLU, Linear, ReLU, Linear],
  );
  assert.deepEqual([...m.namedParameters()].map(([n]) => n), ['1.weight', '1.bias', '3.weight', '3.bias', '5.weight', '5.bias']);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([4, 1, 28, 28])).shape)), [4, 10]);
  m.dispose();
});

test('3x32x32 input and custom widths change the layer shapes', () => {
  const m = mlp({ name: 'mlp', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths: [64, 32, 16] });
  assert.deepEqual(linearShapes(m), [
    [64, 3072],
    [32, 64],
    [16, 32],
    [10, 16],
  ]);
  assert.deepEqual(scope(() => noGrad(() => m.call(randn([2, 3, 32, 32])).shape)), [2, 10]);
  assert.deepEqual(linearShapes(mlp({ name: 'mlp', inChannels: 1, numClasses: 7, inputSize: [5, 6], widths: [] })), [[7, 30]]);
  assert.throws(() => mlp({ name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [64, 0] }), LowbitError);
  m.dispose();
});

test('forward is Linear-ReLU-Linear-ReLU-Linear on the flattened input', () => {
  const m = mlp({ name: 'mlp', inChannels: 2, numClasses: 3, inputSize: [3, 3], widths: [5, 4] }, { generator: new Generator(1) });
  const [l1, l2, l3] = m.children().filter((c) => c instanceof Linear) as Linear[];
  scope(() => {
    const x = randn([6, 2, 3, 3], { generator: new Generator(2) });
    const manual = F.linear(F.linear(F.linear(x.reshape(6, 18), l1.weight, l1.bias).relu(), l2.weight, l2.bias).relu(), l3.weight, l3.bias);
    assert.ok(m.call(x).allclose(manual, 1e-6, 1e-7));
  });
  m.dispose();
});

test('a seeded build is repeatable; another seed differs', () => {
  const cfg = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28] as [number, number] };
  const a = mlp(cfg, { generator: new Generator(7) });
  const b = mlp(cfg, { generator: new Generator(7) });
  const c = mlp(cfg, { generator: new Generator(8) });
  for (const [k, t] of a.stateDict()) {
    assert.ok(t.equal(b.stateDict().get(k)!), k);
    assert.equal(t.equal(c.stateDict().get(k)!), false, k);
  }
  for (const m of [a, b, c]) m.dispose();
});

/** XOR of the signs of two coordinates among 16 (the rest is noise): no linear model separates it. */
function xorDataset(n: number, seed: number): { x: Tensor; y: Tensor } {
  const u = rand([n, 16], { generator: new Generator(seed) })
    .mul(2)
    .sub(1)
    .toFloat32Array();
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    // A margin of 0.2 around both decision lines.
    for (const j of [0, 1]) u[i * 16 + j] = Math.sign(u[i * 16 + j]) * (0.2 + 0.8 * Math.abs(u[i * 16 + j]));
    labels[i] = (u[i * 16] > 0) !== (u[i * 16 + 1] > 0) ? 1n : 0n;
  }
  return { x: fromArray(u, [n, 1, 4, 4]), y: fromArray(labels) };
}

/** Full-batch SGD, p <- p - lr * grad, written here so the test does not depend on src/optim. */
function trainSgd(m: Module, x: Tensor, y: Tensor, steps: number, lr: number): number[] {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    losses.push(
      scope(() => {
        const loss = F.crossEntropy(m.call(x), y);
        m.zeroGrad();
        loss.backward();
        noGrad(() => {
          for (const p of m.parameters()) p.sub_(p.grad!.mul(lr));
        });
        return loss.item();
      }),
    );
  }
  return losses;
}

test('plain SGD fits XOR data with a hidden layer (loss < 0.05 in 150 steps); a linear model cannot', () => {
  // Tiny ops: libtorch's thread pool costs more than it gives, and the cores are shared.
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    const { x, y } = xorDataset(256, 21);
    const hidden = mlp({ name: 'mlp', inChannels: 1, numClasses: 2, inputSize: [4, 4], widths: [32] }, { generator: new Generator(22) });
    const losses = trainSgd(hidden, x, y, 150, 0.5);
    assert.ok(losses[0] > 0.6, `initial loss ${losses[0]} should be near ln 2`);
    assert.ok(losses[149] < 0.05, `loss after 150 SGD steps: ${losses[149]}`);
    assert.equal(scope(() => noGrad(() => hidden.call(x).argmax(1).eq(y).float().mean().item())), 1);
    const linear = mlp({ name: 'mlp', inChannels: 1, numClasses: 2, inputSize: [4, 4], widths: [] }, { generator: new Generator(22) });
    const linearLosses = trainSgd(linear, x, y, 150, 0.5);
    assert.ok(linearLosses[149] > 0.5, `a linear model should not fit XOR, got loss ${linearLosses[149]}`);
    hidden.dispose();
    linear.dispose();
  } finally {
    setNumThreads(threads);
  }
});

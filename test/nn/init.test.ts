// Initializers against torch.nn.init's formulas: fans, gains, kaiming/xavier bounds and standard
// deviations measured on large tensors, PyTorch's default Linear/Conv init, and seeded repeatability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { Conv2d, Linear, init } from '../../src/nn/index.ts';
import { Generator, empty, ones, type Tensor } from '../../src/tensor/index.ts';

function stats(t: Tensor): { mean: number; std: number; maxAbs: number } {
  const v = t.toFloat64Array();
  let s = 0;
  let maxAbs = 0;
  for (const x of v) {
    s += x;
    maxAbs = Math.max(maxAbs, Math.abs(x));
  }
  const mean = s / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { mean, std: Math.sqrt(ss / (v.length - 1)), maxAbs };
}

/** Uniform(-b, b) draws: all inside, the extremes near +-b, std b/sqrt(3). */
function assertUniform(t: Tensor, bound: number, what: string): void {
  const { mean, std, maxAbs } = stats(t);
  // The bound itself is rounded to float32, hence the 1e-6.
  assert.ok(maxAbs <= bound * (1 + 1e-6), `${what}: |w| max ${maxAbs} exceeds bound ${bound}`);
  assert.ok(maxAbs > 0.99 * bound, `${what}: |w| max ${maxAbs} far below bound ${bound}`);
  assert.ok(Math.abs(std / (bound / Math.sqrt(3)) - 1) < 0.02, `${what}: std ${std} vs ${bound / Math.sqrt(3)}`);
  assert.ok(Math.abs(mean) < 0.02 * bound, `${what}: mean ${mean}`);
}

function assertNormal(t: Tensor, sigma: number, what: string): void {
  const { mean, std, maxAbs } = stats(t);
  assert.ok(Math.abs(std / sigma - 1) < 0.02, `${what}: std ${std} vs ${sigma}`);
  assert.ok(Math.abs(mean) < 0.02 * sigma, `${what}: mean ${mean}`);
  // A Gaussian, not a uniform of the same std: a 200k sample reaches past 4 sigma.
  assert.ok(maxAbs > 3.5 * sigma, `${what}: max ${maxAbs} too small for a normal with std ${sigma}`);
}

test('fans of Linear and Conv weights', () => {
  assert.deepEqual(init.fans(empty([30, 20])), { fanIn: 20, fanOut: 30 });
  assert.deepEqual(init.fans(empty([64, 8, 3, 5])), { fanIn: 8 * 15, fanOut: 64 * 15 });
  assert.throws(() => init.fans(empty([7])), LowbitError);
});

test('gains are torch.nn.init.calculate_gain', () => {
  assert.equal(init.gain('linear'), 1);
  assert.equal(init.gain('sigmoid'), 1);
  assert.equal(init.gain('relu'), Math.sqrt(2));
  assert.equal(init.gain('tanh'), 5 / 3);
  assert.ok(Math.abs(init.gain('leaky_relu', 0.2) - Math.sqrt(2 / 1.04)) < 1e-15);
  assert.ok(Math.abs(init.gain('leaky_relu', Math.sqrt(5)) - Math.sqrt(1 / 3)) < 1e-15);
});

test('kaiming uniform and normal: bound and std from fan and gain', () => {
  const g = new Generator(11);
  const w = empty([400, 500]);
  // leaky_relu with a = 0 is ReLU: bound sqrt(6 / fan_in).
  init.kaimingUniform_(w, { generator: g });
  assertUniform(w, Math.sqrt(6 / 500), 'kaimingUniform fanIn');
  init.kaimingUniform_(w, { mode: 'fanOut', nonlinearity: 'tanh', generator: g });
  assertUniform(w, Math.sqrt(3) * (5 / 3) / Math.sqrt(400), 'kaimingUniform fanOut tanh');
  const conv = empty([64, 32, 10, 10]); // fan_out 6400, fan_in 3200
  init.kaimingNormal_(conv, { mode: 'fanOut', nonlinearity: 'relu', generator: g });
  assertNormal(conv, Math.sqrt(2 / 6400), 'kaimingNormal fanOut relu');
  init.kaimingNormal_(conv, { a: 0.1, generator: g });
  assertNormal(conv, Math.sqrt(2 / 1.01) / Math.sqrt(3200), 'kaimingNormal leaky 0.1');
});

test('xavier uniform and normal use fan_in + fan_out', () => {
  const g = new Generator(12);
  const w = empty([300, 700]);
  init.xavierUniform_(w, 1, g);
  assertUniform(w, Math.sqrt(6 / 1000), 'xavierUniform');
  init.xavierUniform_(w, 2, g);
  assertUniform(w, 2 * Math.sqrt(6 / 1000), 'xavierUniform gain 2');
  init.xavierNormal_(w, 1.5, g);
  assertNormal(w, 1.5 * Math.sqrt(2 / 1000), 'xavierNormal gain 1.5');
});

test('uniform_, normal_ and constant_', () => {
  const g = new Generator(13);
  const t = empty([200000]);
  init.uniform_(t, 2, 4, g);
  const s = stats(t);
  assert.ok(t.toArray().every((v) => v >= 2 && v <= 4));
  assert.ok(Math.abs(s.mean - 3) < 0.01 && Math.abs(s.std - 2 / Math.sqrt(12)) < 0.01);
  init.normal_(t, -1, 0.5, g);
  const n = stats(t);
  assert.ok(Math.abs(n.mean + 1) < 0.01 && Math.abs(n.std - 0.5) < 0.01);
  init.constant_(t, 0.25);
  assert.ok(t.toArray().every((v) => v === 0.25));
});

test('initializers work on parameters that require grad, leaving them leaves', () => {
  const lin = new Linear(50, 40);
  init.kaimingNormal_(lin.weight, { nonlinearity: 'relu' });
  init.constant_(lin.bias!, 0);
  assert.equal(lin.weight.requiresGrad, true);
  assert.equal(lin.weight.isLeaf, true);
  assert.deepEqual(lin.bias!.toArray(), new Array(40).fill(0));
  lin.dispose();
});

test("PyTorch's default Linear/Conv init: weight and bias in +-1/sqrt(fan_in)", () => {
  // kaiming_uniform(a = sqrt(5)) gives bound sqrt(3) * sqrt(1/3) / sqrt(fan_in) = 1 / sqrt(fan_in).
  const lin = new Linear(256, 1024, { generator: new Generator(3) });
  assertUniform(lin.weight, 1 / 16, 'Linear weight');
  const b = lin.bias!.toArray();
  assert.ok(b.every((v) => Math.abs(v) <= (1 / 16) * (1 + 1e-6)) && Math.max(...b.map(Math.abs)) > 0.9 / 16);
  const conv = new Conv2d(16, 512, 5, { generator: new Generator(3) }); // fan_in 400
  assertUniform(conv.weight, 1 / 20, 'Conv2d weight');
  assert.ok(conv.bias!.toArray().every((v) => Math.abs(v) <= (1 / 20) * (1 + 1e-6)));
  lin.dispose();
  conv.dispose();
});

test('the same generator seed gives identical weights; the stream advances between layers', () => {
  const a = new Linear(20, 10, { generator: new Generator(42) });
  const b = new Linear(20, 10, { generator: new Generator(42) });
  const c = new Linear(20, 10, { generator: new Generator(43) });
  assert.ok(a.weight.equal(b.weight) && a.bias!.equal(b.bias!));
  assert.equal(a.weight.equal(c.weight), false);
  const g = new Generator(42);
  const first = new Linear(20, 10, { generator: g });
  const second = new Linear(20, 10, { generator: g });
  assert.ok(first.weight.equal(a.weight));
  assert.equal(second.weight.equal(first.weight), false);
  const w1 = init.kaimingNormal_(ones([30, 30]), { generator: new Generator(7) });
  const w2 = init.kaimingNormal_(ones([30, 30]), { generator: new Generator(7) });
  assert.ok(w1.equal(w2));
  for (const m of [a, b, c, first, second]) m.dispose();
});

// Seeding and generator state: what a checkpoint needs to resume the exact random stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, getRngState, manualSeed, ones, rand, randn, randperm, setRngState } from '../../src/tensor/index.ts';

test('manualSeed: the same seed gives the same stream, another seed another one', () => {
  manualSeed(42);
  const a = randn([64]).toArray();
  manualSeed(42);
  const b = randn([64]).toArray();
  manualSeed(43);
  const c = randn([64]).toArray();
  assert.deepEqual(b, a);
  assert.notDeepEqual(c, a);
  // seeds beyond 32 bits are accepted and distinct
  manualSeed(2 ** 40);
  const big = rand([8]).toArray();
  manualSeed(2 ** 40 + 1);
  assert.notDeepEqual(rand([8]).toArray(), big);
});

test('getRngState/setRngState resume the default stream exactly', () => {
  manualSeed(7);
  rand([13]); // somewhere in the middle of the stream
  const state = getRngState();
  assert.ok(state instanceof Uint8Array);
  assert.ok(state.length > 0);
  const next = [rand([32]).toArray(), randn([32]).toArray(), randperm(16).toArray()];
  rand([100]); // move on
  setRngState(state);
  const again = [rand([32]).toArray(), randn([32]).toArray(), randperm(16).toArray()];
  assert.deepEqual(again, next);
  // the saved state is a copy: drawing after getRngState does not change it
  setRngState(state);
  assert.deepEqual(getRngState(), state);
});

test('Generator: seed is kept, state save/restore repeats draws, generators are independent', () => {
  const g = new Generator(99);
  assert.equal(g.seed, 99);
  rand([5], { generator: g });
  const state = g.getState();
  const x = randn([20], { generator: g }).toArray();
  g.setState(state);
  assert.deepEqual(randn([20], { generator: g }).toArray(), x);

  // two generators with the same seed advance separately
  const p = new Generator(5);
  const q = new Generator(5);
  const p1 = rand([10], { generator: p }).toArray();
  const p2 = rand([10], { generator: p }).toArray();
  assert.deepEqual(rand([10], { generator: q }).toArray(), p1);
  assert.deepEqual(rand([10], { generator: q }).toArray(), p2);

  // a generator's state can seed the default stream (same format)
  const h = new Generator(123);
  const hs = h.getState();
  const fromGen = rand([10], { generator: h }).toArray();
  setRngState(hs);
  assert.deepEqual(rand([10]).toArray(), fromGen);

  // in-place fills take the generator too
  const a = ones([6]).uniform_(-2, 2, new Generator(3)).toArray();
  const b = ones([6]).uniform_(-2, 2, new Generator(3)).toArray();
  assert.deepEqual(a, b);
  assert.ok(a.every((v) => v >= -2 && v < 2));
  const n1 = ones([6]).normal_(10, 0.5, new Generator(4)).toArray();
  assert.deepEqual(ones([6]).normal_(10, 0.5, new Generator(4)).toArray(), n1);
  assert.ok(n1.every((v) => Math.abs(v - 10) < 5));
});

test('a bad state or a non-generator is an Error, not a crash', () => {
  assert.throws(() => setRngState(new Uint8Array(10)), /RNG state size to be 10/);
  assert.throws(() => new Generator(1).setState(new Uint8Array(3)), /RNG state size to be 3/);
  const t = ones([2]);
  // a tensor handle where a generator belongs used to be read as the wrong struct (a segfault)
  const fake = { handle: t.handle } as unknown as Generator;
  assert.throws(() => rand([2], { generator: fake }), /expected a Generator/);
  assert.throws(() => Generator.prototype.getState.call(fake), /expected a Generator/);
  assert.throws(() => randn([2], { generator: { handle: 5 } as unknown as Generator }), /expected a Generator/);
  assert.deepEqual(t.toArray(), [1, 1], 'the tensor is unharmed');
});

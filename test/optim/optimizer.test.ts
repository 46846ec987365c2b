import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Optimizer, SGD, type ParamGroup, type ParamState, type ResolvedGroup } from '../../src/optim/index.ts';
import { fromArray, isGradEnabled, keep, zerosLike, type Tensor } from '../../src/tensor/index.ts';
import { param } from './naive-rules.ts';

interface CountingHyper {
  lr: number;
  scale: number;
}

/**
 * A minimal optimizer for testing the base class: p -= lr * scale * g, and a per-parameter running
 * sum of gradients with a step count, so that the state dict has both kinds of state.
 */
class Counting extends Optimizer<CountingHyper> {
  protected readonly stateTensorNames = ['grad_sum'];
  gradEnabledInUpdate: boolean[] = [];

  constructor(params: Tensor[] | ParamGroup<CountingHyper>[], options: Partial<CountingHyper> = {}) {
    super(params, { lr: 1, scale: 1, ...options });
  }

  protected updateParam(p: Tensor, g: Tensor, group: ResolvedGroup<CountingHyper>, state: ParamState): void {
    this.gradEnabledInUpdate.push(isGradEnabled());
    state.tensors.grad_sum ??= keep(zerosLike(p));
    state.tensors.grad_sum.add_(g);
    state.scalars.step = (state.scalars.step ?? 0) + 1;
    p.add_(g, -group.lr * group.scale);
  }
}

const grads = (p: Tensor, values: number[]) => {
  p.grad = fromArray(Float64Array.from(values), p.shape);
};

test('a Tensor[] becomes one group with the defaults; groups override them', () => {
  const a = param([1]);
  const b = param([2]);
  const one = new Counting([a, b], { lr: 0.5 });
  assert.equal(one.paramGroups.length, 1);
  assert.deepEqual(one.paramGroups[0].params, [a, b]);
  assert.equal(one.paramGroups[0].lr, 0.5);
  assert.equal(one.paramGroups[0].scale, 1);

  const two = new Counting([{ params: [a] }, { params: [b], lr: 0.1, scale: 3 }], { lr: 0.5 });
  assert.deepEqual(
    two.paramGroups.map((g) => [g.lr, g.scale]),
    [
      [0.5, 1],
      [0.1, 3],
    ],
  );
  grads(a, [1]);
  grads(b, [1]);
  two.step();
  assert.deepEqual(a.toArray(), [0.5]);
  assert.ok(Math.abs(b.toArray()[0] - (2 - 0.3)) < 1e-15);
  two.addParamGroup({ params: [param([0])], lr: 7 });
  assert.equal(two.paramGroups[2].lr, 7);
  assert.equal(two.paramGroups[2].scale, 1);
});

test('bad parameter lists are refused with a message that says what to do', () => {
  const a = param([1]);
  assert.throws(() => new Counting([]), /empty parameter list/);
  assert.throws(() => new Counting([{ params: [a] }, { params: [a] }]), /more than one group/);
  assert.throws(() => new Counting([a, a]), /more than one group/);
  assert.throws(() => new Counting([a.mul(2)]), /non-leaf/);
  assert.throws(() => new Counting([{ params: [a], lR: 1 } as never]), /unknown hyper-parameter 'lR'/);
  assert.throws(() => new Counting([a], { lr: NaN }), /lr must be >= 0/);
});

test('step() runs updates with gradients off and skips parameters whose grad is null', () => {
  const a = param([1, 1]);
  const b = param([5]);
  const opt = new Counting([a, b], { lr: 0.1 });
  grads(a, [1, 2]);
  assert.equal(b.grad, null);
  opt.step();
  assert.deepEqual(opt.gradEnabledInUpdate, [false]);
  assert.ok(isGradEnabled(), 'gradient mode restored after step()');
  assert.deepEqual(b.toArray(), [5]);
  assert.ok(Math.abs(a.toArray()[1] - 0.8) < 1e-15);
  assert.deepEqual(Object.keys(opt.stateDict().state), ['state.0.grad_sum']);
});

test('step(closure) evaluates the closure with gradients on and returns its loss', () => {
  const a = param([3]);
  const opt = new Counting([a], { lr: 0.25 });
  const loss = opt.step(() => {
    assert.ok(isGradEnabled());
    const l = a.mul(a).sum();
    l.backward();
    return l.item();
  });
  assert.equal(loss, 9);
  assert.deepEqual(a.toArray(), [3 - 0.25 * 6]);
});

test('zeroGrad() sets gradients to null; zeroGrad(false) zeroes them in place', () => {
  const a = param([1, 2]);
  const opt = new Counting([a]);
  grads(a, [3, 4]);
  opt.zeroGrad(false);
  assert.deepEqual(a.grad?.toArray(), [0, 0]);
  opt.zeroGrad();
  assert.equal(a.grad, null);
});

test('stateDict numbers parameters across groups, holds plain JSON groups, and loads back', () => {
  const a = param([1, 2]);
  const b = param([3]);
  const c = param([4, 5, 6]);
  const opt = new Counting([{ params: [a, b] }, { params: [c], lr: 0.1 }]);
  grads(a, [1, 1]);
  grads(c, [1, 2, 3]);
  opt.step();
  grads(c, [1, 1, 1]);
  opt.step();
  const dict = opt.stateDict();
  assert.deepEqual(dict.groups, [
    { lr: 1, scale: 1, params: [0, 1] },
    { lr: 0.1, scale: 1, params: [2] },
  ]);
  assert.deepEqual(dict.scalars, { 'state.0.step': 2, 'state.2.step': 2 });
  assert.deepEqual(Object.keys(dict.state).sort(), ['state.0.grad_sum', 'state.2.grad_sum']);
  assert.deepEqual(dict.state['state.2.grad_sum'].toArray(), [2, 3, 4]);
  // The dict's groups are copies: editing them does not reach into the optimizer.
  dict.groups[1].lr = 42;
  assert.equal(opt.paramGroups[1].lr, 0.1);

  const other = new Counting([{ params: [param([0, 0]), param([0])] }, { params: [param([0, 0, 0])], lr: 9 }]);
  other.loadStateDict(opt.stateDict());
  assert.equal(other.paramGroups[1].lr, 0.1);
  const back = other.stateDict();
  assert.deepEqual(back.scalars, dict.scalars);
  assert.deepEqual(back.state['state.2.grad_sum'].toArray(), [2, 3, 4]);
  assert.ok(!back.state['state.2.grad_sum'].sharesStorageWith(dict.state['state.2.grad_sum']), 'loaded state is a copy');
});

test('loadStateDict refuses a dict that does not fit, and keeps its old state', () => {
  const a = param([1, 2]);
  const opt = new Counting([a]);
  grads(a, [1, 1]);
  opt.step();
  const good = opt.stateDict();
  const two = new Counting([{ params: [param([1, 2])] }, { params: [param([1])] }]);
  assert.throws(() => two.loadStateDict(good), /1 parameter groups but this optimizer has 2/);
  const wide = new Counting([param([1, 2, 3])]);
  assert.throws(() => wide.loadStateDict(good), /has shape \[2\] but its parameter has shape \[3\]/);
  const sgd = new SGD([param([1, 2])], { lr: 0.1 });
  assert.throws(() => sgd.loadStateDict(good), /not a SGD state tensor/);
  const state = { 'state.5.grad_sum': fromArray(Float64Array.from([1, 1])) };
  assert.throws(() => opt.loadStateDict({ ...good, state }), /bad state key 'state.5.grad_sum'/);
  assert.deepEqual(opt.stateDict().state['state.0.grad_sum'].toArray(), [1, 1]);
});

test('loadStateDict casts state to the parameter dtype', () => {
  const a = fromArray(Float32Array.from([1, 2]), [2], { requiresGrad: true });
  const opt = new Counting([a]);
  opt.loadStateDict({
    groups: [{ lr: 1, scale: 1, params: [0] }],
    scalars: { 'state.0.step': 4 },
    state: { 'state.0.grad_sum': fromArray(Float64Array.from([0.5, 0.25])) },
  });
  const s = opt.stateDict().state['state.0.grad_sum'];
  assert.equal(s.dtype, 'float32');
  assert.deepEqual(s.toArray(), [0.5, 0.25]);
});

test('dispose() frees the state tensors and makes later use an error', () => {
  const a = param([1]);
  const opt = new Counting([a]);
  grads(a, [1]);
  opt.step();
  const held = opt.stateDict().state['state.0.grad_sum'];
  opt.dispose();
  assert.ok(held.isDisposed);
  assert.throws(() => opt.step(), /used after dispose/);
  assert.throws(() => opt.stateDict(), /used after dispose/);
});

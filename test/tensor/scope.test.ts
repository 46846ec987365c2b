// scope(): what it frees, what it hands to the enclosing scope, keep(), exceptions and balance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, adopt, keep, ones, scope, scopeDepth, tensor, zeros } from '../../src/tensor/index.ts';

test('tensors made inside a scope are freed at its end, except the returned one', () => {
  const outside = ones([2]);
  let temp!: Tensor;
  let view!: Tensor;
  const result = scope(() => {
    temp = outside.mul(2);
    view = temp.reshape(2, 1);
    return temp.add(outside);
  });
  assert.equal(temp.isDisposed, true);
  assert.equal(view.isDisposed, true);
  assert.equal(result.isDisposed, false);
  assert.deepEqual(result.toArray(), [3, 3]);
  assert.equal(outside.isDisposed, false, 'tensors from before the scope are not touched');
  assert.equal(scopeDepth(), 0);
});

test('returned tensors inside arrays, plain objects and Maps survive; the rest is freed', () => {
  const made: Tensor[] = [];
  const mk = (v: number) => {
    const t = tensor([v]);
    made.push(t);
    return t;
  };
  const out = scope(() => {
    const a = mk(1);
    const b = mk(2);
    const c = mk(3);
    const d = mk(4);
    mk(5); // dropped
    const m = new Map<string, Tensor>([['d', d]]);
    return { list: [a, { deep: b }], c, m, label: 'not a tensor', n: 7 };
  });
  assert.deepEqual(
    made.map((t) => t.isDisposed),
    [false, false, false, false, true],
  );
  assert.equal(out.list[0] instanceof Tensor && out.list[0].item(), 1);
  assert.equal((out.list[1] as { deep: Tensor }).deep.item(), 2);
  assert.equal(out.c.item(), 3);
  assert.equal(out.m.get('d')!.item(), 4);
  assert.equal(out.label, 'not a tensor');
  // the {values, indices} pair of max(dim) is a plain object too
  const { values, indices } = scope(() => tensor([[1, 5, 2]]).max(1));
  assert.deepEqual(values.toArray(), [5]);
  assert.deepEqual(indices.toArray(), [1]);
});

test('nested scopes: an inner result moves to the outer scope and is freed there unless returned again', () => {
  let inner!: Tensor;
  let innerTemp!: Tensor;
  let outerTemp!: Tensor;
  const final = scope(() => {
    assert.equal(scopeDepth(), 1);
    inner = scope(() => {
      assert.equal(scopeDepth(), 2);
      innerTemp = zeros([3]);
      return ones([3]);
    });
    assert.equal(innerTemp.isDisposed, true, 'freed at the end of the inner scope');
    assert.equal(inner.isDisposed, false, 'alive in the outer scope');
    outerTemp = inner.mul(2);
    return outerTemp.sum();
  });
  assert.equal(inner.isDisposed, true, 'the outer scope did not return it');
  assert.equal(outerTemp.isDisposed, true);
  assert.equal(final.item(), 6);
  assert.equal(scopeDepth(), 0);
  // a tensor returned through two levels survives both
  const twice = scope(() => scope(() => ones([1])));
  assert.equal(twice.isDisposed, false);
});

test('keep() exempts a tensor from every enclosing scope; the caller disposes it', () => {
  let kept!: Tensor;
  let dropped!: Tensor;
  scope(() => {
    scope(() => {
      kept = keep(ones([2]));
      dropped = ones([2]);
    });
  });
  assert.equal(kept.kept, true);
  assert.equal(kept.isDisposed, false);
  assert.equal(dropped.isDisposed, true);
  assert.deepEqual(kept.toArray(), [1, 1]);
  kept.dispose();
  assert.equal(kept.isDisposed, true);
  // a typical use: parameters updated in place inside a scope per step
  const param = keep(zeros([2]));
  for (let step = 0; step < 3; step++) scope(() => param.add_(ones([2]).mul(step)));
  assert.deepEqual(param.toArray(), [3, 3]);
});

test('an exception inside a scope still frees its tensors and rebalances the stack', () => {
  let temp!: Tensor;
  let innerTemp!: Tensor;
  let kept!: Tensor;
  assert.throws(
    () =>
      scope(() => {
        temp = ones([4]);
        kept = keep(ones([1]));
        scope(() => {
          innerTemp = ones([4]);
          ones([2]).matmul(ones([3])); // throws inside the native call
        });
      }),
    /inconsistent tensor size|1D tensors expected|dot/,
  );
  assert.equal(temp.isDisposed, true);
  assert.equal(innerTemp.isDisposed, true);
  assert.equal(kept.isDisposed, false);
  assert.equal(scopeDepth(), 0);
});

test('a scope that returns a Promise is refused (scopes track synchronous work only), balanced after', () => {
  assert.throws(
    () =>
      scope(() => {
        ones([1]);
        return Promise.resolve(1);
      }),
    /scope\(fn\): fn returned a Promise; scopes only track synchronous work/,
  );
  assert.equal(scopeDepth(), 0);
});

test('disposing a tensor inside its scope is fine; returning a disposed one is harmless', () => {
  const r = scope(() => {
    const a = ones([2]);
    a.dispose();
    return a;
  });
  assert.equal(r.isDisposed, true);
  const values = scope(() => {
    const a = ones([2]);
    const b = a.add(1);
    b.dispose();
    return a.toArray();
  });
  assert.deepEqual(values, [1, 1], 'returning plain data from a scope');
  assert.equal(scopeDepth(), 0);
});

test('in-place ops return the same object, so returning it from a scope keeps it', () => {
  const t = scope(() => zeros([2]).add_(3));
  assert.equal(t.isDisposed, false);
  assert.deepEqual(t.toArray(), [3, 3]);
});

test('adopt() undoes keep(): the tensor belongs to the current scope again', () => {
  let kept!: Tensor;
  scope(() => {
    kept = scope(() => keep(ones([2])));
  });
  assert.equal(kept.isDisposed, false, 'kept through two scopes');
  let adopted!: Tensor;
  scope(() => {
    adopted = adopt(kept);
    assert.equal(adopted, kept);
    assert.equal(adopted.isDisposed, false);
  });
  assert.equal(kept.isDisposed, true, 'freed by the scope that adopted it');
  assert.equal(scopeDepth(), 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { budgetLoss, budgetSide, costAtWidths, expectedCost, widthDistributions } from '../../src/nas/index.ts';
import { fromArray, noGrad, scalar, scope } from '../../src/tensor/index.ts';
import { smallSupernet } from './helpers.ts';

const BUDGET = { ratio: 1.0, tolerance: 0.05 };

test('budget side follows TAS: under below need - tol, over above need, else within', () => {
  assert.equal(budgetSide(94, 100, BUDGET), 'under');
  assert.equal(budgetSide(95, 100, BUDGET), 'within');
  assert.equal(budgetSide(100, 100, BUDGET), 'within');
  assert.equal(budgetSide(100.5, 100, BUDGET), 'over');
  assert.equal(budgetSide(60, 100, { ratio: 0.5, tolerance: 0.05 }), 'over');
});

test('budget loss: +log(E/ref) above the budget, -log(E/ref) below, nothing inside the band', () => {
  scope(() => {
    const e = scalar(130);
    const over = budgetLoss(e, 120, 100, BUDGET);
    assert.equal(over.side, 'over');
    assert.ok(Math.abs(over.loss!.item() - Math.log(1.3)) < 1e-6);
    const under = budgetLoss(scalar(80), 90, 100, BUDGET);
    assert.equal(under.side, 'under');
    assert.ok(Math.abs(under.loss!.item() + Math.log(0.8)) < 1e-6);
    assert.equal(budgetLoss(scalar(97), 97, 100, BUDGET).loss, null);
  });
});

/** Sets every layer's logits so the given candidate index has most of the mass. */
function favour(net: ReturnType<typeof smallSupernet>, k: number) {
  noGrad(() => {
    for (const l of net.layers) l.widthLogits.copy_(fromArray(Float32Array.from(l.ratios.map((_, i) => (i === k ? 3 : 0)))));
  });
}

function lossAndGrads(net: ReturnType<typeof smallSupernet>, reference: { macs: number; params: number }) {
  for (const p of net.archParameters()) p.grad = null;
  return scope(() => {
    const e = expectedCost(net.costTerms, widthDistributions(net));
    const current = costAtWidths(net.costTerms, net.argmaxWidths());
    const lf = budgetLoss(e.macs, current.macs, reference.macs, BUDGET);
    const lp = budgetLoss(e.params, current.params, reference.params, BUDGET);
    lf.loss!.add(lp.loss!).backward();
    return { sides: [lf.side, lp.side], value: lf.loss!.item(), ratio: e.macs.item() / reference.macs, grads: net.layers.map((l) => l.widthLogits.grad!.toArray()) };
  });
}

test('the FLOPs/params loss pushes widths down when the argmax net is too big, up when too small', () => {
  const net = smallSupernet();
  const reference = costAtWidths(net.costTerms, net.originalWidths());
  // Expanded layers (2x) all at their largest candidate: about 4x the original cost.
  net.setLevels(net.layers.map((l) => l.levels.length - 1));
  favour(net, 7);
  const big = lossAndGrads(net, reference);
  assert.deepEqual(big.sides, ['over', 'over']);
  assert.ok(big.ratio > 2, `expected cost ratio ${big.ratio}`);
  assert.ok(Math.abs(big.value - Math.log(big.ratio)) < 1e-5, 'size: log of the expected ratio');
  // Descent lowers the largest candidate's logit and raises the smallest's in every layer.
  for (const g of big.grads) assert.ok(g[7] > 0 && g[0] < 0, `grad ${g}`);

  net.setLevels(net.layers.map(() => 0));
  favour(net, 0);
  const small = lossAndGrads(net, reference);
  assert.deepEqual(small.sides, ['under', 'under']);
  assert.ok(small.ratio < 0.5);
  assert.ok(Math.abs(small.value + Math.log(small.ratio)) < 1e-5);
  for (const g of small.grads) assert.ok(g[7] < 0 && g[0] > 0, `grad ${g}`);
});

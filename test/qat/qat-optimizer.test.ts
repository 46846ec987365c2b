// The QAT optimizer groups: PACT alphas with the weights (weight decay = PACT's L2 on alpha), LSQ steps
// in a group of their own without weight decay. (Moved here from test/cli/qat.test.ts with the code.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/models/index.ts';
import { nonQuantizerParameters, quantizeModel, quantizerParameters } from '../../src/quant/index.ts';
import { qatOptimizer, qatParamGroups, qatQuantConfig, QAT_TRAINING_DEFAULTS } from '../../src/qat/index.ts';
import { SGD } from '../../src/optim/index.ts';

const weightDecayOf = (group: unknown) => (group as { weightDecay: number }).weightDecay;
const lenet = () => createModel({ name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
const sgd = { ...QAT_TRAINING_DEFAULTS.optimizer, weightDecay: 1e-3 };

test('qat optimizer: PACT alphas share the weight-decayed group, LSQ steps get a group without weight decay', () => {
  const pact = lenet();
  quantizeModel(pact, qatQuantConfig({}));
  const o1 = qatOptimizer(pact, sgd);
  assert.ok(o1 instanceof SGD);
  assert.equal(o1.paramGroups.length, 1);
  const alphas = quantizerParameters(pact, 'pact');
  assert.ok(alphas.length >= 3);
  for (const a of alphas) assert.ok(o1.paramGroups[0].params.includes(a));
  assert.equal(weightDecayOf(o1.paramGroups[0]), 1e-3);
  assert.equal(o1.paramGroups[0].params.length, pact.parameters().length);

  const lsq = lenet();
  quantizeModel(lsq, qatQuantConfig({ weightQuantizer: 'lsq', actQuantizer: 'lsq' }));
  const o2 = qatOptimizer(lsq, sgd);
  assert.equal(o2.paramGroups.length, 2);
  assert.deepEqual(new Set(o2.paramGroups[1].params), new Set(quantizerParameters(lsq, 'lsq')));
  assert.equal(weightDecayOf(o2.paramGroups[1]), 0);
  assert.deepEqual(new Set(o2.paramGroups[0].params), new Set(nonQuantizerParameters(lsq)));
});

test('qatParamGroups covers every parameter exactly once', () => {
  const m = lenet();
  quantizeModel(m, qatQuantConfig({ weightQuantizer: 'lsq', actQuantizer: 'pact' }));
  const grouped = qatParamGroups(m).flatMap((g) => g.params);
  assert.equal(grouped.length, m.parameters().length);
  assert.deepEqual(new Set(grouped), new Set(m.parameters()));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateWidths, expandLayers, remapLogits, widthLevels } from '../../src/nas/index.ts';
import { Adam } from '../../src/optim/index.ts';
import { fromArray, noGrad, scope } from '../../src/tensor/index.ts';
import { smallSupernet } from './helpers.ts';

test('ladder of maxima and candidate widths', () => {
  assert.deepEqual(widthLevels(16, 2, 1.25), [16, 20, 25, 31, 32]);
  assert.deepEqual(widthLevels(64, 2, 1.25), [64, 80, 100, 125, 128]);
  assert.deepEqual(widthLevels(16, 1, 1.25), [16]);
  assert.deepEqual(widthLevels(3, 2, 1.1), [3, 4, 5, 6]);
  assert.deepEqual(candidateWidths(16), [4, 6, 8, 9, 11, 12, 14, 16]);
  assert.deepEqual(candidateWidths(20), [6, 8, 10, 12, 14, 16, 18, 20]);
  assert.deepEqual(candidateWidths(10), [3, 4, 5, 6, 7, 8, 9, 10]);
});

test('remapped logits: nearest old width, mass shared among heirs', () => {
  const old = [4, 6, 8, 9, 11, 12, 14, 16];
  const next = [6, 8, 10, 12, 14, 16, 18, 20];
  const logits = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 2];
  const { logits: out, source } = remapLogits(logits, old, next);
  // 10 is 1 from both 9 and 11: the smaller wins; 16, 18 and 20 all inherit from 16.
  assert.deepEqual(source, [1, 2, 3, 5, 6, 7, 7, 7]);
  const l3 = Math.log(3);
  [0.1, 0.2, 0.3, 0.5, 0.6, 2 - l3, 2 - l3, 2 - l3].forEach((v, i) => assert.ok(Math.abs(out[i] - v) < 1e-12));
});

test('a layer above the threshold grows one level with consistent logits and Adam state; others stay', () => {
  const net = smallSupernet();
  const adam = new Adam(net.archParameters(), { lr: 1e-3, betas: [0.5, 0.999] });
  const stem = net.layers[0];
  const last = net.layers[net.layers.length - 1];
  noGrad(() => {
    // Stem: p(largest) = e^2 / (7 + e^2) = 0.51 > 0.25. Other layers: uniform, p = 0.125.
    stem.widthLogits.copy_(fromArray(Float32Array.of(0, 0, 0, 0, 0, 0, 0, 2)));
    // The last layer is at the top of its ladder: it cannot grow whatever its preference.
    last.widthLogits.copy_(fromArray(Float32Array.of(0, 0, 0, 0, 0, 0, 0, 5)));
  });
  net.setLevels(net.layers.map((l, i) => (i === net.layers.length - 1 ? l.levels.length - 1 : 0)));
  // One Adam step so the moments exist: a gradient that differs per candidate.
  scope(() => {
    for (const p of net.archParameters()) p.grad = fromArray(Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    adam.step();
  });
  const before = stem.widthLogits.toArray();
  const expAvgBefore = adam.stateDict().state['state.0.exp_avg'].toArray();
  const events = expandLayers(net, 0.25, adam);
  assert.equal(events.length, 1);
  assert.equal(events[0].layer, 0);
  assert.ok(Math.abs(events[0].probability - Math.exp(2) / (7 + Math.exp(2))) < 1e-6);
  assert.deepEqual([events[0].fromMax, events[0].toMax], [16, 20]);
  assert.equal(stem.maxWidth, 20);
  assert.deepEqual(stem.candidates(), [6, 8, 10, 12, 14, 16, 18, 20]);
  const after = stem.widthLogits.toArray();
  const source = [1, 2, 3, 5, 6, 7, 7, 7];
  source.forEach((j, k) => assert.ok(Math.abs(after[k] - (before[j] - (j === 7 ? Math.log(3) : 0))) < 1e-6, `logit ${k}`));
  // The largest candidate's probability fell below the threshold: no second expansion right away.
  assert.ok(stem.probabilities()[7] < 0.25);
  const expAvgAfter = adam.stateDict().state['state.0.exp_avg'].toArray();
  source.forEach((j, k) => assert.ok(Math.abs(expAvgAfter[k] - expAvgBefore[j]) < 1e-7));
  // Unchanged: a uniform layer (below the threshold) and the layer already at its cap.
  assert.equal(net.layers[1].maxWidth, 16);
  assert.equal(last.maxWidth, 128);
  assert.equal(expandLayers(net, 0.25, adam).length, 0);
});

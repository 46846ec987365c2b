import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complexity, createModel, cifarResNetWidths } from '../../src/models/index.ts';
import { convCostCoefficients, costAtWidths, expectedCost, layerCost, widthDistributions } from '../../src/nas/index.ts';
import { Generator, fromArray, noGrad, scope } from '../../src/tensor/index.ts';
import { smallSupernet } from './helpers.ts';

test('conv cost coefficients give hand-computed MACs and params', () => {
  // 3x3 conv 5 -> 7 channels on an 8x8 output, followed by BN: MACs 9*64*5*7, params 9*5*7 + 2*7.
  const c = convCostCoefficients({ kernelSize: [3, 3], outputSize: [8, 8], batchNorm: true });
  assert.deepEqual(layerCost(c, 5, 7), { macs: 20160, params: 329 });
  // A linear layer 12 -> 4 with bias: MACs 48, params 48 + 4.
  const fc = convCostCoefficients({ kernelSize: [1, 1], outputSize: [1, 1], bias: true });
  assert.deepEqual(layerCost(fc, 12, 4), { macs: 48, params: 52 });
  // Grouped 1x1 conv 8 -> 8 in 2 groups on 4x4, with bias: 16*8*8/2 MACs, 8*8/2 + 8 params.
  assert.deepEqual(layerCost(convCostCoefficients({ kernelSize: [1, 1], outputSize: [4, 4], groups: 2, bias: true }), 8, 8), { macs: 512, params: 40 });
});

test('a hand-computed two-layer chain: stem and first block with a width-changing shortcut', () => {
  const net = smallSupernet({ inputSize: [4, 4] });
  // stem 1 -> 3, block0 conv1 3 -> 5, conv2 5 -> 4, shortcut 3 -> 4 (widths differ), rest at the original.
  const widths = [3, 5, 4, ...cifarResNetWidths(20).slice(3)];
  const terms = net.costTerms;
  const pick = (name: string) => costAtWidths(terms.filter((t) => t.name === name), widths);
  assert.deepEqual(pick('stem'), { macs: 9 * 16 * 1 * 3, params: 9 * 3 + 2 * 3 });
  assert.deepEqual(pick('blocks.0.conv1'), { macs: 9 * 16 * 3 * 5, params: 9 * 15 + 10 });
  assert.deepEqual(pick('blocks.0.conv2'), { macs: 9 * 16 * 5 * 4, params: 9 * 20 + 8 });
  assert.deepEqual(pick('blocks.0.shortcut'), { macs: 16 * 3 * 4, params: 12 + 8 });
  // Block 1 reads 4 channels and writes 16: its shortcut exists; block 2 (16 -> 16) has none.
  assert.deepEqual(pick('blocks.1.shortcut'), { macs: 16 * 4 * 16, params: 64 + 32 });
  assert.deepEqual(pick('blocks.2.shortcut'), { macs: 0, params: 0 });
  // Stage 2's first block (stride 2, 2x2 output) always has its projection.
  assert.deepEqual(pick('blocks.3.shortcut'), { macs: 4 * 16 * 32, params: 16 * 32 + 64 });
});

test('the cost model agrees with complexity() of the zoo model for arbitrary widths', () => {
  const net = smallSupernet({ inputSize: [28, 28], numClasses: 10 });
  const g = new Generator(3);
  const original = cifarResNetWidths(20);
  const cases = [original, original.map((w) => w * 2)];
  // Random widths from a seeded stream, with some equal to their block input and some not.
  for (let k = 0; k < 3; k++) {
    const u = scope(() => noGrad(() => fromArray(new Float32Array(19)).uniform_(0, 1, g).toArray()));
    cases.push(original.map((w, i) => (i % 4 === 2 && k === 0 ? w : Math.max(1, Math.round(w * (0.3 + 1.7 * u[i]))))));
  }
  for (const widths of cases) {
    const model = createModel({ name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths });
    const c = complexity(model, [1, 28, 28]);
    assert.deepEqual(costAtWidths(net.costTerms, widths), { macs: c.macs, params: c.params }, `widths ${widths.join(',')}`);
    model.dispose();
  }
});

test('expected cost: one-hot distributions give the network cost; mixed ones give the exact expectation', () => {
  const net = smallSupernet();
  scope(() =>
    noGrad(() => {
      const dists = widthDistributions(net);
      // One-hot on each layer's 3rd candidate.
      const oneHot = dists.map((d) => ({ widths: d.widths, probs: fromArray(Float32Array.from(d.widths.map((_, k) => (k === 2 ? 1 : 0)))) }));
      const e = expectedCost(net.costTerms, oneHot);
      const widths = dists.map((d) => d.widths[2]);
      const exact = costAtWidths(net.costTerms, widths);
      assert.ok(Math.abs(e.macs.item() - exact.macs) <= 1e-5 * exact.macs);
      assert.ok(Math.abs(e.params.item() - exact.params) <= 1e-5 * exact.params);
      // Random distributions on the stem (0) and block 0's conv2 (2), which meet at block 0's shortcut
      // (a 'differ' term) and in block 1: brute-force expectation over the 8 x 8 width pairs.
      const p = [0.05, 0.1, 0.2, 0.05, 0.1, 0.2, 0.1, 0.2];
      const q = [0.3, 0.02, 0.08, 0.1, 0.1, 0.1, 0.1, 0.2];
      const mixed = oneHot.map((d, i) => (i === 0 ? { ...d, probs: fromArray(Float32Array.from(p)) } : i === 2 ? { ...d, probs: fromArray(Float32Array.from(q)) } : d));
      const got = expectedCost(net.costTerms, mixed);
      let macs = 0;
      let params = 0;
      for (let i = 0; i < 8; i++) {
        for (let j = 0; j < 8; j++) {
          const w = [...widths];
          w[0] = dists[0].widths[i];
          w[2] = dists[2].widths[j];
          const c = costAtWidths(net.costTerms, w);
          macs += p[i] * q[j] * c.macs;
          params += p[i] * q[j] * c.params;
        }
      }
      // Stem and block-0 conv2 share widths (both original 16), so some pairs have no shortcut.
      assert.ok(dists[0].widths.some((w) => dists[2].widths.includes(w)));
      assert.ok(Math.abs(got.macs.item() - macs) <= 1e-5 * macs, `${got.macs.item()} vs ${macs}`);
      assert.ok(Math.abs(got.params.item() - params) <= 1e-5 * params, `${got.params.item()} vs ${params}`);
    }),
  );
});

test('ResNet-18 and ResNet-32 supernets: the cost model agrees with complexity() too', () => {
  for (const [model, size] of [['resnet18', 16], ['resnet32', 8]] as const) {
    const net = smallSupernet({ model, inputSize: [size, size], expansionLimit: 1 });
    const original = net.originalWidths();
    // Shrink every third layer to 0.7 of its width: unequal widths in stride-1 and stride-2 blocks.
    const widths = original.map((w, i) => (i % 3 === 1 ? Math.floor(0.7 * w) : w));
    for (const ws of [original, widths]) {
      const m = createModel({ name: model, inChannels: 1, numClasses: 4, inputSize: [size, size], widths: ws });
      const c = complexity(m, [1, size, size]);
      assert.deepEqual(costAtWidths(net.costTerms, ws), { macs: c.macs, params: c.params }, `${model} ${ws.join(',')}`);
      m.dispose();
    }
    net.dispose();
  }
});

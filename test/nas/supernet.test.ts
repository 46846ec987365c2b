// The supernet in argmax mode is the zoo network it derives: copying the used slices of its weights into
// createModel({ widths }) gives the same outputs, float and W2A2 (quantizeModel as the reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/models/index.ts';
import { addUnequal, cwiMatrix, initFromFloat, SearchableConv, type SearchResNet } from '../../src/nas/index.ts';
import type { Module } from '../../src/nn/index.ts';
import { quantizeModel } from '../../src/quant/index.ts';
import { F, fromArray, noGrad, randn, Generator, scope, type Tensor } from '../../src/tensor/index.ts';
import { smallSupernet, W2A2 } from './helpers.ts';

/** Points every layer's argmax at candidate `pick(i)` and returns the widths that gives. */
function choose(net: SearchResNet, pick: (i: number) => number): number[] {
  noGrad(() => net.layers.forEach((l, i) => l.widthLogits.copy_(fromArray(Float32Array.from(l.ratios.map((_, k) => (k === pick(i) ? 1 : 0)))))));
  return net.argmaxWidths();
}

/** Copies the supernet's slices (and BN state of the chosen widths) into the zoo model. */
function copyInto(net: SearchResNet, model: Module, widths: number[]) {
  const sd = model.stateDict();
  const set = (key: string, t: Tensor) => noGrad(() => sd.get(key)!.copy_(t));
  const bn = (prefix: string, src: Module) => {
    const s = src.stateDict();
    for (const k of ['weight', 'bias', 'running_mean', 'running_var']) set(`${prefix}.${k}`, s.get(k)!);
  };
  const slice = (w: Tensor, out: number, inC: number) => w.narrow(0, 0, out).narrow(1, 0, inC);
  set('stem.0.weight', slice(net.stem.weight, widths[0], 1));
  bn('stem.1', net.stem.bnFor(widths[0]));
  let inC = widths[0];
  net.blocks.forEach((b, i) => {
    const [w1, w2] = [widths[1 + 2 * i], widths[2 + 2 * i]];
    set(`layers.${i}.conv1.weight`, slice(b.conv1.weight, w1, inC));
    bn(`layers.${i}.bn1`, b.conv1.bnFor(w1));
    set(`layers.${i}.conv2.weight`, slice(b.conv2.weight, w2, w1));
    bn(`layers.${i}.bn2`, b.conv2.bnFor(w2));
    if (b.shortcut) {
      set(`layers.${i}.shortcut.0.weight`, slice(b.shortcut.weight, w2, inC));
      bn(`layers.${i}.shortcut.1`, b.shortcut.getSubmodule(`bn${w2}`));
    }
    inC = w2;
  });
  set('fc.weight', net.fc.weight.narrow(1, 0, inC));
  set('fc.bias', net.fc.bias);
}

/** Random BN statistics and affine parameters, so a wrong BN choice shows. */
function randomizeBatchNorms(net: SearchResNet) {
  const g = new Generator(8);
  noGrad(() => {
    for (const [name, t] of net.stateDict()) {
      if (/bn\d+\.(weight|bias|running_mean)$/.test(name)) t.copy_(randn(t.shape, { generator: g }).mul(0.3).add(name.endsWith('weight') ? 1 : 0));
      if (/bn\d+\.running_var$/.test(name)) t.copy_(randn(t.shape, { generator: g }).abs().add(0.5));
    }
  });
}

for (const quantized of [false, true]) {
  test(`argmax supernet equals the derived zoo network (${quantized ? 'W2A2 SAWB/PACT' : 'float'})`, () => {
    const net = smallSupernet({ quant: quantized ? W2A2 : null });
    randomizeBatchNorms(net);
    // Stride-1 blocks keep conv2 at the original width (the zoo then has identity shortcuts there, like
    // the supernet's additive path); conv1 widths vary, and the stem is level 1 (max 20) at 16.
    net.setLevels(net.layers.map((_, i) => (i === 0 ? 1 : 0)));
    const widths = choose(net, (i) => (i === 0 ? 5 : i % 2 === 1 ? i % 8 : 7));
    assert.equal(widths[0], 16);
    assert.ok(widths.some((w, i) => i % 2 === 1 && w !== 16 && w !== 32 && w !== 64), `varied conv1 widths ${widths}`);
    const model = createModel({ name: 'resnet20', inChannels: 1, numClasses: 4, inputSize: [8, 8], widths });
    if (quantized) quantizeModel(model, W2A2);
    copyInto(net, model, widths);
    net.eval();
    net.setMode('argmax');
    model.eval();
    scope(() => {
      const x = randn([3, 1, 8, 8], { generator: new Generator(4) });
      const a = noGrad(() => net.call(x));
      const b = noGrad(() => model.call(x));
      const diff = a.sub(b).abs().max().item();
      assert.ok(diff < 1e-4, `max difference ${diff}`);
    });
  });
}

test('residual add of unequal widths adds the narrower into the first channels', () => {
  scope(() => {
    const a = fromArray(Float32Array.of(1, 2, 3), [1, 3, 1, 1]);
    const b = fromArray(Float32Array.of(10), [1, 1, 1, 1]);
    assert.deepEqual(addUnequal(a, b).toArray(), [11, 2, 3]);
    assert.deepEqual(addUnequal(b, a).toArray(), [11, 2, 3]);
  });
});

test('search-mode forward mixes the two sampled widths: p_a CWI(BN_a(y[:a])) + p_b BN_b(y[:b])', () => {
  const conv = new SearchableConv({ inChannelsMax: 2, original: 10, levels: [10], kernelSize: 3, stride: 1, padding: 1, relu: false, generator: new Generator(1) });
  const g = new Generator(2);
  noGrad(() => {
    for (const [name, t] of conv.stateDict()) {
      if (/bn\d+\.(weight|bias|running_mean)$/.test(name)) t.copy_(randn(t.shape, { generator: g }));
      if (/bn\d+\.running_var$/.test(name)) t.copy_(randn(t.shape, { generator: g }).abs().add(0.5));
    }
  });
  conv.eval();
  scope(() => {
    // Candidates of 10: [3, 4, 5, 6, 7, 8, 9, 10]; the pair (4, 10) with weights 0.3 and 0.7.
    conv.selection = { indices: [1, 7], weights: fromArray(Float32Array.of(0.3, 0.7)) };
    conv.mode = 'search';
    const x = randn([2, 2, 3, 3], { generator: g });
    const out = noGrad(() => conv.call(x)).toArray();
    // Reference, element by element in JS: y = conv(x, W[:10]); BN by its formula; CWI by its bins.
    const y = noGrad(() => F.conv2d(x, conv.weight.narrow(0, 0, 10), null, { padding: 1 })).toArray();
    const bnOf = (w: number) => {
      const s = conv.bnFor(w).stateDict();
      const v = (k: string) => s.get(k)!.toArray();
      return { w: v('weight'), b: v('bias'), m: v('running_mean'), r: v('running_var') };
    };
    const [b4, b10] = [bnOf(4), bnOf(10)];
    const at = (n: number, c: number, p: number) => y[(n * 10 + c) * 9 + p];
    const bn = (q: typeof b4, c: number, v: number) => ((v - q.m[c]) / Math.sqrt(q.r[c] + 1e-5)) * q.w[c] + q.b[c];
    const m = cwiMatrix(4, 10);
    for (let n = 0; n < 2; n++) {
      for (let c = 0; c < 10; c++) {
        for (let p = 0; p < 9; p++) {
          let narrow = 0;
          for (let j = 0; j < 4; j++) narrow += m[c][j] * bn(b4, j, at(n, j, p));
          const want = 0.3 * narrow + 0.7 * bn(b10, c, at(n, c, p));
          const got = out[(n * 10 + c) * 9 + p];
          assert.ok(Math.abs(got - want) < 1e-4, `n${n} c${c} p${p}: ${got} vs ${want}`);
        }
      }
    }
  });
});

test('bad supernet configs are refused with a message naming the problem', () => {
  assert.throws(() => smallSupernet({ model: 'vgg-small' }), /supports resnet20, resnet32, resnet56, resnet18, not 'vgg-small'/);
  assert.throws(() => smallSupernet({ quant: { weight: { kind: 'uniform', bits: 2, perChannel: true }, act: null } }), /per tensor/);
  assert.throws(() => smallSupernet({ expansionLimit: 0.5 }), /expansion limit must be >= 1/);
  assert.throws(() => smallSupernet({ growth: 1 }), /growth factor must be > 1/);
  const net = smallSupernet();
  assert.throws(() => net.setLevels([9, ...net.layers.slice(1).map(() => 0)]), /layer 0 has levels 0..4, got 9/);
  net.setMode('search');
  scope(() => assert.throws(() => net.call(randn([1, 1, 8, 8])), /without a sampled pair/));
});

test('a supernet started from a float zoo model computes that model at the original widths', () => {
  const model = createModel({ name: 'resnet20', inChannels: 1, numClasses: 4, inputSize: [8, 8] }, { generator: new Generator(6) });
  const g = new Generator(7);
  noGrad(() => {
    for (const [name, t] of model.stateDict()) {
      // BN affine parameters and means (the 1-D tensors other than the classifier's bias).
      if (t.ndim === 1 && !name.startsWith('fc') && /(weight|bias|running_mean)$/.test(name)) t.copy_(randn(t.shape, { generator: g }).mul(0.3).add(name.endsWith('weight') ? 1 : 0));
      if (name.endsWith('running_var')) t.copy_(randn(t.shape, { generator: g }).abs().add(0.5));
    }
  });
  const net = smallSupernet({ quant: null });
  initFromFloat(net, model);
  // The stem one level up (max 20): its width 16 is candidate 5 and its BN16 holds the trained one.
  net.setLevels(net.layers.map((_, i) => (i === 0 ? 1 : 0)));
  assert.deepEqual(choose(net, (i) => (i === 0 ? 5 : 7)), net.originalWidths());
  net.eval();
  model.eval();
  scope(() => {
    const x = randn([3, 1, 8, 8], { generator: new Generator(4) });
    const diff = noGrad(() => net.call(x).sub(model.call(x)).abs().max().item());
    assert.ok(diff < 1e-4, `max difference ${diff}`);
  });
  // A smaller width's BN starts from the trained BN's first channels.
  const bn = net.layers[1].bnFor(8).stateDict().get('running_var')!.toArray();
  assert.deepEqual(bn, model.stateDict().get('layers.0.bn1.running_var')!.narrow(0, 0, 8).toArray());
  const wide = createModel({ name: 'resnet20', inChannels: 1, numClasses: 4, inputSize: [8, 8], widths: net.originalWidths().map((w) => 3 * w) });
  assert.throws(() => initFromFloat(net, wide), /does not fit the supernet/);
});

test('the supernet is quantized by quantizeModel through the converters of its layer kinds, roles and overrides included', () => {
  const net = smallSupernet({ quant: { ...W2A2, overrides: { 'block0.conv2': { weight: { bits: 4 } } } } });
  try {
    const bits = (q: { bits: number } | null) => q?.bits ?? null;
    // First layer: 8-bit weight, the data unquantized; the classifier: 8 bits; the body: W2A2.
    assert.deepEqual([bits(net.stem.weightQuantizer as never), net.stem.inputQuantizer], [8, null]);
    assert.deepEqual([bits(net.fc.weightQuantizer as never), bits(net.fc.inputQuantizer as never)], [8, 8]);
    assert.deepEqual([bits(net.blocks[0].conv1.weightQuantizer as never), bits(net.blocks[0].conv1.inputQuantizer as never)], [2, 2]);
    assert.equal(bits(net.blocks[0].conv2.weightQuantizer as never), 4);
    const shortcut = net.blocks.find((b) => b.shortcut !== null)!.shortcut!;
    assert.deepEqual([bits(shortcut.weightQuantizer as never), bits(shortcut.inputQuantizer as never)], [2, 2]);
    // Converted once: a second conversion is refused like any quantized model's.
    assert.throws(() => quantizeModel(net, W2A2), /already quantized/);
  } finally {
    net.dispose();
  }
});

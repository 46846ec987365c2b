// Network-level PTQ: the stage-cached layer inputs (chain models) give exactly the codes of whole-network
// reruns; the fast and reference solvers agree code for code through a whole network with float64 Gram
// products, the blocked solver (float32 residuals) up to float32 rounding; the reported relative error is ||XW' - X~Q'|| / ||XW'|| computed directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { forwardChain, Module } from '../../src/nn/index.ts';
import { quantizableLayers, quantizeNetwork, type LayerReport, type PtqConfig } from '../../src/ptq/index.ts';
import { Generator, noGrad, randn, type Tensor } from '../../src/tensor/index.ts';

/** Hides the model's chain structure, so PTQ falls back to running the whole network per layer. */
class Opaque extends Module {
  readonly inner: Module;
  constructor(inner: Module) {
    super();
    this.inner = this.registerModule('inner', inner);
  }
  forward(x: Tensor): Tensor {
    return this.inner.call(x);
  }
}

const RESNET: ModelConfig = { name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28] };

function run(config: ModelConfig, ptq: PtqConfig, wrap: boolean, images = 12): LayerReport[] {
  const make = () => createModel(config, { generator: new Generator(3) });
  const analog = wrap ? new Opaque(make()) : make();
  const copy = wrap ? new Opaque(make()) : make();
  const calibration = randn([images, 1, 28, 28], { generator: new Generator(4) });
  // BatchNorm statistics of the data, as a trained model has (fresh ones let activations grow layer by
  // layer, and float32 rounding with them).
  for (const m of [analog, copy]) {
    m.train();
    for (let i = 0; i < 20; i++) noGrad(() => m.call(calibration));
  }
  return quantizeNetwork(analog, copy, calibration, { batchSize: 5, granularity: 'layer', ...ptq });
}

const codes = (reports: LayerReport[]) => reports.map((r) => Array.from(r.codes.toTypedArray() as Int32Array));

test('ResNet-20 is a chain of stages whose composition is its forward', () => {
  const model = createModel(RESNET, { generator: new Generator(1) });
  model.eval();
  const stages = forwardChain(model)!;
  assert.equal(stages.length, 1 + 9 + 3 + 2); // stem conv, bn, relu; 9 blocks; pool, flatten, fc
  const x = randn([3, 1, 28, 28], { generator: new Generator(2) });
  const direct = noGrad(() => model.call(x)).toFloat32Array();
  const chained = noGrad(() => stages.reduce((y, s) => s.call(y), x)).toFloat32Array();
  assert.deepEqual(Array.from(chained), Array.from(direct));
  assert.equal(forwardChain(new Opaque(model)), null);
});

test('stage-cached layer inputs give the codes of whole-network reruns, layer for layer', () => {
  const cached = run(RESNET, { method: 'gpfq', bits: 3 }, false);
  const rerun = run(RESNET, { method: 'gpfq', bits: 3 }, true);
  assert.equal(cached.length, 22);
  assert.deepEqual(codes(cached), codes(rerun));
  cached.forEach((r, i) => assert.equal(r.relativeError, rerun[i].relativeError));
});

test('fast (float64 Gram products) and reference solvers agree on every code of a network', () => {
  const mlp: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [40, 30] };
  const fast = run(mlp, { method: 'gpfq', bits: 2, gramDtype: 'float64' }, false, 64);
  const ref = run(mlp, { method: 'gpfq', bits: 2, solver: 'reference' }, false, 64);
  assert.deepEqual(codes(fast), codes(ref));
  // With every row in the error sample, both report the same (exact) error.
  fast.forEach((r, i) => {
    assert.equal(r.errorRows, r.samples);
    assert.ok(Math.abs(r.relativeError - ref[i].relativeError) < 1e-6, `${r.relativeError} vs ${ref[i].relativeError}`);
  });
});

test('the relative error of the first layer is ||XW\' - XQ\'|| / ||XW\'|| on the calibration images', () => {
  const mlp: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [40, 30] };
  const model = createModel(mlp, { generator: new Generator(3) });
  const copy = createModel(mlp, { generator: new Generator(3) });
  const calibration = randn([50, 1, 28, 28], { generator: new Generator(4) });
  const [first] = quantizeNetwork(model, copy, calibration, { method: 'rtn', bits: 2, firstLastBits: 2, granularity: 'layer' });
  const x = calibration.reshape([50, 784]).to('float64');
  const w = (model.modules().find((m) => m !== model && 'weight' in m) as unknown as { weight: Tensor }).weight.to('float64');
  const q = (copy.modules().find((m) => m !== copy && 'weight' in m) as unknown as { weight: Tensor }).weight.to('float64');
  const out = x.matmul(w.t());
  const expected = Math.sqrt(out.sub(x.matmul(q.t())).pow(2).sum().item() / out.pow(2).sum().item());
  assert.ok(Math.abs(first.relativeError - expected) < 1e-5 * expected, `${first.relativeError} vs ${expected}`);
});

test('the blocked solver (float32 residuals) follows the float64 Gram path through ResNet-20 up to float32 rounding', () => {
  const blockedRun = run(RESNET, { method: 'gpfq', bits: 3, solver: 'blocked' }, false);
  const fastRun = run(RESNET, { method: 'gpfq', bits: 3, gramDtype: 'float64' }, false);
  const blocked = codes(blockedRun);
  const fast = codes(fastRun);
  assert.equal(blocked.length, 22);
  let differing = 0;
  let total = 0;
  blocked.forEach((layer, l) => {
    total += layer.length;
    layer.forEach((k, i) => (differing += k === fast[l][i] ? 0 : 1));
    // Once a float32 rounding turns one code, that neuron's path and the later layers' inputs move: the
    // layer errors, not the codes, are what must stay put.
    const ratio = blockedRun[l].relativeError / fastRun[l].relativeError;
    assert.ok(Math.abs(ratio - 1) < 0.01, `${blockedRun[l].name}: relative error ${blockedRun[l].relativeError} vs ${fastRun[l].relativeError}`);
  });
  assert.ok(blocked.slice(0, 10).every((layer, l) => layer.every((k, i) => k === fast[l][i])), 'the first ten layers agree code for code');
  assert.ok(differing <= total * 0.01, `${differing} of ${total} codes differ`);
});

test("finding the layers' forward order leaves BatchNorm statistics and every module's mode as they were", () => {
  const model = createModel({ name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [8, 8] }, { generator: new Generator(2) });
  model.train();
  model.getSubmodule('layers.0').eval();
  const before = model.stateDict().get('stem.1.running_mean')!.toArray();
  const modes = model.modules().map((m) => m.training);
  const order = quantizableLayers(model, randn([4, 1, 8, 8], { generator: new Generator(3) }).mul(3).add(1));
  assert.equal(order[0].name, 'stem.0');
  assert.deepEqual(model.stateDict().get('stem.1.running_mean')!.toArray(), before);
  assert.deepEqual(model.modules().map((m) => m.training), modes);
  model.dispose();
});

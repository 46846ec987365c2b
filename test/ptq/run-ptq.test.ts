// The PTQ pipeline as a library call: it loads nothing (the float model comes in once), quantizes a copy
// made from the float model's state dict, and gives the same codes, accuracy and files as the earlier
// pipeline that read the checkpoint twice (the independent reference here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Dataset, calibrationSet } from '../../src/data/index.ts';
import { LowbitError } from '../../src/errors.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { Conv2d, loadSafetensors } from '../../src/nn/index.ts';
import { quantizeNetwork, runPtq, toQuantModel, type PtqConfig } from '../../src/ptq/index.ts';
import { QuantConv2d } from '../../src/quant/index.ts';
import { fromArray, Generator, randint, randn, type Tensor } from '../../src/tensor/index.ts';
import { evaluate, loadCheckpoint, RunDir, saveCheckpoint, type BatchSource } from '../../src/train/index.ts';
import { makeTempDir } from '../data/fixtures.ts';

const CONFIG: ModelConfig = { name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] };

/** A fixed test set of 96 images in 3 batches; each iteration hands out fresh tensors (evaluate frees them). */
function testSource(): BatchSource {
  const images = randn([96, 1, 28, 28], { generator: new Generator(8) });
  const labels = randint(0, 10, [96], { generator: new Generator(9) });
  return {
    length: 3,
    *[Symbol.iterator]() {
      for (let b = 0; b < 3; b++) yield { images: images.narrow(0, 32 * b, 32).contiguous(), labels: labels.narrow(0, 32 * b, 32).contiguous() };
    },
  };
}

test('runPtq on a model loaded once equals the two-load pipeline: codes, accuracies, saved files; the float model is untouched', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, 'float.safetensors');
    saveCheckpoint(path, createModel(CONFIG, { generator: new Generator(5) }), CONFIG);
    const calibration = randn([48, 1, 28, 28], { generator: new Generator(6) });
    const test = testSource();
    const config: PtqConfig = { method: 'gpfq', bits: 3 };

    // Reference: the float model and its working copy each read from the file.
    const a = loadCheckpoint(path);
    const b = loadCheckpoint(path);
    const refFloat = evaluate(a.model, test).accuracy;
    const refReports = quantizeNetwork(a.model, b.model, calibration, config);
    toQuantModel(b.model, refReports, config, { actBits: 4, calibration });
    const refAccuracy = evaluate(b.model, test).accuracy;

    const float = loadCheckpoint(path);
    const before = new Map([...float.model.stateDict()].map(([k, t]) => [k, t.clone()]));
    const runDir = new RunDir(join(dir, 'run'));
    const layers: string[] = [];
    const labels: string[] = [];
    const run = runPtq({
      model: float.model,
      modelConfig: float.modelConfig,
      config,
      calibration,
      test,
      actBits: 4,
      runDir,
      onLayer: (p) => p.done && layers.push(p.name),
      wrapTest: (t, label) => (labels.push(label), t),
    });
    assert.equal(run.result.floatAccuracy, refFloat);
    assert.equal(run.result.quantizedAccuracy, refAccuracy);
    assert.equal(run.result.drop, refFloat - refAccuracy);
    assert.equal(run.result.abits, 4);
    assert.deepEqual(layers, refReports.map((r) => r.name));
    assert.deepEqual(labels, ['evaluate float', 'evaluate gpfq W3A4']);
    run.reports.forEach((r, i) => assert.ok(r.codes.equal(refReports[i].codes), `${r.name} codes`));
    for (const [k, t] of float.model.stateDict()) assert.ok(t.equal(before.get(k)!), `float ${k} unchanged`);
    assert.ok(run.model.getSubmodule(run.reports[1].name) instanceof QuantConv2d);
    assert.ok(float.model.getSubmodule(run.reports[1].name) instanceof Conv2d && !(float.model.getSubmodule(run.reports[1].name) instanceof QuantConv2d));

    // The run directory: a self-describing fake-quant checkpoint with the same accuracy, the codes, the result.
    const saved = loadCheckpoint(runDir.file('model.safetensors'));
    assert.equal(saved.modelConfig.quant?.weight.kind, 'fixed');
    assert.equal(evaluate(saved.model, test).accuracy, refAccuracy);
    const codes = loadSafetensors(runDir.file('codes.safetensors'));
    assert.ok(codes.tensors.get(`${refReports[0].name}.weight_codes`)!.equal(refReports[0].codes));
    assert.deepEqual(JSON.parse(codes.metadata['lowbit.ptq']), config);
    for (const t of codes.tensors.values()) t.dispose();
    run.dispose();

    // With the float accuracy known and plain layers kept (for a codes-based writer): no float
    // evaluation, no model.safetensors, the copy keeps Conv2d layers.
    const plain = runPtq({ model: float.model, modelConfig: float.modelConfig, config, calibration, test, floatAccuracy: 0.5, fakeQuantModel: false, wrapTest: (t, label) => (labels.push(label), t) });
    assert.equal(plain.result.floatAccuracy, 0.5);
    assert.equal(plain.quant, null);
    assert.deepEqual(labels.slice(2), ['evaluate gpfq W3']);
    assert.ok(!(plain.model.getSubmodule(plain.reports[1].name) instanceof QuantConv2d));
    plain.dispose();
  } finally {
    cleanup();
  }
});

test('calibrationSet: seeded, without replacement, normalized like training batches; a clear error past the set size', () => {
  const n = 40;
  const pixels = fromArray(Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37) % 256), [n, 1, 2, 2]);
  const ds = new Dataset({ name: 'tiny', images: pixels, labels: fromArray(new BigInt64Array(n)), classes: ['a'], mean: [0.5], std: [0.25] });
  const a = calibrationSet(ds, 10, 3);
  const b = calibrationSet(ds, 10, 3);
  const c = calibrationSet(ds, 10, 4);
  assert.deepEqual(a.shape, [10, 1, 2, 2]);
  assert.ok(a.equal(b));
  assert.ok(!a.equal(c));
  // Every drawn image is one of the set's, normalized: (x / 255 - 0.5) / 0.25; no image twice.
  const all = Array.from({ length: n }, (_, i) => Array.from(pixels.narrow(0, i, 1).toTypedArray() as Uint8Array).map((x) => (x / 255 - 0.5) / 0.25));
  const values = Array.from(a.contiguous().toFloat32Array());
  const found = Array.from({ length: 10 }, (_, i) => values.slice(4 * i, 4 * i + 4)).map((img) => all.findIndex((ref) => ref.every((v, j) => Math.abs(v - img[j]) < 1e-5)));
  assert.ok(found.every((i) => i >= 0), `drawn images come from the set: ${found}`);
  assert.equal(new Set(found).size, 10);
  assert.throws(() => calibrationSet(ds, 41, 0), (e: Error) => e instanceof LowbitError && /41 images asked for, but tiny has only 40/.test(e.message));
  for (const t of [a, b, c] as Tensor[]) t.dispose();
});

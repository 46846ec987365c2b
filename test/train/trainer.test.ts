import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader, Dataset } from '../../src/data/index.ts';
import { createModel } from '../../src/models/index.ts';
import { SGD, CosineAnnealingLR } from '../../src/optim/index.ts';
import { Flatten, Linear, loadSafetensors, Sequential } from '../../src/nn/index.ts';
import { F, fromArray, Generator, manualSeed, randint, noGrad } from '../../src/tensor/index.ts';
import { evaluate, fit, RunDir, loadCheckpoint, lastCheckpointPath, TrainingState, type TrainStep } from '../../src/train/index.ts';

const CFG = { name: 'mlp', inChannels: 1, inputSize: [8, 8] as [number, number], numClasses: 4, widths: [16] };

/** A learnable toy set: the label is the quadrant with the brightest mean. */
function toyDataset(n: number, seed: number): Dataset {
  const g = new Generator(seed);
  const pixels = randint(0, 256, [n, 1, 8, 8], { generator: g, dtype: 'uint8' });
  const px = pixels.toTypedArray() as Uint8Array;
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const q = [0, 0, 0, 0];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) q[(y >> 2) * 2 + (x >> 2)] += px[i * 64 + y * 8 + x];
    labels[i] = BigInt(q.indexOf(Math.max(...q)));
  }
  return new Dataset({ name: 'toy', images: pixels, labels: fromArray(labels), classes: ['a', 'b', 'c', 'd'], mean: [0.5], std: [0.29] });
}

function setup(dir: string, epochs: number) {
  const model = createModel(CFG, { generator: new Generator(1) });
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: epochs });
  const train = new DataLoader(toyDataset(512, 3), { batchSize: 64, seed: 5 });
  const testSet = new DataLoader(toyDataset(256, 4), { batchSize: 128, shuffle: false });
  return { model, optimizer, scheduler, train, test: testSet, runDir: new RunDir(dir) };
}

test('fit learns the toy task and records metrics, checkpoint and history', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-fit-'));
  try {
    manualSeed(0);
    const s = setup(dir, 6);
    const r = fit({ ...s, epochs: 6, modelConfig: CFG as unknown as Record<string, unknown> });
    assert.equal(r.history.length, 6);
    assert.ok(r.history[5].trainLoss < r.history[0].trainLoss * 0.8, `loss fell: ${r.history[0].trainLoss} -> ${r.history[5].trainLoss}`);
    assert.ok(r.final!.testAccuracy > 0.6, `test accuracy ${r.final!.testAccuracy}`);
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.epoch), [1, 2, 3, 4, 5, 6]);
    // cosine schedule: epoch 1 at the base lr, then decreasing
    assert.equal(lines[0].lr, 0.1);
    assert.ok(lines[5].lr < lines[1].lr);
    // The checkpoint rebuilds the model with the same predictions.
    const { model } = loadCheckpoint(lastCheckpointPath(s.runDir));
    const a = evaluate(model, s.test);
    assert.equal(a.accuracy, r.final!.testAccuracy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evaluate counts correct predictions like a naive loop', () => {
  const s = setup(mkdtempSync(join(tmpdir(), 'lowbit-eval-')), 1);
  const r = evaluate(s.model, s.test);
  let correct = 0;
  let count = 0;
  noGrad(() => {
    s.model.eval();
    for (const b of s.test) {
      const pred = s.model.call(b.images).argmax(1).toArray();
      const lab = b.labels.toArray();
      pred.forEach((p, i) => (correct += p === lab[i] ? 1 : 0));
      count += lab.length;
    }
  });
  assert.equal(r.count, count);
  assert.equal(r.accuracy, correct / count);
});

test('a run stopped after epoch 2 and resumed ends bitwise equal to an uninterrupted run', () => {
  const straight = mkdtempSync(join(tmpdir(), 'lowbit-straight-'));
  const pieces = mkdtempSync(join(tmpdir(), 'lowbit-pieces-'));
  try {
    const cfg = CFG as unknown as Record<string, unknown>;
    manualSeed(7);
    const a = setup(straight, 4);
    fit({ ...a, epochs: 4, modelConfig: cfg });

    manualSeed(7);
    const b1 = setup(pieces, 4);
    // Stop after 2 of 4 epochs: a run interrupted there has exactly this checkpoint.
    fit({ ...b1, epochs: 2, modelConfig: cfg, scheduler: b1.scheduler });
    manualSeed(12345); // a fresh process would not share the RNG state: the checkpoint must restore it
    const b2 = setup(pieces, 4);
    const r = fit({ ...b2, epochs: 4, modelConfig: cfg, resume: true });
    assert.equal(r.resumedFromEpoch, 2);
    assert.equal(r.history.length, 4);
    const wa = a.model.stateDict();
    for (const [k, t] of b2.model.stateDict()) assert.ok(t.equal(wa.get(k)!), `${k} differs after resume`);
  } finally {
    rmSync(straight, { recursive: true, force: true });
    rmSync(pieces, { recursive: true, force: true });
  }
});

/**
 * A method that trains a side network besides the model (an auxiliary head on the raw pixels, with its
 * own optimizer) through a custom step: two forward/backward/optimizer steps per batch and two extra
 * per-batch numbers.
 */
function sideSetup(dir: string, epochs: number) {
  const s = setup(dir, epochs);
  const aux = new Sequential(new Flatten(), new Linear(64, 4, { generator: new Generator(9) }));
  const auxOptimizer = new SGD(aux.parameters(), { lr: 0.05, momentum: 0.9 });
  const perBatch: { n: number; auxLoss: number; auxAccuracy: number }[] = [];
  const step: TrainStep = ({ images, labels }) => {
    const logits = s.model.call(images);
    const loss = F.crossEntropy(logits, labels);
    s.optimizer.zeroGrad();
    loss.backward();
    s.optimizer.step();
    const auxLogits = aux.call(images);
    const auxLoss = F.crossEntropy(auxLogits, labels);
    auxOptimizer.zeroGrad();
    auxLoss.backward();
    auxOptimizer.step();
    const n = labels.shape[0];
    const metrics = { auxLoss: auxLoss.item(), auxAccuracy: noGrad(() => auxLogits.argmax(1).eq(labels).sum().item()) / n };
    perBatch.push({ n, ...metrics });
    return { loss: loss.item(), correct: noGrad(() => logits.argmax(1).eq(labels).sum().item()), metrics };
  };
  return { ...s, aux, auxOptimizer, step, perBatch };
}

test('fit with a custom step: extra metrics averaged per epoch, the side network checkpointed, the chosen model evaluated', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-fit-side-'));
  try {
    manualSeed(0);
    const s = sideSetup(dir, 2);
    const stepMetrics: Record<string, number>[] = [];
    const r = fit({
      ...s,
      epochs: 2,
      modelConfig: CFG as unknown as Record<string, unknown>,
      step: s.step,
      evalModel: s.aux,
      state: { modules: { aux: s.aux }, optimizers: { auxOptimizer: s.auxOptimizer }, extras: () => ({ auxSteps: s.perBatch.length }) },
      onStep: (i) => stepMetrics.push(i.metrics!),
    });
    const perEpoch = s.train.length;
    assert.equal(s.perBatch.length, 2 * perEpoch);
    assert.deepEqual(stepMetrics, s.perBatch.map(({ auxLoss, auxAccuracy }) => ({ auxLoss, auxAccuracy })));
    for (let e = 0; e < 2; e++) {
      const batches = s.perBatch.slice(e * perEpoch, (e + 1) * perEpoch);
      const images = batches.reduce((a, b) => a + b.n, 0);
      const mean = (k: 'auxLoss' | 'auxAccuracy') => batches.reduce((a, b) => a + b[k] * b.n, 0) / images;
      assert.ok(Math.abs(r.history[e].extra!.auxLoss - mean('auxLoss')) < 1e-12);
      assert.ok(Math.abs(r.history[e].extra!.auxAccuracy - mean('auxAccuracy')) < 1e-12);
    }
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[1].extra, r.history[1].extra);
    // Evaluated: the side network, not the model.
    assert.equal(r.final!.testAccuracy, evaluate(s.aux, s.test).accuracy);
    // The checkpoint holds the side network and its optimizer under their names, and the extras.
    const file = loadSafetensors(lastCheckpointPath(s.runDir));
    const keys = [...file.tensors.keys()];
    for (const t of file.tensors.values()) t.dispose();
    assert.ok(keys.includes('aux.1.weight') && keys.some((k) => k.startsWith('auxOptimizer.state.')));
    assert.deepEqual(TrainingState.peek(lastCheckpointPath(s.runDir)).extras, { auxSteps: 2 * perEpoch });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a custom-step run with a side network resumes bitwise equal to an uninterrupted run', () => {
  const straight = mkdtempSync(join(tmpdir(), 'lowbit-side-straight-'));
  const pieces = mkdtempSync(join(tmpdir(), 'lowbit-side-pieces-'));
  try {
    const cfg = CFG as unknown as Record<string, unknown>;
    const run = (s: ReturnType<typeof sideSetup>, epochs: number, resume = false) =>
      fit({ ...s, epochs, modelConfig: cfg, resume, step: s.step, state: { modules: { aux: s.aux }, optimizers: { auxOptimizer: s.auxOptimizer } } });
    manualSeed(7);
    const a = sideSetup(straight, 4);
    run(a, 4);
    manualSeed(7);
    const b1 = sideSetup(pieces, 4);
    run(b1, 2);
    manualSeed(12345);
    const b2 = sideSetup(pieces, 4);
    const r = run(b2, 4, true);
    assert.equal(r.resumedFromEpoch, 2);
    for (const [m, n] of [
      [a.model, b2.model],
      [a.aux, b2.aux],
    ]) {
      const wa = m.stateDict();
      for (const [k, t] of n.stateDict()) assert.ok(t.equal(wa.get(k)!), `${k} differs after resume`);
    }
  } finally {
    rmSync(straight, { recursive: true, force: true });
    rmSync(pieces, { recursive: true, force: true });
  }
});

test('a custom step whose loss is not finite stops the run with an error naming the epoch and step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-fit-nan-'));
  try {
    const s = setup(dir, 1);
    assert.throws(
      () => fit({ ...s, epochs: 1, modelConfig: CFG as unknown as Record<string, unknown>, step: (_b, { step }) => ({ loss: step === 2 ? NaN : 1, correct: 0 }) }),
      /training diverged: loss is NaN at epoch 1, step 3/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

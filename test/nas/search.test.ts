import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataLoader } from '../../src/data/index.ts';
import { DEFAULT_SEARCH, deriveNetwork, runSearch, splitHalves, type SearchStepInfo } from '../../src/nas/index.ts';
import { F, fromArray, Generator, manualSeed, noGrad, scope } from '../../src/tensor/index.ts';
import { RunDir } from '../../src/train/index.ts';
import { smallSupernet, toyDataset } from './helpers.ts';

function setup(dir: string) {
  manualSeed(0);
  const { weightSet, archSet } = splitHalves(toyDataset(64, 7), 3);
  return {
    net: smallSupernet({}, 1),
    weightLoader: new DataLoader(weightSet, { batchSize: 16, seed: 5 }),
    archLoader: new DataLoader(archSet, { batchSize: 16, seed: 6 }),
    runDir: new RunDir(dir),
  };
}

const HYPER = { ...DEFAULT_SEARCH, epochs: 2, seed: 9, threshold: 0.13, archLr: 0.05 };

test('the data split is two disjoint seeded halves', () => {
  const ds = toyDataset(10, 1);
  const a = splitHalves(ds, 4);
  const b = splitHalves(ds, 4);
  assert.equal(a.weightSet.length, 5);
  assert.equal(a.archSet.length, 5);
  assert.ok(a.weightSet.images.equal(b.weightSet.images));
  // Every image appears once over the two halves (the toy images are distinct).
  const key = (t: number[]) => t.join(',');
  const rows = (d: typeof a.weightSet) => Array.from({ length: d.length }, (_, i) => key(d.images.select(0, i).flatten().toArray()));
  const all = new Set([...rows(a.weightSet), ...rows(a.archSet)]);
  const orig = new Set(rows(ds));
  assert.deepEqual([...all].sort(), [...orig].sort());
});

test('gradient of the arch loss reaches every layer\'s logits', () => {
  const net = smallSupernet();
  const g = new Generator(2);
  const ds = toyDataset(8, 2);
  scope(() => {
    net.sample(1, g);
    const x = ds.images.to('float32').div(255);
    F.crossEntropy(net.call(x), ds.labels).backward();
    for (const [i, l] of net.layers.entries()) {
      const grad = l.widthLogits.grad;
      assert.ok(grad !== null, `layer ${i} has no gradient`);
      assert.ok(grad.abs().sum().item() > 0, `layer ${i} gradient is zero`);
    }
  });
});

test('derived widths are the argmax candidates, measured against the original', () => {
  const net = smallSupernet({ inputSize: [28, 28], numClasses: 10 });
  noGrad(() => {
    net.layers.forEach((l, i) => {
      const logits = new Float32Array(8);
      logits[i % 8] = 1;
      l.widthLogits.copy_(fromArray(logits));
    });
  });
  net.setLevels(net.layers.map((l, i) => (i === 4 ? 2 : 0)));
  const d = deriveNetwork(net);
  const want = net.layers.map((l, i) => l.candidates()[i % 8]);
  assert.deepEqual(d.widths, want);
  assert.deepEqual(d.modelConfig.widths, want);
  assert.equal(d.modelConfig.name, 'resnet20');
  // Layer 4 is at level 2 (max 25) with its largest candidate (ratio 1.0 is index 7; 4 % 8 = 4 -> 0.7): 17.
  assert.equal(d.widths[4], 17);
  assert.ok(d.grew.some((c) => c.layer === 4 && c.searched === 17 && c.original === 16));
  assert.ok(d.shrank.every((c) => c.searched < c.original));
  // ResNet-20 on 28x28, 10 classes (complexity() of the zoo model).
  assert.equal(d.originalMacs, 31_021_952);
  assert.ok(Math.abs(d.flopsRatio - d.macs / d.originalMacs) < 1e-12);
});

test('a resumed search repeats the uninterrupted one: same next batch, logits and expanded widths', () => {
  const dirA = mkdtempSync(join(tmpdir(), 'lowbit-nce-a-'));
  const dirB = mkdtempSync(join(tmpdir(), 'lowbit-nce-b-'));
  try {
    const stepsA: SearchStepInfo[] = [];
    const a = setup(dirA);
    const ra = runSearch({ ...a, hyper: HYPER, onStep: (s) => stepsA.push(s) });
    assert.equal(ra.history.length, 2);
    // The high arch LR and low threshold make layers expand in epoch 1, so the resume must restore shapes.
    assert.ok(ra.history[0].expansions.length > 0, 'some layer expanded after epoch 1');

    // Killed after epoch 1's checkpoint; a new process resumes with fresh objects.
    const b1 = setup(dirB);
    assert.throws(
      () => runSearch({ ...b1, hyper: HYPER, onEpoch: () => { throw new Error('killed'); } }),
      /killed/,
    );
    const stepsB: SearchStepInfo[] = [];
    const b2 = setup(dirB);
    const rb = runSearch({ ...b2, hyper: HYPER, resume: true, onStep: (s) => stepsB.push(s) });
    assert.equal(rb.resumedFromEpoch, 1);
    assert.equal(rb.history.length, 2);
    const epoch2A = stepsA.filter((s) => s.epoch === 1);
    assert.equal(stepsB.length, epoch2A.length);
    // The first step after the resume sees the same batches, pair samples and weights: the same losses.
    assert.equal(stepsB[0].weightLoss, epoch2A[0].weightLoss);
    assert.equal(stepsB[0].archLoss, epoch2A[0].archLoss);
    assert.deepEqual(b2.net.archParameters().map((p) => p.toArray()), a.net.archParameters().map((p) => p.toArray()));
    assert.deepEqual(b2.net.maxWidths(), a.net.maxWidths());
    assert.deepEqual(rb.widths, ra.widths);
  } finally {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  }
});

// The training pipeline as a library call, without the CLI: a zoo model trained on a data set by name,
// progress through callbacks, the run directory's records, resume, and defaults from TRAINING_DEFAULTS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader, loadDataset } from '../../src/data/index.ts';
import { LowbitError } from '../../src/errors.ts';
import { evaluate, loadCheckpoint, RunDir, trainModel, TRAINING_DEFAULTS, trainingOptions } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

test('trainingOptions fills what is left out from TRAINING_DEFAULTS and checks the rest', () => {
  const o = trainingOptions({ epochs: 3, optimizer: { lr: 0.05 } });
  assert.equal(o.epochs, 3);
  assert.deepEqual(o.optimizer, { ...TRAINING_DEFAULTS.optimizer, lr: 0.05 });
  assert.equal(o.schedule, 'cosine');
  assert.equal(o.batchSize, 128);
  assert.equal('trainSubset' in o, false);
  assert.throws(() => trainingOptions({ epochs: 0 }), (e: Error) => e instanceof LowbitError && /TrainingOptions\.epochs must be a positive integer, got 0/.test(e.message));
  assert.throws(() => trainingOptions({ labelSmoothing: 1 }), /TrainingOptions\.labelSmoothing/);
});

test('trainModel trains, reports through callbacks, writes the run directory, refuses to overwrite and resumes', () => {
  const { dir, cleanup } = makeTempDir();
  const saved = process.env.LOWBIT_DATA;
  try {
    writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 600, 28, 28, { gzip: false, seed: 3 });
    writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 200, 28, 28, { gzip: false, seed: 4 });
    process.env.LOWBIT_DATA = dir;
    const runDir = new RunDir(join(dir, 'run'));
    const events: string[] = [];
    let steps = 0;
    const options = { epochs: 2, trainSubset: 256, batchSize: 64, augment: false, optimizer: { lr: 0.01 } };
    const r = trainModel({
      model: 'mlp',
      options,
      runDir,
      onModel: (m) => events.push(`model ${m.modelConfig.name} ${m.params > 0}`),
      onStart: (s) => events.push(`start ${s.trainImages} ${s.batchSize}`),
      onStep: () => steps++,
      onEpoch: (m) => events.push(`epoch ${m.epoch}`),
      onResume: () => events.push('resume'),
    });
    assert.deepEqual(events, ['model mlp true', 'start 256 64', 'epoch 1', 'epoch 2']);
    assert.equal(steps, 2 * 4);
    assert.equal(r.resumedFromEpoch, 0);
    assert.deepEqual(r.modelConfig, { name: 'mlp', numClasses: 10, inChannels: 1, inputSize: [28, 28] });
    assert.deepEqual(JSON.parse(readFileSync(runDir.file('result.json'), 'utf8')), JSON.parse(JSON.stringify(r.summary)));
    const config = JSON.parse(readFileSync(runDir.file('config.json'), 'utf8'));
    assert.deepEqual(config.training.optimizer, { name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    // model.safetensors evaluates to the reported accuracy.
    const { model } = loadCheckpoint(r.summary.checkpoint);
    const test = new DataLoader(loadDataset('fashion-mnist', 'test'), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
    assert.equal(evaluate(model, test).accuracy, r.summary.testAccuracy);

    assert.throws(
      () => trainModel({ model: 'mlp', options, runDir }),
      (e: Error) => e instanceof LowbitError && /already holds a run: set resume to continue it/.test(e.message) && !/--/.test(e.message),
    );
    const more = trainModel({ model: 'mlp', options: { ...options, epochs: 3 }, runDir, resume: true, onResume: (x) => events.push(`resume ${x.epoch}`) });
    assert.equal(more.resumedFromEpoch, 2);
    assert.equal(more.summary.history.length, 3);
    assert.deepEqual(more.summary.history.slice(0, 2), r.summary.history);
    assert.equal(events[events.length - 1], 'resume 2');
  } finally {
    if (saved === undefined) delete process.env.LOWBIT_DATA;
    else process.env.LOWBIT_DATA = saved;
    cleanup();
  }
});

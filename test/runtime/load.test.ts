import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { createModel } from '../../src/models/index.ts';
import { argmaxRows, loadIntModel } from '../../src/runtime/index.ts';
import { noGrad, scope } from '../../src/tensor/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';
import { fakeQuantResNet, fixtureConfig, normalize, quantConfig, randomPixels } from './resnet-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('loadIntModel', () => {
  it('runs a QAT checkpoint: the same classes as the fake-quant model it was saved from', () => {
    const size = 12;
    const model = fakeQuantResNet(4, size, 21);
    const path = join(dir, 'w4a4.safetensors');
    saveCheckpoint(path, model, { ...fixtureConfig(size), quant: quantConfig(4) });
    const m = loadIntModel(path);
    assert.equal(m.classes, 10);
    assert.equal(m.imageBytes, size * size);
    const n = 16;
    const pixels = randomPixels(n, size, 9);
    const got = argmaxRows(m.plan.run(pixels, n), 10);
    const want = scope(() => noGrad(() => model.call(normalize(pixels, n, size)).argmax(1).toArray()));
    assert.deepEqual(Array.from(got), want);
  });

  it('refuses a float checkpoint with a message that says how to make a quantized one', () => {
    const path = join(dir, 'float.safetensors');
    saveCheckpoint(path, createModel(fixtureConfig(8)), fixtureConfig(8));
    assert.throws(() => loadIntModel(path), (e: Error) => e instanceof LowbitError && /a float checkpoint/.test(e.message) && /lowbit qat/.test(e.message));
  });

  it('argmaxRows takes the first of equal logits', () => {
    assert.deepEqual(Array.from(argmaxRows(Float32Array.from([1, 3, 3, 0, -1, -2]), 3)), [1, 0]);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { createModel } from '../../src/models/index.ts';
import { argmaxRows, loadIntModel, savePlan } from '../../src/runtime/index.ts';
import { quantizeModel } from '../../src/quant/index.ts';
import { fromArray, noGrad, scope } from '../../src/tensor/index.ts';
import { datasetMetadata } from '../../src/data/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';
import { fakeQuantResNet, fixtureConfig, normalize, quantConfig, randomPixels } from './resnet-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('loadIntModel', () => {
  it('runs a QAT checkpoint, and the same plan saved and loaded: the same classes as the fake-quant model', async () => {
    const size = 12;
    const model = fakeQuantResNet(4, size, 21);
    const path = join(dir, 'w4a4.safetensors');
    saveCheckpoint(path, model, { ...fixtureConfig(size), quant: quantConfig(4) });
    const m = await loadIntModel(path);
    assert.equal(m.classes, 10);
    assert.equal(m.imageBytes, size * size);
    const n = 16;
    const pixels = randomPixels(n, size, 9);
    const got = argmaxRows(m.plan.run(pixels, n), 10);
    const want = scope(() => noGrad(() => model.call(normalize(pixels, n, size)).argmax(1).toArray()));
    assert.deepEqual(Array.from(got), want);
    // Saved and loaded back: the same logits, bit for bit, from a file of packed weights.
    const planPath = join(dir, 'w4a4.lbit');
    const bytes = savePlan(m.plan, { modelConfig: m.modelConfig }, planPath);
    const back = await loadIntModel(planPath);
    assert.deepEqual(back.plan.run(pixels, n), m.plan.run(pixels, n));
    assert.equal(back.classes, 10);
    // 4-bit body weights: the file is a fraction of the float32 parameters (~1.1 MB for ResNet-20).
    assert.ok(bytes < statSync(path).size / 4, `plan ${bytes} bytes vs checkpoint ${statSync(path).size}`);
  });

  it('a damaged plan file is one clear error saying how to write it again', async () => {
    const model = fakeQuantResNet(2, 8, 3);
    const path = join(dir, 'w2.safetensors');
    saveCheckpoint(path, model, { ...fixtureConfig(8), quant: quantConfig(2) });
    const m = await loadIntModel(path);
    const planPath = join(dir, 'w2.lbit');
    savePlan(m.plan, { modelConfig: m.modelConfig }, planPath);
    const full = readFileSync(planPath);
    const cut = join(dir, 'cut.lbit');
    writeFileSync(cut, full.subarray(0, full.length - 100));
    await assert.rejects(loadIntModel(cut), (e: Error) => e instanceof LowbitError && /lies outside the data/.test(e.message) && /lowbit run --model CHECKPOINT --save/.test(e.message));
    writeFileSync(cut, full.subarray(0, 20));
    await assert.rejects(loadIntModel(cut), /says \d+ bytes of description/);
  });

  it("folds the model's recorded normalization (not Fashion-MNIST's) and keeps it in a saved plan; a contradicting data set is refused", async () => {
    const size = 8;
    const model = fakeQuantResNet(4, size, 5);
    const path = join(dir, 'mnist-w4.safetensors');
    const mnist = { dataset: 'mnist', mean: [0.1307], std: [0.3081] };
    saveCheckpoint(path, model, { ...fixtureConfig(size), quant: quantConfig(4) }, { metadata: datasetMetadata(mnist) });
    const m = await loadIntModel(path);
    assert.deepEqual(m.data, mnist);
    const n = 16;
    const pixels = randomPixels(n, size, 4);
    const x = scope(() => fromArray(pixels, [n, 1, size, size]).to('float32').div_(255).sub_(0.1307).div_(0.3081));
    const want = scope(() => noGrad(() => model.call(x).argmax(1).toArray()));
    x.dispose();
    assert.deepEqual(Array.from(argmaxRows(m.plan.run(pixels, n), 10)), want);
    const planPath = join(dir, 'mnist-w4.lbit');
    savePlan(m.plan, { modelConfig: m.modelConfig, data: m.data }, planPath);
    assert.deepEqual((await loadIntModel(planPath)).data, mnist);
    await assert.rejects(loadIntModel(path, { dataset: 'fashion-mnist' }), /--dataset fashion-mnist contradicts .*mnist-w4\.safetensors, which was trained on mnist/);
  });

  it('refuses a quantized model that is not a basic-block ResNet, naming the ones it runs and what to use instead', async () => {
    const config = { name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] as [number, number] };
    const model = createModel(config);
    quantizeModel(model, quantConfig(2));
    const path = join(dir, 'lenet5-w2.safetensors');
    saveCheckpoint(path, model, { ...config, quant: quantConfig(2) });
    await assert.rejects(loadIntModel(path), (e: Error) => e instanceof LowbitError && /lenet5-w2\.safetensors: a lenet5; the integer runtime runs the basic-block ResNets \(resnet20, .*\)\. Evaluate it with 'lowbit eval/.test(e.message) && !/Sequential/.test(e.message));
  });

  it('refuses a float checkpoint with a message that says how to make a quantized one', async () => {
    const path = join(dir, 'float.safetensors');
    saveCheckpoint(path, createModel(fixtureConfig(8)), fixtureConfig(8));
    await assert.rejects(loadIntModel(path), (e: Error) => e instanceof LowbitError && /a float checkpoint/.test(e.message) && /lowbit qat/.test(e.message));
  });

  it('argmaxRows takes the first of equal logits', () => {
    assert.deepEqual(Array.from(argmaxRows(Float32Array.from([1, 3, 3, 0, -1, -2]), 3)), [1, 0]);
  });
});

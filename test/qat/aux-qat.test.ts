// QAT with the auxiliary module end to end: the module is checkpointed for resume (a run killed with
// kill -9 continues from its last epoch with the module restored, and ends exactly where an
// uninterrupted run ends), saved apart from the model, and leaves no trace in the model file or its
// ONNX export; two stages train the float network and the module first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../../src/models/index.ts';
import { loadSafetensors } from '../../src/nn/index.ts';
import { auxiliaryExtension, auxOptions, runAuxQat } from '../../src/qat/index.ts';
import { SGD } from '../../src/optim/index.ts';
import { quantizeModel } from '../../src/quant/index.ts';
import { Generator } from '../../src/tensor/index.ts';
import { lastCheckpointPath, RunDir, saveCheckpoint, TrainingState, trainingOptions } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');
const R20 = { name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28] as [number, number] };
const W2A2 = { weight: { kind: 'sawb' as const, bits: 2 }, act: { kind: 'pact' as const, bits: 2, alphaInit: 1 }, firstLast: { bits: 8 } };

function tensorsOf(path: string): Map<string, Float32Array> {
  const f = loadSafetensors(path);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of f.tensors) {
    out.set(k, t.float().toFloat32Array());
    t.dispose();
  }
  return out;
}

function assertSameTensors(a: string, b: string): void {
  const ta = tensorsOf(a);
  const tb = tensorsOf(b);
  assert.deepEqual([...ta.keys()], [...tb.keys()]);
  for (const [k, v] of ta) assert.deepEqual(v, tb.get(k), `${k} differs between ${a} and ${b}`);
}

/** A temp LOWBIT_DATA with a tiny Fashion-MNIST and a float ResNet-20 checkpoint. */
function withData(fn: (dir: string, floatPath: string, env: NodeJS.ProcessEnv) => Promise<void> | void) {
  return async () => {
    const { dir, cleanup } = makeTempDir();
    const saved = process.env.LOWBIT_DATA;
    try {
      writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 256, 28, 28, { gzip: false, seed: 1 });
      writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 64, 28, 28, { gzip: false, seed: 2 });
      process.env.LOWBIT_DATA = dir;
      const floatPath = join(dir, 'float.safetensors');
      saveCheckpoint(floatPath, createModel(R20, { generator: new Generator(1) }), R20);
      await fn(dir, floatPath, { ...process.env, LOWBIT_DATA: dir, LOWBIT_THREADS: '1' });
    } finally {
      if (saved === undefined) delete process.env.LOWBIT_DATA;
      else process.env.LOWBIT_DATA = saved;
      cleanup();
    }
  };
}

test('aux options: beta >= 0, stages 1 or 2, stage-1 epochs positive', () => {
  assert.deepEqual(auxOptions(), { weight: 1, stages: 1, stage1Epochs: 1 });
  assert.throws(() => auxOptions({ weight: -1 }), /AuxOptions.weight/);
  assert.throws(() => auxOptions({ stages: 3 as 1 }), /AuxOptions.stages/);
  assert.throws(() => auxOptions({ stage1Epochs: 0 }), /AuxOptions.stage1Epochs/);
});

test(
  'lowbit qat --aux killed with kill -9 resumes from its last epoch with the module restored, and ends as an uninterrupted run',
  withData(async (dir, floatPath, env) => {
    const args = (out: string) => ['qat', '--checkpoint', floatPath, '--aux', '--epochs', '3', '--batch-size', '64', '--train-subset', '256', '--out', out];
    const straight = spawnSync(process.execPath, [BIN, ...args(join(dir, 'straight')), '--json'], { env, encoding: 'utf8' });
    assert.equal(straight.status, 0, straight.stderr);

    const out = join(dir, 'killed');
    const child = spawn(process.execPath, [BIN, ...args(out)], { env, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(lastCheckpointPath(new RunDir(out)))) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 10);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      setTimeout(() => reject(new Error('no epoch finished in 300 s')), 300_000).unref();
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    assert.equal(child.signalCode, 'SIGKILL', 'the run was killed before finishing');
    const savedEpoch = TrainingState.peek(lastCheckpointPath(new RunDir(out))).epoch;
    assert.ok(savedEpoch >= 1 && savedEpoch < 3, `killed after epoch ${savedEpoch}`);
    assert.ok(readFileSync(lastCheckpointPath(new RunDir(out))).includes('aux.adaptors.0.0.weight'), 'the module is in the training state');

    const resumed = spawnSync(process.execPath, [BIN, ...args(out), '--resume', '--json'], { env, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resumed from epoch ${savedEpoch}`));
    const result = JSON.parse(resumed.stdout);
    assert.equal(result.history.length, 3);
    assert.ok(result.history.every((h: { extra?: { auxLoss?: number } }) => Number.isFinite(h.extra?.auxLoss)), 'both heads recorded every epoch');
    // The resumed run ends bit-identical to the uninterrupted one: model, and module restored at resume.
    assertSameTensors(join(dir, 'straight', 'model.safetensors'), join(out, 'model.safetensors'));
    assertSameTensors(join(dir, 'straight', 'aux.safetensors'), join(out, 'aux.safetensors'));
    const modelKeys = [...tensorsOf(join(out, 'model.safetensors')).keys()];
    assert.ok(!modelKeys.some((k) => /aux|adaptor|downsamples/.test(k)), 'the module is not in model.safetensors');
  }),
);

test(
  'the saved model of an aux run evaluates and exports like a plain one: same ONNX size, no trace of the module',
  withData((dir, floatPath, env) => {
    const common = ['--epochs', '1', '--batch-size', '64', '--train-subset', '128'];
    // Run directories of equal name length: the export records its source path.
    for (const name of ['runp', 'runa']) {
      const r = spawnSync(process.execPath, [BIN, 'qat', '--checkpoint', floatPath, ...common, ...(name === 'runa' ? ['--aux'] : []), '--out', join(dir, name)], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const e = spawnSync(process.execPath, [BIN, 'export', '--checkpoint', join(dir, name, 'model.safetensors'), '--out', join(dir, `${name}.onnx`)], { env, encoding: 'utf8' });
      assert.equal(e.status, 0, e.stderr);
      const ev = spawnSync(process.execPath, [BIN, 'eval', '--checkpoint', join(dir, name, 'model.safetensors'), '--json'], { env, encoding: 'utf8' });
      assert.equal(ev.status, 0, ev.stderr);
    }
    const plain = readFileSync(join(dir, 'runp.onnx'));
    const aux = readFileSync(join(dir, 'runa.onnx'));
    assert.equal(aux.length, plain.length, 'same graph and initializers as a plain QAT export');
    for (const word of ['aux', 'adaptor', 'downsamples', 'stemAdaptor']) assert.ok(!aux.includes(word), `'${word}' found in the exported file`);
  }),
);

test(
  'two stages: float network + module first (RUN_DIR/stage1), then the fine-tune starts from both',
  withData((dir, floatPath) => {
    const runDir = new RunDir(join(dir, 'two'));
    const r = runAuxQat({ checkpoint: floatPath, options: { epochs: 1, batchSize: 64, trainSubset: 128 }, runDir, aux: { stages: 2, stage1Epochs: 1 } });
    const stage1 = join(dir, 'two', 'stage1');
    assert.ok(existsSync(join(stage1, 'aux.safetensors')) && existsSync(join(stage1, 'model.safetensors')));
    const s1 = JSON.parse(readFileSync(join(stage1, 'result.json'), 'utf8'));
    assert.equal(s1.command, 'qat-aux-stage1');
    // Stage 1 trained a float network: its checkpoint has no quantizers, stage 2's has.
    assert.ok(![...tensorsOf(join(stage1, 'model.safetensors')).keys()].some((k) => k.includes('Quantizer')));
    assert.ok([...tensorsOf(r.summary.checkpoint).keys()].some((k) => k.includes('inputQuantizer.alpha')));
    // Stage 2's module starts from stage 1's weights (what auxiliaryExtension loads from weightsFrom).
    const model = createModel(R20, { generator: new Generator(5) });
    quantizeModel(model, W2A2);
    let loaded: Map<string, Float32Array> | null = null;
    auxiliaryExtension({ aux: auxOptions(), seed: 0, weightsFrom: join(stage1, 'aux.safetensors'), onAttach: (a) => {
      loaded = new Map([...a.module.stateDict()].map(([k, t]) => [k, t.float().toFloat32Array()]));
      a.detach();
    } })({ model, modelConfig: { ...R20, quant: W2A2 }, quant: W2A2, optimizer: new SGD(model.parameters(), { lr: 0.01 }), options: trainingOptions({}) });
    const fromFile = tensorsOf(join(stage1, 'aux.safetensors'));
    assert.ok(loaded !== null);
    for (const [k, v] of fromFile) assert.deepEqual((loaded as Map<string, Float32Array>).get(k), v, k);
    assert.deepEqual([...tensorsOf(r.auxWeights).keys()], [...fromFile.keys()]);
    const config = JSON.parse(readFileSync(join(dir, 'two', 'config.json'), 'utf8'));
    assert.equal(config.aux.stages, 2);
    assert.equal(config.from, join(stage1, 'model.safetensors'));
    // Rerunning finds stage 1 done and does not train it again.
    const before = readFileSync(join(stage1, 'result.json'), 'utf8');
    runAuxQat({ checkpoint: floatPath, options: { epochs: 1, batchSize: 64, trainSubset: 128 }, runDir: new RunDir(join(dir, 'two')), resume: true, aux: { stages: 2, stage1Epochs: 1 } });
    assert.equal(readFileSync(join(stage1, 'result.json'), 'utf8'), before);
  }),
);

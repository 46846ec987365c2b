// issue 20: the ONNX dead ends of the command line. A model's data set travels checkpoint -> ONNX ->
// eval/ptq defaults; eval --onnx; a ptq --onnx run (weights only, or with --abits) can be reported and
// exported again at another opset from its codes, with the same accuracy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetMetadata, readDatasetMetadata } from '../../src/data/index.ts';
import { readOnnxMetadata } from '../../src/export/index.ts';
import { decodeModel } from '../../src/export/onnx/proto.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { manualSeed } from '../../src/tensor/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';
import { randomFloats } from '../export/import/fixtures.ts';
import { runOrt } from '../export/ort-helper.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');
const MLP: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [16] };

test('checkpoint -> export -> eval --onnx -> ptq --onnx -> report -> export --onnx at opset 21', () => {
  const { dir, cleanup } = makeTempDir();
  const lowbit = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, LOWBIT_THREADS: '1', LOWBIT_DATA: join(dir, 'data') }, encoding: 'utf8' });
    return { ...r, line: r.stderr.split('\n').filter(Boolean).at(-1) ?? '' };
  };
  try {
    mkdirSync(join(dir, 'data', 'mnist'), { recursive: true });
    writeIdxSplit(join(dir, 'data', 'mnist'), 'train', 128, 28, 28, { gzip: false, seed: 1 });
    writeIdxSplit(join(dir, 'data', 'mnist'), 't10k', 64, 28, 28, { gzip: false, seed: 2 });
    manualSeed(3);
    saveCheckpoint(join(dir, 'float.safetensors'), createModel(MLP), MLP, { metadata: datasetMetadata({ dataset: 'mnist', mean: [0.1307], std: [0.3081] }) });

    const ex = lowbit(['export', '--checkpoint', 'float.safetensors', '--out', 'float.onnx']);
    assert.equal(ex.status, 0, ex.stderr);
    const meta = readOnnxMetadata(readFileSync(join(dir, 'float.onnx')), 'float.onnx');
    assert.equal(readDatasetMetadata(meta, 'float.onnx')?.dataset, 'mnist');

    const ev = lowbit(['eval', '--onnx', 'float.onnx', '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).dataset, 'mnist/test', 'the recorded data set is the default');
    const wrong = lowbit(['eval', '--onnx', 'float.onnx', '--dataset', 'fashion-mnist']);
    assert.equal(wrong.status, 2);
    assert.match(wrong.line, /--dataset fashion-mnist contradicts float\.onnx, which was trained on mnist/);

    const ptq = lowbit(['ptq', '--onnx', 'float.onnx', '--method', 'rtn', '--wbits', '2', '--calib', '64', '--out', 'runO', '--json']);
    assert.equal(ptq.status, 0, ptq.stderr);
    const quantized = JSON.parse(ptq.stdout).quantizedAccuracy;

    const rep = lowbit(['report', 'runO']);
    assert.equal(rep.status, 0, rep.stderr);
    const md = readFileSync(join(dir, 'runO', 'report.md'), 'utf8');
    assert.doesNotMatch(md, /was not found|records no float checkpoint/);
    assert.ok(existsSync(join(dir, 'runO', 'report.html')));

    const re = lowbit(['export', '--onnx', 'runO/model.onnx', '--opset', '21', '--out', 'w2-op21.onnx', '--json']);
    assert.equal(re.status, 0, re.stderr);
    const r = JSON.parse(re.stdout);
    assert.equal(r.opset, 21);
    assert.ok(r.layers.filter((l: { format: string }) => l.format !== 'float').length >= 1, 'integer weights kept');
    const ev21 = lowbit(['eval', '--onnx', 'w2-op21.onnx', '--json']);
    assert.equal(ev21.status, 0, ev21.stderr);
    assert.equal(JSON.parse(ev21.stdout).accuracy, quantized);

    // Without its codes, the file is refused rather than silently written back with float weights.
    copyFileSync(join(dir, 'runO', 'model.onnx'), join(dir, 'lone.onnx'));
    const lone = lowbit(['export', '--onnx', 'lone.onnx', '--out', 'lone-op21.onnx']);
    assert.equal(lone.status, 2, lone.stderr);
    assert.match(lone.line, /lone\.onnx stores integer weights \(\d+ nodes, .*\) and no codes\.safetensors is beside it: give the codes .* with --codes PATH/);
    assert.equal(existsSync(join(dir, 'lone-op21.onnx')), false);
    const asFloat = lowbit(['export', '--onnx', 'lone.onnx', '--out', 'lone-float.onnx', '--float-weights', '--json']);
    assert.equal(asFloat.status, 0, asFloat.stderr);
    assert.equal(JSON.parse(asFloat.stdout).layers.filter((l: { format: string }) => l.format !== 'float').length, 0, 'asked for float weights');
  } finally {
    cleanup();
  }
});

test('ptq --onnx --abits 4 (once refused): Q/DQ on the quantized inputs; eval, report and export --onnx at opset 21 keep its accuracy', async () => {
  const { dir, cleanup } = makeTempDir();
  const lowbit = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, LOWBIT_THREADS: '1', LOWBIT_DATA: join(dir, 'data') }, encoding: 'utf8' });
  try {
    mkdirSync(join(dir, 'data', 'mnist'), { recursive: true });
    writeIdxSplit(join(dir, 'data', 'mnist'), 'train', 128, 28, 28, { gzip: false, seed: 1 });
    writeIdxSplit(join(dir, 'data', 'mnist'), 't10k', 64, 28, 28, { gzip: false, seed: 2 });
    manualSeed(3);
    // Two hidden layers, so one layer is in the body: its input gets 4 bits (the last layer's 8, the first's none).
    const mlp: ModelConfig = { ...MLP, widths: [16, 16] };
    saveCheckpoint(join(dir, 'float.safetensors'), createModel(mlp), mlp, { metadata: datasetMetadata({ dataset: 'mnist', mean: [0.1307], std: [0.3081] }) });
    assert.equal(lowbit(['export', '--checkpoint', 'float.safetensors', '--out', 'float.onnx']).status, 0);

    const ptq = lowbit(['ptq', '--onnx', 'float.onnx', '--method', 'rtn', '--wbits', '4', '--abits', '4', '--calib', '64', '--out', 'runA', '--json']);
    assert.equal(ptq.status, 0, ptq.stderr);
    const r = JSON.parse(ptq.stdout);
    assert.equal(r.abits, 4);
    assert.match(ptq.stderr, /calibrating 4-bit activation ranges on 64 images\nevaluate rtn W4A4/);
    // The file runs the activation-quantized model: eval --onnx (lowbit's import) and onnxruntime agree with ptq's accuracy.
    const ev = lowbit(['eval', '--onnx', 'runA/model.onnx', '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).accuracy, r.quantizedAccuracy);
    const ops = decodeModel(readFileSync(join(dir, 'runA', 'model.onnx'))).graph!.node.map((n) => n.opType);
    assert.equal(ops.filter((o) => o === 'QuantizeLinear').length, 2, ops.join(' '));

    const rep = lowbit(['report', 'runA']);
    assert.equal(rep.status, 0, rep.stderr);
    assert.doesNotMatch(readFileSync(join(dir, 'runA', 'report.md'), 'utf8'), /was not found|records no float checkpoint/);

    // Re-exported from the codes and the saved activation ranges: the same Q/DQ, the same outputs.
    const re = lowbit(['export', '--onnx', 'runA/model.onnx', '--opset', '21', '--out', 'w4a4-op21.onnx', '--json']);
    assert.equal(re.status, 0, re.stderr);
    const layers = JSON.parse(re.stdout).layers as { inputQuant: string | null }[];
    assert.deepEqual(layers.map((l) => l.inputQuant), [null, 'uint8', 'uint8']);
    const x = randomFloats(8 * 784, 5, 2);
    const [a, b] = await Promise.all(['runA/model.onnx', 'w4a4-op21.onnx'].map((f) => runOrt(readFileSync(join(dir, f)), x, [8, 1, 28, 28])));
    assert.deepEqual(b, a);
  } finally {
    cleanup();
  }
});

// issue 20: the ONNX dead ends of the command line. A model's data set travels checkpoint -> ONNX ->
// eval/ptq defaults; eval --onnx; a ptq --onnx run can be reported and exported again at another
// opset from its codes, with the same accuracy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetMetadata, readDatasetMetadata } from '../../src/data/index.ts';
import { readOnnxMetadata } from '../../src/export/index.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { manualSeed } from '../../src/tensor/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

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
  } finally {
    cleanup();
  }
});

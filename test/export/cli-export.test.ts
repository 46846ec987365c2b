import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeModel, DataType, floatTensor, node, attribute } from '../../src/export/onnx/proto.ts';
import { createModel } from '../../src/models/index.ts';
import { manualSeed } from '../../src/tensor/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';
import { encodeFixture, randomFloats } from './import/fixtures.ts';
import { runOrt } from './ort-helper.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');

describe('lowbit export and lowbit ptq --onnx', () => {
  let dir = '';
  let cleanup = () => {};
  const lowbit = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, LOWBIT_THREADS: '1', LOWBIT_DATA: dir }, encoding: 'utf8' });
  const storage = (path: string) => new Map(decodeModel(readFileSync(path)).graph!.initializer.map((t) => [t.name, DataType[t.dataType]]));

  before(() => {
    ({ dir, cleanup } = makeTempDir());
    writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 256, 28, 28, { gzip: false, seed: 1 });
    writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 64, 28, 28, { gzip: false, seed: 2 });
    manualSeed(0);
    const cfg = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28] as [number, number], widths: [32, 16] };
    saveCheckpoint(join(dir, 'float.safetensors'), createModel(cfg), cfg);
  });
  after(() => cleanup());

  it('--help shows usage and examples', () => {
    const r = lowbit(['export', '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: lowbit export \(--checkpoint PATH \| --onnx FILE\)/);
    assert.match(r.stdout, /Examples:/);
  });

  it('refuses an --out that is the checkpoint it reads, and leaves the checkpoint as it was', () => {
    const path = join(dir, 'float.safetensors');
    const before = readFileSync(path);
    const r = lowbit(['export', '--checkpoint', path, '--out', join(dir, '.', 'float.safetensors')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /is the input file; choose another --out/);
    assert.ok(readFileSync(path).equals(before));
  });

  it('exports a float checkpoint (--json), and a ptq run from its codes at the real bit width', async () => {
    const f = lowbit(['export', '--checkpoint', join(dir, 'float.safetensors'), '--json']);
    assert.equal(f.status, 0, f.stderr);
    const float = JSON.parse(f.stdout);
    assert.equal(float.out, join(dir, 'float.onnx'));
    assert.equal(float.opset, 13);
    const x = randomFloats(2 * 784, 5);
    assert.equal((await runOrt(readFileSync(float.out), x, [2, 1, 28, 28])).length, 20);

    const run = join(dir, 'ptq-run');
    const p = lowbit(['ptq', '--checkpoint', join(dir, 'float.safetensors'), '--method', 'rtn', '--wbits', '2', '--calib', '64', '--out', run, '--json']);
    assert.equal(p.status, 0, p.stderr);
    const out = join(dir, 'w2.onnx');
    const e = lowbit(['export', '--checkpoint', join(run, 'model.safetensors'), '--out', out, '--json']);
    assert.equal(e.status, 0, e.stderr);
    const w2 = JSON.parse(e.stdout);
    assert.deepEqual(w2.layers.map((l: { storage: string }) => l.storage), ['int8', 'int2', 'int8']);
    assert.equal(w2.opset, 25);
    assert.ok(w2.bytes * 3 < float.bytes, 'the 8-bit first layer dominates this tiny MLP');
    assert.equal((await runOrt(readFileSync(out), x, [2, 1, 28, 28])).length, 20);
    // MatMulNBits and an older opset (2-bit codes widened to int4 there).
    const n = lowbit(['export', '--checkpoint', join(run, 'model.safetensors'), '--out', join(dir, 'nbits.onnx'), '--matmul-nbits', '--opset', '21', '--json']);
    assert.equal(n.status, 0, n.stderr);
    assert.ok(JSON.parse(n.stdout).layers.every((l: { format: string }) => l.format === 'matmulnbits'));
  });

  it('ptq --onnx quantizes a model made elsewhere and writes it as low-bit ONNX', async () => {
    const bytes = encodeFixture({
      inputShape: ['N', 1, 28, 28],
      outputShape: ['N', 10],
      initializers: [floatTensor('w', [4, 1, 5, 5], randomFloats(100, 1, 0.3)), floatTensor('fc1', [10, 784], randomFloats(7840, 2, 0.05)), floatTensor('fc2', [10, 10], randomFloats(100, 3, 0.3)), floatTensor('b2', [10], randomFloats(10, 4))],
      nodes: [
        node('Conv', ['x', 'w'], ['c'], { name: 'conv', attributes: [attribute('pads', [2, 2, 2, 2])] }),
        node('Relu', ['c'], ['r'], { name: 'relu' }),
        node('MaxPool', ['r'], ['p'], { name: 'pool', attributes: [attribute('kernel_shape', [2, 2]), attribute('strides', [2, 2])] }),
        node('Flatten', ['p'], ['f'], { name: 'flatten' }),
        node('Gemm', ['f', 'fc1'], ['h'], { name: 'fc1', attributes: [attribute('transB', 1)] }),
        node('Relu', ['h'], ['hr'], { name: 'relu2' }),
        node('Gemm', ['hr', 'fc2', 'b2'], ['y'], { name: 'fc2', attributes: [attribute('transB', 1)] }),
      ],
    });
    const src = join(dir, 'elsewhere.onnx');
    writeFileSync(src, bytes);
    const run = join(dir, 'ptq-onnx');
    const p = lowbit(['ptq', '--onnx', src, '--method', 'gpfq', '--wbits', '2', '--calib', '64', '--out', run, '--json']);
    assert.equal(p.status, 0, p.stderr);
    assert.deepEqual(JSON.parse(p.stdout).layers.map((l: { name: string; bits: number }) => `${l.name}:${l.bits}`), ['conv:8', 'fc1:2', 'fc2:8']);
    const out = join(run, 'model.onnx');
    assert.ok(existsSync(out));
    assert.equal(storage(out).get('fc1.weight_codes'), 'INT2');
    assert.equal((await runOrt(readFileSync(out), randomFloats(784, 9), [1, 1, 28, 28])).length, 10);
  });

  it('bad flags exit 2, bad files exit 1 with the problem named', () => {
    const opset = lowbit(['export', '--checkpoint', join(dir, 'float.safetensors'), '--opset', '27']);
    assert.equal(opset.status, 2);
    assert.match(opset.stderr, /--opset 27: choose 13 to 26/);
    const missing = lowbit(['export', '--checkpoint', join(dir, 'nope.safetensors')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /does not exist/);
    writeFileSync(join(dir, 'broken.onnx'), Buffer.from('not onnx at all'));
    const broken = lowbit(['ptq', '--onnx', join(dir, 'broken.onnx'), '--calib', '16', '--out', join(dir, 'x')]);
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /broken\.onnx: (not a valid ONNX file|the ONNX model has no graph)/);
  });
});

// issue 20: a PyTorch ResNet state dict with torchvision's key names (conv1, layer1.0.conv1,
// layer2.0.downsample.0, fc) becomes a lowbit checkpoint of the zoo ResNet with the same outputs; an
// ImageNet 7x7 stem is refused in one line that says why and what to do instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createModel, RESNET18_WIDTHS, type ModelConfig } from '../../src/models/index.ts';
import { saveSafetensors } from '../../src/nn/index.ts';
import { manualSeed, noGrad, randn, type Tensor } from '../../src/tensor/index.ts';
import { loadCheckpoint } from '../../src/train/index.ts';
import { makeTempDir } from '../data/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');

/** The zoo's names back to torchvision's, as PyTorch would have saved them. */
function torchvisionName(key: string): string {
  return key
    .replace(/^stem\.0\./, 'conv1.')
    .replace(/^stem\.1\./, 'bn1.')
    .replace(/^layers\.(\d+)\./, (_, i) => `layer${Math.floor(Number(i) / 2) + 1}.${Number(i) % 2}.`)
    .replace(/\.shortcut\./, '.downsample.');
}

test('lowbit convert --key-map torchvision: resnet18 keys into the zoo model, same outputs', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    manualSeed(1);
    const widths = RESNET18_WIDTHS.map(() => 8);
    const config: ModelConfig = { name: 'resnet18', inChannels: 3, numClasses: 10, inputSize: [32, 32], widths };
    const original = createModel(config).eval();
    const tv = new Map<string, Tensor>();
    for (const [k, t] of original.stateDict()) tv.set(torchvisionName(k), t);
    assert.ok(tv.has('layer1.0.conv1.weight') && tv.has('layer2.0.downsample.0.weight') && tv.has('conv1.weight') && tv.has('fc.weight'));
    saveSafetensors(join(dir, 'tv.safetensors'), tv);
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, LOWBIT_THREADS: '1' }, encoding: 'utf8' });
    const r = run(['convert', '--weights', 'tv.safetensors', '--model', 'resnet18', '--widths', widths.join(','), '--dataset', 'cifar10', '--out', 'zoo.safetensors']);
    assert.equal(r.status, 0, r.stderr);
    const loaded = loadCheckpoint(join(dir, 'zoo.safetensors'));
    loaded.model.eval();
    const x = randn([2, 3, 32, 32]);
    const diff = noGrad(() => loaded.model.call(x).sub(original.call(x)).abs().amax().item());
    assert.ok(diff < 1e-5, `outputs differ by ${diff}`);
    assert.equal(loaded.metadata['lowbit.dataset'], 'cifar10');

    // torchvision's ImageNet stem: 7x7 conv1.
    tv.set('conv1.weight', randn([8, 3, 7, 7]));
    saveSafetensors(join(dir, 'imagenet.safetensors'), tv);
    const bad = run(['convert', '--weights', 'imagenet.safetensors', '--model', 'resnet18', '--widths', widths.join(','), '--out', 'x.safetensors']);
    assert.equal(bad.status, 1);
    const lines = bad.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, bad.stderr);
    assert.match(lines[0], /^lowbit convert: imagenet\.safetensors as resnet18: state dict shape mismatch .*stem\.0\.weight: checkpoint \[8x3x7x7\] vs model \[8x3x3x3\].*torchvision's ImageNet stem.*import its ONNX export with --onnx instead\)$/);
  } finally {
    cleanup();
  }
});

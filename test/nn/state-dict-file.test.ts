// saveStateDict / loadStateDictFile: a trained model saved and loaded into a freshly built one of the
// same architecture gives identical outputs; mismatched architectures fail naming the keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { loadSafetensors, loadStateDictFile, saveStateDict } from '../../src/nn/index.ts';
import { cifarResNet, lenet5 } from '../../src/models/index.ts';
import { Generator, noGrad, randn, scope } from '../../src/tensor/index.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-sd-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const cfg = { name: 'resnet8', inChannels: 3, numClasses: 10, inputSize: [16, 16] as [number, number], widths: [8, 8, 8, 16, 16, 16, 16] };

test('save -> load into a fresh model of the same architecture gives identical outputs', () => {
  withDir((dir) => {
    const a = cifarResNet(8, cfg, { generator: new Generator(1) });
    // Two training-mode batches move the BN running statistics and num_batches_tracked off their defaults.
    scope(() => noGrad(() => [1, 2].forEach((s) => a.call(randn([4, 3, 16, 16], { generator: new Generator(s) }).mul(2).add(1)))));
    const path = join(dir, 'ckpt', 'model.safetensors');
    saveStateDict(a, path, { model: 'resnet8', widths: JSON.stringify(cfg.widths) });

    const b = cifarResNet(8, cfg, { generator: new Generator(2) });
    const x = randn([3, 3, 16, 16], { generator: new Generator(3) });
    a.eval();
    b.eval();
    const ya = noGrad(() => a.call(x));
    assert.equal(noGrad(() => b.call(x)).equal(ya), false, 'the two builds start different');
    const metadata = loadStateDictFile(b, path);
    assert.deepEqual(metadata, { model: 'resnet8', widths: '[8,8,8,16,16,16,16]' });
    assert.ok(noGrad(() => b.call(x)).equal(ya), 'outputs after loading');
    for (const [k, t] of a.stateDict()) {
      const u = b.stateDict().get(k)!;
      assert.equal(u.dtype, t.dtype, k);
      assert.ok(u.equal(t), k);
    }
    assert.equal(b.stateDict().get('layers.0.bn1.num_batches_tracked')!.item(), 2);
    assert.equal(b.stateDict().get('stem.1.running_mean')!.abs().sum().item() > 0, true);
    // Loaded parameters are still trainable leaves.
    assert.ok(b.parameters().every((p) => p.requiresGrad && p.isLeaf));
    // The file holds exactly the state dict, under PyTorch's names.
    const file = loadSafetensors(path);
    assert.deepEqual([...file.tensors.keys()].sort(), [...a.stateDict().keys()].sort());
    assert.ok(file.tensors.has('layers.1.shortcut.0.weight'));
    a.dispose();
    b.dispose();
  });
});

test('loading into a different architecture fails naming the keys and shapes', () => {
  withDir((dir) => {
    const path = join(dir, 'model.safetensors');
    const a = cifarResNet(8, cfg, { generator: new Generator(1) });
    saveStateDict(a, path);
    // Different widths: same keys, other shapes.
    const wider = cifarResNet(8, { ...cfg, widths: [8, 12, 8, 16, 16, 16, 16] });
    assert.throws(
      () => loadStateDictFile(wider, path),
      (e: unknown) => e instanceof LowbitError && e.message.includes('layers.0.conv1.weight') && e.message.includes('[8x8x3x3]') && e.message.includes('[12x8x3x3]'),
    );
    // Another model altogether: strict names missing and unexpected keys; non-strict loads what the
    // two share, which for LeNet-5 and a ResNet is nothing.
    const other = lenet5({ name: 'lenet5', inChannels: 3, numClasses: 10, inputSize: [32, 32] });
    assert.throws(
      () => loadStateDictFile(other, path),
      (e: unknown) => e instanceof LowbitError && /missing keys: 0\.weight/.test(e.message) && /unexpected keys: stem\.0\.weight/.test(e.message),
    );
    const before = other.stateDict().get('0.weight')!.toArray();
    loadStateDictFile(other, path, { strict: false });
    assert.deepEqual(other.stateDict().get('0.weight')!.toArray(), before);
    for (const m of [a, wider, other]) m.dispose();
  });
});

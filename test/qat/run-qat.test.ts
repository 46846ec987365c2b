// The QAT fine-tune as a library call: from a float checkpoint, with a method's extension (a side
// network trained beside the quantized model through its own step and optimizer), which is
// checkpointed for resume but never written into model.safetensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { createModel } from '../../src/models/index.ts';
import { Flatten, Linear, loadSafetensors, Sequential } from '../../src/nn/index.ts';
import { SGD } from '../../src/optim/index.ts';
import { runQat, type QatExtension } from '../../src/qat/index.ts';
import { F, Generator, noGrad } from '../../src/tensor/index.ts';
import { lastCheckpointPath, RunDir, saveCheckpoint, TrainingState } from '../../src/train/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

const LENET = { name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] as [number, number] };

function keysOf(path: string): string[] {
  const f = loadSafetensors(path);
  for (const t of f.tensors.values()) t.dispose();
  return [...f.tensors.keys()];
}

test('runQat with a side-network extension: extra metrics, side network in the training state only, resume', () => {
  const { dir, cleanup } = makeTempDir();
  const saved = process.env.LOWBIT_DATA;
  try {
    writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 300, 28, 28, { gzip: false, seed: 3 });
    writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 100, 28, 28, { gzip: false, seed: 4 });
    process.env.LOWBIT_DATA = dir;
    const floatPath = join(dir, 'float.safetensors');
    saveCheckpoint(floatPath, createModel(LENET, { generator: new Generator(1) }), LENET);

    const withSide = (): ((ctx: Parameters<NonNullable<Parameters<typeof runQat>[0]['extend']>>[0]) => QatExtension) => (ctx) => {
      const aux = new Sequential(new Flatten(), new Linear(784, 10, { generator: new Generator(2) }));
      const auxOptimizer = new SGD(aux.parameters(), { lr: 0.01, momentum: 0.9 });
      return {
        step: ({ images, labels }) => {
          const logits = ctx.model.call(images);
          const loss = F.crossEntropy(logits, labels);
          const auxLoss = F.crossEntropy(aux.call(images), labels);
          ctx.optimizer.zeroGrad();
          auxOptimizer.zeroGrad();
          loss.add(auxLoss).backward();
          ctx.optimizer.step();
          auxOptimizer.step();
          return { loss: loss.item(), correct: noGrad(() => logits.argmax(1).eq(labels).sum().item()), metrics: { auxLoss: auxLoss.item() } };
        },
        state: { modules: { aux }, optimizers: { auxOptimizer } },
      };
    };
    const options = { epochs: 1, trainSubset: 128, batchSize: 64 };
    const runDir = new RunDir(join(dir, 'qat'));
    const r = runQat({ checkpoint: floatPath, quant: { wbits: 3, abits: 3 }, options, runDir, extend: withSide() });
    assert.equal(r.wbits, 3);
    assert.equal(r.abits, 3);
    assert.equal(r.summary.history.length, 1);
    assert.ok(Number.isFinite(r.summary.history[0].extra!.auxLoss));
    const finalKeys = keysOf(r.summary.checkpoint);
    assert.ok(!finalKeys.some((k) => k.startsWith('aux.') || k.startsWith('auxOptimizer.')), 'the side network is not in model.safetensors');
    assert.ok(finalKeys.some((k) => k.endsWith('inputQuantizer.alpha')), 'PACT alphas are saved');
    const stateKeys = keysOf(lastCheckpointPath(runDir));
    assert.ok(stateKeys.includes('aux.1.weight') && stateKeys.some((k) => k.startsWith('auxOptimizer.')), `side network in the training state: ${stateKeys.filter((k) => k.startsWith('aux')).join(', ')}`);
    assert.equal(TrainingState.peek(lastCheckpointPath(runDir)).epoch, 1);

    const more = runQat({ checkpoint: floatPath, quant: { wbits: 3, abits: 3 }, options: { ...options, epochs: 2 }, runDir, resume: true, extend: withSide() });
    assert.equal(more.resumedFromEpoch, 1);
    assert.equal(more.summary.history.length, 2);

    assert.throws(
      () => runQat({ checkpoint: r.summary.checkpoint, options, runDir: new RunDir(join(dir, 'again')) }),
      (e: Error) => e instanceof UsageError && /already a quantized checkpoint/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.LOWBIT_DATA;
    else process.env.LOWBIT_DATA = saved;
    cleanup();
  }
});

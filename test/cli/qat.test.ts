// lowbit qat: the quantization config it builds from flags, and an end-to-end run from a float checkpoint
// whose saved fake-quant model evaluates to the accuracy the run reported. The optimizer groups are the
// library's (test/qat/qat-optimizer.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseCommandArgs } from '../../src/cli/command.ts';
import { qatCommand, qatQuantOptionsFrom } from '../../src/cli/commands/qat.ts';
import { UsageError } from '../../src/errors.ts';
import { qatQuantConfig as libraryQuantConfig } from '../../src/qat/index.ts';
import { loadSafetensors } from '../../src/nn/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');
const parse = (argv: string[]) => parseCommandArgs(qatCommand, argv).options;
const qatQuantConfig = (o: ReturnType<typeof parse>) => libraryQuantConfig(qatQuantOptionsFrom(o));

test('qat flags become a quantization config: body bits and kinds, 8-bit first/last, abits 32 = float activations', () => {
  const c = qatQuantConfig(parse(['--wbits', '3', '--abits', '4', '--wq', 'lsq', '--aq', 'pact', '--alpha-init', '2']));
  assert.deepEqual(c.weight, { kind: 'lsq', bits: 3 });
  assert.deepEqual(c.act, { kind: 'pact', bits: 4, alphaInit: 2 });
  assert.deepEqual(c.firstLast, { bits: 8 });
  assert.equal(qatQuantConfig(parse(['--abits', '32'])).act, null);
  assert.deepEqual(qatQuantConfig(parse(['--wq', 'uniform', '--per-channel'])).weight, { kind: 'uniform', bits: 2, perChannel: true });
  assert.throws(() => qatQuantConfig(parse(['--wbits', '1'])), (e: Error) => e instanceof UsageError && /--wbits 1: choose 2 to 8 bits/.test(e.message));
  assert.throws(() => qatQuantConfig(parse(['--abits', '16'])), /--abits 16: choose 2 to 8 bits \(or 32/);
  assert.throws(() => qatQuantConfig(parse(['--wq', 'sawb', '--per-channel'])), /--per-channel applies to --wq uniform or lsq/);
});

test('lowbit qat fine-tunes a float checkpoint; the saved fake-quant checkpoint evaluates to the reported accuracy', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 600, 28, 28, { gzip: false, seed: 3 });
    writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 300, 28, 28, { gzip: false, seed: 4 });
    const env = { ...process.env, LOWBIT_DATA: dir, LOWBIT_THREADS: '1' };
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    const floatRun = run(['train', '--model', 'lenet5', '--epochs', '1', '--batch-size', '64', '--lr', '0.05', '--no-augment', '--out', join(dir, 'float'), '--json']);
    assert.equal(floatRun.status, 0, floatRun.stderr);
    const floatCkpt = join(dir, 'float', 'model.safetensors');

    const qat = run(['qat', '--checkpoint', floatCkpt, '--wbits', '2', '--abits', '2', '--epochs', '2', '--batch-size', '64', '--out', join(dir, 'qat'), '--json']);
    assert.equal(qat.status, 0, qat.stderr);
    const result = JSON.parse(qat.stdout);
    assert.equal(result.wbits, 2);
    assert.equal(result.history.length, 2);
    const ckpt = join(dir, 'qat', 'model.safetensors');
    const { tensors, metadata } = loadSafetensors(ckpt);
    assert.ok([...tensors.keys()].some((k) => k.endsWith('inputQuantizer.alpha')), 'PACT alphas are saved');
    assert.equal(JSON.parse(metadata['lowbit.model']).quant.weight.kind, 'sawb');
    for (const t of tensors.values()) t.dispose();

    const evaluated = run(['eval', '--checkpoint', ckpt, '--json']);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    assert.equal(JSON.parse(evaluated.stdout).accuracy, result.testAccuracy);

    const twice = run(['qat', '--checkpoint', ckpt, '--out', join(dir, 'qat2')]);
    assert.equal(twice.status, 2);
    assert.match(twice.stderr, /already a quantized checkpoint/);
  } finally {
    cleanup();
  }
});

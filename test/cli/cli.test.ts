import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');

function lowbit(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, LOWBIT_THREADS: '1', ...env }, encoding: 'utf8' });
}

test('--help of every command exits 0 and shows options and examples', () => {
  for (const cmd of ['train', 'eval', 'ptq', 'qat', 'doctor']) {
    const r = lowbit([cmd, '--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: lowbit/);
    assert.match(r.stdout, /Examples:/);
  }
  const top = lowbit(['--help']);
  assert.equal(top.status, 0);
  assert.match(top.stdout, /train/);
});

test('usage errors exit 2 and name the flag; failures exit 1 and name the fix', () => {
  const unknown = lowbit(['train', '--bogus']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /bogus/);
  const badModel = lowbit(['train', '--model', 'resnet9000']);
  assert.equal(badModel.status, 2);
  assert.match(badModel.stderr, /--model resnet9000: expected one of/);
  const badEpochs = lowbit(['train', '--epochs', 'x']);
  assert.equal(badEpochs.status, 2);
  assert.match(badEpochs.stderr, /--epochs x/);
  const noCmd = lowbit(['frobnicate']);
  assert.equal(noCmd.status, 2);
  const missing = lowbit(['eval', '--checkpoint', '/nonexistent/model.safetensors']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /does not exist/);
});

test('a training run killed mid-way resumes from its last saved epoch and completes', async () => {
  const { dir, cleanup } = makeTempDir();
  try {
    writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 12000, 28, 28, { gzip: false, seed: 1 });
    writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 500, 28, 28, { gzip: false, seed: 2 });
    const out = join(dir, 'run');
    const args = ['train', '--model', 'mlp', '--epochs', '6', '--batch-size', '64', '--lr', '0.01', '--no-augment', '--out', out];
    const env = { ...process.env, LOWBIT_DATA: dir, LOWBIT_THREADS: '1' };
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'ignore' });
    const metrics = join(out, 'metrics.jsonl');
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"epoch":1')) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      setTimeout(() => reject(new Error('no epoch finished in 120 s')), 120_000).unref();
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    assert.equal(child.signalCode, 'SIGKILL', 'the run was killed before finishing');
    assert.ok(!existsSync(join(out, 'result.json')));

    // Without --resume the run directory is protected.
    const again = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /--resume/);

    const resumed = spawnSync(process.execPath, [BIN, ...args, '--resume', '--json'], { env, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    const result = JSON.parse(resumed.stdout);
    assert.equal(result.history.length, 6);
    const lines = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const resume = lines.find((l) => l.event === 'resume');
    assert.ok(resume && resume.fromEpoch >= 1 && resume.fromEpoch < 6, `resumed from ${resume?.fromEpoch}`);
    const epochs = lines.filter((l) => l.event === 'epoch').map((l) => l.epoch);
    // Epochs after the resume point continue the numbering without repeating a saved epoch.
    assert.deepEqual(epochs, [...Array(6).keys()].map((i) => i + 1).filter((e) => e <= resume.fromEpoch || e > resume.fromEpoch));
    assert.equal(epochs[epochs.length - 1], 6);
    assert.ok(existsSync(join(out, 'model.safetensors')));
    const ev = spawnSync(process.execPath, [BIN, 'eval', '--checkpoint', join(out, 'model.safetensors'), '--json'], { env, encoding: 'utf8' });
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).count, 500);
  } finally {
    cleanup();
  }
});

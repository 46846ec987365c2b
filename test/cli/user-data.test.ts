// issue 20, the CLI side: a user's own data (--data with --mean/--std/--input-size), the data set a
// checkpoint records as the default, one rule for existing run directories, and --resume against the
// run's recorded config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDatasetMetadata } from '../../src/data/index.ts';
import { readSafetensorsMetadata } from '../../src/nn/index.ts';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';
import { encodePng } from '../data/png-encode.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');

function lowbit(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, LOWBIT_THREADS: '1' }, encoding: 'utf8' });
  return { ...r, line: r.stderr.split('\n').filter(Boolean).at(-1) ?? '' };
}

test('own data end to end: train on IDX files, eval/ptq default to the recorded data, contradictions refused', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    mkdirSync(join(dir, 'digits'));
    writeIdxSplit(join(dir, 'digits'), 'train', 192, 28, 28, { gzip: false, seed: 1 });
    writeIdxSplit(join(dir, 'digits'), 't10k', 96, 28, 28, { gzip: false, seed: 2 });
    const train = ['train', '--model', 'mlp', '--widths', '16', '--epochs', '1', '--batch-size', '64', '--data', 'digits', '--mean', '0.13', '--std', '0.31'];

    const noNorm = lowbit(dir, ['train', '--model', 'mlp', '--data', 'digits', '--out', 'r0']);
    assert.equal(noNorm.status, 2);
    assert.match(noNorm.line, /--data needs the normalization the model takes: --mean and --std/);
    assert.ok(!existsSync(join(dir, 'r0')), 'a refused command leaves no run directory');

    const r = lowbit(dir, [...train, '--out', 'runA', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const ckpt = join(dir, 'runA', 'model.safetensors');
    assert.deepEqual(readDatasetMetadata(readSafetensorsMetadata(ckpt), ckpt), { dataset: 'digits', mean: [0.13], std: [0.31] });

    // The model's own data must be given again; its normalization is the default.
    const noData = lowbit(dir, ['eval', '--checkpoint', 'runA/model.safetensors']);
    assert.equal(noData.status, 2);
    assert.match(noData.line, /runA\/model\.safetensors was trained on your own data 'digits': give it with --data PATH/);
    const ev = lowbit(dir, ['eval', '--checkpoint', 'runA/model.safetensors', '--data', 'digits', '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).count, 96);
    assert.equal(JSON.parse(ev.stdout).dataset, 'digits/test');

    const wrongSet = lowbit(dir, ['eval', '--checkpoint', 'runA/model.safetensors', '--dataset', 'mnist']);
    assert.equal(wrongSet.status, 2);
    assert.match(wrongSet.line, /^lowbit eval: --dataset mnist contradicts runA\/model\.safetensors, which was trained on digits: drop --dataset/);
    const wrongNorm = lowbit(dir, ['eval', '--checkpoint', 'runA/model.safetensors', '--data', 'digits', '--mean', '0.5']);
    assert.equal(wrongNorm.status, 1);
    assert.match(wrongNorm.line, /was trained with normalization mean \[0\.13\] std \[0\.31\], the data is normalized with mean \[0\.5\]/);

    // A folder of PNG class sub-folders, resized to the model's 28x28 input.
    for (const [k, cls] of ['a', 'b'].entries()) {
      mkdirSync(join(dir, 'pngs', cls), { recursive: true });
      for (let i = 0; i < 3; i++) writeFileSync(join(dir, 'pngs', cls, `${i}.png`), encodePng(8, 8, 0, 8, (x, y) => [(x * 31 + y * 7 + i + 100 * k) % 256]));
    }
    const png = lowbit(dir, ['eval', '--checkpoint', 'runA/model.safetensors', '--data', 'pngs', '--json']);
    assert.equal(png.status, 0, png.stderr);
    assert.equal(JSON.parse(png.stdout).count, 6);

    // A model trained on class folders records their names; another folder's labels are numbered by
    // them, and a folder of a class the model does not know is refused.
    const pngAt = (path: string, shade: number) => writeFileSync(path, encodePng(8, 8, 0, 8, (x, y) => [(x * 13 + y * 5 + shade) % 256]));
    for (const [k, cls] of ['a', 'b', 'c'].entries()) {
      for (const split of ['train', 'test']) {
        mkdirSync(join(dir, 'pets', split, cls), { recursive: true });
        for (let i = 0; i < 4; i++) pngAt(join(dir, 'pets', split, cls, `${i}.png`), 80 * k + i);
      }
    }
    const rf = lowbit(dir, ['train', '--model', 'mlp', '--widths', '8', '--epochs', '1', '--batch-size', '4', '--data', 'pets', '--mean', '0.5', '--std', '0.5', '--out', 'runF']);
    assert.equal(rf.status, 0, rf.stderr);
    const petsModel = join(dir, 'runF', 'model.safetensors');
    assert.deepEqual(readDatasetMetadata(readSafetensorsMetadata(petsModel), petsModel)?.classes, ['a', 'b', 'c']);
    mkdirSync(join(dir, 'odd', 'z'), { recursive: true });
    pngAt(join(dir, 'odd', 'z', '0.png'), 1);
    const odd = lowbit(dir, ['eval', '--checkpoint', 'runF/model.safetensors', '--data', 'odd']);
    assert.equal(odd.status, 1, odd.stderr);
    assert.match(odd.line, /class folder\(s\) z are not among the classes the labels are numbered by \(a, b, c: the model's/);

    // ptq: the recorded data by default, the same overwrite rule as train.
    const ptq = ['ptq', '--checkpoint', 'runA/model.safetensors', '--data', 'digits', '--method', 'rtn', '--calib', '64', '--out', 'runP'];
    const p1 = lowbit(dir, [...ptq, '--json']);
    assert.equal(p1.status, 0, p1.stderr);
    const again = lowbit(dir, ptq);
    assert.equal(again.status, 2);
    assert.match(again.line, /^lowbit ptq: runP already exists and is not empty: --force to write into it, or choose another --out$/);
    assert.equal(lowbit(dir, [...ptq, '--force']).status, 0);
    // --force never replaces the command's own input: ptq into the float model's run directory.
    const floatBytes = readFileSync(join(dir, 'runA', 'model.safetensors'));
    const overInput = lowbit(dir, [...ptq.slice(0, -1), 'runA', '--force']);
    assert.equal(overInput.status, 2);
    assert.match(overInput.line, /--force would replace files in runA, which holds the input --checkpoint runA\/model\.safetensors; choose another --out/);
    assert.ok(readFileSync(join(dir, 'runA', 'model.safetensors')).equals(floatBytes));
    const pm = join(dir, 'runP', 'model.safetensors');
    assert.equal(readDatasetMetadata(readSafetensorsMetadata(pm), pm)?.dataset, 'digits');

    // train: existing --out, empty --out, --resume against the recorded flags.
    const exists = lowbit(dir, [...train, '--out', 'runA']);
    assert.equal(exists.status, 2);
    assert.match(exists.line, /runA already exists and is not empty: pass --resume to continue its run, --force to write into it, or choose another --out/);
    const empty = lowbit(dir, [...train, '--out', '']);
    assert.equal(empty.status, 2);
    assert.match(empty.line, /--out is empty: give the run directory to write/);
    const contradict = lowbit(dir, ['train', '--out', 'runA', '--resume', '--epochs', '3']);
    assert.equal(contradict.status, 2);
    assert.match(contradict.line, /--epochs 3 contradicts the run being resumed \(runA\/config\.json records --epochs 1\): resume without --epochs/);
    const bits = lowbit(dir, ['train', '--out', 'runA', '--resume', '--model', 'lenet5']);
    assert.match(bits.line, /--model lenet5 contradicts the run being resumed \(runA\/config\.json records --model mlp\)/);
    // Resumed with no flags: the recorded ones (mlp, 1 epoch, digits), not the defaults.
    const resumed = lowbit(dir, ['train', '--out', 'runA', '--resume', '--json']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout).epochs, 1);

    // A command that fails after making its run directory removes it again.
    mkdirSync(join(dir, 'wide'));
    writeIdxSplit(join(dir, 'wide'), 'train', 8, 14, 56, { gzip: false, seed: 3 });
    writeIdxSplit(join(dir, 'wide'), 't10k', 8, 14, 56, { gzip: false, seed: 4 });
    const failed = lowbit(dir, ['qat', '--checkpoint', 'runA/model.safetensors', '--data', 'wide', '--epochs', '1', '--out', 'runQ']);
    assert.equal(failed.status, 1, failed.stderr);
    assert.match(failed.line, /images are 14x56 \(H x W\), the input size is 28x28/);
    assert.ok(!existsSync(join(dir, 'runQ')), `left behind: ${existsSync(join(dir, 'runQ')) ? readdirSync(join(dir, 'runQ')).join(', ') : ''}`);
    // ... and the parent folders it made for it (runs/a/b/c: runs/a too).
    const nested = lowbit(dir, ['qat', '--checkpoint', 'runA/model.safetensors', '--data', 'wide', '--epochs', '1', '--out', 'nest/a/b']);
    assert.equal(nested.status, 1, nested.stderr);
    assert.ok(!existsSync(join(dir, 'nest')), 'the folders made for --out nest/a/b are removed');
  } finally {
    cleanup();
  }
});

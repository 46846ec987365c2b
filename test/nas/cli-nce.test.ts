// lowbit nce search / retrain end to end on a tiny IDX fixture: the run directories, the derived widths
// and their retrain, resume of a finished search, and the usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, writeIdxSplit } from '../data/fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');

test('lowbit nce search writes its run directory and derived widths; nce retrain trains them at W2A2', () => {
  const { dir, cleanup } = makeTempDir();
  try {
    writeIdxSplit(join(dir, 'fashion-mnist'), 'train', 128, 28, 28, { gzip: false, seed: 3 });
    writeIdxSplit(join(dir, 'fashion-mnist'), 't10k', 64, 28, 28, { gzip: false, seed: 4 });
    const env = { ...process.env, LOWBIT_DATA: dir, LOWBIT_THREADS: '1' };
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    const out = join(dir, 'search');
    const s = run(['nce', 'search', '--epochs', '1', '--batch-size', '32', '--threshold', '0.12', '--out', out, '--json']);
    assert.equal(s.status, 0, s.stderr);
    const r = JSON.parse(s.stdout);
    assert.equal(r.widths.length, 19);
    assert.equal(r.history.length, 1);
    assert.ok(r.history[0].imagesPerSecond > 0);
    assert.ok(Number.isFinite(r.history[0].testAccuracy));
    for (const f of ['config.json', 'metrics.jsonl', 'result.json', 'derived.json', 'checkpoints/search-last.safetensors']) assert.ok(existsSync(join(out, f)), f);
    const derived = JSON.parse(readFileSync(join(out, 'derived.json'), 'utf8'));
    assert.deepEqual(derived.widths, r.widths);
    assert.match(s.stderr, /E\[F\]/);

    // A finished search resumes to the same answer without training again.
    const again = run(['nce', 'search', '--epochs', '1', '--batch-size', '32', '--threshold', '0.12', '--out', out, '--resume', '--json']);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).widths, r.widths);
    const refused = run(['nce', 'search', '--epochs', '1', '--out', out]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /search already exists and is not empty: pass --resume to continue its run, --force to write into it, or choose another --out/);

    const rt = run(['nce', 'retrain', '--search', out, '--float-epochs', '1', '--qat-epochs', '1', '--batch-size', '32', '--out', join(dir, 'rt'), '--json']);
    assert.equal(rt.status, 0, rt.stderr);
    const rr = JSON.parse(rt.stdout);
    assert.deepEqual(rr.model.widths, r.widths);
    assert.equal(rr.wbits, 2);
    assert.equal(rr.history.qat.length, 1);
    // The saved W2A2 checkpoint evaluates to the reported accuracy.
    const ev = run(['eval', '--checkpoint', rr.checkpoint, '--json']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).accuracy, rr.testAccuracy);

    const both = run(['nce', 'retrain', '--search', out, '--original']);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--search DIR .* or --original/);
    const missing = run(['nce', 'retrain', '--search', join(dir, 'nowhere')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no result.json/);
    const noStep = run(['nce']);
    assert.equal(noStep.status, 2);
  } finally {
    cleanup();
  }
});

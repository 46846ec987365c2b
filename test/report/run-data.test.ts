import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuns, ptqGroups, readEpochs } from '../../src/report/run-data.ts';
import { codeShares, histogram, representativeLayers, resolveCheckpoint, weightHistograms } from '../../src/report/weight-histograms.ts';
import { HOSTILE_LAYER, makeRunFixture } from './fixtures.ts';

const fixture = makeRunFixture();
after(() => fixture.cleanup());

test('a parent directory is read as its runs, each with its kind', () => {
  const { runs, root } = loadRuns(fixture.dir);
  assert.equal(root, fixture.dir);
  const kinds = Object.fromEntries(runs.map((r) => [r.name, r.kind]));
  assert.deepEqual(kinds, {
    'float-mlp': 'train',
    'nce-search': 'nce',
    'ptq-gpfq-w2': 'ptq',
    'ptq-gpfq-w4': 'ptq',
    'ptq-rtn-w2': 'ptq',
    'ptq-rtn-w4': 'ptq',
    'qat-w4a4': 'qat',
  });
  const qat = runs.find((r) => r.kind === 'qat')!;
  assert.deepEqual([qat.wbits, qat.abits], [4, 4]);
  const nce = runs.find((r) => r.kind === 'nce')!;
  assert.deepEqual(nce.widths?.map((w) => w.layer), ['1', '3', HOSTILE_LAYER]);
  // The torn last metrics line is skipped, the five whole epochs are kept.
  assert.equal(runs.find((r) => r.name === 'float-mlp')!.epochs.length, 5);
});

test('a single run directory is read as one run', () => {
  const { runs } = loadRuns(join(fixture.dir, 'ptq-gpfq-w2'));
  assert.equal(runs.length, 1);
  assert.equal(runs[0].ptq?.method, 'gpfq');
  assert.deepEqual(runs[0].ptq?.layers.map((l) => l.bits), [8, 2, 8]);
});

test('PTQ runs group by float checkpoint, methods baseline first', () => {
  const groups = ptqGroups(loadRuns(fixture.dir).runs);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0].bits, [2, 4]);
  assert.deepEqual(groups[0].methods, ['rtn', 'gpfq']);
  assert.equal(groups[0].floatAccuracy, 0.775);
});

test('weight histograms read the real float weights and codes', () => {
  const group = ptqGroups(loadRuns(fixture.dir).runs)[0];
  assert.deepEqual(representativeLayers(group.runs[0]), ['3'], 'the only layer at the run bit width');
  const h = weightHistograms(group.runs);
  assert.equal(h.missing, undefined);
  assert.equal(h.layers.length, 1);
  const layer = h.layers[0];
  assert.equal(layer.bits, 2);
  // 2 bits, signed convention: codes -2..1, four levels k * delta.
  assert.equal(layer.levels?.length, 4);
  assert.ok(layer.levels![0] < 0 && layer.levels![3] > 0);
  assert.ok(Math.abs(layer.levels![2]) < 1e-12);
  assert.deepEqual(layer.panels.map((p) => p.label), ['RTN W2', 'GPFQ W2']);
  for (const p of layer.panels) assert.ok(Math.abs(p.levelShares!.reduce((s, v) => s + v, 0) - 100) < 1e-9);
  assert.ok(Math.abs(layer.floatBins.reduce((s, b) => s + b.value, 0) - 100) < 1e-9, 'the float histogram covers every weight (16 x 12)');
});

test('without its float checkpoint a PTQ run still reports, saying why the histograms are missing', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lowbit-report-moved-'));
  try {
    const run = join(tmp, 'ptq');
    mkdirSync(run);
    const source = join(fixture.dir, 'ptq-gpfq-w2');
    writeFileSync(join(run, 'config.json'), readFileSync(join(source, 'config.json')));
    writeFileSync(join(run, 'result.json'), readFileSync(join(source, 'result.json')));
    const h = weightHistograms(loadRuns(run).runs);
    assert.deepEqual(h.layers, []);
    assert.match(h.missing!, /float checkpoint demo\/float-mlp\/model.safetensors .* was not found/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('histogram and codeShares count by hand', () => {
  const bins = histogram([0, 0.1, 0.5, 0.9, 1, -3], 0, 1, 2);
  assert.deepEqual(bins.map((b) => [b.x0, b.x1]), [[0, 0.5], [0.5, 1]]);
  // [0, 0.5): 0, 0.1 and -3 (clamped to the first bin); [0.5, 1]: 0.5, 0.9 and 1 (the top edge).
  assert.deepEqual(bins.map((b) => b.value), [50, 50]);
  assert.deepEqual(codeShares([-2, -1, -1, 0, 1, 1, 1, 1], -2, 1), [12.5, 25, 12.5, 50]);
});

test('a recorded checkpoint path is found from an ancestor of the run directory', () => {
  const run = join(fixture.dir, 'ptq-rtn-w2');
  assert.equal(resolveCheckpoint(join('demo', 'float-mlp', 'model.safetensors'), run), join(fixture.tmp, 'demo', 'float-mlp', 'model.safetensors'));
  assert.equal(resolveCheckpoint('nowhere/model.safetensors', run), null);
});

test('missing, empty and corrupt run directories fail naming the path and the fix', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lowbit-report-bad-'));
  try {
    assert.throws(() => loadRuns(join(tmp, 'absent')), (e: Error) => e.message.includes(join(tmp, 'absent')) && /does not exist.*lowbit train, ptq, qat or demo/.test(e.message));
    mkdirSync(join(tmp, 'empty'));
    assert.throws(() => loadRuns(join(tmp, 'empty')), /holds no run: expected config.json/);
    mkdirSync(join(tmp, 'corrupt'));
    writeFileSync(join(tmp, 'corrupt', 'result.json'), '{"method": "gpfq", ');
    assert.throws(() => loadRuns(join(tmp, 'corrupt')), (e: Error) => e.message.includes(join(tmp, 'corrupt', 'result.json')) && /not valid JSON.*Re-run/.test(e.message));
    mkdirSync(join(tmp, 'badptq'));
    writeFileSync(join(tmp, 'badptq', 'result.json'), JSON.stringify({ method: 'gpfq', wbits: 2, layers: 'x' }));
    assert.throws(() => loadRuns(join(tmp, 'badptq')), /'layers' is not a list/);
    mkdirSync(join(tmp, 'badmetrics'));
    writeFileSync(join(tmp, 'badmetrics', 'metrics.jsonl'), '{"event":"epoch","epoch":1}\nnot json\n{"event":"epoch","epoch":2}\n');
    assert.throws(() => readEpochs(join(tmp, 'badmetrics', 'metrics.jsonl')), /metrics.jsonl:2 is not a JSON line/);
    writeFileSync(join(tmp, 'file'), 'x');
    assert.throws(() => loadRuns(join(tmp, 'file')), /is a file, not a run directory/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("an NCE search's plain width list is named by the layers of the model it configures", () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-nce-widths-'));
  try {
    const original = [16, 16, 16, 16, 16, 16, 16, 32, 32, 32, 32, 32, 32, 64, 64, 64, 64, 64, 64];
    const widths = original.map((w, i) => (i % 3 === 0 ? w + 4 : w - 2));
    const modelConfig = { name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths };
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ command: 'nce search', derived: { modelConfig }, widths, originalWidths: original }));
    const [run] = loadRuns(dir).runs;
    assert.equal(run.kind, 'nce');
    assert.deepEqual(run.widths?.slice(0, 3), [
      { layer: 'stem.0', base: 16, searched: 20 },
      { layer: 'layers.0.conv1', base: 16, searched: 14 },
      { layer: 'layers.0.conv2', base: 16, searched: 14 },
    ]);
    assert.equal(run.widths?.[18].layer, 'layers.8.conv2');
    // A retrain records its model as `model` and no originalWidths: the zoo's default widths are the base.
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ command: 'nce retrain', model: modelConfig, widths }));
    assert.deepEqual(loadRuns(dir).runs[0].widths?.[7], { layer: 'layers.3.conv1', base: 32, searched: 30 });
    // Without a model or originalWidths the numbers cannot be read against anything: one clear error.
    writeFileSync(join(dir, 'result.json'), JSON.stringify({ command: 'nce search', widths }));
    assert.throws(() => loadRuns(dir), /'originalWidths' must be one of the same length \(19\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

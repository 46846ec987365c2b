// A qat --aux run in a report: the auxiliary head's per-epoch loss and accuracy (metrics.jsonl `extra`)
// are read, tabulated beside the low-precision network's, and drawn as their own curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { htmlReport, loadRuns, markdownReport } from '../../src/report/index.ts';

test('aux-module QAT runs show both heads: epochs table columns and curves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-aux-report-'));
  try {
    const run = join(dir, 'qat-aux');
    const lines = [1, 2].map((e) =>
      JSON.stringify({ event: 'epoch', epoch: e, trainLoss: 0.5 / e, trainAccuracy: 0.8, testLoss: 0.6, testAccuracy: 0.79 + e / 100, lr: 0.01, extra: { auxLoss: 0.25 * e, auxAccuracy: 0.5 + e / 10, totalLoss: 1 } }),
    );
    mkdirSync(run, { recursive: true });
    writeFileSync(join(run, 'metrics.jsonl'), lines.join('\n') + '\n');
    writeFileSync(join(run, 'config.json'), JSON.stringify({ command: 'lowbit qat --aux', wbits: 2, abits: 2, aux: { weight: 1, stages: 1 } }));
    writeFileSync(join(run, 'result.json'), JSON.stringify({ command: 'qat', testAccuracy: 0.81, wbits: 2, abits: 2 }));
    const collection = loadRuns(run);
    const epochs = collection.runs[0].epochs;
    assert.deepEqual(epochs.map((e) => [e.auxLoss, e.auxAccuracy]), [[0.25, 0.6], [0.5, 0.7]]);
    const md = markdownReport(collection);
    assert.match(md, /\| epoch \| train loss \| train acc \(%\) \| test loss \| test acc \(%\) \| aux head train loss \| aux head train acc \(%\) \| lr \|/);
    assert.match(md, /\| 2 \| 0\.2500 \| 80\.00 \| 0\.6000 \| 81\.00 \| 0\.5000 \| 70\.00 \| 0\.0100 \|/);
    const html = htmlReport(collection);
    assert.match(html, /aux head train/);
    assert.match(html, /low-precision test/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The report of a `lowbit demo` directory: its sections (stages, QAT arms, NCE network, export), the
 * header's sentences filled from the records (budgets, step granularity, float baseline), links to the
 * full tables, the runs table's sizes, and the per-layer error chart cut so the small bars stay readable.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { barChart } from '../../src/report/index.ts';
import { errorClip, inlineMarkup } from '../../src/report/html.ts';
import { writeReport } from '../../src/report/index.ts';
import { makeRunFixture } from './fixtures.ts';

const fixture = makeRunFixture();
after(() => fixture.cleanup());

const storage = (bytes: number) => ({ bytes, floatBytes: 16 * bytes });
const summary = {
  command: 'demo',
  model: 'resnet20',
  dataset: 'fashion-mnist',
  quick: false,
  float: { checkpoint: 'results/float/resnet20.safetensors', testAccuracy: 0.948, testImages: 10000, weightStorage: { bytes: 1088000, floatBytes: 1088000 }, recipe: 'results/float/resnet20.json' },
  stages: {
    ptq: { seconds: 101.5, finishedAt: '2026-01-01T00:00:00Z', thisRun: 'ran', budget: { bits: [4, 3, 2], calib: 1024 }, summary: { floatAccuracy: 0.948, testImages: 10000, runs: [] } },
    qat: {
      seconds: 222.25,
      finishedAt: '2026-01-01T00:01:00Z',
      thisRun: 'reused',
      budget: { trainSubset: 30000, epochs: 1 },
      summary: {
        runs: [
          { dir: 'qat-w2a2', arm: 'plain', label: 'plain QAT', testAccuracy: 0.9012, seconds: 100, imagesPerSecond: 700, weightStorage: storage(70000) },
          { dir: 'qat-w2a2-aux', arm: 'aux', label: 'QAT + auxiliary module', testAccuracy: 0.8977, seconds: 120, imagesPerSecond: 600, weightStorage: storage(70000) },
        ],
      },
    },
    nce: {
      seconds: 300,
      finishedAt: '2026-01-01T00:02:00Z',
      thisRun: 'earlier',
      budget: { searchSubset: 10000, searchEpochs: 2, retrainSubset: 20000, floatEpochs: 2, qatEpochs: 1 },
      summary: { macs: 25.1e6, params: 230.5e3, originalMacs: 31.02e6, originalParams: 272.2e3, flopsRatio: 0.809, paramsRatio: 0.847, testAccuracy: 0.8511, floatTestAccuracy: 0.8702 },
    },
    export: {
      seconds: 40,
      finishedAt: '2026-01-01T00:03:00Z',
      thisRun: 'ran',
      budget: {},
      summary: {
        testImages: 10000,
        chosen: { dir: 'ptq-gpfq-w2', label: 'GPFQ PTQ W2 (float activations)', testAccuracy: 0.9412 },
        candidates: [{ label: 'GPFQ PTQ W2 (float activations)', testAccuracy: 0.9412 }, { label: 'plain QAT W2A2', testAccuracy: 0.9012 }],
        files: [
          { role: 'float', label: 'float ResNet-20', checkpoint: 'x', checkpointBytes: 1100000, onnx: 'float.onnx', onnxBytes: 1090000, opset: 13, integerLayers: 0, layers: 22, ortAccuracy: 0.948, lowbitAccuracy: 0.948 },
          { role: 'quantized', label: 'GPFQ PTQ W2 (float activations)', checkpoint: 'y', checkpointBytes: 1100000, onnx: 'best-2bit.onnx', onnxBytes: 86500, opset: 25, integerLayers: 22, layers: 22, ortAccuracy: 0.9411, lowbitAccuracy: 0.9412 },
        ],
      },
    },
  },
  lastInvocation: { seconds: 400 },
  references: [
    { stage: 'qat', label: 'auxiliary module vs plain QAT', file: 'results/aux/README.md', path: '../../results/aux/README.md' },
    { stage: 'nce', label: 'NCE searches', file: 'results/nce/README.md', path: '../../results/nce/README.md' },
  ],
};
writeFileSync(join(fixture.dir, 'result.json'), JSON.stringify(summary));
// A run that records its weight size and data set, as the demo's QAT runs do.
writeFileSync(join(fixture.dir, 'qat-w4a4', 'result.json'), JSON.stringify({ command: 'qat', testAccuracy: 0.66, weightStorage: { bytes: 500, floatBytes: 4000 } }));
writeFileSync(join(fixture.dir, 'qat-w4a4', 'config.json'), JSON.stringify({ command: '/x/bin/lowbit.js qat --wbits 4 --abits 4', options: { wbits: '4', abits: '4' }, training: { dataset: 'fashion-mnist' } }));

// The QAT arm's and the search's configs, which the QAT and NCE sentences read their settings from.
mkdirSync(join(fixture.dir, 'qat-w2a2'));
writeFileSync(join(fixture.dir, 'qat-w2a2', 'config.json'), JSON.stringify({ command: 'x', quant: { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 }, firstLast: { bits: 8 } } }));
writeFileSync(join(fixture.dir, 'nce-search', 'config.json'), JSON.stringify({ command: 'x', init: 'results/float/resnet20.safetensors', supernet: { expansionLimit: 2, quant: { weight: { kind: 'lsq', bits: 2 }, act: null, firstLast: 'float' } }, search: { weightLr: 0.01, archLr: 0.02 } }));

const written = writeReport(fixture.dir);
const md = readFileSync(written.markdown, 'utf8');
const page = readFileSync(written.html, 'utf8');

test('the title and notes come from the demo records', () => {
  assert.match(md, /^# lowbit demo: GPFQ vs RTN, QAT with the auxiliary module, NCE width search, ONNX export of ResNet-20 on Fashion-MNIST$/m);
  assert.match(md, /test accuracy \*\*94\.80%\*\* on 10,000 test images/);
  assert.match(md, /\*\*Short budgets\.\*\* The QAT and NCE numbers below come from the demo's short budgets \(QAT: 1 epoch on 30,000 training images per arm; NCE: search 2 epochs on 10,000 training images/);
  assert.match(md, /calibration set \(1,024 images\)/);
  assert.doesNotMatch(md, /--quick/);
});

test('the report links the full-budget tables, with relative links only', () => {
  assert.match(md, /\[results\/aux\/README\.md\]\(\.\.\/\.\.\/results\/aux\/README\.md\)/);
  assert.match(page, /<a href="\.\.\/\.\.\/results\/nce\/README\.md">results\/nce\/README\.md<\/a>/);
  for (const href of page.matchAll(/href="([^"]*)"/g)) assert.match(href[1], /^(#[\w-]+|(\.\.\/)*[\w./-]+)$/, `an anchor or a relative path, got ${href[1]}`);
  assert.equal(inlineMarkup('[x](https://evil.example/)'), '[x](https://evil.example/)', 'absolute URLs stay text');
});

test('the QAT and NCE sentences take their quantizers and search settings from the runs\' configs', () => {
  assert.match(md, /Fine-tuning of the float model with 2-bit SAWB weights, 2-bit PACT activations, first and last layer 8-bit, 1 epoch on 30,000/);
  assert.match(md, /A supernet of ResNet-20 \(2-bit LSQ weights, float activations, first and last layer float\) started from `results\/float\/resnet20\.safetensors` searched per-layer widths, widths up to 2× the original \(weight lr 0\.01, width-logit lr 0\.02\): search 2 epochs/);
});

test('the PTQ lede says the step granularity the runs recorded', () => {
  // The fixture's PTQ runs record granularity 'layer'; the demo's record 'channel'.
  assert.match(md, /one step per layer, activations float/);
  assert.doesNotMatch(md, /one step per output channel/);
  assert.match(md, /The first and last layers kept 8 bits\./);
});

test('the stages, QAT, NCE and export sections', () => {
  assert.match(md, /\| ptq \| ran \| 101\.5 \| weights at 4, 3, 2 bits, calibration on 1,024 training images, test on 10,000 images \|/);
  assert.match(md, /\| qat \| reused \(done before\) \| 222\.3 \|/);
  assert.match(md, /## Quantization-aware training, W2A2 \(short budget\)/);
  assert.match(md, /\| plain QAT \(qat-w2a2\) \| W2A2 \| 90\.12 \| 4\.68 \| 68\.4 KiB \(16\.0×\) \| 100\.0 \| 700 \|/);
  assert.match(md, /\| QAT \+ auxiliary module \(qat-w2a2-aux\) \| W2A2 \| 89\.77 \| 5\.03 \|/);
  assert.match(md, /\| NCE-searched widths \| 25\.10 M \| 230\.5 k \| 0\.809 \| 0\.847 \| 87\.02 \| 85\.11 \|/);
  assert.match(md, /\| ResNet-20, original widths \| 31\.02 M \| 272\.2 k \| 1\.000 \| 1\.000 \|/);
  assert.match(md, /## Export to ONNX/);
  assert.match(md, /\| GPFQ PTQ W2 \(float activations\) \| export\/best-2bit\.onnx \(opset 25\) \| 84\.5 KiB \| 1\/12\.6 \| 22 of 22 \| 94\.11 \| 94\.12 \| 1074\.2 KiB \|/);
  assert.match(md, /chosen among GPFQ PTQ W2 \(float activations\) 94\.12%, plain QAT W2A2 90\.12%/);
  for (const id of ['stages', 'qat', 'nce', 'export']) assert.ok(page.includes(`<section class="card" id="${id}">`), `section ${id} in the page`);
  for (const id of ['stages', 'qat', 'nce', 'export']) assert.ok(page.includes(`href="#${id}"`), `${id} in the table of contents`);
});

test('the runs table: float baseline first, dataset, bits, weight size and compression', () => {
  const runs = md.slice(md.indexOf('## Runs'));
  assert.match(runs, /\| run \| kind \| dataset \| bits \| test acc \(%\) \| conv\/linear weights \| compression \| commit \| created \|/);
  const rows = runs.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| run '));
  assert.match(rows[0], /^\| float baseline \(results\/float\/resnet20\.safetensors\) \| float \| Fashion-MNIST \| W32A32 \| 94\.80 \| 1062\.5 KiB \| 1\.0× \|/);
  assert.ok(rows.some((r) => /^\| qat-w4a4 \| qat \| Fashion-MNIST \| W4A4 \| 66\.00 \| 0\.5 KiB \| 8\.0× \|/.test(r)), rows.join('\n'));
  // PTQ runs' sizes come from their layer shapes and bits.
  assert.ok(rows.some((r) => /^\| ptq-gpfq-w2 \| ptq GPFQ \| – \| W2 \(float act\.\) \| 70\.00 \| [\d.]+ KiB \| [\d.]+× \|/.test(r)), rows.join('\n'));
});

test('a non-demo directory keeps the generic title and no demo sections', async () => {
  const plain = makeRunFixture();
  try {
    const w = writeReport(plain.dir);
    const m = readFileSync(w.markdown, 'utf8');
    assert.match(m, /^# lowbit report: /);
    assert.doesNotMatch(m, /## Stages|## Export to ONNX|float baseline/);
  } finally {
    plain.cleanup();
  }
});

test('the per-layer error chart is cut when one method dwarfs the other, with the cut values written', () => {
  assert.equal(errorClip([[10, 20, 30], [12, 25, 28]]), undefined, 'comparable methods: no cut');
  assert.equal(errorClip([[50, 230, 90], [15, 30, 20]]), 60);
  const svg = barChart({ title: 't', yLabel: '%', categories: ['layers.8.conv2 (2b)', 'b'], series: [{ name: 'RTN', values: [230, 40] }, { name: 'GPFQ', values: [30, 20] }], clipAt: 60 });
  assert.equal(svg.match(/class="bar clipped"/g)?.length, 1);
  assert.match(svg, /class="clip-label" data-value="230"[^>]*>230</);
  assert.ok(svg.includes('>layers.8.conv2 (2b)<'), 'a ResNet layer label is not shortened');
  const ticks = [...svg.matchAll(/class="grid y" data-value="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.ok(Math.max(...ticks) <= 60, `axis up to the cut, got ${ticks}`);
  assert.match(page, /The axis stops at|Per-layer relative error, W2/);
});

// Renders the committed experiment records as markdown tables: results/ptq/README.md (PTQ: model x
// step granularity x activation bits, RTN and GPFQ at each weight width) and results/qat/README.md
// (QAT runs: recipe, accuracy, drop from the float checkpoint they started from, speed), results/aux/README.md
// (auxiliary module against plain QAT) and results/nce/table.md (NCE against uniform widths). Every number
// comes from the JSON records beside the tables, which hold the exact command, machine and commit.
// Usage: node experiments/summarize.mjs
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const read = (file) => JSON.parse(readFileSync(file, 'utf8'));
const pct = (x) => (100 * x).toFixed(2);
const writeAtomic = (file, text) => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};

function ptqTable() {
  const dir = join(root, 'results/ptq');
  const rows = new Map(); // model|granularity|abits -> { float, cells: method|bits -> result }
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const m = /^(.+)-(gpfq|rtn)-w(\d)(?:-a(\d+))?(-ch)?\.json$/.exec(f);
    if (!m) continue;
    const [, model, method, bits, abits, ch] = m;
    const r = read(join(dir, f)).result;
    const key = `${model}|${ch ? 'channel' : 'layer'}|${abits ?? '32'}`;
    if (!rows.has(key)) rows.set(key, { float: r.floatAccuracy, cells: new Map() });
    rows.get(key).cells.set(`${method}|${bits}`, { ...r, file: f });
  }
  const bits = ['4', '3', '2'];
  const head = ['model', 'step', 'acts', 'float', ...bits.flatMap((b) => [`RTN W${b}`, `GPFQ W${b}`])];
  const lines = [
    '# PTQ on Fashion-MNIST (test accuracy %, drop from float in pp)',
    '',
    'Written by `node experiments/summarize.mjs` from the JSON records here (each holds its exact command, machine',
    'and commit); made by `experiments/ptq-table.sh`. First and last layer 8-bit, 2048 calibration images, seed 0.',
    '"step": one step per layer (the GPFQ paper) or per output channel (`--granularity channel`, the CLI default).',
    '"acts": 32 = float activations; 8 = uniform 8-bit activations, MSE ranges set after the weights.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const [key, row] of [...rows].sort()) {
    const [model, gran, abits] = key.split('|');
    const cells = bits.flatMap((b) =>
      ['rtn', 'gpfq'].map((method) => {
        const c = row.cells.get(`${method}|${b}`);
        return c ? `${pct(c.quantizedAccuracy)} (${(100 * c.drop).toFixed(2)})` : '-';
      }),
    );
    lines.push(`| ${model} | ${gran} | ${abits} | ${pct(row.float)} | ${cells.join(' | ')} |`);
  }
  const gpfqSeconds = [...rows].filter(([k]) => k.startsWith('resnet20|')).flatMap(([k, r]) => [...r.cells.values()].filter((c) => c.method === 'gpfq').map((c) => `${c.file}: ${c.seconds.toFixed(1)} s`));
  if (gpfqSeconds.length) lines.push('', 'Whole-run seconds of the ResNet-20 GPFQ rows (threads as recorded; see bench/gpfq-network for idle timings):', '', ...gpfqSeconds.map((s) => `- ${s}`));
  writeAtomic(join(dir, 'README.md'), `${lines.join('\n')}\n`);
}

function floatAccuracy(checkpoint) {
  const record = join(root, checkpoint.replace(/\.safetensors$/, '.json'));
  return existsSync(record) ? read(record).result.testAccuracy : null;
}

function qatTable() {
  const dir = join(root, 'results/qat');
  const head = ['entry', 'W/A bits', 'weights', 'acts', 'epochs', 'lr', 'seed', 'from (float %)', 'test %', 'drop pp', 'img/s', 'threads'];
  const lines = [
    '# QAT of ResNet-20 on Fashion-MNIST',
    '',
    'Written by `node experiments/summarize.mjs` from the JSON records here; made by `experiments/qat-table.sh`.',
    'First and last layer 8-bit, batch 128, crop(pad 2)+flip, SGD Nesterov cosine, wd 5e-4.',
    'img/s is the training rate of that run with the threads shown, often with another run sharing the 2 cores:',
    'bench/qat-throughput measures speed.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const rec = read(join(dir, f));
    const o = rec.options;
    const fl = floatAccuracy(o.checkpoint);
    const acc = rec.result.testAccuracy;
    lines.push(
      `| ${basename(f, '.json')} | W${o.wbits}A${o.abits} | ${o.wq} | ${o.aq} | ${o.epochs} | ${o.lr} | ${o.seed} | ${basename(o.checkpoint, '.safetensors')} (${fl === null ? '?' : pct(fl)}) | ${pct(acc)} | ${fl === null ? '-' : (100 * (fl - acc)).toFixed(2)} | ${rec.result.imagesPerSecond.toFixed(0)} | ${rec.environment.threads} |`,
    );
  }
  writeAtomic(join(dir, 'README.md'), `${lines.join('\n')}\n`);
}

/** Sample mean and standard deviation (n - 1), in percent. */
function meanStd(xs) {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : NaN;
  return { mean: 100 * mean, std: 100 * std };
}

const AUX_ARMS = {
  plain: 'plain QAT',
  aux: 'aux module, one stage (fresh module at the fine-tune)',
  aux2: 'aux module, two stages (float network + module first)',
  auxb03: 'aux module, one stage, beta 0.3',
};

function auxTable() {
  const dir = join(root, 'results/aux');
  if (!existsSync(dir)) return false;
  const groups = new Map(); // regime -> arm -> [{seed, acc, ips, record}]
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const m = /^(.+)-(plain|aux|aux2|auxb03)-s(\d+)\.json$/.exec(f);
    if (!m) continue;
    const [, regime, arm, seed] = m;
    const rec = read(join(dir, f));
    if (!groups.has(regime)) groups.set(regime, new Map());
    const arms = groups.get(regime);
    if (!arms.has(arm)) arms.set(arm, []);
    arms.get(arm).push({ seed: Number(seed), acc: rec.result.testAccuracy, ips: rec.result.imagesPerSecond, rec });
  }
  const fl = floatAccuracy('results/float/resnet20.safetensors');
  const head = ['regime', 'arm', 'W/A', 'first/last', 'epochs', 'seeds', 'test % per seed', 'mean ± std', 'drop from float pp', 'gain over plain pp', 'img/s (mean)'];
  const lines = [
    '# Auxiliary-module QAT of ResNet-20 on Fashion-MNIST (issue 16)',
    '',
    'Written by `node experiments/summarize.mjs` from the JSON records here (exact command, machine, commit);',
    'made by `experiments/aux-table.sh`. Fine-tuned from results/float/resnet20.safetensors',
    `(${fl === null ? '?' : pct(fl)}%), SAWB weights / PACT activations, batch 128, SGD Nesterov cosine, lr 0.01, wd 5e-4.`,
    'Test accuracy is the low-precision network alone (the module is discarded). std is the sample standard',
    'deviation over seeds; "gain" is the difference of the means. img/s: training rate of that run, often with',
    'other work sharing the 2 cores (`npm run bench:qat` measures the module\'s cost, auxVsPlainW2A2, on a quiet machine).',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const [regime, arms] of [...groups].sort()) {
    const plain = arms.get('plain');
    const plainMean = plain ? meanStd(plain.map((r) => r.acc)).mean : null;
    for (const arm of Object.keys(AUX_ARMS)) {
      const runs = arms.get(arm);
      if (!runs) continue;
      runs.sort((a, b) => a.seed - b.seed);
      const o = runs[0].rec.options;
      const { mean, std } = meanStd(runs.map((r) => r.acc));
      const gain = arm === 'plain' || plainMean === null ? '-' : (mean - plainMean).toFixed(2);
      const ips = runs.reduce((a, r) => a + r.ips, 0) / runs.length;
      lines.push(
        `| ${regime} | ${AUX_ARMS[arm]} | W${o.wbits}A${o.abits} | ${o['first-last-bits']} | ${o.epochs} | ${runs.map((r) => r.seed).join(',')} | ${runs.map((r) => pct(r.acc)).join(', ')} | ${mean.toFixed(2)} ± ${Number.isNaN(std) ? '-' : std.toFixed(2)} | ${fl === null ? '-' : (100 * fl - mean).toFixed(2)} | ${gain} | ${ips.toFixed(0)} |`,
      );
    }
  }
  writeAtomic(join(dir, 'README.md'), `${lines.join('\n')}\n`);
  return true;
}

const NCE_ARMS = {
  uniform: 'uniform ResNet-20 (original widths)',
  nce: 'NCE widths (search with expansion)',
  noexpand: 'TAS-style widths (--no-expand)',
};

/** results/nce/table.md: retraining accuracy per arm (mean ± std over seeds) and the searches behind it. */
function nceTable() {
  const dir = join(root, 'results/nce');
  if (!existsSync(dir)) return false;
  const groups = new Map(); // budget-regime -> arm -> [{seed, rec}]
  const searches = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const r = /^retrain-(.*?)-?(uniform|nce|noexpand)-s(\d+)\.json$/.exec(f);
    if (r) {
      const [, regime, arm, seed] = r;
      const key = regime || 'full-std';
      if (!groups.has(key)) groups.set(key, new Map());
      const arms = groups.get(key);
      if (!arms.has(arm)) arms.set(arm, []);
      arms.get(arm).push({ seed: Number(seed), rec: read(join(dir, f)), file: f });
    }
    const s = /^search-(.+)\.json$/.exec(f);
    if (s && s[1] !== 'quick') searches.push({ name: s[1], rec: read(join(dir, f)), file: f });
  }
  const lines = [
    '# NCE against uniform ResNet-20 at W2A2 on Fashion-MNIST (issue 17)',
    '',
    'Written by `node experiments/summarize.mjs` from the JSON records here (exact command, machine, commit);',
    'made by `experiments/nce-short.sh` (searches: `nce-search.sh`, retraining: `nce-retrain.sh`). Every arm',
    'is retrained by `lowbit nce retrain` with the same budget and seeds; they differ only in widths. std is the',
    'sample standard deviation over seeds; "gain" is the difference of the means against the uniform arm.',
    '',
    '## Retraining',
    '',
  ];
  const head = ['regime', 'arm', 'first/last', 'float + QAT epochs', 'seeds', 'FLOPs x (mean)', 'params x (mean)', 'float test % (mean)', 'W2A2 test % per seed', 'mean ± std', 'gain pp'];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  for (const [regime, arms] of [...groups].sort()) {
    const uniform = arms.get('uniform');
    const uniformMean = uniform ? meanStd(uniform.map((r) => r.rec.result.testAccuracy)).mean : null;
    for (const arm of Object.keys(NCE_ARMS)) {
      const runs = arms.get(arm);
      if (!runs) continue;
      runs.sort((a, b) => a.seed - b.seed);
      const res = runs.map((r) => r.rec.result);
      const o = runs[0].rec.options;
      const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const { mean, std } = meanStd(res.map((r) => r.testAccuracy));
      const gain = arm === 'uniform' || uniformMean === null ? '-' : (mean - uniformMean).toFixed(2);
      lines.push(
        `| ${regime} | ${NCE_ARMS[arm]} | ${o['first-last-bits']} | ${o['float-epochs']} + ${o['qat-epochs']} | ${runs.map((r) => r.seed).join(',')} | ${avg(res.map((r) => r.flopsRatio)).toFixed(3)} | ${avg(res.map((r) => r.paramsRatio)).toFixed(3)} | ${(100 * avg(res.map((r) => r.floatTestAccuracy))).toFixed(2)} | ${res.map((r) => pct(r.testAccuracy)).join(', ')} | ${mean.toFixed(2)} ± ${Number.isNaN(std) ? '-' : std.toFixed(2)} | ${gain} |`,
      );
    }
  }
  lines.push('', '## Searches', '');
  const sHead = ['search', 'epochs x images', 'expansion', 'searched widths', 'grew', 'shrank', 'FLOPs x', 'params x', 'search min', 'img/s', 'load (1 min) at the end'];
  lines.push(`| ${sHead.join(' | ')} |`, `|${sHead.map(() => '---').join('|')}|`);
  for (const { name, rec } of searches) {
    const r = rec.result;
    const o = rec.options;
    const d = r.derived ?? r;
    lines.push(
      `| ${name} | ${o.epochs} x ${o['train-subset'] ?? 'all'} | ${o['no-expand'] ? 'off' : `up to ${o['expansion-limit']}x`} | ${r.widths.join(',')} | ${(d.grew ?? []).length} | ${(d.shrank ?? []).length} | ${r.flopsRatio.toFixed(3)} | ${r.paramsRatio.toFixed(3)} | ${(r.searchSeconds / 60).toFixed(1)} | ${r.imagesPerSecond.toFixed(0)} | ${rec.loadAverage ? rec.loadAverage[0].toFixed(1) : '-'} |`,
    );
  }
  lines.push('', `Original widths: ${searches[0]?.rec.result.originalWidths.join(',') ?? '-'}.`);
  writeAtomic(join(dir, 'table.md'), `${lines.join('\n')}\n`);
  return true;
}

ptqTable();
qatTable();
const wrote = ['results/ptq/README.md', 'results/qat/README.md'];
if (auxTable()) wrote.push('results/aux/README.md');
if (nceTable()) wrote.push('results/nce/table.md');
console.log(`wrote ${wrote.join(', ')}`);

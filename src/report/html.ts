/**
 * The HTML report: one self-contained page (inline CSS and inline SVG, no scripts, fonts, images or
 * links outside the page except relative links to result tables a demo names) with the plots next to the tables of numbers they show.
 */
import { barChart, histogramChart, lineChart, MUTED, PALETTE, type LineSeries } from './charts.ts';
import {
  accuracyRows,
  bestTestAccuracy,
  epochRows,
  hasEpochNumbers,
  pct,
  ptqLede,
  reportNotes,
  reportTitle,
  runRows,
  runTitle,
  widthRows,
  type ReportText,
} from './markdown.ts';
import { demoSummary, exportLede, exportRows, nceLede, nceRows, qatLede, qatRows, stageRows, type DemoSummary } from './demo-summary.ts';
import { compareMethods, findPtqRun, methodLabel, ptqGroups, type PtqGroup, type RunCollection, type RunRecord } from './run-data.ts';
import { escapeXml, html, text } from './svg.ts';
import { weightHistograms, type LayerHistogram } from './weight-histograms.ts';

const METHOD_COLORS: Record<string, string> = { rtn: PALETTE[1], gpfq: PALETTE[0] };
function methodColor(method: string, index: number): string {
  return METHOD_COLORS[method] ?? PALETTE[(index + 2) % PALETTE.length];
}

const CSS = `
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #eef1f4; --accent: #4269d0; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f8fa; color: var(--fg);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 36px 28px 72px; }
header h1 { font-size: 28px; line-height: 1.2; margin: 0 0 10px; letter-spacing: -0.01em; }
header p { margin: 6px 0; max-width: 860px; }
.meta { color: var(--muted); font-size: 13px; }
nav.toc { margin: 18px 0 8px; display: flex; flex-wrap: wrap; gap: 8px; }
nav.toc a { font-size: 13px; color: var(--accent); text-decoration: none; background: #fff; border: 1px solid var(--line);
  border-radius: 999px; padding: 3px 12px; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 12px; padding: 22px 26px 26px; margin: 24px 0; }
h2 { font-size: 20px; margin: 0 0 4px; }
h3 { font-size: 16px; margin: 26px 0 4px; }
h4 { font-size: 14px; margin: 18px 0 6px; font-weight: 600; }
.lede { color: var(--muted); margin: 0 0 16px; max-width: 860px; }
.row { display: flex; flex-wrap: wrap; gap: 20px 28px; align-items: flex-start; }
figure { margin: 0; }
svg.chart { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg .chart-title { font-size: 13.5px; font-weight: 600; fill: var(--fg); }
svg .tick-label, svg .legend-label { font-size: 12px; fill: var(--muted); }
svg .axis-label { font-size: 12px; fill: var(--fg); }
svg .grid { stroke: var(--soft); }
svg .axis, svg .tick { stroke: #8c959f; }
svg .bar:hover, svg .point:hover { opacity: 0.75; }
.table-wrap { display: inline-block; max-width: 100%; vertical-align: top; max-height: 460px; overflow: auto; border: 1px solid var(--soft); border-radius: 8px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; background: #fff; }
th, td { padding: 5px 12px; text-align: right; border-bottom: 1px solid var(--soft); white-space: nowrap; }
th { position: sticky; top: 0; background: #fafbfc; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { text-align: left; }
td.best { font-weight: 700; }
th.prose, td.prose { text-align: left; white-space: normal; min-width: 260px; max-width: 520px; }
figcaption { max-width: 900px; margin-top: 4px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
code { background: var(--soft); padding: 1px 5px; border-radius: 4px; }
pre { background: #f6f8fa; padding: 12px; border-radius: 8px; overflow: auto; max-height: 320px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--muted); font-size: 13px; }
.note { color: var(--muted); font-style: italic; }
`;

/**
 * Escaped text with `code`, **bold** and [label](relative/path) kept, for notes. Links may only point to
 * relative paths (the results/ tables next to a demo directory), never to another site.
 */
export function inlineMarkup(s: string): string {
  return escapeXml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (m, label: string, href: string) => (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(href) ? m : `<a href="${href}">${label}</a>`));
}

/** A table; `best` marks cells to embolden by [row, column]; `prose` columns are left-aligned text that may wrap. */
function tableHtml(header: string[], rows: string[][], best: Set<string> = new Set(), prose: readonly number[] = []): string {
  const cls = (j: number, extra?: string) => [prose.includes(j) ? 'prose' : '', extra ?? ''].filter(Boolean).join(' ') || undefined;
  const head = html('thead', {}, html('tr', {}, header.map((h, j) => html('th', { scope: 'col', class: cls(j) }, text(h)))));
  const body = html('tbody', {}, rows.map((r, i) => html('tr', {}, r.map((c, j) => html('td', { class: cls(j, best.has(`${i},${j}`) ? 'best' : undefined) }, text(c))))));
  return html('div', { class: 'table-wrap' }, html('table', {}, [head, body]));
}

function figure(svg: string, caption?: string): string {
  return html('figure', {}, caption ? [svg, html('figcaption', { class: 'meta' }, text(caption))] : svg);
}

function section(id: string, title: string, lede: string, body: string[]): string {
  return html('section', { class: 'card', id }, [html('h2', {}, text(title)), lede ? html('p', { class: 'lede' }, lede) : '', ...body]);
}

function accuracyPlot(group: PtqGroup): string {
  const series: LineSeries[] = group.methods.map((m, i) => ({
    name: methodLabel(m),
    color: methodColor(m, i),
    points: group.bits.flatMap((b) => {
      const r = findPtqRun(group, m, b);
      return r ? [[b, 100 * r.ptq!.quantizedAccuracy] as const] : [];
    }),
  }));
  return lineChart({
    title: 'Test accuracy vs weight bits',
    xLabel: 'weight bits (inner layers)',
    yLabel: 'test accuracy (%)',
    series,
    references: [{ name: `float ${pct(group.floatAccuracy)}%`, y: 100 * group.floatAccuracy, color: MUTED }],
    xTicks: group.bits,
    formatX: (v) => String(v),
    width: 500,
  });
}

function accuracyTable(group: PtqGroup): string {
  const { header, rows } = accuracyRows(group);
  const best = new Set<string>();
  rows.forEach((r, i) => {
    const accs = group.methods.map((_, k) => Number(r[1 + 2 * k]));
    const top = Math.max(...accs.filter(Number.isFinite));
    accs.forEach((a, k) => a === top && group.methods.length > 1 && best.add(`${i},${1 + 2 * k}`));
  });
  return tableHtml(header, rows, best);
}

/**
 * Where a per-layer error chart cuts its axis: when one method's largest error is more than 3x another's
 * (RTN at 2 bits reaches several hundred %), at twice the smaller maximum, so both can be read.
 */
export function errorClip(series: readonly (readonly (number | null)[])[]): number | undefined {
  const maxes = series.map((v) => Math.max(0, ...v.filter((x): x is number => x !== null && Number.isFinite(x)))).filter((m) => m > 0);
  if (maxes.length < 2) return undefined;
  const low = Math.min(...maxes);
  return Math.max(...maxes) > 3 * low ? 2 * low : undefined;
}

function layerErrorPlots(group: PtqGroup): string[] {
  return group.bits.map((b) => {
    const runs = group.methods.map((m) => findPtqRun(group, m, b));
    const layers = runs.find((r) => r)!.ptq!.layers;
    const series = group.methods.flatMap((m, i) => (runs[i] ? [{ name: methodLabel(m), color: methodColor(m, i), values: layers.map((_, j) => (runs[i]!.ptq!.layers[j] ? 100 * runs[i]!.ptq!.layers[j].relativeError : null)) }] : []));
    const clipAt = errorClip(series.map((s) => s.values));
    const cut = clipAt === undefined ? [] : series.map((s) => ({ name: s.name, n: s.values.filter((v) => v !== null && v > clipAt).length })).filter((c) => c.n > 0);
    const caption = cut.length ? `The axis stops at ${clipAt!.toFixed(0)}%: ${cut.map((c) => `${c.n} ${c.name} bar${c.n === 1 ? '' : 's'}`).join(', ')} above it ${cut.length === 1 && cut[0].n === 1 ? 'is' : 'are'} cut, with the value written on top.` : undefined;
    return figure(
      barChart({
        title: `Per-layer relative error, W${b}`,
        yLabel: 'relative output error (%)',
        categories: layers.map((l) => `${l.name} (${l.bits}b)`),
        series,
        clipAt,
      }),
      caption,
    );
  });
}

function layerErrorTable(group: PtqGroup): string {
  const columns = group.bits.flatMap((b) => group.methods.map((m) => ({ b, m, run: findPtqRun(group, m, b) }))).filter((c) => c.run);
  const layers = columns[0].run!.ptq!.layers;
  const header = ['layer', 'kind', 'N1×N0', ...columns.map((c) => `${methodLabel(c.m)} W${c.b} (%)`)];
  const rows = layers.map((l, i) => [l.name, l.kind, l.shape.length === 2 ? `${l.shape[0]}×${l.shape[1]}` : l.shape.join('×'), ...columns.map((c) => pct(c.run!.ptq!.layers[i]?.relativeError))]);
  return tableHtml(header, rows);
}

function histogramBlock(h: LayerHistogram): string {
  const domain = h.domain;
  const floatSvg = histogramChart({
    title: `${h.layer}: float weights`,
    xLabel: 'weight value',
    yLabel: 'share of weights (%)',
    bins: h.floatBins,
    color: MUTED,
    levels: h.levels ?? undefined,
    levelsLabel: `${h.bits}-bit levels`,
    xDomain: domain,
  });
  const panels = h.panels.map((p, i) =>
    histogramChart({ title: `${h.layer}: ${p.label}`, xLabel: 'quantized weight value', yLabel: 'share of weights (%)', bins: p.bins, color: methodColor(p.method, i), levels: h.levels ?? undefined, levelsLabel: `${h.bits}-bit levels`, xDomain: domain }),
  );
  const parts = [html('h4', {}, [text(`Layer ${h.layer}`), ` `, html('span', { class: 'meta' }, text(`${h.bits}-bit alphabet${h.levelsNote ? `; ${h.levelsNote}` : ''}`))]), html('div', { class: 'row' }, [figure(floatSvg), ...panels.map((s) => figure(s))])];
  if (h.levels && h.panels.some((p) => p.levelShares)) {
    const header = ['level', ...h.panels.filter((p) => p.levelShares).map((p) => `${p.label} share (%)`)];
    const rows = h.levels.map((v, k) => [v.toPrecision(4), ...h.panels.filter((p) => p.levelShares).map((p) => p.levelShares![k].toFixed(2))]);
    parts.push(html('details', {}, [html('summary', {}, text('Share of weights at each level')), tableHtml(header, rows)]));
  }
  return parts.join('');
}

function ptqSection(group: PtqGroup, index: number, groups: number): string {
  const lede = `${inlineMarkup(ptqLede(group))}${group.checkpoint ? ` Float model <code>${escapeXml(group.checkpoint)}</code>.` : ''} Methods: ${group.methods.map((m) => escapeXml(methodLabel(m))).join(', ')}.`;
  const body = [html('div', { class: 'row' }, [figure(accuracyPlot(group)), accuracyTable(group)])];
  body.push(
    html('h3', {}, text('Per-layer quantization error')),
    html('p', { class: 'lede' }, 'Relative output error ‖XW − X̃Q‖<sub>F</sub> / ‖XW‖<sub>F</sub> of each layer on the calibration data, X̃ being the input of the already-quantized network. The label gives the bits the layer got (the first and last layers usually keep 8).'),
    html('div', { class: 'row' }, layerErrorPlots(group)),
    html('details', {}, [html('summary', {}, text('Per-layer errors of every run')), layerErrorTable(group)]),
  );
  const hist = weightHistograms(group.runs);
  body.push(html('h3', {}, text('Weight histograms before and after quantization')));
  if (hist.missing) {
    body.push(html('p', { class: 'note' }, text(`Not drawn: ${hist.missing}.`)));
  } else {
    body.push(html('p', { class: 'lede' }, `Float weights of a few representative layers (left) and the quantized weights at ${group.bits[0]} bits, code × step, on the same axis. Dashed lines: the alphabet's levels k·Δ.`));
    body.push(...hist.layers.map(histogramBlock));
  }
  return section(`ptq-${index + 1}`, groups > 1 ? `Post-training quantization ${index + 1}` : 'Post-training quantization', lede, body);
}

function trainingSection(run: RunRecord, index: number): string {
  const ep = run.epochs;
  const curve = (name: string, key: 'trainLoss' | 'testLoss' | 'trainAccuracy' | 'testAccuracy' | 'auxLoss' | 'auxAccuracy', scale: number, color: string): LineSeries => ({
    name,
    color,
    points: ep.filter((e) => e[key] !== undefined).map((e) => [e.epoch, scale * e[key]!] as const),
  });
  // A run with an auxiliary module shows both heads: the low-precision network's (train, test) and the aux head's (train).
  const lp = ep.some((e) => e.auxLoss !== undefined) ? 'low-precision ' : '';
  const losses = [curve(`${lp}train`, 'trainLoss', 1, PALETTE[0]), curve(`${lp}test`, 'testLoss', 1, PALETTE[2]), curve('aux head train', 'auxLoss', 1, PALETTE[4])].filter((s) => s.points.length > 0);
  const accs = [curve(`${lp}train`, 'trainAccuracy', 100, PALETTE[0]), curve(`${lp}test`, 'testAccuracy', 100, PALETTE[2]), curve('aux head train', 'auxAccuracy', 100, PALETTE[4])].filter((s) => s.points.length > 0);
  const figures: string[] = [];
  // One epoch is one point: the table says it all.
  if (ep.length >= 2 && losses.length) figures.push(figure(lineChart({ title: 'Loss per epoch', xLabel: 'epoch', yLabel: 'loss', series: losses, width: 500, height: 300, integerX: true })));
  if (ep.length >= 2 && accs.length) figures.push(figure(lineChart({ title: 'Accuracy per epoch', xLabel: 'epoch', yLabel: 'accuracy (%)', series: accs, width: 500, height: 300, integerX: true })));
  const best = bestTestAccuracy(run);
  const lede = `${escapeXml(run.kind === 'qat' ? 'Quantization-aware training' : run.kind === 'nce' ? 'Channel-search (NCE) training' : 'Training')} in <code>${escapeXml(run.path)}</code>: ${ep.length} epoch${ep.length === 1 ? '' : 's'}${best !== undefined ? `, best test accuracy <strong>${pct(best)}%</strong>` : ''}.`;
  const { header, rows } = epochRows(run);
  return section(`training-${index + 1}`, `Training: ${runTitle(run)}`, lede, [html('div', { class: 'row' }, figures), html('h3', {}, text('Epochs')), tableHtml(header, rows)]);
}

function widthsSection(run: RunRecord, index: number): string {
  const widths = run.widths ?? [];
  const chart = barChart({
    title: 'Layer widths: architecture vs searched',
    yLabel: 'output channels',
    categories: widths.map((w) => w.layer),
    series: [
      { name: 'base', color: MUTED, values: widths.map((w) => w.base) },
      { name: 'searched', color: PALETTE[4], values: widths.map((w) => w.searched) },
    ],
  });
  const base = widths.reduce((s, w) => s + w.base, 0);
  const searched = widths.reduce((s, w) => s + w.searched, 0);
  const lede = `Output channels of each layer chosen by the channel search in <code>${escapeXml(run.path)}</code>: ${searched} of ${base} channels in all (${base > 0 ? ((100 * searched) / base).toFixed(0) : '–'}%).`;
  const { header, rows } = widthRows(run);
  return section(`widths-${index + 1}`, `Layer widths (NCE): ${run.name}`, lede, [html('div', { class: 'row' }, [figure(chart), tableHtml(header, rows)])]);
}

function simpleTable(t: { header: string[]; rows: string[][] }, prose: readonly number[] = []): string {
  return tableHtml(t.header, t.rows, new Set(), prose);
}

/** The demo's own sections: stage times and budgets, QAT arms, NCE network, export. */
function demoSections(demo: DemoSummary, collection: RunCollection): { stages: string; qat?: string; nce?: string; export?: string } {
  const out: { stages: string; qat?: string; nce?: string; export?: string } = {
    stages: section('stages', 'Stages', 'What each stage of this demo directory ran on and how long it took (seconds of the run that made it; a reused stage keeps its time).', [simpleTable(stageRows(demo), [3])]),
  };
  const qat = qatRows(demo);
  if (qat) out.qat = section('qat', 'Quantization-aware training, W2A2 (short budget)', inlineMarkup(qatLede(demo, collection)), [simpleTable(qat)]);
  const nce = nceRows(demo);
  if (nce) out.nce = section('nce', 'NCE width search and retraining (short budget)', inlineMarkup(nceLede(demo, collection)), [simpleTable(nce)]);
  const ex = exportRows(demo);
  if (ex) out.export = section('export', 'Export to ONNX', inlineMarkup(exportLede(demo)), [simpleTable(ex)]);
  return out;
}

function runsSection(collection: RunCollection): string {
  const { header, rows } = runRows(collection);
  const configs = collection.runs
    .filter((r) => r.config)
    .map((r) => html('details', {}, [html('summary', {}, [text('config.json of '), html('code', {}, text(r.name))]), html('pre', {}, text(JSON.stringify(r.config, null, 2)))]));
  const lede = `The run directories under <code>${escapeXml(collection.root)}</code>. Weights: the conv and linear layers' weights stored at their bit widths (codes only; the per-channel scales, biases and BatchNorm stay float), against float32.`;
  return section('runs', 'Runs', lede, [tableHtml(header, rows), ...configs]);
}

export function htmlReport(collection: RunCollection, reportText: ReportText = {}): string {
  const title = reportTitle(collection, reportText);
  const groups = ptqGroups(collection.runs);
  const trained = collection.runs.filter(hasEpochNumbers);
  const searched = collection.runs.filter((r) => r.widths && r.widths.length > 0);
  const methods = [...new Set(groups.flatMap((g) => g.methods))].sort(compareMethods);
  const demo = demoSummary(collection);
  const d = demo ? demoSections(demo, collection) : null;
  const sections = [
    ...(d ? [d.stages] : []),
    ...groups.map((g, i) => ptqSection(g, i, groups.length)),
    ...(d?.qat ? [d.qat] : []),
    ...(d?.nce ? [d.nce] : []),
    ...searched.map((r, i) => widthsSection(r, i)),
    ...(d?.export ? [d.export] : []),
    ...trained.map((r, i) => trainingSection(r, i)),
    runsSection(collection),
  ];
  const toc = [
    ...(d ? [['stages', 'Stages']] : []),
    ...groups.map((_, i) => [`ptq-${i + 1}`, groups.length > 1 ? `PTQ ${i + 1}` : 'Post-training quantization']),
    ...(d?.qat ? [['qat', 'QAT W2A2']] : []),
    ...(d?.nce ? [['nce', 'NCE']] : []),
    ...searched.map((r, i) => [`widths-${i + 1}`, `Widths: ${r.name}`]),
    ...(d?.export ? [['export', 'ONNX export']] : []),
    ...trained.map((r, i) => [`training-${i + 1}`, `Training: ${r.name}`]),
    ['runs', 'Runs'],
  ].map(([id, label]) => html('a', { href: `#${id}` }, text(label)));
  const header = html('header', {}, [
    html('h1', {}, text(title)),
    ...reportNotes(collection, reportText).map((n) => html('p', {}, inlineMarkup(n))),
    html('p', { class: 'meta' }, `${collection.runs.length} run${collection.runs.length === 1 ? '' : 's'} in <code>${escapeXml(collection.root)}</code>${methods.length ? ` · methods ${escapeXml(methods.map(methodLabel).join(', '))}` : ''}`),
    html('nav', { class: 'toc' }, toc),
  ]);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    html('body', {}, html('main', {}, [header, ...sections])),
    '</html>',
    '',
  ].join('\n');
}

/**
 * The markdown summary of a report: the numbers as tables (accuracy per method and bit width,
 * per-layer error, training epochs, NCE widths), readable in a terminal or on a code host.
 */
import { FLOAT_BITS } from '../quant/index.ts';
import { datasetLabel, demoNotes, demoSummary, demoTitle, exportLede, exportRows, kib, nceLede, nceRows, qatLede, qatRows, ratio, stageRows } from './demo-summary.ts';
import { findPtqRun, methodLabel, ptqGroups, type PtqGroup, type RunCollection, type RunRecord } from './run-data.ts';

export interface ReportText {
  /** The page title; default 'lowbit report: <root>'. */
  title?: string;
  /** Paragraphs shown under the title (markdown-light: `code` and **bold** are kept as they are). */
  notes?: string[];
  /** The HTML page's file name, which the markdown points to; default report.html. */
  htmlName?: string;
}

export { pct } from './format.ts';
import { pct } from './format.ts';

function table(header: string[], align: ('l' | 'r')[], rows: string[][]): string[] {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.map(cell).join(' | ')} |`, `|${align.map((a) => (a === 'r' ? '---:' : '---')).join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

export function reportTitle(collection: RunCollection, text: ReportText): string {
  const demo = demoSummary(collection);
  return text.title ?? (demo ? demoTitle(demo) : `lowbit report: ${collection.root}`);
}

/** The caller's notes, else a demo directory's notes from its records. */
export function reportNotes(collection: RunCollection, text: ReportText): string[] {
  const demo = demoSummary(collection);
  return text.notes ?? (demo ? demoNotes(demo) : []);
}

/** bits | <method> accuracy | <method> drop ... */
export function accuracyRows(group: PtqGroup): { header: string[]; rows: string[][] } {
  const header = ['bits', ...group.methods.flatMap((m) => [`${methodLabel(m)} acc (%)`, `${methodLabel(m)} drop (pp)`])];
  const rows = group.bits.map((b) => [
    String(b),
    ...group.methods.flatMap((m) => {
      const r = findPtqRun(group, m, b);
      return r ? [pct(r.ptq!.quantizedAccuracy), pct(r.ptq!.floatAccuracy - r.ptq!.quantizedAccuracy)] : ['–', '–'];
    }),
  ]);
  return { header, rows };
}

/** layer | bits | <method> error (%) ... at one bit width. */
export function layerErrorRows(group: PtqGroup, bits: number): { header: string[]; rows: string[][] } {
  const runs = group.methods.map((m) => findPtqRun(group, m, bits));
  const layers = runs.find((r) => r)?.ptq!.layers ?? [];
  const header = ['layer', 'bits', ...group.methods.map((m, i) => (runs[i] ? `${methodLabel(m)} (%)` : '')).filter(Boolean)];
  const rows = layers.map((l, i) => [l.name, String(l.bits), ...runs.filter((r) => r).map((r) => pct(r!.ptq!.layers[i]?.relativeError))]);
  return { header, rows };
}

export function epochRows(run: RunRecord): { header: string[]; rows: string[][] } {
  const header = ['epoch', 'train loss', 'train acc (%)', 'test loss', 'test acc (%)', 'lr'];
  const f = (x: number | undefined, d = 4) => (x === undefined ? '–' : x.toFixed(d));
  const rows = run.epochs.map((e) => [String(e.epoch), f(e.trainLoss), pct(e.trainAccuracy), f(e.testLoss), pct(e.testAccuracy), e.lr === undefined ? '–' : e.lr.toPrecision(3)]);
  if (!run.epochs.some((e) => e.auxLoss !== undefined)) return { header, rows };
  // qat --aux: the auxiliary head's training loss and accuracy beside the low-precision network's.
  return {
    header: [...header.slice(0, 5), 'aux head train loss', 'aux head train acc (%)', 'lr'],
    rows: run.epochs.map((e, i) => [...rows[i].slice(0, 5), f(e.auxLoss), pct(e.auxAccuracy), rows[i][5]]),
  };
}

export function widthRows(run: RunRecord): { header: string[]; rows: string[][] } {
  const rows = (run.widths ?? []).map((w) => [w.layer, String(w.base), String(w.searched), w.base > 0 ? `${((100 * w.searched) / w.base).toFixed(0)}%` : '–']);
  return { header: ['layer', 'base width', 'searched width', 'kept'], rows };
}

/** W4A4-style label of a run's bit widths, '' when it records none. */
export function bitsLabel(run: RunRecord): string {
  if (run.wbits === undefined && run.abits === undefined) return '';
  return `W${run.wbits ?? FLOAT_BITS}A${run.abits ?? FLOAT_BITS}`;
}

export function runTitle(run: RunRecord): string {
  const bits = run.kind === 'ptq' ? '' : bitsLabel(run);
  return `${run.name} (${run.kind}${bits ? ` ${bits}` : ''})`;
}

export function bestTestAccuracy(run: RunRecord): number | undefined {
  const accs = run.epochs.map((e) => e.testAccuracy).filter((a): a is number => a !== undefined);
  return accs.length > 0 ? Math.max(...accs) : undefined;
}

/** Runs with loss or accuracy per epoch (a search's epoch lines carry other numbers). */
export function hasEpochNumbers(r: RunRecord): boolean {
  return r.epochs.some((e) => [e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy].some((v) => v !== undefined));
}

function headlineAccuracy(r: RunRecord): number | undefined {
  if (r.ptq) return r.ptq.quantizedAccuracy;
  const v = r.result?.testAccuracy;
  if (typeof v === 'number') return v;
  return r.epochs.length ? r.epochs[r.epochs.length - 1].testAccuracy : undefined;
}

/**
 * One row per run: where it is, what made it, its data, bits, test accuracy and weight size; a demo
 * directory's float baseline first.
 */
export function runRows(collection: RunCollection): { header: string[]; rows: string[][] } {
  const demo = demoSummary(collection);
  const storage = (s: RunRecord['weightStorage']) => (s ? [`${kib(s.bytes)} KiB`, ratio(s)] : ['–', '–']);
  const rows = collection.runs.map((r) => {
    const env = (r.config?.environment ?? {}) as Record<string, unknown>;
    const acc = headlineAccuracy(r);
    const bits = r.ptq ? `W${r.ptq.wbits}${r.abits === undefined || r.abits >= FLOAT_BITS ? ' (float act.)' : `A${r.abits}`}` : bitsLabel(r) || '–';
    return [
      r.name,
      r.ptq ? `ptq ${methodLabel(r.ptq.method)}` : r.kind,
      r.dataset ? datasetLabel(r.dataset) : '–',
      bits,
      acc === undefined ? '–' : pct(acc),
      ...storage(r.weightStorage),
      typeof env.commit === 'string' ? env.commit.slice(0, 10) : '–',
      typeof r.config?.createdAt === 'string' ? r.config.createdAt.replace('T', ' ').slice(0, 19) : '–',
    ];
  });
  if (demo) {
    const f = demo.float;
    rows.unshift([`float baseline (${f.checkpoint})`, 'float', datasetLabel(demo.dataset), 'W32A32', pct(f.testAccuracy), ...storage(f.weightStorage), '–', '–']);
  }
  return { header: ['run', 'kind', 'dataset', 'bits', 'test acc (%)', 'conv/linear weights', 'compression', 'commit', 'created'], rows };
}

/** The sentence under a PTQ section's title, from the runs' configs. */
export function ptqLede(group: PtqGroup): string {
  const first = group.runs[0];
  const granularities = [...new Set(group.runs.map((r) => r.ptq!.granularity))];
  const steps = granularities.map((g) => (g === 'channel' ? 'one step per output channel' : g === 'layer' ? 'one step per layer' : `step granularity ${g}`)).join(' / ');
  const layers = first.ptq!.layers;
  const [firstBits, lastBits] = [layers[0]?.bits, layers[layers.length - 1]?.bits];
  const ends = layers.length < 2 ? '' : firstBits === lastBits ? ` The first and last layers kept ${firstBits} bits.` : ` The first and last layers got ${firstBits} and ${lastBits} bits.`;
  const calib = typeof first.config?.calib === 'number' ? ` Calibration on ${first.config.calib.toLocaleString('en-US')} training images.` : '';
  const act = first.abits === undefined || first.abits >= FLOAT_BITS ? 'activations float' : `activations ${first.abits}-bit`;
  return `Weights quantized to b bits with 2^b levels, ${steps}, ${act}; float test accuracy ${pct(group.floatAccuracy)}%.${ends}${calib}`;
}

export function markdownReport(collection: RunCollection, text: ReportText = {}): string {
  const lines: string[] = [`# ${reportTitle(collection, text)}`, ''];
  for (const n of reportNotes(collection, text)) lines.push(n, '');
  lines.push(`Runs in \`${collection.root}\`: ${collection.runs.length}. Plots (accuracy vs bits, per-layer error, weight histograms, training curves) are in \`${text.htmlName ?? 'report.html'}\` next to this file.`, '');
  const demo = demoSummary(collection);
  if (demo) {
    const st = stageRows(demo);
    lines.push('## Stages', '', ...table(st.header, ['l', 'l', 'r', 'l'], st.rows), '');
  }
  const groups = ptqGroups(collection.runs);
  for (const g of groups) {
    lines.push(`## Post-training quantization${groups.length > 1 || g.checkpoint ? ` of \`${g.checkpoint || 'an unrecorded checkpoint'}\`` : ''}`, '');
    lines.push(ptqLede(g), '');
    const acc = accuracyRows(g);
    lines.push(...table(acc.header, acc.header.map(() => 'r'), acc.rows), '');
    const lowest = g.bits[0];
    const err = layerErrorRows(g, lowest);
    lines.push(`### Per-layer relative output error ||XW - X~Q|| / ||XW|| at ${lowest} bits`, '');
    lines.push(...table(err.header, err.header.map((_, i) => (i === 0 ? 'l' : 'r')), err.rows), '');
  }
  if (demo) {
    const qat = qatRows(demo);
    if (qat) lines.push('## Quantization-aware training, W2A2 (short budget)', '', qatLede(demo, collection), '', ...table(qat.header, ['l', ...qat.header.slice(1).map(() => 'r' as const)], qat.rows), '');
    const nce = nceRows(demo);
    if (nce) lines.push('## NCE width search and retraining (short budget)', '', nceLede(demo, collection), '', ...table(nce.header, ['l', ...nce.header.slice(1).map(() => 'r' as const)], nce.rows), '');
  }
  for (const r of collection.runs.filter((x) => x.widths && x.widths.length > 0)) {
    lines.push(`## Layer widths chosen by the channel search: ${r.name}`, '');
    const w = widthRows(r);
    lines.push(...table(w.header, ['l', 'r', 'r', 'r'], w.rows), '');
  }
  if (demo) {
    const ex = exportRows(demo);
    if (ex) lines.push('## Export to ONNX', '', exportLede(demo), '', ...table(ex.header, ['l', 'l', ...ex.header.slice(2).map(() => 'r' as const)], ex.rows), '');
  }
  for (const r of collection.runs.filter(hasEpochNumbers)) {
    lines.push(`## Training: ${runTitle(r)}`, '');
    const best = bestTestAccuracy(r);
    if (best !== undefined) lines.push(`Best test accuracy **${pct(best)}%** over ${r.epochs.length} epoch${r.epochs.length === 1 ? '' : 's'}.`, '');
    const ep = epochRows(r);
    lines.push(...table(ep.header, ep.header.map(() => 'r'), ep.rows), '');
  }
  const runs = runRows(collection);
  lines.push('## Runs', '', ...table(runs.header, ['l', 'l', 'l', 'l', 'r', 'r', 'r', 'l', 'l'], runs.rows), '');
  return lines.join('\n');
}

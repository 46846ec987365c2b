/**
 * The parts of a report that only a `lowbit demo` directory has: its result.json (the collection's
 * summary) records the float baseline, each stage's budget, time and summary, and the full-budget
 * tables under results/. Every sentence built here is filled from those records, so that the report
 * says what the runs did (which budgets, which steps) rather than what the code once meant to do.
 *
 * Text comes back markdown-light (`code`, **bold**, [label](path)); markdown.ts prints it as is and
 * html.ts converts it.
 */
import { pct } from './format.ts';
import type { RunCollection, RunRecord } from './run-data.ts';

export interface WeightStorage {
  bytes: number;
  floatBytes: number;
}

interface StageEntry {
  seconds: number;
  finishedAt: string;
  thisRun: 'ran' | 'reused' | 'earlier';
  budget: Record<string, unknown>;
  summary: Record<string, unknown>;
}

export interface DemoSummary {
  model: string;
  dataset: string;
  quick: boolean;
  float: { checkpoint: string; testAccuracy: number; testImages: number; weightStorage: WeightStorage; recipe: string | null };
  stages: Partial<Record<'ptq' | 'qat' | 'nce' | 'export', StageEntry>>;
  lastInvocation: { seconds: number };
  references: { stage: string; label: string; file: string; path: string }[];
}

const DATASET_LABELS: Record<string, string> = { 'fashion-mnist': 'Fashion-MNIST', mnist: 'MNIST', cifar10: 'CIFAR-10' };
const MODEL_LABELS: Record<string, string> = { resnet20: 'ResNet-20' };
export const datasetLabel = (d: string) => DATASET_LABELS[d] ?? d;
const modelLabel = (m: string) => MODEL_LABELS[m] ?? m;
const count = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : '?');
const plural = (n: unknown, word: string) => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

/** The demo summary of a collection, or null when the collection is not a demo directory. */
export function demoSummary(collection: RunCollection): DemoSummary | null {
  const s = collection.summary;
  if (s?.command !== 'demo' || typeof s.stages !== 'object' || s.stages === null) return null;
  return s as unknown as DemoSummary;
}

export function demoTitle(d: DemoSummary): string {
  const parts = [d.stages.ptq && 'GPFQ vs RTN', d.stages.qat && 'QAT with the auxiliary module', d.stages.nce && 'NCE width search', d.stages.export && 'ONNX export'].filter(Boolean);
  return `lowbit demo: ${parts.join(', ')} of ${modelLabel(d.model)} on ${datasetLabel(d.dataset)}`;
}

/** KiB with one decimal. */
export const kib = (bytes: number) => (bytes / 1024).toFixed(1);
export const ratio = (s: WeightStorage) => (s.bytes > 0 ? `${(s.floatBytes / s.bytes).toFixed(1)}×` : '–');

/** What each stage trained on, as a phrase from its recorded budget. */
export function budgetPhrase(stage: string, budget: Record<string, unknown>, summary: Record<string, unknown>): string {
  switch (stage) {
    case 'ptq':
      return `weights at ${(budget.bits as number[]).join(', ')} bits, calibration on ${count(budget.calib)} training images, test on ${count(summary.testImages)} images`;
    case 'qat':
      return `${plural(budget.epochs, 'epoch')} on ${budget.trainSubset === undefined ? 'all' : count(budget.trainSubset)} training images per arm`;
    case 'nce':
      return `search ${plural(budget.searchEpochs, 'epoch')} on ${count(budget.searchSubset)} training images (half for weights, half for widths); retraining ${plural(budget.floatEpochs, 'float epoch')} + ${plural(budget.qatEpochs, 'W2A2 epoch')} on ${count(budget.retrainSubset)} images`;
    case 'export':
      return `test on ${count(summary.testImages)} images in onnxruntime-node and in lowbit`;
    default:
      return '';
  }
}

const QUANTIZER_LABELS: Record<string, string> = { sawb: 'SAWB', pact: 'PACT', lsq: 'LSQ', dorefa: 'DoReFa', uniform: 'uniform' };

/** "2-bit SAWB weights, 2-bit PACT activations, first and last layer 8-bit", from a recorded QuantConfig. */
export function quantPhrase(quant: unknown): string | null {
  const q = quant as { weight?: { kind?: string; bits?: number }; act?: { kind?: string; bits?: number } | null; firstLast?: unknown } | undefined;
  if (!q?.weight) return null;
  const label = (k: string | undefined) => QUANTIZER_LABELS[k ?? ''] ?? k ?? '?';
  const act = q.act ? `${q.act.bits}-bit ${label(q.act.kind)} activations` : 'float activations';
  const fl = q.firstLast as { bits?: number } | 'float' | undefined;
  const ends = fl === 'float' ? ', first and last layer float' : typeof fl?.bits === 'number' ? `, first and last layer ${fl.bits}-bit` : '';
  return `${q.weight.bits}-bit ${label(q.weight.kind)} weights, ${act}${ends}`;
}

const runNamed = (collection: RunCollection, name: string): RunRecord | undefined => collection.runs.find((r) => r.name === name);

/** The paragraphs under the title. */
export function demoNotes(d: DemoSummary): string[] {
  const notes: string[] = [];
  const f = d.float;
  notes.push(
    `Float model: \`${f.checkpoint}\`, ${modelLabel(d.model)} trained on ${datasetLabel(d.dataset)}, test accuracy **${pct(f.testAccuracy)}%** on ${count(f.testImages)} test images${f.recipe ? ` (recipe and command in \`${f.recipe}\`)` : ''}. Every stage starts from it.`,
  );
  if (d.quick) notes.push('**This is a `--quick` run**: every stage saw a few hundred images. It checks that the pipeline runs; its numbers mean nothing.');
  const short = (['qat', 'nce'] as const).filter((s) => d.stages[s]);
  if (short.length) {
    const what = short.map((s) => `${s.toUpperCase()}: ${budgetPhrase(s, d.stages[s]!.budget, d.stages[s]!.summary)}`).join('; ');
    notes.push(`**Short budgets.** The ${short.map((s) => s.toUpperCase()).join(' and ')} numbers below come from the demo's short budgets (${what}). They show each method end to end, not what it reaches.`);
  }
  if (d.stages.ptq) notes.push(`PTQ is run as in the full experiments except for its calibration set (${count(d.stages.ptq.budget.calib)} images).`);
  if (d.references.length) notes.push(`The full-budget numbers: ${d.references.map((r) => `[${r.file}](${r.path}) (${r.label})`).join('; ')}.`);
  return notes;
}

/** stage | this invocation | seconds | budget. */
export function stageRows(d: DemoSummary): { header: string[]; rows: string[][] } {
  const rows = (['ptq', 'qat', 'nce', 'export'] as const)
    .filter((s) => d.stages[s])
    .map((s) => {
      const e = d.stages[s]!;
      return [s, e.thisRun === 'ran' ? 'ran' : e.thisRun === 'reused' ? 'reused (done before)' : 'not asked (done before)', e.seconds.toFixed(1), budgetPhrase(s, e.budget, e.summary)];
    });
  return { header: ['stage', 'last invocation', 'seconds', 'budget'], rows };
}

interface QatArm {
  dir: string;
  label: string;
  testAccuracy: number | null;
  seconds: number;
  imagesPerSecond: number | null;
  weightStorage: WeightStorage;
}

/** arm | W/A | test acc | drop from float | weights | seconds | img/s. */
export function qatRows(d: DemoSummary): { header: string[]; rows: string[][] } | null {
  const qat = d.stages.qat;
  if (!qat) return null;
  const arms = (qat.summary.runs ?? []) as QatArm[];
  const rows = arms.map((a) => [
    a.label,
    'W2A2',
    a.testAccuracy === null ? '–' : pct(a.testAccuracy),
    a.testAccuracy === null ? '–' : pct(d.float.testAccuracy - a.testAccuracy),
    `${kib(a.weightStorage.bytes)} KiB (${ratio(a.weightStorage)})`,
    a.seconds.toFixed(1),
    a.imagesPerSecond === null ? '–' : a.imagesPerSecond.toFixed(0),
  ]);
  return { header: ['arm (run directory)', 'W/A', 'test acc (%)', 'drop (pp)', 'weights (vs float)', 'seconds', 'train img/s'], rows: rows.map((r, i) => [`${r[0]} (${arms[i].dir})`, ...r.slice(1)]) };
}

export function qatLede(d: DemoSummary, collection: RunCollection): string {
  const qat = d.stages.qat!;
  const arms = (qat.summary.runs ?? []) as QatArm[];
  const quant = arms.map((a) => quantPhrase(runNamed(collection, a.dir)?.config?.quant)).find((q) => q !== null);
  return `Fine-tuning of the float model${quant ? ` with ${quant}` : ''}, ${budgetPhrase('qat', qat.budget, qat.summary)}, plain and with the full-precision auxiliary module (its head is dropped after training). Test accuracy of the low-precision network on the full test set; drop from the float model's ${pct(d.float.testAccuracy)}%.`;
}

/** network | widths | MACs | params | ratios | W2A2 test acc. */
export function nceRows(d: DemoSummary): { header: string[]; rows: string[][] } | null {
  const nce = d.stages.nce;
  if (!nce) return null;
  const s = nce.summary as Record<string, number | null>;
  const m = (x: number | null) => (x === null ? '–' : `${(x / 1e6).toFixed(2)} M`);
  const k = (x: number | null) => (x === null ? '–' : `${(x / 1e3).toFixed(1)} k`);
  return {
    header: ['network', 'MACs / image', 'params', 'FLOPs vs original', 'params vs original', 'float phase test acc (%)', 'W2A2 test acc (%)'],
    rows: [
      [`${modelLabel(d.model)}, original widths`, m(s.originalMacs), k(s.originalParams), '1.000', '1.000', '–', '–'],
      ['NCE-searched widths', m(s.macs), k(s.params), (s.flopsRatio ?? NaN).toFixed(3), (s.paramsRatio ?? NaN).toFixed(3), s.floatTestAccuracy === null ? '–' : pct(s.floatTestAccuracy), s.testAccuracy === null ? '–' : pct(s.testAccuracy)],
    ],
  };
}

export function nceLede(d: DemoSummary, collection: RunCollection): string {
  const nce = d.stages.nce!;
  const search = runNamed(collection, 'nce-search')?.config ?? {};
  const supernet = (search.supernet ?? {}) as { expansionLimit?: number; quant?: unknown };
  const hyper = (search.search ?? {}) as { weightLr?: number; archLr?: number };
  const quant = quantPhrase(supernet.quant);
  const start = typeof search.init === 'string' ? `started from \`${search.init}\`` : 'started from scratch';
  const expansion = typeof supernet.expansionLimit === 'number' ? (supernet.expansionLimit > 1 ? `, widths up to ${supernet.expansionLimit}× the original` : ', widths at most the original') : '';
  const lrs = typeof hyper.weightLr === 'number' && typeof hyper.archLr === 'number' ? ` (weight lr ${hyper.weightLr}, width-logit lr ${hyper.archLr})` : '';
  return `A supernet of ${modelLabel(d.model)}${quant ? ` (${quant})` : ''} ${start} searched per-layer widths${expansion}${lrs}: ${budgetPhrase('nce', nce.budget, nce.summary)}. The derived network was then trained from scratch through the retraining path (float, then QAT). The original network's row has no accuracy: this demo does not retrain it through the same path, and the QAT numbers above (fine-tuned from a fully trained float model) are not its comparison.`;
}

interface ExportFile {
  role: string;
  label: string;
  checkpoint: string;
  checkpointBytes: number;
  onnx: string;
  onnxBytes: number;
  opset: number;
  integerLayers: number;
  layers: number;
  ortAccuracy: number;
  lowbitAccuracy: number;
}

/** model | ONNX file | bytes | vs float | integer layers | onnxruntime acc | lowbit acc. */
export function exportRows(d: DemoSummary): { header: string[]; rows: string[][] } | null {
  const ex = d.stages.export;
  if (!ex) return null;
  const files = (ex.summary.files ?? []) as ExportFile[];
  const float = files.find((f) => f.role === 'float');
  const rows = files.map((f) => [
    f.label,
    `export/${f.onnx} (opset ${f.opset})`,
    `${kib(f.onnxBytes)} KiB`,
    float && f !== float ? `1/${(float.onnxBytes / f.onnxBytes).toFixed(1)}` : '1',
    `${f.integerLayers} of ${f.layers}`,
    pct(f.ortAccuracy),
    pct(f.lowbitAccuracy),
    `${kib(f.checkpointBytes)} KiB`,
  ]);
  return { header: ['model', 'ONNX file', 'size', 'vs float', 'integer layers', 'onnxruntime acc (%)', 'lowbit acc (%)', 'checkpoint size'], rows };
}

export function exportLede(d: DemoSummary): string {
  const ex = d.stages.export!;
  const chosen = ex.summary.chosen as { label: string; dir: string; testAccuracy: number };
  const candidates = (ex.summary.candidates ?? []) as { label: string; testAccuracy: number }[];
  return `The most accurate 2-bit-weight model of this demo, ${chosen.label} (\`${chosen.dir}\`, ${pct(chosen.testAccuracy)}%, chosen among ${candidates.map((c) => `${c.label} ${pct(c.testAccuracy)}%`).join(', ')}), and the float model written as ONNX with integer weights at their real width, each run in onnxruntime-node on ${count(ex.summary.testImages)} test images. The checkpoints hold float tensors; the ONNX files hold the codes.`;
}

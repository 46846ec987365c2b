/**
 * Reading run directories for a report. A run directory is what RunDir writes: config.json (the
 * request and environment), metrics.jsonl (one JSON line per epoch or event) and result.json (the
 * outcome); any one of them makes a directory a run. A report covers either one run directory or a
 * parent holding several (runs/demo: the float model and one directory per PTQ method and bit width).
 *
 * What a report understands, by file:
 * - metrics.jsonl lines {event: 'epoch', epoch, trainLoss, trainAccuracy, testLoss, testAccuracy, lr}:
 *   training curves (lowbit train, qat, nce, and the demo's float model); with `extra: {auxLoss,
 *   auxAccuracy}` (qat --aux) the auxiliary head's curves beside the low-precision network's.
 * - result.json {method, wbits, floatAccuracy, quantizedAccuracy, layers: [{name, kind, bits, shape,
 *   relativeError}]}: a post-training quantization run (lowbit ptq); its config.json `checkpoint` names
 *   the float model and codes.safetensors holds `<layer>.weight_codes` and `<layer>.weight_scale`.
 * - result.json `widths`: the layer widths a channel search (NCE) chose, as a list in network order,
 *   [{layer: 'layer1.0.conv1', base: 16, searched: 12}, ...], base being the architecture's width; or
 *   as `lowbit nce search|retrain` write them: plain numbers (beside `originalWidths`, else read against
 *   the zoo default), the layers named from the model they configure (widthLayers).
 * - wbits / abits in result.json, config.json or config.json `options`: the bit widths of a QAT run.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { LowbitError } from '../errors.ts';
import { widthLayers, type ModelConfig } from '../models/index.ts';

export type RunKind = 'train' | 'qat' | 'nce' | 'ptq' | 'other';

export interface EpochRecord {
  epoch: number;
  trainLoss?: number;
  trainAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  lr?: number;
  seconds?: number;
  /** The auxiliary head's training loss and accuracy (a `qat --aux` run's metrics `extra`). */
  auxLoss?: number;
  auxAccuracy?: number;
}

export interface PtqLayer {
  name: string;
  kind: string;
  bits: number;
  shape: number[];
  relativeError: number;
}

export interface PtqRecord {
  method: string;
  wbits: number;
  floatAccuracy: number;
  quantizedAccuracy: number;
  layers: PtqLayer[];
  /** The float checkpoint as config.json recorded it (relative to where the run was started). */
  checkpoint?: string;
  /** Alphabet convention and step granularity the run used ('signed' and 'layer' when not recorded). */
  convention: string;
  granularity: string;
}

export interface LayerWidth {
  layer: string;
  base: number;
  searched: number;
}

export interface RunRecord {
  /** The run directory as given or found. */
  path: string;
  /** Short name: the directory relative to the report's root ('.' for a single run). */
  name: string;
  kind: RunKind;
  config: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  epochs: EpochRecord[];
  ptq?: PtqRecord;
  widths?: LayerWidth[];
  wbits?: number;
  abits?: number;
  /** Conv/linear weight bytes at the run's bit widths and in float32: result.json's weightStorage, or a PTQ run's layers. */
  weightStorage?: { bytes: number; floatBytes: number };
  /** The data set config.json names (its `dataset`, `training.dataset` or `options.dataset`). */
  dataset?: string;
}

export interface RunCollection {
  root: string;
  runs: RunRecord[];
  /** The root's own result.json when the root is a collection (runs/demo keeps a summary there). */
  summary: Record<string, unknown> | null;
}

const RUN_FILES = ['config.json', 'metrics.jsonl', 'result.json'];
const FIX = 'Re-run the command that wrote it, or remove the directory from the report.';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function hasRunFiles(dir: string): boolean {
  return RUN_FILES.some((f) => existsSync(join(dir, f)));
}

function readJsonObject(path: string): Record<string, unknown> | null {
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LowbitError(`${path} is not valid JSON (${(err as Error).message}): the run was interrupted or the file was edited. ${FIX}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LowbitError(`${path} does not hold a JSON object. ${FIX}`);
  return value as Record<string, unknown>;
}

function optionalNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The auxiliary head's numbers of an epoch line's `extra`, when the run trained one. */
function auxNumbers(extra: unknown): Pick<EpochRecord, 'auxLoss' | 'auxAccuracy'> {
  if (typeof extra !== 'object' || extra === null) return {};
  const e = extra as Record<string, unknown>;
  const auxLoss = optionalNumber(e.auxLoss);
  const auxAccuracy = optionalNumber(e.auxAccuracy);
  return { ...(auxLoss !== undefined ? { auxLoss } : {}), ...(auxAccuracy !== undefined ? { auxAccuracy } : {}) };
}

/** Epoch lines of metrics.jsonl. A torn last line (a run killed mid-write) is skipped; a bad line before it is an error. */
export function readEpochs(path: string): EpochRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  const epochs: EpochRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return;
      throw new LowbitError(`${path}:${i + 1} is not a JSON line. ${FIX}`);
    }
    if (record?.event !== 'epoch') return;
    const epoch = optionalNumber(record.epoch);
    if (epoch === undefined) throw new LowbitError(`${path}:${i + 1}: an epoch line without a numeric 'epoch'. ${FIX}`);
    epochs.push({
      epoch,
      trainLoss: optionalNumber(record.trainLoss),
      trainAccuracy: optionalNumber(record.trainAccuracy),
      testLoss: optionalNumber(record.testLoss),
      testAccuracy: optionalNumber(record.testAccuracy),
      lr: optionalNumber(record.lr),
      seconds: optionalNumber(record.seconds),
      ...auxNumbers(record.extra),
    });
  });
  // A resumed run may repeat an epoch: the later line is the one that counts.
  const byEpoch = new Map<number, EpochRecord>();
  for (const e of epochs) byEpoch.set(e.epoch, e);
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

function parsePtq(dir: string, result: Record<string, unknown>, config: Record<string, unknown> | null): PtqRecord {
  const where = join(dir, 'result.json');
  const need = (key: string): number => {
    const v = optionalNumber(result[key]);
    if (v === undefined) throw new LowbitError(`${where}: '${key}' is missing or not a number. ${FIX}`);
    return v;
  };
  if (!Array.isArray(result.layers)) throw new LowbitError(`${where}: 'layers' is not a list. ${FIX}`);
  const layers = (result.layers as unknown[]).map((l, i): PtqLayer => {
    const layer = l as Record<string, unknown>;
    if (typeof layer?.name !== 'string' || optionalNumber(layer.bits) === undefined || optionalNumber(layer.relativeError) === undefined) {
      throw new LowbitError(`${where}: layers[${i}] needs a name, bits and relativeError. ${FIX}`);
    }
    return {
      name: layer.name,
      kind: typeof layer.kind === 'string' ? layer.kind : '',
      bits: layer.bits as number,
      shape: Array.isArray(layer.shape) ? (layer.shape as number[]) : [],
      relativeError: layer.relativeError as number,
    };
  });
  const ptqConfig = (config?.ptq ?? {}) as Record<string, unknown>;
  return {
    method: String(result.method),
    wbits: need('wbits'),
    floatAccuracy: need('floatAccuracy'),
    quantizedAccuracy: need('quantizedAccuracy'),
    layers,
    checkpoint: typeof config?.checkpoint === 'string' ? config.checkpoint : undefined,
    convention: typeof ptqConfig.convention === 'string' ? ptqConfig.convention : 'signed',
    granularity: typeof ptqConfig.granularity === 'string' ? ptqConfig.granularity : 'layer',
  };
}

function parseWidths(dir: string, result: Record<string, unknown>): LayerWidth[] {
  const where = `${join(dir, 'result.json')}: 'widths'`;
  const raw = result.widths;
  if (!Array.isArray(raw)) throw new LowbitError(`${where} must be a list of {layer, base, searched}. ${FIX}`);
  if (raw.length > 0 && raw.every((w) => typeof w === 'number')) return searchWidths(where, raw as number[], result);
  return raw.map((w, i) => {
    const r = w as Record<string, unknown>;
    if (typeof r?.layer !== 'string' || optionalNumber(r.base) === undefined || optionalNumber(r.searched) === undefined) {
      throw new LowbitError(`${where}[${i}] needs a layer name and numeric base and searched widths. ${FIX}`);
    }
    return { layer: r.layer, base: r.base as number, searched: r.searched as number };
  });
}

/**
 * A search's (or a retrain's) plain width list, named by the layers of the model it configures and read
 * against `originalWidths`, or when a record has none, against that model's zoo default widths.
 */
function searchWidths(where: string, widths: number[], result: Record<string, unknown>): LayerWidth[] {
  const derived = result.derived as Record<string, unknown> | undefined;
  const config = (result.modelConfig ?? derived?.modelConfig ?? result.model) as ModelConfig | undefined;
  let layers: { name: string; width: number }[] = [];
  try {
    if (config && typeof config === 'object') layers = widthLayers({ ...config, widths: undefined });
  } catch {
    // An unknown or malformed model: the layers keep their positions as names.
  }
  let base = result.originalWidths;
  if (base === undefined && layers.length === widths.length) base = layers.map((l) => l.width);
  if (!Array.isArray(base) || base.length !== widths.length || !base.every((w) => typeof w === 'number')) {
    throw new LowbitError(`${where} is a list of numbers, so 'originalWidths' must be one of the same length (${widths.length}). ${FIX}`);
  }
  const names = layers.length === widths.length ? layers.map((l) => l.name) : widths.map((_, i) => `layer ${i}`);
  return widths.map((searched, i) => ({ layer: names[i], base: base[i] as number, searched }));
}

/** The lowbit subcommand that made a run: result.json's `command`, else the word after the script in config.json's command line. */
function commandOf(config: Record<string, unknown> | null, result: Record<string, unknown> | null): string {
  if (typeof result?.command === 'string' && !result.command.includes(' ')) return result.command;
  const line = typeof config?.command === 'string' ? config.command : '';
  const known = ['train', 'qat', 'nce', 'ptq', 'demo'];
  return line.split(/\s+/).find((w) => known.includes(w)) ?? line;
}

function findNumber(key: string, ...sources: (Record<string, unknown> | null | undefined)[]): number | undefined {
  for (const s of sources) {
    if (!s) continue;
    const v = s[key];
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n === 'number' && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** Reads one run directory. */
export function readRun(dir: string, name: string): RunRecord {
  const config = readJsonObject(join(dir, 'config.json'));
  const result = readJsonObject(join(dir, 'result.json'));
  const epochs = readEpochs(join(dir, 'metrics.jsonl'));
  const run: RunRecord = { path: dir, name, kind: 'other', config, result, epochs };
  const command = commandOf(config, result);
  if (result && typeof result.method === 'string' && 'wbits' in result && 'layers' in result) {
    run.kind = 'ptq';
    run.ptq = parsePtq(dir, result, config);
  } else if (result?.widths !== undefined || command === 'nce' || String(result?.command ?? '').startsWith('nce')) {
    run.kind = 'nce';
  } else if (command.includes('qat')) {
    run.kind = 'qat';
  } else if (epochs.length > 0 || command.includes('train')) {
    run.kind = 'train';
  }
  if (result?.widths !== undefined) run.widths = parseWidths(dir, result);
  const options = config?.options as Record<string, unknown> | undefined;
  run.wbits = run.ptq?.wbits ?? findNumber('wbits', result, config, options);
  run.abits = findNumber('abits', result, config, options);
  const storage = result?.weightStorage as Record<string, unknown> | undefined;
  if (optionalNumber(storage?.bytes) !== undefined && optionalNumber(storage?.floatBytes) !== undefined) {
    run.weightStorage = { bytes: storage!.bytes as number, floatBytes: storage!.floatBytes as number };
  } else if (run.ptq && run.ptq.layers.every((l) => l.shape.length > 0)) {
    const numel = (l: PtqLayer) => l.shape.reduce((a, b) => a * b, 1);
    run.weightStorage = { bytes: run.ptq.layers.reduce((s, l) => s + (numel(l) * l.bits) / 8, 0), floatBytes: run.ptq.layers.reduce((s, l) => s + numel(l) * 4, 0) };
  }
  const training = config?.training as Record<string, unknown> | undefined;
  const dataset = [config?.dataset, training?.dataset, options?.dataset].find((d) => typeof d === 'string');
  if (typeof dataset === 'string') run.dataset = dataset;
  return run;
}

/**
 * The runs under `root`: root itself when it is a run directory with no run subdirectories, otherwise
 * its immediate subdirectories that are runs (and root too when it has a config.json of its own).
 */
export function loadRuns(root: string): RunCollection {
  if (!existsSync(root)) {
    throw new LowbitError(`run directory ${root} does not exist: pass a directory written by lowbit train, ptq, qat or demo (for example runs/demo after 'npm run demo')`);
  }
  if (!isDirectory(root)) throw new LowbitError(`${root} is a file, not a run directory: pass the directory that holds config.json / result.json`);
  const children = readdirSync(root)
    .filter((f) => isDirectory(join(root, f)) && f !== 'checkpoints' && hasRunFiles(join(root, f)))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (children.length === 0) {
    if (!hasRunFiles(root)) {
      throw new LowbitError(`${root} holds no run: expected config.json, metrics.jsonl or result.json there or in its subdirectories. Pass loadRuns the directory of a run (where train, ptq, qat or demo wrote its output) or a directory of runs`);
    }
    return { root, runs: [readRun(root, basename(root) || root)], summary: null };
  }
  const runs = children.map((c) => readRun(join(root, c), relative(root, join(root, c))));
  const rootConfig = existsSync(join(root, 'config.json'));
  if (rootConfig) runs.unshift(readRun(root, '.'));
  return { root, runs, summary: rootConfig ? null : readJsonObject(join(root, 'result.json')) };
}

const METHOD_LABELS: Record<string, string> = { rtn: 'RTN', gpfq: 'GPFQ' };
/** Baselines first: round-to-nearest, then GPFQ, then anything else by name. */
const METHOD_ORDER = ['rtn', 'gpfq'];

export function methodLabel(method: string): string {
  return METHOD_LABELS[method] ?? method.toUpperCase();
}

export function compareMethods(a: string, b: string): number {
  const ia = METHOD_ORDER.indexOf(a);
  const ib = METHOD_ORDER.indexOf(b);
  return (ia < 0 ? METHOD_ORDER.length : ia) - (ib < 0 ? METHOD_ORDER.length : ib) || a.localeCompare(b, 'en');
}

export interface PtqGroup {
  /** The float checkpoint the runs quantized, as recorded ('' when not recorded). */
  checkpoint: string;
  runs: RunRecord[];
  /** Distinct weight bit widths, ascending, and methods in display order. */
  bits: number[];
  methods: string[];
  floatAccuracy: number;
}

/** PTQ runs grouped by the float model they quantized: one accuracy-vs-bits plot per group. */
export function ptqGroups(runs: readonly RunRecord[]): PtqGroup[] {
  const byCheckpoint = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (!r.ptq) continue;
    const key = r.ptq.checkpoint ?? '';
    byCheckpoint.set(key, [...(byCheckpoint.get(key) ?? []), r]);
  }
  return [...byCheckpoint.entries()].map(([checkpoint, group]) => {
    const sorted = [...group].sort((a, b) => a.ptq!.wbits - b.ptq!.wbits || compareMethods(a.ptq!.method, b.ptq!.method));
    return {
      checkpoint,
      runs: sorted,
      bits: [...new Set(sorted.map((r) => r.ptq!.wbits))].sort((a, b) => a - b),
      methods: [...new Set(sorted.map((r) => r.ptq!.method))].sort(compareMethods),
      floatAccuracy: sorted[0].ptq!.floatAccuracy,
    };
  });
}

/** The run of a group with this method and bit width, if any. */
export function findPtqRun(group: PtqGroup, method: string, bits: number): RunRecord | undefined {
  return group.runs.find((r) => r.ptq!.method === method && r.ptq!.wbits === bits);
}

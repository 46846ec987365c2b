/**
 * Which data a model was trained on, recorded with the model: in a checkpoint's safetensors metadata
 * and in an ONNX file's metadata_props, under the same keys. Without it, `eval` of an MNIST model on
 * Fashion-MNIST silently reports 12%; with it, the data set and normalization are the model's by
 * default and a mismatch is refused.
 */
import { LowbitError } from '../errors.ts';
import type { Dataset } from './dataset.ts';
import { DATASET_NAMES } from './load-dataset.ts';

export const DATASET_KEY = 'lowbit.dataset';
export const NORMALIZATION_KEY = 'lowbit.normalization';
/** The class names of a user's folder data set, in label order (numeric labels record none). */
export const CLASSES_KEY = 'lowbit.classes';

export interface DataProvenance {
  /** Data set name without the split ('mnist', 'cifar10', a user's folder name). */
  dataset: string;
  mean: number[];
  std: number[];
  /** Class names in label order, for data whose classes have names (a folder per class). */
  classes?: string[];
}

/** Data set name without the split suffix or a subset's range ('mnist/train[:100]' -> 'mnist'). */
export function baseDatasetName(name: string): string {
  return name.replace(/\[:\d+\]$/, '').replace(/\/(train|test)$/, '');
}

export function provenanceOf(ds: Dataset): DataProvenance {
  const dataset = baseDatasetName(ds.name);
  // Built-in sets are known by name; numeric labels ('0', '1', ...) have nothing to record.
  const named = !(DATASET_NAMES as readonly string[]).includes(dataset) && ds.classes.some((c, i) => c !== String(i));
  return { dataset, mean: [...ds.mean], std: [...ds.std], ...(named ? { classes: [...ds.classes] } : {}) };
}

/** The metadata entries to store with a model (safetensors metadata or ONNX metadata_props). */
export function datasetMetadata(p: DataProvenance | Dataset): Record<string, string> {
  const q = 'images' in p ? provenanceOf(p) : p;
  return { [DATASET_KEY]: q.dataset, [NORMALIZATION_KEY]: JSON.stringify({ mean: q.mean, std: q.std }), ...(q.classes ? { [CLASSES_KEY]: JSON.stringify(q.classes) } : {}) };
}

/** The recorded provenance, null when the file has none (older files, other tools); corrupt entries throw. */
export function readDatasetMetadata(metadata: Record<string, string>, source: string): DataProvenance | null {
  const dataset = metadata[DATASET_KEY];
  const raw = metadata[NORMALIZATION_KEY];
  if (dataset === undefined && raw === undefined) return null;
  let norm: unknown;
  try {
    norm = raw === undefined ? undefined : JSON.parse(raw);
  } catch {
    norm = undefined;
  }
  const ok = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const n = norm as { mean?: unknown; std?: unknown } | undefined;
  if (dataset === undefined || dataset === '' || !n || !ok(n.mean) || !ok(n.std)) {
    throw new LowbitError(`${source}: corrupt '${DATASET_KEY}' / '${NORMALIZATION_KEY}' metadata (${JSON.stringify({ dataset, normalization: raw })}); re-save the model, or remove the two entries`);
  }
  const classes = readClasses(metadata[CLASSES_KEY], source);
  return { dataset, mean: n.mean, std: n.std, ...(classes ? { classes } : {}) };
}

function readClasses(raw: string | undefined, source: string): string[] | undefined {
  if (raw === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((c) => typeof c === 'string')) {
    throw new LowbitError(`${source}: corrupt '${CLASSES_KEY}' metadata (${raw.slice(0, 60)}); re-save the model, or remove the entry`);
  }
  return v;
}

/**
 * Throws when `ds` is not the data the model recorded: another data set, or another normalization
 * (beyond 1e-4, the digits the literature quotes). No record: nothing to check.
 */
export function checkDatasetMatches(recorded: DataProvenance | null, ds: Dataset | DataProvenance, source: string): void {
  if (recorded === null) return;
  const got = 'images' in ds ? provenanceOf(ds) : ds;
  if (got.dataset !== recorded.dataset) {
    throw new LowbitError(
      `${source} was trained on ${recorded.dataset}, not ${got.dataset}: its accuracy there would be meaningless. ` +
        `Use ${recorded.dataset} (the model's own data set is the default when none is given)`,
    );
  }
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) <= 1e-4);
  if (!close(got.mean, recorded.mean) || !close(got.std, recorded.std)) {
    throw new LowbitError(
      `${source} was trained with normalization mean [${recorded.mean.join(', ')}] std [${recorded.std.join(', ')}], ` +
        `the data is normalized with mean [${got.mean.join(', ')}] std [${got.std.join(', ')}]; use the model's values`,
    );
  }
}

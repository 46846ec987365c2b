/**
 * Which data a pipeline reads, as plain data for a run's config.json: a built-in data set by name, or a
 * user's own files (see user-data.ts) with the normalization the model takes. A user's path may hold
 * both splits (a folder with train/ and test/ sub-folders, or MNIST-named IDX files, or
 * x_train.npy / y_train.npy ...); otherwise the same images serve as both splits.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { LowbitError } from '../errors.ts';
import type { Dataset } from './dataset.ts';
import { DATASET_NAMES, loadDataset, type DatasetName, type Split } from './load-dataset.ts';
import { folderClassNames, loadUserData, type UserDataSource } from './user-data.ts';

export interface UserDataSpec {
  /** A folder (class sub-folders; train/ + test/; IDX or .npy files named by split) or an IDX / .npy images file. */
  path: string;
  /** The labels file of an images file; default: its name with images -> labels (idx3 -> idx1, x -> y). */
  labels?: string;
  /** Per channel (or one for all), of x / 255. */
  mean: number[];
  std: number[];
  /** [H, W]: folder images are resized to it; IDX / .npy images must have it. */
  inputSize?: [number, number];
  /** A folder's class names in label order: the model's (as it records them). Default: the training split's. */
  classes?: string[];
}

export type DataSpec = DatasetName | UserDataSpec;

export function isUserData(spec: DataSpec): spec is UserDataSpec {
  return typeof spec === 'object' && spec !== null;
}

/** The name a data set is recorded under: the built-in name, or the user path's base name. */
export function dataSpecName(spec: DataSpec): string {
  if (!isUserData(spec)) return spec;
  const base = basename(spec.path.replace(/\/+$/, ''));
  return base.replace(/\.(npy|gz)$/i, '').replace(/-?images.*$/i, '') || base;
}

/** Loads one split of a data spec. */
export function loadData(spec: DataSpec, split: Split): Dataset {
  if (!isUserData(spec)) {
    if (!DATASET_NAMES.includes(spec)) throw new LowbitError(`unknown data set '${String(spec)}'; choose one of ${DATASET_NAMES.join(', ')}, or give your own data`);
    return loadDataset(spec, split);
  }
  const source = resolveUserSource(spec.path, spec.labels, split);
  const classes = source.kind !== 'folder' ? undefined : spec.classes ?? (split === 'train' ? undefined : trainingClassNames(spec.path, source.dir));
  return loadUserData(source, {
    normalization: { mean: spec.mean, std: spec.std },
    ...(spec.inputSize ? { inputSize: spec.inputSize } : {}),
    ...(classes ? { classes } : {}),
    name: `${dataSpecName(spec)}/${split}`,
  });
}

/**
 * The class folders of the train split when `testDir` is the test split of a train/ + test/ folder:
 * the labels are indexes into the training classes, so a class missing from test/ must not shift them.
 */
function trainingClassNames(path: string, testDir: string): string[] | undefined {
  const train = resolveUserSource(path, undefined, 'train');
  return train.kind === 'folder' && train.dir !== testDir ? folderClassNames(train.dir) : undefined;
}

/** Where split `split` of a user's path is. */
export function resolveUserSource(path: string, labels: string | undefined, split: Split): UserDataSource {
  if (path === '' || !existsSync(path)) throw new LowbitError(`data ${path === '' ? "''" : path} does not exist: check the path`);
  if (statSync(path).isDirectory()) {
    for (const sub of split === 'train' ? ['train'] : ['test', 'val']) {
      const d = join(path, sub);
      if (existsSync(d) && statSync(d).isDirectory()) return resolveUserSource(d, undefined, split);
    }
    const prefix = split === 'train' ? 'train' : 't10k';
    const idx = (kind: string, n: number) => [`${prefix}-${kind}-idx${n}-ubyte`, `${prefix}-${kind}-idx${n}-ubyte.gz`, `${prefix}-${kind}.idx${n}-ubyte`].map((f) => join(path, f)).find(existsSync);
    const idxImages = idx('images', 3);
    const idxLabels = idx('labels', 1);
    if (idxImages && idxLabels) return { kind: 'idx', images: idxImages, labels: idxLabels };
    const npyImages = [`x_${split}.npy`, `${split}_images.npy`].map((f) => join(path, f)).find(existsSync);
    const npyLabels = [`y_${split}.npy`, `${split}_labels.npy`].map((f) => join(path, f)).find(existsSync);
    if (npyImages && npyLabels) return { kind: 'npy', images: npyImages, labels: npyLabels };
    return { kind: 'folder', dir: path };
  }
  const kind = extname(path).toLowerCase() === '.npy' ? 'npy' : 'idx';
  return { kind, images: path, labels: labels ?? labelsFileOf(path) };
}

/** The labels file beside an images file: images -> labels, idx3 -> idx1, x -> y. */
function labelsFileOf(images: string): string {
  const name = basename(images);
  const candidates = [
    name.replace(/images/g, 'labels').replace(/idx3/g, 'idx1'),
    name.replace(/Images/g, 'Labels'),
    name.replace(/^x(?=[_.-]|$)/, 'y').replace(/^X(?=[_.-]|$)/, 'y'),
  ]
    .filter((c) => c !== name)
    .map((c) => join(dirname(images), c));
  const found = candidates.find(existsSync);
  if (found === undefined) {
    throw new LowbitError(`${images}: its labels file was not found${candidates.length ? ` (looked for ${candidates.join(', ')})` : ''}; give it with --labels FILE`);
  }
  return found;
}

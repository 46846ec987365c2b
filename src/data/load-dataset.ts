import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../errors.ts';
import { fromArray, scope } from '../tensor/index.ts';
import { readCifar10 } from './cifar10.ts';
import { Dataset } from './dataset.ts';
import { readIdxImages, readIdxLabels } from './idx.ts';

export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10';
export type Split = 'train' | 'test';

export const DATASET_NAMES: readonly DatasetName[] = ['fashion-mnist', 'mnist', 'cifar10'];

/** The environment variable naming a folder that holds fashion-mnist/, mnist/, cifar-10-batches-bin/. */
export const DATA_ENV_VAR = 'LOWBIT_DATA';

interface CatalogEntry {
  title: string;
  /** Sub-folder of $LOWBIT_DATA (or of opts.root). */
  folder: string;
  /** A folder a system package installs the files into, tried after $LOWBIT_DATA. */
  systemDir?: string;
  /** How to get the files, for the "not found" messages. */
  hint: string;
  classes: readonly string[];
  /**
   * Per-channel mean and (population) standard deviation of x/255 over the training split, to 4
   * digits, as the literature quotes them; test/data/load-dataset.test.ts checks Fashion-MNIST's against
   * the real files.
   */
  mean: readonly number[];
  std: readonly number[];
}

export const DATASET_CATALOG: Readonly<Record<DatasetName, Readonly<CatalogEntry>>> = {
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    folder: 'fashion-mnist',
    systemDir: '/usr/share/datasets/fashion-mnist',
    hint:
      'Install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), which puts the four ' +
      'IDX files in /usr/share/datasets/fashion-mnist, or set LOWBIT_DATA to a folder whose fashion-mnist/ holds them.',
    classes: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    mean: [0.286],
    std: [0.353],
  },
  mnist: {
    title: 'MNIST',
    folder: 'mnist',
    hint:
      'Set LOWBIT_DATA to a folder whose mnist/ holds the four MNIST IDX files (train-images-idx3-ubyte.gz, ' +
      'train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; gzipped or not).',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    mean: [0.1307],
    std: [0.3081],
  },
  cifar10: {
    title: 'CIFAR-10',
    folder: 'cifar-10-batches-bin',
    hint:
      'Set LOWBIT_DATA to a folder holding cifar-10-batches-bin/, as extracted from the CIFAR-10 binary version ' +
      '(cifar-10-binary.tar.gz: data_batch_1.bin ... data_batch_5.bin, test_batch.bin).',
    classes: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
    mean: [0.4914, 0.4822, 0.4465],
    std: [0.247, 0.2435, 0.2616],
  },
};

export interface LoadDatasetOptions {
  /** The folder holding this data set's files directly; when given, nothing else is searched. */
  dir?: string;
  /** A folder holding fashion-mnist/, mnist/, cifar-10-batches-bin/; default $LOWBIT_DATA. */
  root?: string;
}

/** The folders searched for a data set, in order. */
export function candidateDirs(name: DatasetName, opts: LoadDatasetOptions = {}): string[] {
  if (opts.dir !== undefined) return [opts.dir];
  const entry = DATASET_CATALOG[name];
  const dirs: string[] = [];
  const root = opts.root ?? process.env[DATA_ENV_VAR];
  if (root) dirs.push(join(root, entry.folder));
  if (entry.systemDir !== undefined) dirs.push(entry.systemDir);
  return dirs;
}

function locateDir(name: DatasetName, opts: LoadDatasetOptions): string {
  const dirs = candidateDirs(name, opts);
  const found = dirs.find((d) => existsSync(d));
  if (found !== undefined) return found;
  const entry = DATASET_CATALOG[name];
  const tried = dirs.length > 0 ? `looked in ${dirs.join(', ')}` : `${DATA_ENV_VAR} is not set`;
  throw new LowbitError(`${entry.title} not found (${tried}). ${entry.hint}`);
}

/** An IDX file given its base name: the gzipped copy when present, else the raw one. */
function idxPath(name: DatasetName, dir: string, base: string): string {
  const candidates = [join(dir, `${base}.gz`), join(dir, base)];
  const found = candidates.find((p) => existsSync(p));
  if (found !== undefined) return found;
  const entry = DATASET_CATALOG[name];
  throw new LowbitError(`${entry.title}: missing file ${candidates[0]} (or uncompressed ${candidates[1]}). ${entry.hint}`);
}

function loadIdxDataset(name: DatasetName, split: Split, dir: string): Dataset {
  const entry = DATASET_CATALOG[name];
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesPath = idxPath(name, dir, `${prefix}-images-idx3-ubyte`);
  const labelsPath = idxPath(name, dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdxImages(imagesPath);
  const labelBytes = readIdxLabels(labelsPath);
  if (labelBytes.length !== images.count) {
    throw new LowbitError(
      `${entry.title} ${split}: ${imagesPath} holds ${images.count} images but ${labelsPath} holds ${labelBytes.length} labels; ` +
        `the two files must come from the same release`,
    );
  }
  const tensors = scope(() => {
    const labels = fromArray(labelBytes, [labelBytes.length], { dtype: 'int64' });
    if (labelBytes.length > 0) {
      const largest = labels.amax().item();
      if (largest >= entry.classes.length) {
        throw new LowbitError(`${labelsPath}: label ${largest} found, ${entry.title} has classes 0..${entry.classes.length - 1}; the file is corrupt`);
      }
    }
    return { images: fromArray(images.pixels, [images.count, 1, images.rows, images.cols]), labels };
  });
  return new Dataset({ name: `${name}/${split}`, ...tensors, classes: entry.classes, mean: entry.mean, std: entry.std });
}

function loadCifar10(split: Split, dir: string): Dataset {
  const entry = DATASET_CATALOG.cifar10;
  const files = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const paths = files.map((f) => join(dir, f));
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new LowbitError(`CIFAR-10: missing file${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. ${entry.hint}`);
  }
  const { images, labels } = readCifar10(paths);
  return new Dataset({ name: `cifar10/${split}`, images, labels, classes: entry.classes, mean: entry.mean, std: entry.std });
}

/**
 * Loads a whole split into native memory. Files are searched in opts.dir, else in
 * `${opts.root ?? $LOWBIT_DATA}/<folder>`, then (Fashion-MNIST only) in /usr/share/datasets/fashion-mnist.
 * Missing or corrupt files throw a LowbitError naming the file and what was expected.
 */
export function loadDataset(name: DatasetName, split: Split, opts: LoadDatasetOptions = {}): Dataset {
  // Validated here because names and splits arrive as strings from the CLI and config files.
  if (!DATASET_NAMES.includes(name)) {
    throw new LowbitError(`unknown data set '${String(name)}'; choose one of ${DATASET_NAMES.join(', ')}`);
  }
  if (split !== 'train' && split !== 'test') throw new LowbitError(`unknown split '${String(split)}'; choose train or test`);
  const dir = locateDir(name, opts);
  return name === 'cifar10' ? loadCifar10(split, dir) : loadIdxDataset(name, split, dir);
}

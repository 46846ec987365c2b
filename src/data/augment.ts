/**
 * Batched, seeded data augmentation on (B, C, H, W) tensors of any dtype. Every random choice is drawn
 * from the Generator passed in, so a batch's augmentation is a pure function of that generator's seed
 * (the loader seeds one per (seed, epoch, batch)). Nothing loops over samples in JS: per-sample choices
 * become index tensors or masks.
 */
import { LowbitError } from '../errors.ts';
import { arange, F, rand, randint, scalar, scope, where, type Generator, type Tensor } from '../tensor/index.ts';

/** One augmentation step: takes a batch, returns a new one of the same shape and dtype. */
export interface BatchTransform {
  apply(images: Tensor, generator: Generator): Tensor;
}

function checkBatch(images: Tensor, what: string): [number, number, number, number] {
  if (images.ndim !== 4) throw new LowbitError(`${what}: expected a (B, C, H, W) batch, got shape [${images.shape.join(', ')}]`);
  return images.shape as [number, number, number, number];
}

/** Per-sample crop offsets into the padded image, each in [0, 2 * padding]. */
export interface CropOffsets {
  /** int64 (B): first row of the crop in the padded image. */
  dy: Tensor;
  /** int64 (B): first column of the crop in the padded image. */
  dx: Tensor;
}

/**
 * Pads every image by `padding` on each side with `fill`, then cuts out the H x W window starting at
 * (dy[b], dx[b]) of sample b. Built as one gather: for each sample the flat indices of its window in the
 * padded plane, shared by all channels.
 */
export function cropWithPadding(images: Tensor, padding: number, offsets: CropOffsets, fill = 0): Tensor {
  const [B, C, H, W] = checkBatch(images, 'cropWithPadding');
  if (!Number.isInteger(padding) || padding < 0) throw new LowbitError(`cropWithPadding: padding must be a non-negative integer, got ${padding}`);
  return scope(() => {
    const Hp = H + 2 * padding;
    const Wp = W + 2 * padding;
    const padded = F.pad(images, [padding, padding, padding, padding], 'constant', fill).reshape([B, C, Hp * Wp]);
    // Flat index of pixel (i, j) of sample b's window: (dy[b] + i) * Wp + dx[b] + j = corner[b] + window[i, j].
    // Integer tensors only (no JS-number operands), so the indices stay int64 whatever a number's type.
    const corner = offsets.dy.mul(scalar(Wp, { dtype: 'int64' })).add(offsets.dx); // (B)
    const window = arange(0, H * Wp, Wp).reshape([H, 1]).add(arange(W).reshape([1, W])); // (H, W)
    const index = corner.reshape([B, 1, 1]).add(window.reshape([1, H, W])).reshape([B, 1, H * W]).expand([B, C, H * W]);
    return padded.gather(2, index).reshape([B, C, H, W]);
  });
}

/**
 * Random crop with zero padding (the standard CIFAR augmentation: pad 4, crop 32x32 back). Applied to
 * uint8 pixels by the loader, so the padding is black, as torchvision's RandomCrop(padding=4) on PIL
 * images; applied after normalization it would be the mean colour instead.
 */
export class RandomCrop implements BatchTransform {
  constructor(
    readonly padding: number,
    readonly fill = 0,
  ) {
    if (!Number.isInteger(padding) || padding < 0) throw new LowbitError(`RandomCrop: padding must be a non-negative integer, got ${padding}`);
  }

  /** The offsets apply() draws: dy, then dx, each uniform on {0, ..., 2 * padding}. */
  sampleOffsets(batchSize: number, generator: Generator): CropOffsets {
    const high = 2 * this.padding + 1;
    return {
      dy: randint(0, high, [batchSize], { generator }),
      dx: randint(0, high, [batchSize], { generator }),
    };
  }

  apply(images: Tensor, generator: Generator): Tensor {
    const [B] = checkBatch(images, 'RandomCrop');
    return scope(() => cropWithPadding(images, this.padding, this.sampleOffsets(B, generator), this.fill));
  }
}

/** Mirrors the samples where mask (bool, B) is true along the width axis; the others pass unchanged. */
export function flipWhere(images: Tensor, mask: Tensor): Tensor {
  const [B] = checkBatch(images, 'flipWhere');
  return scope(() => where(mask.reshape([B, 1, 1, 1]), images.flip([3]), images));
}

/** Horizontal flip of each sample with probability p. */
export class RandomHorizontalFlip implements BatchTransform {
  constructor(readonly p = 0.5) {
    if (!(p >= 0 && p <= 1)) throw new LowbitError(`RandomHorizontalFlip: p must be in [0, 1], got ${p}`);
  }

  /** The mask apply() draws: bool (B), true for the samples to flip. */
  sampleMask(batchSize: number, generator: Generator): Tensor {
    return scope(() => rand([batchSize], { generator }).lt(this.p));
  }

  apply(images: Tensor, generator: Generator): Tensor {
    const [B] = checkBatch(images, 'RandomHorizontalFlip');
    return scope(() => flipWhere(images, this.sampleMask(B, generator)));
  }
}

/** Applies transforms in order, all drawing from the same generator. */
export class Compose implements BatchTransform {
  readonly transforms: readonly BatchTransform[];
  constructor(transforms: readonly BatchTransform[]) {
    this.transforms = [...transforms];
  }
  apply(images: Tensor, generator: Generator): Tensor {
    return scope(() => this.transforms.reduce((x, t) => t.apply(x, generator), images));
  }
}

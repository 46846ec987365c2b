import { LowbitError } from '../errors.ts';
import { keep, type Tensor } from '../tensor/index.ts';

export interface DatasetInit {
  /** e.g. 'fashion-mnist/train'; used in messages and run records. */
  name: string;
  /** uint8 (N, C, H, W), pixel values 0..255. The dataset takes ownership. */
  images: Tensor;
  /** int64 (N), class indices 0..classes.length-1. The dataset takes ownership. */
  labels: Tensor;
  /** Class names, index = label. */
  classes: readonly string[];
  /** Per-channel mean of x/255 over the training split; normalization uses it for every split. */
  mean: readonly number[];
  /** Per-channel standard deviation of x/255 over the training split. */
  std: readonly number[];
}

/**
 * An image classification data set held whole in native memory: images as one uint8 tensor, labels as
 * one int64 tensor. The loader gathers batches from it with tensor ops, so no sample ever passes
 * through JS. The dataset owns both tensors (they are keep()-ed, so no scope frees them); call dispose()
 * when done, or let the finalizers free them.
 */
export class Dataset {
  readonly name: string;
  readonly images: Tensor;
  readonly labels: Tensor;
  readonly classes: readonly string[];
  readonly mean: readonly number[];
  readonly std: readonly number[];

  constructor(init: DatasetInit) {
    const { name, images, labels, classes, mean, std } = init;
    if (images.dtype !== 'uint8' || images.ndim !== 4) {
      throw new LowbitError(`Dataset ${name}: images must be uint8 (N, C, H, W), got ${images.dtype} [${images.shape.join(', ')}]`);
    }
    if (labels.dtype !== 'int64' || labels.ndim !== 1) {
      throw new LowbitError(`Dataset ${name}: labels must be int64 (N), got ${labels.dtype} [${labels.shape.join(', ')}]`);
    }
    if (labels.shape[0] !== images.shape[0]) {
      throw new LowbitError(`Dataset ${name}: ${images.shape[0]} images but ${labels.shape[0]} labels`);
    }
    const channels = images.shape[1];
    if (mean.length !== channels || std.length !== channels) {
      throw new LowbitError(
        `Dataset ${name}: mean and std need one value per channel (${channels}), got ${mean.length} and ${std.length}`,
      );
    }
    if (std.some((s) => !(s > 0))) throw new LowbitError(`Dataset ${name}: std must be positive, got [${std.join(', ')}]`);
    this.name = name;
    this.images = keep(images);
    this.labels = keep(labels);
    this.classes = classes;
    this.mean = mean;
    this.std = std;
  }

  /** Number of samples. */
  get length(): number {
    return this.images.shape[0];
  }
  get channels(): number {
    return this.images.shape[1];
  }
  get height(): number {
    return this.images.shape[2];
  }
  get width(): number {
    return this.images.shape[3];
  }

  /** "mnist-train: 60000 images of 1x28x28 (C x H x W), 10 classes (0, 1, ..., 9)", for users and logs. */
  describe(): string {
    const shown = this.classes.length <= 10 ? this.classes.join(', ') : `${this.classes.slice(0, 8).join(', ')}, ..., ${this.classes[this.classes.length - 1]}`;
    return `${this.name}: ${this.length} images of ${this.channels}x${this.height}x${this.width} (C x H x W), ${this.classes.length} classes (${shown})`;
  }

  dispose(): void {
    this.images.dispose();
    this.labels.dispose();
  }
}

/**
 * A user's own image classification data, in the three forms people have it in:
 * - IDX files (MNIST's format): an image file (uint8, count x rows x cols) and a label file;
 * - a folder with one sub-folder per class holding PNG or JPEG images (torchvision's ImageFolder layout:
 *   classes are the sub-folder names in sorted order);
 * - .npy arrays: images (N, H, W), (N, C, H, W) or (N, H, W, C) as uint8 0..255 or float in [0, 1], and
 *   integer labels (N).
 * The caller gives the normalization (mean / std of x/255 per channel: the values the model was trained
 * with) and, optionally, the input size: folder images of another size are resized to it (bilinear);
 * IDX and .npy arrays must already have it. The result is an ordinary Dataset.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import jpeg from 'jpeg-js';
import { LowbitError } from '../errors.ts';
import { fromArray, scope } from '../tensor/index.ts';
import { Dataset } from './dataset.ts';
import { readIdxImages, readIdxLabels } from './idx.ts';
import { parseNpy } from './npy.ts';
import { decodePng, isPng, type DecodedImage } from './png.ts';

export type UserDataSource =
  | { kind: 'idx'; images: string; labels: string }
  | { kind: 'folder'; dir: string }
  | { kind: 'npy'; images: string; labels: string };

export interface Normalization {
  /** Per channel (or one value for every channel), of x / 255. */
  mean: readonly number[];
  std: readonly number[];
}

export interface UserDataOptions {
  normalization: Normalization;
  /** [H, W]: folder images are resized to it; IDX / .npy images must have it. */
  inputSize?: readonly [number, number];
  /** 1 (grey) or 3 (RGB) for folder images; default: that of the first image. */
  channels?: 1 | 3;
  /** For messages and run records; default: the file or folder name. */
  name?: string;
  /**
   * A folder's class names in label order (those of the training split): a test folder that lacks a
   * class keeps the other classes' labels. Default: its own sub-folder names, sorted.
   */
  classes?: readonly string[];
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

export function loadUserData(source: UserDataSource, opts: UserDataOptions): Dataset {
  switch (source.kind) {
    case 'idx':
      return fromIdx(source, opts);
    case 'folder':
      return fromFolder(source.dir, opts);
    case 'npy':
      return fromNpy(source, opts);
    default:
      throw new LowbitError(`unknown data source kind '${String((source as { kind: unknown }).kind)}': use idx, folder or npy`);
  }
}

/** mean / std checked and expanded to one value per channel. */
export function checkNormalization(n: Normalization, channels: number, where: string): { mean: number[]; std: number[] } {
  const expand = (v: readonly number[], what: string) => {
    if (!(v.length === channels || v.length === 1)) throw new LowbitError(`${where}: ${what} has ${v.length} values for ${channels}-channel images; give one per channel or one for all`);
    if (v.some((x) => !Number.isFinite(x))) throw new LowbitError(`${where}: ${what} [${v.join(', ')}] must be finite numbers`);
    return v.length === channels ? [...v] : new Array<number>(channels).fill(v[0]);
  };
  const mean = expand(n.mean, 'mean');
  const std = expand(n.std, 'std');
  if (std.some((s) => !(s > 0))) throw new LowbitError(`${where}: std [${std.join(', ')}] must be positive`);
  if (mean.some((m) => m < -1 || m > 2) || std.some((s) => s > 10)) {
    throw new LowbitError(`${where}: mean [${mean.join(', ')}] / std [${std.join(', ')}] look like pixel values; give them on the 0..1 scale (x / 255), e.g. mean 0.1307 std 0.3081 for MNIST`);
  }
  return { mean, std };
}

function fromIdx(src: { images: string; labels: string }, opts: UserDataOptions): Dataset {
  const images = readIdxImages(src.images);
  const labels = readIdxLabels(src.labels);
  if (labels.length !== images.count) {
    throw new LowbitError(`${src.images} holds ${images.count} images but ${src.labels} holds ${labels.length} labels; the two files must describe the same samples`);
  }
  if (images.count === 0) throw new LowbitError(`${src.images} holds no images (its header says 0); give a file with samples`);
  checkSize([images.rows, images.cols], opts.inputSize, src.images);
  const name = opts.name ?? basename(src.images);
  const { mean, std } = checkNormalization(opts.normalization, 1, name);
  const tensors = scope(() => ({
    images: fromArray(images.pixels, [images.count, 1, images.rows, images.cols]),
    labels: fromArray(labels, [labels.length], { dtype: 'int64' }),
  }));
  return new Dataset({ name, ...tensors, classes: classNames(labels), mean, std });
}

function fromNpy(src: { images: string; labels: string }, opts: UserDataOptions): Dataset {
  const x = parseNpy(readFile(src.images), src.images);
  const y = parseNpy(readFile(src.labels), src.labels);
  if (y.shape.length !== 1 || !['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'int64', 'uint64'].includes(y.dtype)) {
    throw new LowbitError(`${src.labels}: labels must be a 1-D integer array (N,), got ${y.dtype} [${y.shape.join(', ')}]`);
  }
  // (N, H, W) grey, (N, C, H, W) with C in {1, 3}, or (N, H, W, C) channels-last with C in {1, 3}.
  let layout: 'nhw' | 'nchw' | 'nhwc';
  if (x.shape.length === 3) layout = 'nhw';
  else if (x.shape.length === 4 && [1, 3].includes(x.shape[1])) layout = 'nchw';
  else if (x.shape.length === 4 && [1, 3].includes(x.shape[3])) layout = 'nhwc';
  else throw new LowbitError(`${src.images}: images must be (N, H, W), (N, C, H, W) or (N, H, W, C) with C = 1 or 3, got [${x.shape.join(', ')}]`);
  const n = x.shape[0];
  const [c, h, w] = layout === 'nhw' ? [1, x.shape[1], x.shape[2]] : layout === 'nchw' ? x.shape.slice(1) : [x.shape[3], x.shape[1], x.shape[2]];
  if (n === 0) throw new LowbitError(`${src.images} holds no images (shape [${x.shape.join(', ')}]); give an array with samples`);
  if (y.shape[0] !== n) throw new LowbitError(`${src.images} holds ${n} images but ${src.labels} holds ${y.shape[0]} labels; the two files must describe the same samples`);
  checkSize([h, w], opts.inputSize, src.images);
  const pixels = new Uint8Array(n * c * h * w);
  const isFloat = x.dtype.startsWith('float');
  if (!isFloat && x.dtype !== 'uint8') throw new LowbitError(`${src.images}: images must be uint8 (0..255) or float (0..1), got ${x.dtype}`);
  for (let i = 0; i < pixels.length; i++) {
    const v = x.data[i];
    if (isFloat && !(v >= 0 && v <= 1)) {
      throw new LowbitError(`${src.images}: float images must hold values in [0, 1] (element ${i} is ${v}); save uint8 pixels, or x / 255 before normalizing`);
    }
    pixels[i] = isFloat ? Math.round(v * 255) : v;
  }
  const nchw = layout === 'nhwc' ? toNchw(pixels, n, h, w, c) : pixels;
  const labels = Array.from(y.data, Number);
  if (labels.some((l) => l < 0 || !Number.isInteger(l))) throw new LowbitError(`${src.labels}: labels must be non-negative integers`);
  const name = opts.name ?? basename(src.images);
  const { mean, std } = checkNormalization(opts.normalization, c, name);
  const tensors = scope(() => ({ images: fromArray(nchw, [n, c, h, w]), labels: fromArray(Float64Array.from(labels), [n], { dtype: 'int64' }) }));
  return new Dataset({ name, ...tensors, classes: classNames(labels), mean, std });
}

function fromFolder(dir: string, opts: UserDataOptions): Dataset {
  if (!existsSync(dir)) throw new LowbitError(`image folder ${dir} does not exist: check the path`);
  if (!statSync(dir).isDirectory()) throw new LowbitError(`${dir} is not a folder; expected one sub-folder per class holding PNG or JPEG images`);
  const folders = folderClassNames(dir);
  if (folders.length === 0) throw new LowbitError(`${dir} has no class sub-folders; put each class's images in a sub-folder named after the class (${dir}/cat/1.png, ${dir}/dog/2.png)`);
  const classes = opts.classes ?? folders;
  const unknown = folders.filter((f) => !classes.includes(f));
  if (unknown.length > 0) {
    throw new LowbitError(`${dir}: class folder(s) ${unknown.join(', ')} are not among the classes the labels are numbered by (${classes.join(', ')}: the model's, or the training split's); the labels would not match the model's outputs: rename or remove them`);
  }
  const files: { path: string; label: number }[] = [];
  for (const cls of folders) {
    const label = classes.indexOf(cls);
    for (const f of readdirSync(join(dir, cls)).sort()) {
      if (IMAGE_EXTENSIONS.has(extname(f).toLowerCase())) files.push({ path: join(dir, cls, f), label });
    }
  }
  if (files.length === 0) throw new LowbitError(`${dir}: the class folders (${folders.join(', ')}) hold no .png, .jpg or .jpeg files`);
  const empty = folders.filter((cls) => !files.some((f) => f.label === classes.indexOf(cls)));
  if (empty.length > 0) throw new LowbitError(`${dir}: class folder(s) ${empty.join(', ')} hold no images; remove them or add images`);
  const first = decodeImage(files[0].path);
  const channels = opts.channels ?? first.channels;
  const [h, w] = opts.inputSize ?? [first.height, first.width];
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) throw new LowbitError(`input size ${h}x${w} must be positive integers`);
  const per = channels * h * w;
  const pixels = new Uint8Array(files.length * per);
  files.forEach((f, i) => {
    const img = i === 0 ? first : decodeImage(f.path);
    if (opts.inputSize === undefined && (img.height !== h || img.width !== w)) {
      throw new LowbitError(`${f.path} is ${img.width}x${img.height}, the first image ${files[0].path} is ${w}x${h}; give an input size to resize them all`);
    }
    pixels.set(toChw(resize(img, h, w), channels), i * per);
  });
  const name = opts.name ?? basename(dir);
  const { mean, std } = checkNormalization(opts.normalization, channels, name);
  const tensors = scope(() => ({
    images: fromArray(pixels, [files.length, channels, h, w]),
    labels: fromArray(Float64Array.from(files, (f) => f.label), [files.length], { dtype: 'int64' }),
  }));
  return new Dataset({ name, ...tensors, classes: [...classes], mean, std });
}

/** A class-folder data set's class names: its sub-folders (hidden ones aside), sorted as torchvision's ImageFolder sorts them. */
export function folderClassNames(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

/** PNG (decoded here) or JPEG (through the npm package jpeg-js). */
export function decodeImage(path: string): DecodedImage {
  const bytes = readFile(path);
  if (isPng(bytes)) return decodePng(bytes, path);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpeg(bytes, path);
  throw new LowbitError(`${path}: neither a PNG nor a JPEG file (by its first bytes); convert it or remove it from the folder`);
}

function decodeJpeg(bytes: Uint8Array, path: string): DecodedImage {
  let out;
  try {
    out = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
  } catch (err) {
    throw new LowbitError(`${path}: corrupt or unsupported JPEG (${(err as Error).message})`, { cause: err });
  }
  // Grey JPEGs decode to one value per pixel, colour ones to three.
  const channels = out.data.length / (out.width * out.height);
  if (channels !== 1 && channels !== 3) throw new LowbitError(`${path}: a JPEG with ${channels} components per pixel (CMYK?); convert it to RGB or grey`);
  return { width: out.width, height: out.height, channels, pixels: out.data };
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LowbitError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message}`, { cause: err });
  }
}

function checkSize([h, w]: number[], want: readonly [number, number] | undefined, path: string): void {
  if (want !== undefined && (h !== want[0] || w !== want[1])) {
    throw new LowbitError(`${path}: images are ${h}x${w} (H x W), the input size is ${want[0]}x${want[1]}; these files hold other images than the model takes`);
  }
}

/** Class names for numeric labels: '0' .. 'max'. */
function classNames(labels: ArrayLike<number>): string[] {
  let max = -1;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, labels[i]);
  return Array.from({ length: max + 1 }, (_, i) => String(i));
}

function toNchw(hwc: Uint8Array, n: number, h: number, w: number, c: number): Uint8Array {
  const out = new Uint8Array(hwc.length);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[((i * c + k) * h + y) * w + x] = hwc[((i * h + y) * w + x) * c + k];
  return out;
}

/** HWC image -> CHW with `channels` channels (grey <-> RGB by ITU-R 601 luma / replication). */
function toChw(img: DecodedImage, channels: 1 | 3): Uint8Array {
  const { width: w, height: h, channels: c, pixels } = img;
  const out = new Uint8Array(channels * h * w);
  for (let p = 0; p < h * w; p++) {
    if (channels === c) for (let k = 0; k < c; k++) out[k * h * w + p] = pixels[p * c + k];
    else if (channels === 1) out[p] = Math.round(0.299 * pixels[3 * p] + 0.587 * pixels[3 * p + 1] + 0.114 * pixels[3 * p + 2]);
    else for (let k = 0; k < 3; k++) out[k * h * w + p] = pixels[p];
  }
  return out;
}

/** Bilinear resize (half-pixel centres, as PIL / torchvision without antialiasing). */
export function resize(img: DecodedImage, h: number, w: number): DecodedImage {
  if (img.height === h && img.width === w) return img;
  const { width: sw, height: sh, channels: c, pixels } = img;
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (sh / h) - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (sw / w) - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const tx = fx - x0;
      for (let k = 0; k < c; k++) {
        const at = (yy: number, xx: number) => pixels[(yy * sw + xx) * c + k];
        const v = (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x1)) + ty * ((1 - tx) * at(y1, x0) + tx * at(y1, x1));
        out[(y * w + x) * c + k] = Math.round(v);
      }
    }
  }
  return { width: w, height: h, channels: c, pixels: out };
}

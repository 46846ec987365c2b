/**
 * IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, bottom of the
 * page): a big-endian uint32 magic number 0x0000TTDD (TT the element type, 0x08 for uint8; DD the number
 * of dimensions), DD big-endian uint32 sizes, then the elements in row-major order. Files may be gzipped
 * (as the Debian package and the original downloads ship them); gzip is recognised by its magic bytes
 * 1f 8b, not by the file name.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LowbitError } from '../errors.ts';

/** Magic number of an IDX image file: uint8 elements, 3 dims (count, rows, cols). */
export const IDX_IMAGES_MAGIC = 2051;
/** Magic number of an IDX label file: uint8 elements, 1 dim (count). */
export const IDX_LABELS_MAGIC = 2049;

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count * rows * cols pixels, row-major. */
  pixels: Uint8Array;
}

/** The bytes of a file, gunzipped when it starts with the gzip magic 1f 8b. */
export function readMaybeGzipped(path: string): Uint8Array {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new LowbitError(`cannot read ${path}: ${why}`, { cause: err });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (err) {
      throw new LowbitError(
        `${path}: gzip data is corrupt or truncated (${(err as Error).message}); replace the file with a complete copy`,
        { cause: err },
      );
    }
  }
  return raw;
}

function describeMagic(magic: number): string {
  if (magic === IDX_IMAGES_MAGIC) return ' (that of an IDX image file)';
  if (magic === IDX_LABELS_MAGIC) return ' (that of an IDX label file)';
  return '';
}

/** Parses an IDX byte array whose magic must be `expectedMagic`; returns its sizes and elements. */
export function parseIdx(bytes: Uint8Array, expectedMagic: number, path: string): { shape: number[]; data: Uint8Array } {
  const ndim = expectedMagic & 0xff;
  const what = expectedMagic === IDX_IMAGES_MAGIC ? 'an IDX image file' : expectedMagic === IDX_LABELS_MAGIC ? 'an IDX label file' : 'an IDX file';
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < 4) {
    throw new LowbitError(`${path}: truncated: ${bytes.length} bytes, too short for the 4-byte magic number of ${what}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new LowbitError(
      `${path}: bad magic number ${magic}${describeMagic(magic)}, expected ${expectedMagic} for ${what} ` +
        `(uint8, ${ndim} dims); is this the right file, and not corrupt?`,
    );
  }
  if (bytes.length < headerBytes) {
    throw new LowbitError(`${path}: truncated: ${bytes.length} bytes, the header of ${what} alone needs ${headerBytes}`);
  }
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const have = bytes.length - headerBytes;
  if (have < count) {
    throw new LowbitError(
      `${path}: truncated: the header announces [${shape.join(' x ')}] = ${count} bytes of data but only ${have} follow; ` +
        `replace the file with a complete copy`,
    );
  }
  if (have > count) {
    throw new LowbitError(`${path}: ${have - count} bytes after the [${shape.join(' x ')}] data the header announces; the file is not a valid IDX file`);
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/** Reads an IDX image file (magic 2051), raw or gzipped. */
export function readIdxImages(path: string): IdxImages {
  const { shape, data } = parseIdx(readMaybeGzipped(path), IDX_IMAGES_MAGIC, path);
  return { count: shape[0], rows: shape[1], cols: shape[2], pixels: data };
}

/** Reads an IDX label file (magic 2049), raw or gzipped: one uint8 class index per sample. */
export function readIdxLabels(path: string): Uint8Array {
  return parseIdx(readMaybeGzipped(path), IDX_LABELS_MAGIC, path).data;
}

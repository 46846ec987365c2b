// The IDX reader on files written by hand: raw and gzipped round trips, and each kind of corrupt file
// with the message a user sees.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LowbitError } from '../../src/errors.ts';
import { readIdxImages, readIdxLabels } from '../../src/data/index.ts';
import { idxBytes, makeTempDir, pseudoRandomBytes } from './fixtures.ts';

const tmp = makeTempDir();
after(tmp.cleanup);

const COUNT = 3;
const ROWS = 4;
const COLS = 5;
const pixels = pseudoRandomBytes(COUNT * ROWS * COLS, 11);
const labels = Uint8Array.from([9, 0, 4]);

function write(name: string, bytes: Uint8Array): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, bytes);
  return path;
}

test('raw IDX images and labels round trip: header sizes and every byte', () => {
  const images = readIdxImages(write('images-raw', idxBytes(2051, [COUNT, ROWS, COLS], pixels)));
  assert.equal(images.count, COUNT);
  assert.equal(images.rows, ROWS);
  assert.equal(images.cols, COLS);
  assert.deepEqual(Array.from(images.pixels), Array.from(pixels));
  assert.deepEqual(Array.from(readIdxLabels(write('labels-raw', idxBytes(2049, [COUNT], labels)))), [9, 0, 4]);
});

test('gzipped IDX files are recognised by their magic bytes, whatever the file name says', () => {
  // No .gz suffix on purpose: detection is by the 1f 8b magic, not the name.
  const images = readIdxImages(write('images-gz-without-suffix', gzipSync(idxBytes(2051, [COUNT, ROWS, COLS], pixels))));
  assert.deepEqual([images.count, images.rows, images.cols], [COUNT, ROWS, COLS]);
  assert.deepEqual(Array.from(images.pixels), Array.from(pixels));
  assert.deepEqual(Array.from(readIdxLabels(write('labels.gz', gzipSync(idxBytes(2049, [COUNT], labels))))), [9, 0, 4]);
});

test('an empty IDX file (0 images) reads as 0 images', () => {
  const images = readIdxImages(write('empty', idxBytes(2051, [0, 28, 28], new Uint8Array(0))));
  assert.deepEqual([images.count, images.rows, images.cols, images.pixels.length], [0, 28, 28, 0]);
});

function assertLowbitError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LowbitError, `expected a LowbitError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('bad magic: a label file where images are expected, and garbage', () => {
  const labelsPath = write('labels-as-images', idxBytes(2049, [COUNT], labels));
  assertLowbitError(
    () => readIdxImages(labelsPath),
    new RegExp(`${labelsPath}: bad magic number 2049 \\(that of an IDX label file\\), expected 2051 for an IDX image file \\(uint8, 3 dims\\)`),
  );
  const imagesPath = write('images-as-labels', idxBytes(2051, [COUNT, ROWS, COLS], pixels));
  assertLowbitError(() => readIdxLabels(imagesPath), /bad magic number 2051 \(that of an IDX image file\), expected 2049 for an IDX label file/);
  const garbage = write('garbage', Buffer.from('<html>not found</html>'));
  assertLowbitError(() => readIdxImages(garbage), new RegExp(`${garbage}: bad magic number ${Buffer.from('<htm').readUInt32BE(0)}, expected 2051`));
});

test('truncated files: too short for the magic, for the header, and for the data', () => {
  assertLowbitError(() => readIdxImages(write('two-bytes', Buffer.from([0, 0]))), /two-bytes: truncated: 2 bytes, too short for the 4-byte magic number/);
  const header = idxBytes(2051, [COUNT, ROWS, COLS], new Uint8Array(0));
  assertLowbitError(
    () => readIdxImages(write('half-header', header.subarray(0, 10))),
    /half-header: truncated: 10 bytes, the header of an IDX image file alone needs 16/,
  );
  const whole = idxBytes(2051, [COUNT, ROWS, COLS], pixels);
  assertLowbitError(
    () => readIdxImages(write('short-data', whole.subarray(0, whole.length - 1))),
    /short-data: truncated: the header announces \[3 x 4 x 5\] = 60 bytes of data but only 59 follow/,
  );
  const labelFile = idxBytes(2049, [10], Uint8Array.from([1, 2, 3]));
  assertLowbitError(() => readIdxLabels(write('short-labels', labelFile)), /announces \[10\] = 10 bytes of data but only 3 follow/);
});

test('a truncated gzip stream and trailing bytes after the data are refused', () => {
  const gz = gzipSync(idxBytes(2051, [COUNT, ROWS, COLS], pixels));
  const cut = write('cut.gz', gz.subarray(0, Math.floor(gz.length / 2)));
  assertLowbitError(() => readIdxImages(cut), new RegExp(`${cut}: gzip data is corrupt or truncated`));
  const extra = write('extra', Buffer.concat([idxBytes(2049, [COUNT], labels), Buffer.from([1, 2])]));
  assertLowbitError(() => readIdxLabels(extra), /extra: 2 bytes after the \[3\] data the header announces/);
});

test('a missing file names the path', () => {
  const missing = join(tmp.dir, 'no-such-file-idx3-ubyte.gz');
  assertLowbitError(() => readIdxImages(missing), new RegExp(`cannot read ${missing}: no such file`));
});

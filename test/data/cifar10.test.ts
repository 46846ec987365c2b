// The CIFAR-10 binary reader on files written record by record: pixel layout (CHW), labels, the order
// of several files, and corrupt files.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { readCifar10 } from '../../src/data/index.ts';
import { cifarBytes, makeTempDir } from './fixtures.ts';

const tmp = makeTempDir();
after(tmp.cleanup);

function write(name: string, bytes: Uint8Array): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, bytes);
  return path;
}

test('a 2-record file: labels, and pixel (c, y, x) of record r is byte 1 + c*1024 + y*32 + x of that record', () => {
  const { bytes, pixels } = cifarBytes([7, 2], 5);
  const { images, labels } = readCifar10([write('two.bin', bytes)]);
  assert.deepEqual(images.shape, [2, 3, 32, 32]);
  assert.equal(images.dtype, 'uint8');
  assert.ok(images.isContiguous());
  assert.equal(labels.dtype, 'int64');
  assert.deepEqual(labels.toArray(), [7, 2]);
  const got = images.toTypedArray() as Uint8Array;
  // Naive reference walking the documented layout.
  for (let r = 0; r < 2; r++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const expected = bytes[r * 3073 + 1 + c * 1024 + y * 32 + x];
          const actual = got[((r * 3 + c) * 32 + y) * 32 + x];
          if (actual !== expected) assert.fail(`record ${r} (c=${c}, y=${y}, x=${x}): got ${actual}, expected ${expected}`);
        }
      }
    }
    assert.deepEqual(Array.from(got.subarray(r * 3072, (r + 1) * 3072)), Array.from(pixels[r]));
  }
});

test('several files are stacked in the order given', () => {
  const a = cifarBytes([1, 3], 100);
  const b = cifarBytes([9], 200);
  const { images, labels } = readCifar10([write('a.bin', a.bytes), write('b.bin', b.bytes)]);
  assert.deepEqual(images.shape, [3, 3, 32, 32]);
  assert.deepEqual(labels.toArray(), [1, 3, 9]);
  const got = images.toTypedArray() as Uint8Array;
  assert.deepEqual(Array.from(got.subarray(2 * 3072)), Array.from(b.pixels[0]));
  assert.deepEqual(Array.from(got.subarray(3072, 2 * 3072)), Array.from(a.pixels[1]));
});

test('truncated files, bad labels and missing files are refused with the file named', () => {
  const { bytes } = cifarBytes([0, 1], 9);
  const cut = write('cut.bin', bytes.subarray(0, bytes.length - 100));
  assert.throws(
    () => readCifar10([cut]),
    (e: unknown) =>
      e instanceof LowbitError &&
      e.message.includes(`${cut}: 6046 bytes is not a whole number of 3073-byte CIFAR-10 records (1 records and 2973 bytes left over)`),
  );
  const badLabel = Buffer.from(bytes);
  badLabel[3073] = 12;
  const bad = write('bad-label.bin', badLabel);
  assert.throws(() => readCifar10([bad]), (e: unknown) => e instanceof LowbitError && e.message.includes(`${bad}: label byte 12 found, CIFAR-10 labels are 0..9`));
  assert.throws(() => readCifar10([write('empty.bin', new Uint8Array(0))]), /empty.bin: 0 bytes is not a whole number/);
  const missing = join(tmp.dir, 'data_batch_9.bin');
  assert.throws(() => readCifar10([missing]), (e: unknown) => e instanceof LowbitError && e.message.includes(`cannot read ${missing}: no such file`));
});

// checkWidths: the one validation of per-layer widths every builder shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { checkWidths } from '../../src/models/config.ts';

test('checkWidths returns good widths and refuses wrong counts or non-positive values', () => {
  assert.deepEqual(checkWidths('m', [1, 2, 3], 3), [1, 2, 3]);
  for (const bad of [[1, 2], [1, 2, 0], [1, 2.5, 3], [1, -2, 3], [1, Number.NaN, 3]]) {
    assert.throws(
      () => checkWidths('lenet5', bad, 3),
      (e: unknown) => e instanceof LowbitError && e.message.startsWith('lenet5:') && e.message.includes('3 positive integers'),
      `[${bad}]`,
    );
  }
});

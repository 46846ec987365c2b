// The CLI's flag defaults are the library's: parsing no flags gives TRAINING_DEFAULTS (train) and
// QAT_TRAINING_DEFAULTS / QAT_QUANT_DEFAULTS (qat). Bit-width flags are checked at the edge by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandArgs, bitsOption } from '../../src/cli/command.ts';
import { dataSpecFrom } from '../../src/cli/data-setup.ts';
import { qatCommand, qatQuantOptionsFrom } from '../../src/cli/commands/qat.ts';
import { trainCommand, trainingOptionsFrom } from '../../src/cli/commands/train.ts';
import { UsageError } from '../../src/errors.ts';
import { QAT_QUANT_DEFAULTS, QAT_TRAINING_DEFAULTS } from '../../src/qat/index.ts';
import { TRAINING_DEFAULTS } from '../../src/train/index.ts';

test('train and qat flags without values are the library defaults', () => {
  const train = parseCommandArgs(trainCommand, []).options;
  assert.deepEqual(trainingOptionsFrom(train, dataSpecFrom(train)), TRAINING_DEFAULTS);
  const qat = parseCommandArgs(qatCommand, []).options;
  assert.deepEqual(trainingOptionsFrom(qat, dataSpecFrom(qat)), QAT_TRAINING_DEFAULTS);
  assert.deepEqual(qatQuantOptionsFrom(qat), QAT_QUANT_DEFAULTS);
});

test('bitsOption accepts 2..8 (and 32 where float is allowed) and names the flag otherwise', () => {
  assert.equal(bitsOption({ wbits: '3' }, 'wbits'), 3);
  assert.equal(bitsOption({ abits: '32' }, 'abits', { allowFloat: true }), 32);
  for (const [raw, allowFloat] of [['1', false], ['9', false], ['32', false], ['16', true], ['x', true], ['', false], ['2.5', false]] as const) {
    assert.throws(
      () => bitsOption({ b: raw }, 'b', { allowFloat }),
      (e: Error) => e instanceof UsageError && e.message.startsWith(`--b ${raw}: choose 2 to 8 bits`) && /or 32/.test(e.message) === allowFloat,
      `${raw} allowFloat=${allowFloat}`,
    );
  }
  assert.throws(() => bitsOption({}, 'wbits'), /--wbits : choose 2 to 8 bits/);
});

// QAT's typed options become a QuantConfig; errors name the library's fields, not CLI flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { qatBits, qatQuantConfig, QAT_QUANT_DEFAULTS } from '../../src/qat/index.ts';
import { LowbitError } from '../../src/errors.ts';

test('defaults: SAWB/PACT W2A2, first and last layer at 8 bits, alpha 1', () => {
  assert.deepEqual(qatQuantConfig(), { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2, alphaInit: 1 }, firstLast: { bits: 8 } });
  assert.equal(QAT_QUANT_DEFAULTS.firstLastBits, 8);
});

test('options map onto the config: per-channel, float activations, no alpha for non-PACT', () => {
  assert.deepEqual(qatQuantConfig({ wbits: 3, abits: 4, weightQuantizer: 'lsq', actQuantizer: 'pact', alphaInit: 2 }), {
    weight: { kind: 'lsq', bits: 3 },
    act: { kind: 'pact', bits: 4, alphaInit: 2 },
    firstLast: { bits: 8 },
  });
  assert.equal(qatQuantConfig({ abits: 32 }).act, null);
  assert.deepEqual(qatQuantConfig({ actQuantizer: 'lsq', abits: 4 }).act, { kind: 'lsq', bits: 4 });
  assert.deepEqual(qatQuantConfig({ weightQuantizer: 'uniform', perChannel: true }).weight, { kind: 'uniform', bits: 2, perChannel: true });
  assert.deepEqual(qatBits(qatQuantConfig({ wbits: 4, abits: 32 })), { wbits: 4, abits: 32 });
});

test('bad options throw a LowbitError naming the field', () => {
  const named = (re: RegExp) => (e: Error) => e instanceof LowbitError && re.test(e.message);
  assert.throws(() => qatQuantConfig({ wbits: 1 }), named(/QatQuantOptions\.wbits: 1 bits is not supported: choose 2 to 8/));
  assert.throws(() => qatQuantConfig({ abits: 16 }), named(/QatQuantOptions\.abits: .*or 32/));
  assert.throws(() => qatQuantConfig({ wbits: 32 }), named(/QatQuantOptions\.wbits/));
  assert.throws(() => qatQuantConfig({ firstLastBits: 9 }), named(/QatQuantOptions\.firstLastBits/));
  assert.throws(() => qatQuantConfig({ weightQuantizer: 'sawb', perChannel: true }), named(/QatQuantOptions\.perChannel applies to weightQuantizer 'uniform' or 'lsq'/));
  assert.throws(() => qatQuantConfig({ weightQuantizer: 'fixed' }), named(/QatQuantOptions\.weightQuantizer 'fixed'/));
  for (const e of [() => qatQuantConfig({ wbits: 1 }), () => qatQuantConfig({ weightQuantizer: 'sawb', perChannel: true })]) {
    assert.throws(e, (err: Error) => !/--/.test(err.message));
  }
});

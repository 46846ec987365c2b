import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { layerQuantSpec, validateQuantConfig, type QuantConfig } from '../../src/quant/index.ts';

const base: QuantConfig = { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 } };

describe('quant config', () => {
  it('accepts plain data and survives a JSON round trip', () => {
    const cfg: QuantConfig = {
      weight: { kind: 'uniform', bits: 4, perChannel: true, range: 'mse', mseGrid: 50 },
      act: { kind: 'uniform', bits: 4, range: 'percentile', percentile: 0.999, momentum: 0.05 },
      firstLast: { bits: 8, weight: { kind: 'lsq' }, quantizeInput: false },
      overrides: { 'layers.0.conv1': { weight: { bits: 3 } }, fc: { float: true } },
    };
    assert.deepEqual(validateQuantConfig(JSON.parse(JSON.stringify(cfg))), cfg);
  });

  it('refuses bad kinds, widths and options that do not apply, naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...base, weight: { kind: 'pact', bits: 2 } }, /weight\.kind: 'pact'/],
      [{ ...base, act: { kind: 'sawb', bits: 2 } }, /act\.kind: 'sawb'/],
      [{ ...base, weight: { kind: 'lsq', bits: 1 } }, /weight\.bits/],
      [{ ...base, weight: { kind: 'sawb', bits: 6 } }, /SAWB coefficients exist for 2, 3, 4, 5, 8/],
      [{ ...base, weight: { kind: 'sawb', bits: 2, perChannel: true } }, /weight\.perChannel: does not apply to kind 'sawb'/],
      [{ ...base, act: { kind: 'lsq', bits: 2, alphaInit: 1 } }, /act\.alphaInit: does not apply to kind 'lsq'/],
      [{ ...base, act: { kind: 'pact', bits: 2, alphaInit: -1 } }, /alphaInit: must be a positive/],
      [{ ...base, weight: { kind: 'uniform', bits: 2, range: 'max' } }, /range: 'max'/],
      [{ ...base, act: undefined }, /'act' is required/],
      [{ ...base, bits: 2 }, /unknown key 'bits'/],
      [{ ...base, firstLast: { bits: 9 } }, /firstLast\.weight\.bits/],
      [{ ...base, firstLast: { bits: 8, weights: {} } }, /firstLast: unknown key 'weights'/],
      [{ ...base, overrides: { fc: { bits: 4 } } }, /overrides\['fc'\]: unknown key 'bits'/],
      [null, /expected an object/],
    ];
    for (const [cfg, message] of bad) assert.throws(() => validateQuantConfig(cfg), (e: unknown) => e instanceof LowbitError && message.test(e.message));
  });

  it('first and last layers get firstLast.bits; only the last quantizes its input by default', () => {
    const cfg = validateQuantConfig(base);
    assert.deepEqual(layerQuantSpec(cfg, 'stem.0', 'first'), { weight: { kind: 'sawb', bits: 8 }, act: null });
    assert.deepEqual(layerQuantSpec(cfg, 'layers.0.conv1', 'body'), { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 } });
    assert.deepEqual(layerQuantSpec(cfg, 'fc', 'last'), { weight: { kind: 'sawb', bits: 8 }, act: { kind: 'pact', bits: 8 } });
    const withInput = validateQuantConfig({ ...base, firstLast: { bits: 4, quantizeInput: true, act: { kind: 'uniform' } } });
    assert.deepEqual(layerQuantSpec(withInput, 'stem.0', 'first'), { weight: { kind: 'sawb', bits: 4 }, act: { kind: 'uniform', bits: 4 } });
    const floatEnds = validateQuantConfig({ ...base, firstLast: 'float' });
    assert.equal(layerQuantSpec(floatEnds, 'stem.0', 'first'), null);
    assert.equal(layerQuantSpec(floatEnds, 'fc', 'last'), null);
  });

  it('overrides merge into the layer spec; changing the kind drops the old kind options', () => {
    const cfg = validateQuantConfig({
      weight: { kind: 'uniform', bits: 4, perChannel: true, range: 'percentile', percentile: 0.99 },
      act: { kind: 'pact', bits: 4, alphaInit: 3 },
      overrides: {
        a: { weight: { bits: 2 } },
        b: { weight: { kind: 'sawb' }, act: { kind: 'lsq' } },
        c: { act: null },
        d: { float: true },
      },
    });
    assert.deepEqual(layerQuantSpec(cfg, 'a', 'body')?.weight, { kind: 'uniform', bits: 2, perChannel: true, range: 'percentile', percentile: 0.99 });
    assert.deepEqual(layerQuantSpec(cfg, 'b', 'body'), { weight: { kind: 'sawb', bits: 4 }, act: { kind: 'lsq', bits: 4 } });
    assert.equal(layerQuantSpec(cfg, 'c', 'body')?.act, null);
    assert.equal(layerQuantSpec(cfg, 'd', 'body'), null);
    const bad = validateQuantConfig({ ...base, overrides: { x: { weight: { bits: 6 } } } });
    assert.throws(() => layerQuantSpec(bad, 'x', 'body'), /overrides\['x'\]\.weight\.bits: SAWB/);
  });
});

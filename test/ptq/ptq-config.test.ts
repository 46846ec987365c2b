// PTQ defaults written once: a PtqConfig with only `bits` resolves to PTQ_DEFAULTS (the defaults of
// `lowbit ptq`), quantizeNetwork, alphabetFor, GramAccumulator and ptqQuantConfig all follow them, and
// bad fields are refused under their PtqConfig name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { alphabetFor, GramAccumulator, PTQ_DEFAULTS, ptqQuantConfig, quantizeNetwork, resolvePtqConfig, type PtqConfig } from '../../src/ptq/index.ts';
import { Generator, randn } from '../../src/tensor/index.ts';

test("PTQ_DEFAULTS are lowbit ptq's: GPFQ, fast solver, signed alphabet, per-channel steps, float32 Gram products, 8-bit ends", () => {
  assert.deepEqual(
    { ...PTQ_DEFAULTS },
    { method: 'gpfq', firstLastBits: 8, solver: 'fast', convention: 'signed', granularity: 'channel', radiusFactor: 1.16, batchSize: 256, gramDtype: 'float32', errorSampleRows: 32768 },
  );
  assert.ok(Object.isFrozen(PTQ_DEFAULTS));
  assert.deepEqual(resolvePtqConfig({ bits: 3 }), { bits: 3, ...PTQ_DEFAULTS });
  // An explicit undefined is an omitted field, as in a config built from optional flags.
  assert.equal(resolvePtqConfig({ bits: 3, granularity: undefined }).granularity, 'channel');
  assert.equal(resolvePtqConfig({ bits: 3, granularity: 'layer', firstLastBits: 32 }).granularity, 'layer');
});

test('bad PtqConfig fields are refused under their own names', () => {
  const bad: [PtqConfig, RegExp][] = [
    [{ bits: 9 }, /^PtqConfig\.bits: 9 bits is not supported/],
    [{ bits: 2, firstLastBits: 16 }, /^PtqConfig\.firstLastBits: .*or 32 for floating point/],
    [{ bits: 2, solver: 'slow' as PtqConfig['solver'] }, /^PtqConfig\.solver: 'slow' is not one of fast, blocked, reference/],
    [{ bits: 2, granularity: 'row' as PtqConfig['granularity'] }, /^PtqConfig\.granularity/],
    [{ bits: 2, radiusFactor: 0 }, /^PtqConfig\.radiusFactor/],
    [{ bits: 2, batchSize: 0 }, /^PtqConfig\.batchSize/],
  ];
  for (const [config, message] of bad) assert.throws(() => resolvePtqConfig(config), (e: unknown) => e instanceof LowbitError && message.test(e.message));
});

test('the library follows the defaults: alphabetFor, GramAccumulator, ptqQuantConfig', () => {
  const w = randn([6, 10], { generator: new Generator(1) });
  const byDefault = alphabetFor(w, { bits: 3 });
  assert.deepEqual(byDefault, alphabetFor(w, { bits: 3, convention: 'signed', granularity: 'channel' }));
  assert.deepEqual([byDefault.kMin, byDefault.kMax, byDefault.steps.length], [-4, 3, 6]);
  const acc = new GramAccumulator(4);
  assert.equal(acc.productDtype, 'float32');
  acc.dispose();
  assert.deepEqual(ptqQuantConfig({ bits: 2 }, null), {
    weight: { kind: 'fixed', bits: 2, grid: 'signed', perChannel: true },
    act: null,
    firstLast: { bits: 8 },
  });
});

test('quantizeNetwork with only bits gives the codes and steps of every default spelled out', () => {
  const mlp: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [24, 16] };
  const calibration = randn([40, 1, 28, 28], { generator: new Generator(4) });
  const run = (config: PtqConfig) => quantizeNetwork(createModel(mlp, { generator: new Generator(3) }), createModel(mlp, { generator: new Generator(3) }), calibration, config);
  const short = run({ bits: 2 });
  const spelled = run({ bits: 2, method: 'gpfq', firstLastBits: 8, solver: 'fast', convention: 'signed', granularity: 'channel', gramDtype: 'float32' });
  assert.deepEqual(
    short.map((r) => r.bits),
    [8, 2, 8],
  );
  short.forEach((r, i) => {
    assert.deepEqual(Array.from(r.codes.toTypedArray() as Int32Array), Array.from(spelled[i].codes.toTypedArray() as Int32Array), r.name);
    assert.deepEqual(Array.from(r.scales.toFloat32Array()), Array.from(spelled[i].scales.toFloat32Array()), r.name);
    assert.equal(r.scales.numel, r.shape[0], `${r.name}: one step per output channel`);
  });
});

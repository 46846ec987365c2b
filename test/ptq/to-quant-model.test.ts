// A PTQ result as a fake-quant model: fixed-grid weight quantizers reproduce the PTQ weights exactly
// (outputs unchanged), activation quantizers calibrated after the weights are true b-bit, the model
// survives a checkpoint round trip, and weights off the recorded grid are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { quantizeNetwork, toQuantModel, type PtqConfig } from '../../src/ptq/index.ts';
import { FixedGridQuantizer, QuantConv2d, QuantLinear } from '../../src/quant/index.ts';
import { Generator, noGrad, randn, type Tensor } from '../../src/tensor/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/train/index.ts';
import { makeTempDir } from '../data/fixtures.ts';

const CONFIG: ModelConfig = { name: 'lenet5', inChannels: 1, numClasses: 10, inputSize: [28, 28] };

function quantizedPair(config: PtqConfig) {
  const analog = createModel(CONFIG, { generator: new Generator(5) });
  const copy = createModel(CONFIG, { generator: new Generator(5) });
  const calibration = randn([64, 1, 28, 28], { generator: new Generator(6) });
  const reports = quantizeNetwork(analog, copy, calibration, config);
  return { analog, copy, calibration, reports };
}

const outputs = (m: { call(x: Tensor): Tensor; eval(): unknown }, x: Tensor): number[] => {
  m.eval();
  return Array.from(noGrad(() => m.call(x)).toFloat32Array());
};

test('fixed-grid layers reproduce the PTQ weights: the same outputs, codes from export() equal the PTQ codes', () => {
  for (const config of [
    { method: 'rtn', bits: 3 },
    { method: 'gpfq', bits: 2, granularity: 'channel' },
    { method: 'gpfq', bits: 2, convention: 'reference' },
  ] as PtqConfig[]) {
    const { copy, calibration, reports } = quantizedPair(config);
    const before = outputs(copy, calibration);
    const quant = toQuantModel(copy, reports, config, { actBits: null });
    assert.equal(quant.weight.kind, 'fixed');
    // The weights move by at most an ulp (code * step rounded to float32): outputs agree to float precision.
    const after = outputs(copy, calibration);
    after.forEach((v, i) => assert.ok(Math.abs(v - before[i]) <= 1e-5 * Math.max(1, Math.abs(before[i])), `${config.method} W${config.bits} output ${i}: ${v} vs ${before[i]}`));
    for (const r of reports) {
      const layer = copy.getSubmodule(r.name) as QuantConv2d | QuantLinear;
      assert.ok(layer.weightQuantizer instanceof FixedGridQuantizer);
      const e = layer.quantizedWeight();
      const expected = Array.from(r.codes.to('float32').toFloat32Array());
      assert.deepEqual(Array.from(e.codes.to('float32').reshape([r.shape[0], -1]).toFloat32Array()), expected, `${r.name} codes`);
      assert.ok(e.qMin >= -(2 ** (r.bits - 1)) && e.qMax <= 2 ** (r.bits - 1));
    }
  }
});

test('activations quantized after the weights: at most 2^b values reach each quantized layer, outputs stay close', () => {
  const config: PtqConfig = { method: 'gpfq', bits: 4 };
  const { copy, calibration, reports } = quantizedPair(config);
  const weightOnly = outputs(copy, calibration);
  toQuantModel(copy, reports, config, { actBits: 4, calibration, batchSize: 16 });
  const withActs = outputs(copy, calibration);
  const num = withActs.reduce((s, v, i) => s + (v - weightOnly[i]) ** 2, 0);
  const den = weightOnly.reduce((s, v) => s + v * v, 0);
  assert.ok(Math.sqrt(num / den) < 0.3, `relative change ${Math.sqrt(num / den)}`);
  assert.ok(Math.sqrt(num / den) > 0, '4-bit activations must change something');
  // Count the distinct values the second layer's quantizer emits.
  const second = copy.getSubmodule(reports[1].name) as QuantConv2d;
  assert.ok(second.inputQuantizer !== null);
  let distinct = 0;
  const handle = second.inputQuantizer.registerForwardHook((_m, _input, output) => {
    distinct = new Set(output.toFloat32Array()).size;
  });
  try {
    outputs(copy, calibration);
  } finally {
    handle.remove();
  }
  assert.ok(distinct > 2 && distinct <= 16, `distinct activation values ${distinct}`);
});

test('a converted PTQ model round-trips through a checkpoint; off-grid weights are refused', () => {
  const config: PtqConfig = { method: 'rtn', bits: 2 };
  const { copy, calibration, reports } = quantizedPair(config);
  const quant = toQuantModel(copy, reports, config, { actBits: 8, calibration });
  const expected = outputs(copy, calibration);
  const { dir, cleanup } = makeTempDir();
  try {
    const path = join(dir, 'ptq.safetensors');
    saveCheckpoint(path, copy, { ...CONFIG, quant });
    const loaded = loadCheckpoint(path);
    assert.deepEqual(outputs(loaded.model, calibration), expected);
  } finally {
    cleanup();
  }
  const other = quantizedPair(config);
  noGrad(() => (other.copy.getSubmodule(other.reports[1].name) as unknown as { weight: Tensor }).weight.add_(1e-3));
  assert.throws(() => toQuantModel(other.copy, other.reports, config, { actBits: null }), (e: Error) => e instanceof LowbitError && /not on the recorded grid/.test(e.message));
});

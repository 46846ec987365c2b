// PTQ's activation grid is unsigned: a layer fed values of both signs loses the negative half. The
// check reports such layers with the share clipped, and stays quiet for post-ReLU inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Linear, ReLU, Sequential } from '../../src/nn/index.ts';
import { negativeInputs } from '../../src/ptq/negative-inputs.ts';
import { calibrateActivations, QuantLinear, UniformQuantizer } from '../../src/quant/index.ts';
import { fromArray, manualSeed } from '../../src/tensor/index.ts';

const act = () => new UniformQuantizer({ bits: 4, signed: false, running: true });
const weights = () => new UniformQuantizer({ bits: 4, signed: true });

test('negativeInputs: a layer fed signed values is reported with its share and minimum; one after a ReLU is not', () => {
  manualSeed(1);
  // Layer 0 reads the raw input (both signs); layer 2 reads a ReLU's output.
  const model = new Sequential(QuantLinear.fromFloat(new Linear(4, 6), weights(), act()), new ReLU(), QuantLinear.fromFloat(new Linear(6, 3), weights(), act()));
  // Column 0 is always -1, the others +1: exactly a quarter of the input is negative.
  const x = fromArray(Float32Array.from({ length: 32 * 4 }, (_, i) => (i % 4 === 0 ? -1 : 1)), [32, 4]);
  calibrateActivations(model, [x]);
  const found = negativeInputs(model, x);
  assert.deepEqual(found.map((f) => f.layer), ['0']);
  assert.ok(Math.abs(found[0].negativeShare - 0.25) < 1e-6, `share ${found[0].negativeShare}`);
  assert.equal(found[0].min, -1);
  // The hooks are gone: a second call sees the same, not twice as much.
  assert.equal(negativeInputs(model, x).length, 1);
  const positive = fromArray(Float32Array.from({ length: 32 * 4 }, () => 0.5), [32, 4]);
  assert.deepEqual(negativeInputs(model, positive), []);
  // Negatives within half a grid step of 0 (max 1 at 4 bits: step 1/15) round to code 0 anyway.
  const tiny = fromArray(Float32Array.from({ length: 32 * 4 }, (_, i) => (i % 4 === 0 ? -0.02 : 1)), [32, 4]);
  assert.deepEqual(negativeInputs(model, tiny), []);
});

/**
 * readPtqWeightCodes: the codes.safetensors of a PTQ run back as per-layer LowBitWeights, with each
 * layer's bits from the recorded config (first and last in forward order at firstLastBits, the others
 * at bits; FLOAT_BITS leaves them float).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { dequantizeWeight, ptqLayerBits, PTQ_METADATA_KEY, readPtqWeightCodes } from '../../src/export/index.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { saveSafetensors, type Linear, type Module } from '../../src/nn/index.ts';
import { quantizeNetwork, type PtqConfig } from '../../src/ptq/index.ts';
import { manualSeed, noGrad, randn, scope, type Tensor } from '../../src/tensor/index.ts';
import { makeTempDir } from '../data/fixtures.ts';

const CFG: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [24, 12] };
const INPUT = [1, 28, 28];

function mlp(): Module {
  manualSeed(21);
  return createModel(CFG).eval();
}

/** A PTQ result as `lowbit ptq` leaves it: the copy's weights are the dequantized codes; codes in their own file. */
function ptqRun(dir: string, config: PtqConfig, file: string): { model: Module; codesPath: string } {
  const analog = mlp();
  const model = mlp();
  const reports = quantizeNetwork(analog, model, randn([32, ...INPUT]), config);
  const tensors = new Map<string, Tensor>();
  for (const r of reports) {
    tensors.set(`${r.name}.weight_codes`, r.codes);
    tensors.set(`${r.name}.weight_scale`, r.scales);
  }
  const codesPath = join(dir, file);
  saveSafetensors(codesPath, tensors, { [PTQ_METADATA_KEY]: JSON.stringify(config) });
  return { model, codesPath };
}

describe('readPtqWeightCodes', () => {
  const { dir, cleanup } = makeTempDir();
  after(cleanup);

  it('gives every layer its bits and the grid of the recorded convention; codes * scale is the weight', () => {
    const config: PtqConfig = { method: 'rtn', bits: 2, firstLastBits: 4, convention: 'reference', granularity: 'channel' };
    const { model, codesPath } = ptqRun(dir, config, 'codes.safetensors');
    const codes = readPtqWeightCodes(model, codesPath, INPUT);
    assert.deepEqual([...codes.keys()], ['1', '3', '5']);
    // 'reference' b bits: k in [-2^(b-1), 2^(b-1)], 2^b + 1 levels.
    assert.deepEqual([...codes.values()].map((lw) => [lw.bits, lw.qMin, lw.qMax]), [[4, -8, 8], [2, -2, 2], [4, -8, 8]]);
    for (const [name, lw] of codes) {
      const w = scope(() => noGrad(() => (model.getSubmodule(name) as Linear).weight.contiguous().toFloat32Array()));
      assert.deepEqual(dequantizeWeight(lw), w, `layer ${name}`);
    }
  });

  it('skips first and last layers kept float (firstLastBits = FLOAT_BITS)', () => {
    const { model, codesPath } = ptqRun(dir, { method: 'rtn', bits: 3, firstLastBits: 32, granularity: 'channel' }, 'float-ends.safetensors');
    const codes = readPtqWeightCodes(model, codesPath, INPUT);
    assert.deepEqual([...codes.keys()], ['3']);
    assert.deepEqual([codes.get('3')!.qMin, codes.get('3')!.qMax], [-4, 3], "'signed' 3 bits when no convention is recorded");
  });

  it('ptqLayerBits: first and last of the forward order at firstLastBits (default 8)', () => {
    assert.deepEqual([0, 1, 2, 3].map((i) => ptqLayerBits({ method: 'gpfq', bits: 3 }, i, 4)), [8, 3, 3, 8]);
    assert.deepEqual([0, 1].map((i) => ptqLayerBits({ method: 'gpfq', bits: 3, firstLastBits: 32 }, i, 2)), [32, 32]);
  });

  it('refuses a missing file, a file without the PTQ record, and codes of another model, naming the problem', () => {
    const model = mlp();
    assert.throws(() => readPtqWeightCodes(model, join(dir, 'nope.safetensors'), INPUT), /codesPath .*nope\.safetensors does not exist/);
    const plain = join(dir, 'plain.safetensors');
    saveSafetensors(plain, new Map());
    assert.throws(() => readPtqWeightCodes(model, plain, INPUT), /has no 'lowbit\.ptq' metadata/);
    const { codesPath } = ptqRun(dir, { method: 'rtn', bits: 2, granularity: 'channel' }, 'other.safetensors');
    assert.throws(() => readPtqWeightCodes(mlp(), codesPath, INPUT), /codes \* scale differs from the layer's weight/);
    writeFileSync(join(dir, 'junk.safetensors'), 'not safetensors');
    assert.throws(() => readPtqWeightCodes(model, join(dir, 'junk.safetensors'), INPUT));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Linear, Sequential } from '../../src/nn/index.ts';
import { PactQuantizer, QuantAct } from '../../src/quant/index.ts';
import { manualSeed, randn } from '../../src/tensor/index.ts';
import { f64, pactRef, maxAbsDiff } from './reference.ts';

describe('QuantAct', () => {
  it('applies its quantizer as a layer and registers it as the child "quantizer"', () => {
    const act = new QuantAct(new PactQuantizer({ bits: 2, alphaInit: 2 }));
    const x = [-1, 0.4, 0.9, 1.6, 2.4];
    assert.ok(maxAbsDiff(act.call(f64(x)).toArray(), pactRef(x, 2, 2)) < 1e-6);
    assert.deepEqual([...act.stateDict().keys()], ['quantizer.alpha']);
    const e = act.export(f64(x));
    assert.deepEqual(e.codes.toArray(), [0, 1, 1, 2, 3]);
  });

  it('can stand in for a ReLU inside a Sequential: outputs take at most 2^b values', () => {
    manualSeed(21);
    const net = new Sequential(new Linear(4, 8), new QuantAct(new PactQuantizer({ bits: 2 })), new Linear(8, 2));
    const hidden = net.at(1).call(net.at(0).call(randn([64, 4])));
    assert.ok(new Set(hidden.toArray()).size <= 4);
    assert.ok(hidden.toArray().every((v) => v >= 0 && v <= 1));
    assert.deepEqual(net.call(randn([3, 4])).shape, [3, 2]);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codesDtype, gradScale, straightThrough } from '../../src/quant/index.ts';
import { grad } from '../../src/tensor/index.ts';
import { f64 } from './reference.ts';

describe('quantizer helpers', () => {
  it('straightThrough has the value of its first argument and the gradient of its second', () => {
    const x = f64([0.3, -1.7, 2.2]).requiresGrad_(true);
    const value = f64([1, 2, 3]);
    const y = straightThrough(value, x.mul(5));
    assert.deepEqual(y.toArray(), [1, 2, 3]);
    const [g] = grad(y, x, { gradOutputs: [f64([1, 10, 100])] });
    assert.deepEqual(g!.toArray(), [5, 50, 500]);
  });

  it('gradScale keeps the value bit for bit and multiplies the gradient by g', () => {
    const s = f64([0.1234567]).requiresGrad_(true);
    const scaled = gradScale(s, 0.25);
    assert.equal(scaled.item(), 0.1234567);
    const [g] = grad(scaled.mul(3).sum(), s);
    assert.equal(g!.item(), 0.75);
  });

  it('codesDtype: uint8 for unsigned grids, int8 for signed ones, int16 beyond', () => {
    assert.equal(codesDtype(0, 3), 'uint8');
    assert.equal(codesDtype(0, 255), 'uint8');
    assert.equal(codesDtype(-1, 1), 'int8');
    assert.equal(codesDtype(-128, 127), 'int8');
    assert.equal(codesDtype(-255, 255), 'int16');
  });
});

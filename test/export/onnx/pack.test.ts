import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { narrowestIntType } from '../../../src/export/onnx/int-types.ts';
import { packIntegers, packedSize, unpackIntegers } from '../../../src/export/onnx/pack.ts';
import { rng } from '../../helpers/rng.ts';

describe('sub-byte packing (onnx.proto raw_data layout)', () => {
  it('int4: two per byte, first element in the low nibble, odd count zero-padded', () => {
    // -8 = 0b1000, 7 = 0b0111, -1 = 0b1111 -> [0x78, 0x0f]
    assert.deepEqual([...packIntegers([-8, 7, -1], 4, true)], [0x78, 0x0f]);
    assert.deepEqual([...packIntegers([15, 1], 4, false)], [0x1f]);
  });

  it('int2 / uint2: four per byte, element 0 in bits 0-1', () => {
    // x0 | x1 << 2 | x2 << 4 | x3 << 6 with -2 = 0b10, -1 = 0b11, 0, 1
    assert.deepEqual([...packIntegers([-2, -1, 0, 1], 2, true)], [0b01_00_11_10]);
    assert.deepEqual([...packIntegers([3, 1, 0, 2, 1], 2, false)], [0b10_00_01_11, 0b01]);
    assert.equal(packedSize(5, 2), 2);
  });

  it('round-trips random codes at every width and refuses values outside the type', () => {
    const r = rng(7);
    for (const width of [2, 4, 8, 16] as const) {
      for (const signed of [true, false]) {
        const lo = signed ? -(2 ** (width - 1)) : 0;
        const n = 2 ** width;
        const values = Array.from({ length: 37 }, () => lo + Math.floor(r() * n));
        assert.deepEqual([...unpackIntegers(packIntegers(values, width, signed), values.length, width, signed)], values);
      }
    }
    assert.throws(() => packIntegers([2], 2, true), /does not fit a int2/);
    assert.throws(() => packIntegers([-1], 4, false), /does not fit a uint4/);
  });
});

describe('narrowestIntType', () => {
  it('picks the real width of a grid and widens grids that do not fit', () => {
    assert.equal(narrowestIntType(-1, 1, 25).name, 'int2'); // uniform 2-bit narrow grid
    assert.equal(narrowestIntType(-2, 1, 25).name, 'int2'); // LSQ / GPFQ 'signed' 2-bit
    assert.equal(narrowestIntType(-2, 2, 25).name, 'int4'); // GPFQ 'reference' 2-bit: 5 levels
    assert.equal(narrowestIntType(0, 3, 25).name, 'uint2');
    assert.equal(narrowestIntType(-4, 3, 25).name, 'int4'); // 3-bit
    assert.equal(narrowestIntType(-8, 8, 25).name, 'int8'); // GPFQ 'reference' 4-bit: 17 levels
    assert.equal(narrowestIntType(-127, 127, 25).name, 'int8');
    assert.equal(narrowestIntType(-255, 255, 25).name, 'int16');
  });

  it('falls back to wider types below the opsets that introduced int2 (25) and int4 (21)', () => {
    assert.equal(narrowestIntType(-1, 1, 24).name, 'int4');
    assert.equal(narrowestIntType(-1, 1, 20).name, 'int8');
    assert.equal(narrowestIntType(0, 15, 13).name, 'uint8');
    assert.throws(() => narrowestIntType(-255, 255, 13), /no ONNX integer type at opset 13/);
  });
});

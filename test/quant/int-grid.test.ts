// The integer grids every quantizer and PTQ alphabet takes its codes from, against hand-written tables,
// and the one bit-width check.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { bitsProblem, checkBits, FLOAT_BITS, intGrid, isFloatBits, oddGrid, referenceGrid } from '../../src/quant/index.ts';

describe('integer grids', () => {
  it('intGrid: signed, narrow and unsigned ranges by hand', () => {
    const table: [number, boolean, boolean, number, number][] = [
      // bits, signed, narrow, qMin, qMax
      [2, true, false, -2, 1],
      [2, true, true, -1, 1],
      [2, false, false, 0, 3],
      [4, true, false, -8, 7],
      [4, true, true, -7, 7],
      [4, false, true, 0, 15],
      [8, true, false, -128, 127],
      [8, false, false, 0, 255],
    ];
    for (const [bits, signed, narrow, qMin, qMax] of table) {
      const g = intGrid({ bits, signed, narrow });
      assert.deepEqual([g.qMin, g.qMax, g.levels, g.codeStep], [qMin, qMax, qMax - qMin + 1, 1], `${bits} ${signed} ${narrow}`);
      assert.equal(g.narrow, signed && narrow);
    }
  });

  it('oddGrid: the zero-free 2^b levels of SAWB and DoReFa weights', () => {
    assert.deepEqual(oddGrid(2), { bits: 2, signed: true, narrow: false, qMin: -3, qMax: 3, codeStep: 2, levels: 4 });
    const g = oddGrid(3);
    const codes: number[] = [];
    for (let c = g.qMin; c <= g.qMax; c += g.codeStep) codes.push(c);
    assert.deepEqual(codes, [-7, -5, -3, -1, 1, 3, 5, 7]);
    assert.equal(codes.length, g.levels);
  });

  it("referenceGrid: GPFQ's 2^b + 1 levels", () => {
    assert.deepEqual([referenceGrid(2).qMin, referenceGrid(2).qMax, referenceGrid(2).levels], [-2, 2, 5]);
    assert.deepEqual([referenceGrid(4).qMin, referenceGrid(4).qMax, referenceGrid(4).levels], [-8, 8, 17]);
  });

  it('one bit-width check, naming the argument; 32 only where float is allowed', () => {
    for (const b of [2, 3, 8]) assert.equal(bitsProblem(b), null);
    for (const b of [1, 9, 2.5, Number.NaN, FLOAT_BITS]) assert.match(bitsProblem(b) ?? '', /choose 2 to 8/);
    assert.equal(bitsProblem(FLOAT_BITS, { allowFloat: true }), null);
    assert.ok(isFloatBits(32) && !isFloatBits(8));
    assert.throws(() => checkBits(9, 'PtqConfig.bits'), (e: unknown) => e instanceof LowbitError && /^PtqConfig\.bits: 9 bits is not supported/.test(e.message));
    assert.equal(checkBits(32, 'PtqConfig.firstLastBits', { allowFloat: true }), 32);
    assert.throws(() => intGrid({ bits: 0, signed: true }), LowbitError);
  });
});

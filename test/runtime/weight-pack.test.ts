import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { IntPlan, packSigned, packWeightCodes, packedBytes, unpackSigned, unpackWeightCodes, widthFor } from '../../src/runtime/index.ts';
import { runtimeAddon } from '../../src/runtime/native.ts';
import { rng } from '../helpers/rng.ts';

function randomInts(n: number, lo: number, hi: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo + 1)));
}

describe('weight packing', () => {
  it('round trips signed 2-, 4- and 8-bit values, LSB first, at the real width', () => {
    for (const width of [2, 4, 8] as const) {
      const lo = -(2 ** (width - 1));
      const hi = 2 ** (width - 1) - 1;
      // 37 values: the last byte is partly filled at 2 and 4 bits.
      const v = [lo, hi, 0, -1, ...randomInts(33, lo, hi, width)];
      const packed = packSigned(v, width);
      assert.equal(packed.length, packedBytes(37, width));
      assert.equal(packed.length, Math.ceil((37 * width) / 8));
      assert.deepEqual(Array.from(unpackSigned(packed, 37, width)), v);
    }
  });

  it('lays 2-bit values out as ONNX int2: element 0 in bits 0-1 up to element 3 in bits 6-7, two\'s complement', () => {
    // -2 -> 0b10, 1 -> 0b01, 0 -> 0b00, -1 -> 0b11: 0b11_00_01_10
    assert.deepEqual(Array.from(packSigned([-2, 1, 0, -1], 2)), [0b11000110]);
    assert.deepEqual(Array.from(packSigned([-8, 7, 3], 4)), [0x78, 0x03]);
  });

  it('stores odd SAWB codes c = 2m + 1 as m at the nominal width: 2-bit {-3,-1,1,3} in 2 bits, 8-bit +-255 in 8', () => {
    const c2 = [-3, -1, 1, 3, 3, -3, 1];
    const p2 = packWeightCodes(c2, { qMin: -3, qMax: 3, codeStep: 2 });
    assert.equal(p2.width, 2);
    assert.equal(p2.packed.length, 2);
    assert.deepEqual(Array.from(unpackWeightCodes(p2)), c2);
    const c8 = [-255, 255, 1, -1, 127, -129];
    const p8 = packWeightCodes(c8, { qMin: -255, qMax: 255, codeStep: 2 });
    assert.equal(p8.width, 8);
    assert.deepEqual(Array.from(unpackWeightCodes(p8)), c8);
    const c4 = randomInts(50, -7, 7, 4);
    const p4 = packWeightCodes(c4, { qMin: -7, qMax: 7, codeStep: 1 });
    assert.equal(p4.width, 4);
    assert.deepEqual(Array.from(unpackWeightCodes(p4)), c4);
  });

  it('refuses values outside the width and even codes on an odd grid', () => {
    assert.throws(() => packSigned([2], 2), LowbitError);
    assert.throws(() => packSigned([-9], 4), LowbitError);
    assert.throws(() => packWeightCodes([2], { qMin: -3, qMax: 3, codeStep: 2 }), /even on an odd/);
    assert.throws(() => widthFor(-300, 0), /more than 8 bits/);
    assert.throws(() => unpackSigned(new Uint8Array(2), 9, 2), /3/);
  });

  it('the native expansion puts code (o, c, kh, kw) at [kh][(kw cp + c) / 4][o][(kw cp + c) % 4]', () => {
    const [OC, C, KH, KW] = [5, 3, 3, 2];
    for (const [bits, codeStep, lo, hi] of [
      [2, 2, -3, 3],
      [4, 1, -7, 7],
      [8, 1, -127, 127],
    ] as const) {
      const codes = randomInts(OC * C * KH * KW, lo, hi, bits).map((c) => (codeStep === 2 ? c | 1 : c));
      const pw = packWeightCodes(codes, { qMin: lo, qMax: hi, codeStep });
      const e = runtimeAddon().expandWeights({ outChannels: OC, kernelH: KH, kernelW: KW, bits: pw.width, codeStep, oddOnes: false, packed: pw.packed }, C);
      assert.equal(e.cp, 4);
      assert.equal(e.ocp, 16);
      for (let o = 0; o < OC; o++)
        for (let c = 0; c < C; c++)
          for (let kh = 0; kh < KH; kh++)
            for (let kw = 0; kw < KW; kw++) {
              const k = kw * e.cp + c;
              const at = ((kh * ((KW * e.cp) / 4) + Math.floor(k / 4)) * e.ocp + o) * 4 + (k % 4);
              assert.equal(e.data[at], codes[((o * C + c) * KH + kh) * KW + kw]);
            }
      // Padding channels and padding outputs are zero.
      const nonzero = Array.from(e.data as Int8Array).filter((x) => x !== 0).length;
      assert.ok(nonzero <= OC * C * KH * KW);
    }
  });

  it('malformed packed weights give one clear error naming the layer', () => {
    const plan = new IntPlan('portable');
    const input = plan.addBuffer({ kind: 'codes', h: 4, w: 4, c: 3, border: 1 });
    const out = plan.addBuffer({ kind: 'float', h: 4, w: 4, c: 8 });
    const desc = {
      input,
      outChannels: 8,
      kernel: [3, 3] as [number, number],
      stride: 1,
      pad: 1,
      weight: { packed: new Uint8Array(10), width: 2 as const, count: 216, codeStep: 2 as const },
      oddOnes: false,
      inMax: 3,
      mul: new Float32Array(8),
      add: new Float32Array(8),
      relu: false,
      outFloat: out,
    };
    assert.throws(() => plan.addConv(desc, 'layers.3.conv1'), (e: Error) => e instanceof LowbitError && /layers\.3\.conv1/.test(e.message) && /10 packed bytes for 216 2-bit codes \(expected 54\)/.test(e.message));
    assert.throws(() => plan.addConv({ ...desc, weight: { ...desc.weight, packed: new Uint8Array(54), width: 3 as never } }, 'fc'), /must be 2, 4 or 8 bits/);
  });
});

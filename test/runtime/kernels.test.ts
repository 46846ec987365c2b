import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntPlan, packWeightCodes, runtimeInfo, type RuntimeIsa } from '../../src/runtime/index.ts';
import { rng } from '../helpers/rng.ts';

interface Case {
  name: string;
  n: number;
  h: number;
  w: number;
  c: number;
  oc: number;
  k: number;
  stride: number;
  pad: number;
  /** Border of the input buffer (>= pad: a 1x1 shortcut reads a buffer padded for a 3x3). */
  border: number;
  inMax: number;
  grid: { qMin: number; qMax: number; codeStep: 1 | 2 };
}

const CASES: Case[] = [
  { name: '2-bit, 5 -> 10 channels, 3x3 pad 1', n: 3, h: 7, w: 7, c: 5, oc: 10, k: 3, stride: 1, pad: 1, border: 1, inMax: 3, grid: { qMin: -3, qMax: 3, codeStep: 2 } },
  { name: '4-bit, 13 -> 37 channels, 3x3 stride 2, 9x8', n: 2, h: 9, w: 8, c: 13, oc: 37, k: 3, stride: 2, pad: 1, border: 1, inMax: 15, grid: { qMin: -7, qMax: 7, codeStep: 1 } },
  { name: '1x1 stride-2 shortcut read from a 3x3-padded buffer', n: 2, h: 8, w: 6, c: 6, oc: 20, k: 1, stride: 2, pad: 0, border: 1, inMax: 3, grid: { qMin: -3, qMax: 3, codeStep: 2 } },
  { name: '8-bit odd grid (+-255, ones channel), 3 -> 16, pixels 0..255', n: 2, h: 5, w: 5, c: 3, oc: 16, k: 3, stride: 1, pad: 1, border: 1, inMax: 255, grid: { qMin: -255, qMax: 255, codeStep: 2 } },
  { name: '4-bit, 16 -> 70 channels (two output blocks), 5x5 kernel pad 2', n: 1, h: 6, w: 7, c: 16, oc: 70, k: 5, stride: 1, pad: 2, border: 2, inMax: 15, grid: { qMin: -8, qMax: 7, codeStep: 1 } },
];

function randomCodes(count: number, lo: number, hi: number, step: 1 | 2, r: () => number): number[] {
  const levels = (hi - lo) / step + 1;
  return Array.from({ length: count }, () => lo + step * Math.floor(r() * levels));
}

/** Naive direct convolution on integers: NHWC input, OIHW weights, zero padding; out [n][oh][ow][oc]. */
function naiveConv(x: number[], wts: number[], t: Case): { out: number[]; oh: number; ow: number } {
  const oh = Math.floor((t.h + 2 * t.pad - t.k) / t.stride) + 1;
  const ow = Math.floor((t.w + 2 * t.pad - t.k) / t.stride) + 1;
  const out: number[] = [];
  for (let n = 0; n < t.n; n++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let o = 0; o < t.oc; o++) {
          let acc = 0;
          for (let i = 0; i < t.k; i++)
            for (let j = 0; j < t.k; j++) {
              const iy = y * t.stride - t.pad + i;
              const ix = xo * t.stride - t.pad + j;
              if (iy < 0 || iy >= t.h || ix < 0 || ix >= t.w) continue;
              for (let c = 0; c < t.c; c++) acc += x[((n * t.h + iy) * t.w + ix) * t.c + c] * wts[((o * t.c + c) * t.k + i) * t.k + j];
            }
          out.push(acc);
        }
  return { out, oh, ow };
}

const f = Math.fround;
/** Round half to even, as the kernels (and at::round) do. */
function roundHalfEven(t: number): number {
  const r = Math.round(t);
  return Math.abs(t - Math.trunc(t)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function buildConv(t: Case, isa: RuntimeIsa, x: number[], wts: number[], epi: { mul: Float32Array; add: Float32Array; posBias?: boolean; residual?: Float32Array; relu: boolean; codes?: { scale: number; alpha: number; levels: number }[] }) {
  const plan = new IntPlan(isa);
  const input = plan.addBuffer({ kind: 'codes', h: t.h, w: t.w, c: t.c, border: t.border });
  plan.inputBuffer = input;
  const oh = Math.floor((t.h + 2 * t.pad - t.k) / t.stride) + 1;
  const ow = Math.floor((t.w + 2 * t.pad - t.k) / t.stride) + 1;
  const out = plan.addBuffer({ kind: 'float', h: oh, w: ow, c: t.oc });
  plan.outputBuffer = out;
  const residual = epi.residual ? plan.addBuffer({ kind: 'float', h: oh, w: ow, c: t.oc }) : undefined;
  const codes = (epi.codes ?? []).map((q) => ({ buffer: plan.addBuffer({ kind: 'codes', h: oh, w: ow, c: t.oc, border: 1 }), ...q }));
  const inputNorm = epi.posBias ? { factor: Float32Array.from({ length: t.oc }, (_, o) => f(0.01 * (o - 3))), meanOverStd: Array.from({ length: t.c }, (_, c) => 0.5 + c / 7) } : undefined;
  // The reference table: factor[o] * sum_c meanOverStd[c] * (codes of (o, c) summed over the in-image taps).
  let posBias: Float32Array | undefined;
  if (inputNorm) {
    posBias = new Float32Array(oh * ow * t.oc);
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let o = 0; o < t.oc; o++) {
          let sum = 0;
          for (let c = 0; c < t.c; c++)
            for (let i = 0; i < t.k; i++)
              for (let j = 0; j < t.k; j++) {
                const iy = y * t.stride - t.pad + i;
                const ix = xo * t.stride - t.pad + j;
                if (iy >= 0 && iy < t.h && ix >= 0 && ix < t.w) sum += inputNorm.meanOverStd[c] * wts[((o * t.c + c) * t.k + i) * t.k + j];
              }
          posBias[(y * ow + xo) * t.oc + o] = inputNorm.factor[o] * sum;
        }
  }
  plan.addConv(
    {
      input,
      outChannels: t.oc,
      kernel: [t.k, t.k],
      stride: t.stride,
      pad: t.pad,
      weight: packWeightCodes(wts, t.grid),
      oddOnes: t.grid.codeStep === 2 && t.grid.qMax > 127,
      inMax: t.inMax,
      mul: epi.mul,
      add: epi.add,
      inputNorm,
      residual,
      relu: epi.relu,
      outFloat: out,
      codes,
    },
    t.name,
  );
  return { plan, codes, posBias, oh, ow };
}

describe('integer conv kernels', () => {
  const isas = runtimeInfo().available;

  it('runs on this machine with the portable path and at least one vector path', () => {
    assert.ok(isas.includes('portable'));
    assert.ok(isas.length >= 1);
  });

  for (const t of CASES) {
    it(`equal a naive integer convolution on every instruction set: ${t.name}`, () => {
      const r = rng(t.c * 100 + t.oc);
      const x = randomCodes(t.n * t.h * t.w * t.c, 0, t.inMax, 1, r);
      const wts = randomCodes(t.oc * t.c * t.k * t.k, t.grid.qMin, t.grid.qMax, t.grid.codeStep, r);
      const ref = naiveConv(x, wts, t);
      // mul 1, add 0, no ReLU: the float output is the int32 accumulator (exact below 2^24).
      const ones = new Float32Array(t.oc).fill(1);
      for (const isa of isas) {
        const { plan } = buildConv(t, isa, x, wts, { mul: ones, add: new Float32Array(t.oc), relu: false });
        const got = plan.run(Uint8Array.from(x), t.n);
        assert.equal(got.length, ref.out.length);
        let bad = 0;
        for (let i = 0; i < got.length; i++) if (got[i] !== ref.out[i]) bad++;
        assert.equal(bad, 0, `${isa}: ${bad} of ${got.length} outputs differ`);
      }
    });
  }

  // 37 channels: the code buffers have padding channels (written pixel by pixel); 16 channels on a
  // 5-wide output: none (written as runs of pixels, cut at the end of each output row).
  for (const t of [CASES[1], CASES[3]]) {
  it(`fuses the epilogue: scale, shift, position bias, ReLU and two PACT code outputs, the same bits on every ISA (${t.oc} channels; the residual add: resnet.test.ts)`, () => {
    const r = rng(99);
    const x = randomCodes(t.n * t.h * t.w * t.c, 0, t.inMax, 1, r);
    const wts = randomCodes(t.oc * t.c * t.k * t.k, t.grid.qMin, t.grid.qMax, t.grid.codeStep, r);
    const acc = naiveConv(x, wts, t);
    const mul = Float32Array.from({ length: t.oc }, () => 0.001 + 0.01 * r());
    const add = Float32Array.from({ length: t.oc }, () => r() - 0.5);
    const qs = [
      { scale: f(f(1.7) / 3), alpha: f(1.7), levels: 3 },
      { scale: f(f(0.9) / 255), alpha: f(0.9), levels: 255 },
    ];
    let first: Float32Array | null = null;
    for (const isa of isas) {
      const built = buildConv(t, isa, x, wts, { mul, add, posBias: true, relu: true, codes: qs });
      const { plan, codes, posBias } = built;
      const got = plan.run(Uint8Array.from(x), t.n);
      // Reference in float32, operation by operation, in the kernel's order.
      const plane = built.oh * built.ow;
      for (let i = 0; i < got.length; i++) {
        const o = i % t.oc;
        const pix = Math.floor(i / t.oc) % plane;
        let v = f(f(acc.out[i] * mul[o]) + add[o]);
        v = f(v + posBias![pix * t.oc + o]);
        v = v > 0 ? v : 0;
        assert.equal(got[i], v, `${isa} output ${i}`);
      }
      codes.forEach((cb, q) => {
        const got8 = plan.read(cb.buffer) as Uint8Array;
        for (let i = 0; i < got.length; i++) {
          const y = Math.min(Math.max(got[i], 0), qs[q].alpha);
          const tq = Math.min(Math.max(f(y / qs[q].scale), 0), qs[q].levels);
          assert.equal(got8[i], roundHalfEven(tq), `${isa} codes ${q} at ${i}`);
        }
      });
      if (first === null) first = got;
      else assert.deepEqual(got, first);
    }
  });
  }
});

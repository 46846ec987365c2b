/** The first layer's folded input normalization (pure: shared by the native and WebAssembly plans). */
import { LowbitError } from '../errors.ts';
import type { BufferDesc, ConvDesc } from './int-plan.ts';
import { unpackWeightCodes } from './weight-pack.ts';

/** The table posBias[pixel][o] of a ConvDesc's inputNorm recipe (see ConvDesc.inputNorm). */
export function inputNormBias(desc: ConvDesc, input: BufferDesc, where: string): Float32Array {
  const { factor, meanOverStd } = desc.inputNorm!;
  const codes = unpackWeightCodes(desc.weight);
  const [kh, kw] = desc.kernel;
  const C = input.c;
  const OC = desc.outChannels;
  if (meanOverStd.length !== C || factor.length !== OC || codes.length !== OC * C * kh * kw) {
    throw new LowbitError(`runtime plan, ${where}: the input normalization does not match the layer (${C} input, ${OC} output channels)`);
  }
  const oh = Math.floor((input.h + 2 * desc.pad - kh) / desc.stride) + 1;
  const ow = Math.floor((input.w + 2 * desc.pad - kw) / desc.stride) + 1;
  const out = new Float32Array(oh * ow * OC);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let o = 0; o < OC; o++) {
        let sum = 0;
        for (let c = 0; c < C; c++) {
          let taps = 0;
          for (let i = 0; i < kh; i++) {
            const iy = y * desc.stride - desc.pad + i;
            if (iy < 0 || iy >= input.h) continue;
            for (let j = 0; j < kw; j++) {
              const ix = x * desc.stride - desc.pad + j;
              if (ix >= 0 && ix < input.w) taps += codes[((o * C + c) * kh + i) * kw + j];
            }
          }
          sum += meanOverStd[c] * taps;
        }
        out[(y * ow + x) * OC + o] = factor[o] * sum;
      }
    }
  }
  return out;
}

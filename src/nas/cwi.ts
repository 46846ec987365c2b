/**
 * TAS's channel-wise interpolation (Dong & Yang 2019 eq. 3; SoftSelect.ChannelWiseInter, mode v2):
 * adaptive average pooling along the channel axis, C -> C_out with C_out >= C, so the narrower of the
 * two sampled outputs can be added to the wider one. Output channel i is the mean of input channels
 * floor(i C / C_out) .. ceil((i + 1) C / C_out) - 1 (PyTorch's adaptive pooling bins).
 *
 * Written as a fixed 1 x 1 convolution with that averaging matrix: one kernel call, any memory format.
 */
import { LowbitError } from '../errors.ts';
import { F, fromArray, keep, type Tensor } from '../tensor/index.ts';

/** The [C_out, C] averaging matrix of CWI as plain numbers. */
export function cwiMatrix(c: number, cOut: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < cOut; i++) {
    const start = Math.floor((i * c) / cOut);
    const end = Math.ceil(((i + 1) * c) / cOut);
    const row = new Array<number>(c).fill(0);
    for (let j = start; j < end; j++) row[j] = 1 / (end - start);
    rows.push(row);
  }
  return rows;
}

const kernels = new Map<string, Tensor>();

function cwiKernel(c: number, cOut: number, dtype: Tensor['dtype']): Tensor {
  const key = `${c}:${cOut}:${dtype}`;
  let k = kernels.get(key);
  if (k === undefined) {
    // Cached for the process: a handful of small matrices (one per width pair that meets).
    k = keep(fromArray(Float32Array.from(cwiMatrix(c, cOut).flat()), [cOut, c, 1, 1]).to(dtype));
    kernels.set(key, k);
  }
  return k;
}

/** CWI of x (N, C, H, W) to cOut >= C channels; the identity when cOut == C. */
export function channelWiseInterpolation(x: Tensor, cOut: number): Tensor {
  const c = x.shape[1];
  if (cOut < c) throw new LowbitError(`channel-wise interpolation widens only: ${c} -> ${cOut} channels`);
  if (cOut === c) return x;
  return F.conv2d(x, cwiKernel(c, cOut, x.dtype));
}

/** Runs ONNX bytes in onnxruntime-node (CPU, one thread) and compares with lowbit outputs. */
import * as ort from 'onnxruntime-node';
import type { Module } from '../../src/nn/index.ts';
import { noGrad, scope, type Tensor } from '../../src/tensor/index.ts';

export async function runOrt(bytes: Uint8Array, input: Float32Array, dims: number[], opts: { optimization?: 'disabled' | 'all' } = {}): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: opts.optimization ?? 'all',
  });
  try {
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input, dims) };
    const out = await session.run(feeds);
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

export function lowbitForward(model: Module, x: Tensor): Float32Array {
  const modes = model.modules().map((m) => [m, m.training] as const);
  model.eval();
  try {
    return scope(() => noGrad(() => model.call(x).contiguous().toFloat32Array()));
  } finally {
    for (const [m, t] of modes) m.training = t;
  }
}

/** max |a - b| and max |b|, to state tolerances relative to the output's scale. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { diff, scale };
}

export function argmaxRows(a: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / cols; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (a[r * cols + c] > a[r * cols + best]) best = c;
    out.push(best);
  }
  return out;
}

/** The PyTorch exports of ../shared/fixtures/pytorch-onnx (see its README), and how to run them in onnxruntime. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runOrt } from '../export/ort-helper.ts';

/** LOWBIT_ONNX_FIXTURES, else a `shared/fixtures/pytorch-onnx` folder beside the checkout or its parent. */
export function fixtureDir(): string | null {
  const candidates = [
    process.env.LOWBIT_ONNX_FIXTURES,
    resolve(import.meta.dirname, '../../../shared/fixtures/pytorch-onnx'),
    resolve(import.meta.dirname, '../../../../shared/fixtures/pytorch-onnx'),
  ];
  for (const d of candidates) if (d !== undefined && existsSync(join(d, 'README.md'))) return d;
  return null;
}

export interface OnnxFixture {
  file: string;
  /** The file fixes the batch at 1 (onnxruntime refuses other batch sizes). */
  fixedBatch: boolean;
  /** Trained on MNIST (accuracy is meaningful), or random init (fidelity only). */
  trained: boolean;
}

export const FIXTURES: OnnxFixture[] = [
  { file: 'rescnn-static-op13.onnx', fixedBatch: true, trained: true },
  { file: 'rescnn-view-op17.onnx', fixedBatch: false, trained: true },
  { file: 'rescnn-trainmode-op13.onnx', fixedBatch: false, trained: true },
  { file: 'mobilenet_v2-op17.onnx', fixedBatch: false, trained: false },
];

export function fixtureBytes(dir: string, f: OnnxFixture): Uint8Array {
  return readFileSync(join(dir, f.file));
}

/** onnxruntime's outputs for a batch; a fixed-batch file is run sample by sample. */
export async function ortOutputs(bytes: Uint8Array, x: Float32Array, dims: number[], fixedBatch: boolean): Promise<Float32Array> {
  if (!fixedBatch) return runOrt(bytes, x, dims);
  const per = x.length / dims[0];
  const out: number[] = [];
  for (let b = 0; b < dims[0]; b++) out.push(...(await runOrt(bytes, x.slice(b * per, (b + 1) * per), [1, ...dims.slice(1)])));
  return Float32Array.from(out);
}

/**
 * Fashion-MNIST test accuracy of exported low-bit models: onnxruntime (default optimization level,
 * what users get) agrees with lowbit's fake-quant model within 0.05 pp on all 10,000 test images.
 * Uses the committed float LeNet-5 (results/float/lenet5.safetensors, 90.93%) and the system data set;
 * skipped when either is missing.
 *
 * Where outputs differ at all it is onnxruntime's own graph rewriting, not the file: its
 * WeightBiasQuantization pass rounds QDQ layers' float biases to int32 at s_x * s_w and its
 * DQ -> MatMul fusion quantizes the input of 8-bit layers (accuracy_level 4). Rounding agrees: lowbit
 * and QuantizeLinear both round half to even.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DataLoader, loadDataset, type Batch } from '../../src/data/index.ts';
import { exportOnnx, fromPtqCodes, type LowBitWeight } from '../../src/export/index.ts';
import type { Conv2d, Linear, Module } from '../../src/nn/index.ts';
import { codeRange, quantizeNetwork } from '../../src/ptq/index.ts';
import { calibrateActivations, quantizeModel } from '../../src/quant/index.ts';
import { manualSeed } from '../../src/tensor/index.ts';
import { loadCheckpoint } from '../../src/train/index.ts';
import { argmaxRows, lowbitForward, runOrt } from './ort-helper.ts';

const CHECKPOINT = join(import.meta.dirname, '..', '..', 'results', 'float', 'lenet5.safetensors');
const available = existsSync(CHECKPOINT) && existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');

function firstBatch(loader: DataLoader): Batch {
  for (const b of loader) return b;
  throw new Error('empty loader');
}

async function accuracies(model: Module, codes: Map<string, LowBitWeight> | undefined, test: Batch, t: { diagnostic(s: string): void }, label: string) {
  const r = exportOnnx(model, { inputShape: [1, 28, 28], weightCodes: codes });
  const labels = test.labels.toArray();
  const acc = (logits: Float32Array) => argmaxRows(logits, 10).filter((p, i) => p === labels[i]).length / labels.length;
  const ours = acc(lowbitForward(model, test.images));
  const ort = acc(await runOrt(r.bytes, test.images.contiguous().toFloat32Array(), test.images.shape));
  t.diagnostic(`${label}: lowbit ${(100 * ours).toFixed(2)}%, onnxruntime ${(100 * ort).toFixed(2)}% (${r.bytes.length} bytes)`);
  assert.ok(Math.abs(ours - ort) <= 0.0005 + 1e-12, `${label}: lowbit ${ours} vs onnxruntime ${ort}`);
}

describe('Fashion-MNIST accuracy, lowbit vs onnxruntime', { skip: !available && 'needs results/float/lenet5.safetensors and /usr/share/datasets/fashion-mnist' }, () => {
  it('LeNet-5 W4A4 (uniform per-channel weights, calibrated activations) and GPFQ W2 agree within 0.05 pp', async (t) => {
    manualSeed(0);
    const test = firstBatch(new DataLoader(loadDataset('fashion-mnist', 'test'), { batchSize: 10000, shuffle: false }));
    const calib = firstBatch(new DataLoader(loadDataset('fashion-mnist', 'train'), { batchSize: 256, shuffle: true, seed: 1 }));

    const qat = loadCheckpoint(CHECKPOINT).model;
    quantizeModel(qat, { weight: { kind: 'uniform', bits: 4, perChannel: true }, act: { kind: 'uniform', bits: 4 } });
    calibrateActivations(qat, [calib.images]);
    await accuracies(qat.eval(), undefined, test, t, 'LeNet-5 W4A4');

    const analog = loadCheckpoint(CHECKPOINT).model;
    const copy = loadCheckpoint(CHECKPOINT).model;
    const reports = quantizeNetwork(analog, copy, calib.images, { method: 'gpfq', bits: 2, granularity: 'layer' });
    const codes = new Map(
      reports.map((r) => [r.name, fromPtqCodes(r.codes, r.scales, { ...codeRange(r.bits, 'signed'), bits: r.bits }, (copy.getSubmodule(r.name) as Conv2d | Linear).weight.shape, r.name)]),
    );
    await accuracies(copy, codes, test, t, 'LeNet-5 GPFQ W2 (first/last 8-bit)');
  });
});

// The data set a model was trained on travels with it: in an ONNX file's metadata_props (export,
// PTQ export) and in a checkpoint's safetensors metadata, read back with the same function.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDatasetMatches, datasetMetadata, readDatasetMetadata } from '../../../src/data/index.ts';
import { exportOnnx, readOnnxMetadata } from '../../../src/export/index.ts';
import { LowbitError } from '../../../src/errors.ts';
import { createModel, type ModelConfig } from '../../../src/models/index.ts';
import { manualSeed } from '../../../src/tensor/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../../../src/train/index.ts';

test('ONNX metadata_props and checkpoint metadata hold the data set and normalization', () => {
  manualSeed(1);
  const config: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [8] };
  const model = createModel(config);
  const meta = datasetMetadata({ dataset: 'mnist', mean: [0.1307], std: [0.3081] });
  const onnx = exportOnnx(model, { inputShape: [1, 28, 28], metadata: meta });
  const fromOnnx = readDatasetMetadata(readOnnxMetadata(onnx.bytes, 'm.onnx'), 'm.onnx');
  assert.deepEqual(fromOnnx, { dataset: 'mnist', mean: [0.1307], std: [0.3081] });
  assert.throws(() => checkDatasetMatches(fromOnnx, { dataset: 'fashion-mnist', mean: [0.286], std: [0.353] }, 'm.onnx'), LowbitError);
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-meta-'));
  try {
    const path = join(dir, 'model.safetensors');
    saveCheckpoint(path, model, config, { metadata: meta });
    assert.ok(readFileSync(path).length > 0);
    const loaded = loadCheckpoint(path);
    assert.deepEqual(readDatasetMetadata(loaded.metadata, path), fromOnnx);
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

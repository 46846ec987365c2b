/**
 * Real torch.onnx.export files (PyTorch 1.13: fixed batch, view-flatten shape arithmetic, BatchNorm
 * kept, depthwise MobileNetV2) import and compute what onnxruntime computes on the same input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importOnnx } from '../../src/export/index.ts';
import { BatchNorm2d } from '../../src/nn/index.ts';
import { quantizableLayers } from '../../src/ptq/index.ts';
import { fromArray, randn } from '../../src/tensor/index.ts';
import { randomFloats } from '../export/import/fixtures.ts';
import { lowbitForward, maxAbsDiff } from '../export/ort-helper.ts';
import { fixtureBytes, fixtureDir, FIXTURES, ortOutputs } from './helpers.ts';

const dir = fixtureDir();

describe('PyTorch ONNX exports', { skip: dir === null ? 'fixture folder not found (set LOWBIT_ONNX_FIXTURES)' : false }, () => {
  for (const f of FIXTURES) {
    it(`${f.file}: imports and agrees with onnxruntime at batch 5`, async () => {
      const bytes = fixtureBytes(dir!, f);
      const m = importOnnx(bytes, f.file);
      assert.equal(m.input.name, 'input');
      assert.equal(m.outputName, 'logits');
      const dims = [5, 1, 28, 28];
      const x = randomFloats(5 * 784, 7, 2);
      const { diff, scale } = maxAbsDiff(lowbitForward(m, fromArray(x, dims)), await ortOutputs(bytes, x, dims, f.fixedBatch));
      assert.ok(scale > 0 && diff <= 1e-5 * scale, `max |diff| ${diff} of output scale ${scale}`);
    });
  }

  it('layers are named after the PyTorch modules (weight names, or scope names when BN folding renamed the weights)', () => {
    const names = (file: string) => quantizableLayers(importOnnx(fixtureBytes(dir!, FIXTURES.find((f) => f.file === file)!), file), randn([1, 1, 28, 28])).map((l) => l.name);
    const rescnn = ['stem.0', 'l1.c1', 'l1.c2', 'l2.c1', 'l2.c2', 'l2.sc.0', 'l3.c1', 'l3.c2', 'l3.sc.0', 'fc'];
    assert.deepEqual(names('rescnn-static-op13.onnx'), rescnn);
    assert.deepEqual(names('rescnn-view-op17.onnx'), rescnn);
    assert.deepEqual(names('rescnn-trainmode-op13.onnx'), rescnn);
    const mb = names('mobilenet_v2-op17.onnx');
    assert.deepEqual(mb.slice(0, 4), ['features.0.0', 'features.1.conv.0.0', 'features.1.conv.1', 'features.2.conv.0.0']);
    assert.equal(mb[mb.length - 1], 'classifier.1');
    const bn = [...importOnnx(fixtureBytes(dir!, FIXTURES[2]), 'bn').namedModules()].filter(([, m]) => m instanceof BatchNorm2d).map(([n]) => n);
    assert.deepEqual(bn.slice(0, 3), ['stem.1', 'l1.b1', 'l1.b2']);
  });
});

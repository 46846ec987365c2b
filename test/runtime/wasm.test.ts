import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LowbitError } from '../../src/errors.ts';
import type { ResNet } from '../../src/models/index.ts';
import { compileResNet, encodePlan, WasmRuntime } from '../../src/runtime/index.ts';
import { FIXTURE_MEAN, FIXTURE_STD, fakeQuantResNet, fixtureConfig, randomPixels } from './resnet-fixture.ts';

const wasmPath = fileURLToPath(new URL('../../native/build/wasm/lowbit_runtime.wasm', import.meta.url));
const built = existsSync(wasmPath);

describe('the runtime in WebAssembly (Node)', { skip: built ? false : `${wasmPath} is not built: run 'bash scripts/setup.sh'` }, () => {
  for (const bits of [2, 4]) {
    it(`W${bits}A${bits} ResNet-20 from a plan file: the same logits as the native plan, bit for bit`, async () => {
      const size = 12;
      const model = fakeQuantResNet(bits, size, 30 + bits) as ResNet;
      const native = compileResNet(model, { mean: FIXTURE_MEAN, std: FIXTURE_STD, inputSize: [size, size], isa: 'portable' });
      const bytes = encodePlan(native, { modelConfig: fixtureConfig(size) });
      const rt = await WasmRuntime.instantiate(readFileSync(wasmPath));
      const { plan, meta } = rt.loadPlan(bytes, 'fixture.lbit');
      assert.equal(meta.modelConfig.numClasses, 10);
      const pixels = randomPixels(7, size, 17);
      const want = native.run(pixels, 7);
      assert.deepEqual(plan.run(pixels, 7), want);
      assert.deepEqual(plan.run(pixels, 7, 3), want, 'in chunks of 3');
      plan.dispose();
    });
  }

  it('a malformed layer is one clear error from the C++ checks, not a bare trap', async () => {
    const rt = await WasmRuntime.instantiate(readFileSync(wasmPath));
    const plan = rt.createPlan();
    const input = plan.addBuffer({ kind: 'codes', h: 4, w: 4, c: 3, border: 1 });
    const out = plan.addBuffer({ kind: 'float', h: 4, w: 4, c: 8 });
    assert.throws(
      () =>
        plan.addConv(
          {
            input,
            outChannels: 8,
            kernel: [3, 3],
            stride: 1,
            pad: 1,
            weight: { packed: new Uint8Array(10), width: 2, count: 216, codeStep: 2 },
            oddOnes: false,
            inMax: 3,
            mul: new Float32Array(8),
            add: new Float32Array(8),
            relu: false,
            outFloat: out,
          },
          'layers.0.conv1',
        ),
      (e: Error) => e instanceof LowbitError && /layers\.0\.conv1: weights: 10 packed bytes for 216 2-bit codes/.test(e.message),
    );
  });
});

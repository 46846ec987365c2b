import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ResNet } from '../../src/models/index.ts';
import { compileResNet, encodePlan, WasmRuntime } from '../../src/runtime/index.ts';
import { chromiumPath, runInChromium, WASM_PATH } from '../../bench/browser/harness.ts';
import { FIXTURE_MEAN, FIXTURE_STD, fakeQuantResNet, fixtureConfig, randomPixels } from './resnet-fixture.ts';

const skip = !existsSync(WASM_PATH) ? `${WASM_PATH} is not built: run 'bash scripts/setup.sh'` : chromiumPath() === null ? 'no chromium (scripts/setup.sh installs it)' : false;

describe('the runtime in the browser (src/runtime/web.ts in headless Chromium)', { skip }, () => {
  it('W2A2 and W4A4 plans: the page computes the logits Node\'s WebAssembly and the native plan compute, bit for bit', async () => {
    const size = 12;
    const n = 9;
    const pixels = randomPixels(n, size, 5);
    const files: Record<string, Uint8Array> = { 'pixels.bin': pixels };
    const want: Record<string, number[]> = {};
    const rt = await WasmRuntime.instantiate(readFileSync(WASM_PATH));
    for (const bits of [2, 4]) {
      const native = compileResNet(fakeQuantResNet(bits, size, 40 + bits) as ResNet, { mean: FIXTURE_MEAN, std: FIXTURE_STD, inputSize: [size, size], isa: 'portable' });
      const bytes = encodePlan(native, { modelConfig: fixtureConfig(size) });
      files[`w${bits}.lbit`] = bytes;
      const { plan } = rt.loadPlan(bytes);
      want[`w${bits}`] = Array.from(plan.run(pixels, n));
      assert.deepEqual(want[`w${bits}`], Array.from(native.run(pixels, n)), 'Node WebAssembly vs native');
      plan.dispose();
    }
    const got = await runInChromium<{ logits: Record<string, number[]> }>({
      config: { mode: 'check', ints: [{ name: 'w2', file: 'w2.lbit' }, { name: 'w4', file: 'w4.lbit' }], pixels: 'pixels.bin', n },
      files,
      timeoutSeconds: 120,
    });
    assert.deepEqual(got.logits, want);
    assert.equal(got.logits.w2.length, n * 10);
  });
});

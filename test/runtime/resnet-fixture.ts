/** A fake-quant ResNet-20 with non-trivial BatchNorm statistics and PACT clips, built from seeds. */
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { BatchNorm2d, type Module } from '../../src/nn/index.ts';
import { PactQuantizer, quantizeModel, type QuantConfig } from '../../src/quant/index.ts';
import { fromArray, manualSeed, noGrad, scope, type Tensor } from '../../src/tensor/index.ts';
import { rng } from '../helpers/rng.ts';

export const FIXTURE_MEAN = [0.286];
export const FIXTURE_STD = [0.353];

export function fixtureConfig(size: number): ModelConfig {
  return { name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [size, size] };
}

export function quantConfig(bits: number): QuantConfig {
  return { weight: { kind: 'sawb', bits }, act: { kind: 'pact', bits }, firstLast: { bits: 8 } };
}

export function fakeQuantResNet(bits: number, size: number, seed: number, config: QuantConfig = quantConfig(bits)): Module {
  manualSeed(seed);
  const model = createModel(fixtureConfig(size));
  quantizeModel(model, config);
  const r = rng(seed);
  noGrad(() => {
    for (const m of model.modules()) {
      if (m instanceof BatchNorm2d) {
        const c = m.numFeatures;
        scope(() => {
          m.runningMean.copy_(fromArray(Float32Array.from({ length: c }, () => 0.4 * (r() - 0.5))));
          m.runningVar.copy_(fromArray(Float32Array.from({ length: c }, () => 0.3 + r())));
          m.weight!.copy_(fromArray(Float32Array.from({ length: c }, () => 0.5 + r())));
          m.bias!.copy_(fromArray(Float32Array.from({ length: c }, () => 0.3 * (r() - 0.3))));
        });
      }
      if (m instanceof PactQuantizer) m.alpha.fill_(0.6 + 2 * r());
    }
  });
  return model.eval();
}

export function randomPixels(n: number, size: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n * size * size }, () => Math.floor(256 * r()));
}

/** The data loader's normalization, op for op: x / 255, minus mean, over std (NCHW float32). */
export function normalize(pixels: Uint8Array, n: number, size: number): Tensor {
  return scope(() =>
    fromArray(pixels, [n, 1, size, size])
      .to('float32')
      .div_(255)
      .sub_(fromArray(Float32Array.from(FIXTURE_MEAN), [1, 1, 1, 1]))
      .div_(fromArray(Float32Array.from(FIXTURE_STD), [1, 1, 1, 1])),
  );
}

import { Dataset } from '../../src/data/index.ts';
import type { QuantConfig } from '../../src/quant/index.ts';
import { fromArray, Generator, randint } from '../../src/tensor/index.ts';
import { SearchResNet, type SupernetConfig } from '../../src/nas/index.ts';

export const W2A2: QuantConfig = { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 } };

export function smallSupernet(overrides: Partial<SupernetConfig> = {}, seed = 0): SearchResNet {
  return new SearchResNet({ model: 'resnet20', inChannels: 1, numClasses: 4, inputSize: [8, 8], expansionLimit: 2, growth: 1.25, quant: W2A2, ...overrides }, new Generator(seed));
}

/** A learnable toy set: the label is the quadrant with the brightest mean. */
export function toyDataset(n: number, seed: number): Dataset {
  const pixels = randint(0, 256, [n, 1, 8, 8], { generator: new Generator(seed), dtype: 'uint8' });
  const px = pixels.toTypedArray() as Uint8Array;
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const q = [0, 0, 0, 0];
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) q[(y >> 2) * 2 + (x >> 2)] += px[i * 64 + y * 8 + x];
    labels[i] = BigInt(q.indexOf(Math.max(...q)));
  }
  return new Dataset({ name: 'toy', images: pixels, labels: fromArray(labels), classes: ['a', 'b', 'c', 'd'], mean: [0.5], std: [0.29] });
}

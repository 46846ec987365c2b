/**
 * TAS's data split for the bi-level search: the training set cut into two seeded halves, one for the
 * weight steps and one for the architecture steps (TAS: splits/<dataset>-0.5.pth).
 */
import { LowbitError } from '../errors.ts';
import { Dataset } from '../data/index.ts';
import { Generator, keep, randperm, scope } from '../tensor/index.ts';

export function splitHalves(ds: Dataset, seed: number): { weightSet: Dataset; archSet: Dataset } {
  if (ds.length < 2) throw new LowbitError(`the search needs at least 2 training images to split, got ${ds.length}`);
  const half = Math.floor(ds.length / 2);
  return scope(() => {
    const order = randperm(ds.length, { generator: new Generator(seed) });
    const part = (start: number, n: number, name: string) => {
      const idx = order.narrow(0, start, n);
      return new Dataset({
        name: `${ds.name}/${name}`,
        images: keep(ds.images.indexSelect(0, idx)),
        labels: keep(ds.labels.indexSelect(0, idx)),
        classes: ds.classes,
        mean: ds.mean,
        std: ds.std,
      });
    };
    return { weightSet: part(0, half, 'weights'), archSet: part(half, ds.length - half, 'arch') };
  });
}

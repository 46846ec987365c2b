/**
 * A data set checked against the model it is fed to, before any step runs: otherwise a 14x56 image
 * set trains an MLP built for 28x28 (same pixel count), an empty set "trains" 0 steps and saves, and a
 * label beyond the model's classes surfaces as libtorch's "Target 9 is out of bounds".
 */
import { LowbitError } from '../errors.ts';
import { scope } from '../tensor/index.ts';
import type { Dataset } from './dataset.ts';

export interface ModelInputSpec {
  /** One sample's shape, [C, H, W]. */
  inputShape: readonly number[];
  /** Classes the model's output distinguishes, when known. */
  numClasses?: number;
  /** Names the model in messages ('checkpoint runs/x/model.safetensors'). */
  source?: string;
}

/** Throws a LowbitError naming the data set, the model and the mismatch; returns the data set's label range. */
export function checkDatasetFits(ds: Dataset, model: ModelInputSpec): void {
  const who = model.source ?? 'the model';
  if (ds.length === 0) throw new LowbitError(`data set ${ds.name} holds no images; ${who} cannot be trained or evaluated on an empty set`);
  const have = [ds.channels, ds.height, ds.width];
  const want = model.inputShape;
  if (want.length !== 3 || have.some((d, i) => d !== want[i])) {
    const hint =
      want.length === 3 && have[0] === want[0] && have[1] * have[2] === want[1] * want[2]
        ? ' (the same number of pixels in another shape: the images are not laid out as the model expects)'
        : have[0] !== want[0]
          ? ` (${have[0]} channel(s) where the model takes ${want[0]}: grey vs colour images?)`
          : '';
    throw new LowbitError(`data set ${ds.name} has images of ${have.join('x')} (C x H x W) but ${who} takes ${want.join('x')}${hint}; use data of the model's input size`);
  }
  if (model.numClasses !== undefined) {
    const largest = scope(() => ds.labels.amax().item());
    if (largest >= model.numClasses) {
      throw new LowbitError(`data set ${ds.name} has label ${largest} but ${who} has ${model.numClasses} classes (labels 0..${model.numClasses - 1}); use the data set the model was built for`);
    }
    if (ds.classes.length > model.numClasses) {
      throw new LowbitError(`data set ${ds.name} has ${ds.classes.length} classes but ${who} has ${model.numClasses}; use the data set the model was built for`);
    }
  }
}

/** Classifying a data set and timing a model with an integer plan (what `lowbit run` calls). */
import { LowbitError } from '../errors.ts';
import type { Dataset } from '../data/index.ts';
import { scope } from '../tensor/index.ts';
import { argmaxRows, type IntModel } from './load.ts';

/** A data set's images as the plan's input: uint8 NHWC bytes. */
export function datasetPixels(ds: Dataset): Uint8Array {
  return scope(() => new Uint8Array(ds.images.permute(0, 2, 3, 1).contiguous().toBytes()));
}

export interface ClassifyResult {
  accuracy: number;
  count: number;
  correct: number;
  seconds: number;
  /** Predicted class of every image. */
  predictions: Int32Array;
}

/** Runs every image of `ds` through the plan, `batch` at a time, and scores it against the labels. */
export function classifyDataset(model: IntModel, ds: Dataset, batch: number): ClassifyResult {
  if (!(Number.isInteger(batch) && batch >= 1)) throw new LowbitError(`classifyDataset: batch must be a positive integer, got ${batch}`);
  if (ds.length === 0) throw new LowbitError(`classifyDataset: ${ds.name} holds no images`);
  const pixels = datasetPixels(ds);
  if (pixels.length !== ds.length * model.imageBytes) {
    throw new LowbitError(`${ds.name}: images of ${pixels.length / ds.length} bytes, the model takes ${model.imageBytes} (${model.modelConfig.inputSize.join('x')}x${model.modelConfig.inChannels})`);
  }
  const labels = scope(() => ds.labels.toArray());
  const predictions = new Int32Array(ds.length);
  const t0 = performance.now();
  for (let first = 0; first < ds.length; first += batch) {
    const n = Math.min(batch, ds.length - first);
    const logits = model.plan.run(pixels.subarray(first * model.imageBytes, (first + n) * model.imageBytes), n);
    predictions.set(argmaxRows(logits, model.classes), first);
  }
  const seconds = (performance.now() - t0) / 1000;
  let correct = 0;
  for (let i = 0; i < ds.length; i++) if (predictions[i] === labels[i]) correct++;
  return { accuracy: correct / ds.length, count: ds.length, correct, seconds, predictions };
}

export interface TimingResult {
  batch: number;
  /** Median over the timed repetitions. */
  imagesPerSecond: number;
  repetitions: number;
  /** Each repetition's images per second, in order. */
  samples: number[];
}

/**
 * Images per second at a batch size: `repetitions` timed runs (after one warm-up) of `batch` images,
 * each repetition as many runs as fill `minSeconds`; the median repetition, which a shared machine's
 * bursts move least.
 */
export function timeModel(run: (n: number) => void, batch: number, opts: { repetitions?: number; minSeconds?: number } = {}): TimingResult {
  const repetitions = opts.repetitions ?? 7;
  const minSeconds = opts.minSeconds ?? 0.2;
  run(batch);
  const samples: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    let runs = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      run(batch);
      runs++;
      dt = (performance.now() - t0) / 1000;
    } while (dt < minSeconds);
    samples.push((runs * batch) / dt);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { batch, imagesPerSecond: sorted[Math.floor(sorted.length / 2)], repetitions, samples };
}

/** timeModel for an integer plan on synthetic pixels (the speed does not depend on the data). */
export function timeIntModel(model: IntModel, batch: number, opts: { repetitions?: number; minSeconds?: number } = {}): TimingResult {
  const pixels = new Uint8Array(batch * model.imageBytes);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 131) & 255;
  return timeModel((n) => model.plan.run(pixels, n), batch, opts);
}

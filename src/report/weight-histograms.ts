/**
 * Weight histograms before and after post-training quantization: the float weights of a layer (from
 * the float checkpoint a PTQ run names in config.json) next to its quantized weights (codes * step
 * from the run's codes.safetensors), with the alphabet's levels k * delta marked.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadOnnx } from '../export/index.ts';
import { LowbitError } from '../errors.ts';
import { loadSafetensors } from '../nn/index.ts';
import { codeRange, type AlphabetConvention } from '../ptq/index.ts';
import { scope } from '../tensor/index.ts';
import type { HistogramBin } from './charts.ts';
import { compareMethods, methodLabel, type RunRecord } from './run-data.ts';

/** Levels are drawn (and tabulated) up to this many; 8-bit layers' 256 levels would be a grey smear. */
export const MAX_DRAWN_LEVELS = 32;
const FLOAT_BINS = 60;

/** Share (%) of `values` in each of `count` equal bins over [lo, hi]; values outside go to the end bins. */
export function histogram(values: ArrayLike<number>, lo: number, hi: number, count: number): HistogramBin[] {
  const width = (hi - lo) / count;
  const counts = new Array<number>(count).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = Math.floor((values[i] - lo) / width);
    counts[b < 0 ? 0 : b >= count ? count - 1 : b]++;
  }
  const n = Math.max(1, values.length);
  return counts.map((c, i) => ({ x0: lo + i * width, x1: lo + (i + 1) * width, value: (100 * c) / n }));
}

/** Share (%) of codes equal to each k in [kMin, kMax]. */
export function codeShares(codes: ArrayLike<number>, kMin: number, kMax: number): number[] {
  const counts = new Array<number>(kMax - kMin + 1).fill(0);
  for (let i = 0; i < codes.length; i++) counts[codes[i] - kMin]++;
  return counts.map((c) => (100 * c) / Math.max(1, codes.length));
}

/**
 * The float checkpoint a PTQ run recorded. The path was relative to the directory the run was started
 * from, so besides the current directory each ancestor of the run directory is tried.
 */
export function resolveCheckpoint(recorded: string, runDir: string): string | null {
  if (isAbsolute(recorded)) return existsSync(recorded) ? recorded : null;
  const candidates = [resolve(recorded)];
  for (let dir = resolve(runDir); ; dir = dirname(dir)) {
    candidates.push(join(dir, recorded));
    if (dirname(dir) === dir) break;
  }
  return candidates.find((c) => existsSync(c)) ?? null;
}

/** Named tensors of a safetensors file (or an ONNX model's weights) as float64 arrays, with their shapes; the tensors are freed. */
function readArrays(path: string, names: string[]): Map<string, { data: Float64Array; shape: number[] }> {
  // A ptq --onnx run quantized an ONNX file: its float weights are the imported model's.
  const file = path.endsWith('.onnx') ? { tensors: loadOnnx(path).stateDict() } : loadSafetensors(path);
  try {
    const out = new Map<string, { data: Float64Array; shape: number[] }>();
    for (const name of names) {
      const t = file.tensors.get(name);
      if (!t) throw new LowbitError(`${path} has no tensor '${name}': it does not belong to this run. Re-run the quantization that wrote it.`);
      out.set(name, { data: scope(() => t.toFloat64Array()), shape: t.shape });
    }
    return out;
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

export interface QuantizedPanel {
  /** e.g. 'RTN W2'. */
  label: string;
  method: string;
  bins: HistogramBin[];
  /** Share (%) of the layer's weights at each level, when the layer has one step and few levels. */
  levelShares: number[] | null;
}

export interface LayerHistogram {
  layer: string;
  bits: number;
  /** The plotted x range, shared by all panels of the layer. */
  domain: [number, number];
  floatBins: HistogramBin[];
  /** k * delta for every code k, when the layer has one step (not per channel) and few levels. */
  levels: number[] | null;
  /** Why levels are not drawn, when they are not. */
  levelsNote?: string;
  panels: QuantizedPanel[];
}

export interface WeightHistograms {
  layers: LayerHistogram[];
  /** Set when histograms could not be drawn (no float checkpoint, no codes file). */
  missing?: string;
}

/** First, middle and last of the layers quantized at the run's own bit width (the first and last layer usually keep 8 bits). */
export function representativeLayers(run: RunRecord, count = 3): string[] {
  const layers = run.ptq?.layers ?? [];
  const inner = layers.filter((l) => l.bits === run.ptq?.wbits);
  const pool = inner.length > 0 ? inner : layers;
  if (pool.length <= count) return pool.map((l) => l.name);
  const picks = new Set<number>();
  for (let i = 0; i < count; i++) picks.add(Math.round((i * (pool.length - 1)) / (count - 1)));
  return [...picks].sort((a, b) => a - b).map((i) => pool[i].name);
}

/**
 * Histograms of a few representative layers for PTQ runs that share one float checkpoint: the float
 * weights once, then the quantized weights of each run at the lowest bit width in the group (one panel
 * per method), on the same x range so the panels line up.
 */
export function weightHistograms(group: RunRecord[], maxLayers = 3): WeightHistograms {
  const ptqRuns = group.filter((r) => r.ptq);
  if (ptqRuns.length === 0) return { layers: [] };
  const lowest = Math.min(...ptqRuns.map((r) => r.ptq!.wbits));
  const shown = ptqRuns.filter((r) => r.ptq!.wbits === lowest).sort((a, b) => compareMethods(a.ptq!.method, b.ptq!.method));
  const first = shown[0];
  const recorded = first.ptq!.checkpoint;
  if (!recorded) return { layers: [], missing: `${first.path}/config.json records no float checkpoint` };
  const checkpoint = resolveCheckpoint(recorded, first.path);
  if (!checkpoint) return { layers: [], missing: `the float checkpoint ${recorded} (recorded in ${join(first.path, 'config.json')}) was not found from here or above the run directory` };
  const withCodes = shown.filter((r) => existsSync(join(r.path, 'codes.safetensors')));
  if (withCodes.length === 0) return { layers: [], missing: `no codes.safetensors in ${shown.map((r) => r.path).join(', ')}` };
  const names = representativeLayers(first, maxLayers);
  const floats = readArrays(checkpoint, names.map((n) => `${n}.weight`));
  const codesByRun = withCodes.map((r) => ({ run: r, arrays: readArrays(join(r.path, 'codes.safetensors'), names.flatMap((n) => [`${n}.weight_codes`, `${n}.weight_scale`])) }));
  const layers = names.map((name): LayerHistogram => {
    const w = floats.get(`${name}.weight`)!.data;
    const bits = first.ptq!.layers.find((l) => l.name === name)!.bits;
    const { kMin, kMax } = codeRange(bits, first.ptq!.convention as AlphabetConvention);
    const scales0 = codesByRun[0].arrays.get(`${name}.weight_scale`)!.data;
    const oneStep = scales0.length === 1;
    const drawLevels = oneStep && kMax - kMin + 1 <= MAX_DRAWN_LEVELS;
    const levels = drawLevels ? Array.from({ length: kMax - kMin + 1 }, (_, i) => (kMin + i) * scales0[0]) : null;
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of w) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (levels) {
      const half = scales0[0] / 2;
      lo = Math.min(lo, levels[0] - half);
      hi = Math.max(hi, levels[levels.length - 1] + half);
    }
    if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
    const floatBins = histogram(w, lo, hi, FLOAT_BINS);
    const panels = codesByRun.map(({ run, arrays }): QuantizedPanel => {
      const codes = arrays.get(`${name}.weight_codes`)!;
      const scales = arrays.get(`${name}.weight_scale`)!.data;
      const label = `${methodLabel(run.ptq!.method)} W${run.ptq!.wbits}`;
      if (levels && scales.length === 1) {
        const shares = codeShares(codes.data, kMin, kMax);
        const delta = scales[0];
        // Each level as a narrow bar centred on k * delta.
        const bins = shares.map((s, i) => ({ x0: (kMin + i - 0.3) * delta, x1: (kMin + i + 0.3) * delta, value: s }));
        return { label, method: run.ptq!.method, bins, levelShares: shares };
      }
      const rowLength = codes.data.length / scales.length;
      const values = codes.data.map((k, i) => k * scales[Math.floor(i / rowLength)]);
      return { label, method: run.ptq!.method, bins: histogram(values, lo, hi, FLOAT_BINS), levelShares: null };
    });
    const levelsNote = levels ? undefined : oneStep ? `${kMax - kMin + 1} levels, not drawn` : 'one step per output channel: the levels differ per channel and are not drawn';
    return { layer: name, bits, domain: [lo, hi], floatBins, levels, levelsNote, panels };
  });
  return { layers };
}

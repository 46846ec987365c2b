/**
 * Post-training quantization of a whole network, layer by layer in forward order (GPFQ, Zhang, Zhou &
 * Saab, Alg. 1 applied per layer): for layer l, X is its input in the float ("analog") network and X~
 * its input in the network whose layers before l are already quantized. Conv layers are solved through
 * their patch matrix (unfold: one row per output position, one column per (channel, ky, kx)); Linear
 * layers directly. Biases and BatchNorm stay float, as in the reference code (it quantizes the weight
 * matrices only and keeps BN layers unfused).
 */
import { LowbitError } from '../errors.ts';
import { Conv2d, Linear, type Module } from '../nn/index.ts';
import { isFloatBits, layerRoles, roleBits } from '../quant/index.ts';
import { cat, F, fromArray, keep, noGrad, scope, type Tensor } from '../tensor/index.ts';
import { alphabetFor, minMaxAlphabet, dequantize, quantizeToCodes } from './alphabet.ts';
import { gpfqBlocked } from './gpfq-blocked.ts';
import { gpfqFast } from './gpfq-fast.ts';
import { gpfqReference } from './gpfq-reference.ts';
import { ErrorSample } from './error-sample.ts';
import { GramAccumulator } from './gram-accumulator.ts';
import { GroupedGram, gpfqFastGrouped, solvePerGroup } from './grouped-layer.ts';
import { layerInputs } from './layer-inputs.ts';
import { resolvePtqConfig, type PtqConfig } from './ptq-config.ts';

export interface LayerReport {
  name: string;
  kind: 'conv' | 'linear';
  bits: number;
  /** N1 x N0 of the weight matrix. */
  shape: [number, number];
  /** Calibration rows m (images x output positions for convs). */
  samples: number;
  /** ||X W' - X~ Q'||_F / ||X W'||_F on the calibration rows (on a strided subset of errorRows of them for large layers). */
  relativeError: number;
  /** Calibration rows the relative error was measured on (= samples when exact). */
  errorRows: number;
  seconds: number;
  /** Where the time went: forward passes and patch matrices, Gram sums, the solve, the error measurement. */
  phases: { inputs: number; gram: number; solve: number; error: number };
  /** Integer codes and step(s), for export; owned by the caller. */
  codes: Tensor;
  scales: Tensor;
}

export interface PtqProgress {
  layer: number;
  layers: number;
  name: string;
  done: boolean;
  report?: LayerReport;
}

/** The Conv2d and Linear layers in the order the forward pass calls them. */
export function quantizableLayers(model: Module, sample: Tensor): { name: string; module: Conv2d | Linear }[] {
  const named = new Map<Conv2d | Linear, string>();
  for (const [n, m] of model.namedModules()) if (m instanceof Conv2d || m instanceof Linear) named.set(m, n);
  const order: { name: string; module: Conv2d | Linear }[] = [];
  const seen = new Set<Module>();
  // Each layer's hook notes its first call; a layer called twice keeps its first place.
  const handles = [...named].map(([layer, name]) =>
    layer.registerForwardPreHook(() => {
      if (seen.has(layer)) return;
      seen.add(layer);
      order.push({ name, module: layer });
    }),
  );
  // The probe runs in eval mode: in train mode it would move every BatchNorm's running statistics 10%
  // toward this one image (a loaded checkpoint is in train mode). Each module's own mode is restored.
  const modules = model.modules();
  const modes = modules.map((m) => m.training);
  model.eval();
  try {
    scope(() => noGrad(() => model.call(sample.narrow(0, 0, 1))));
  } finally {
    for (const h of handles) h.remove();
    modules.forEach((m, i) => (m.training = modes[i]));
  }
  return order;
}

/** Rows = samples: (B, C, H, W) conv input -> (B * L, C * kh * kw) patches; Linear input as is. */
function layerRows(layer: Conv2d | Linear, input: Tensor): Tensor {
  if (layer instanceof Linear) return input.reshape([-1, layer.inFeatures]);
  const cols = F.unfold(input.contiguous(), layer.kernelSize, { dilation: layer.dilation, padding: layer.padding, stride: layer.stride });
  return cols.transpose(1, 2).reshape([-1, cols.shape[1]]);
}

function weightMatrix(layer: Conv2d | Linear): Tensor {
  return layer.weight.detach().reshape([layer.weight.shape[0], -1]);
}

/**
 * Quantizes `quantized` (a copy of `analog` with the same weights) in place, layer by layer, from the
 * calibration images (normalized, NCHW). `analog` is only read. Returns one report per layer. Fields
 * of `config` left out take PTQ_DEFAULTS, the defaults of `lowbit ptq`.
 */
export function quantizeNetwork(
  analog: Module,
  quantized: Module,
  calibration: Tensor,
  config: PtqConfig,
  onProgress?: (p: PtqProgress) => void,
): LayerReport[] {
  const c = resolvePtqConfig(config);
  const { method, bits, firstLastBits, solver, batchSize } = c;
  if (calibration.ndim < 2 || calibration.shape[0] < 1) throw new LowbitError('PTQ: the calibration set is empty');
  const analogLayers = quantizableLayers(analog, calibration);
  const quantLayers = quantizableLayers(quantized, calibration);
  if (analogLayers.length !== quantLayers.length) throw new LowbitError('PTQ: the quantized copy does not have the same layers as the float model');
  // Layers are solved in forward order (each one's X~ needs the layers before it quantized), but which
  // are first and last is layerRoles' answer (registration order, see src/quant/layer-roles.ts), the
  // one quantizeModel gives when toQuantModel converts the result; in the zoo the two orders agree.
  const withRoles = layerRoles(quantized);
  const foreign = withRoles.find((r) => !(r.module instanceof Conv2d || r.module instanceof Linear));
  if (foreign) throw new LowbitError(`PTQ: '${foreign.name}' is a ${foreign.module.constructor.name}; GPFQ and RTN quantize the weights of Conv2d and Linear layers only`);
  const roles = new Map(withRoles.map((r) => [r.name, r.role]));
  const bitsByLayer = quantLayers.map(({ name }) => {
    const role = roles.get(name);
    if (role === undefined) throw new LowbitError(`PTQ: layer '${name}' runs in the forward pass but is not a layer of the model's own tree`);
    return roleBits(role, bits, firstLastBits);
  });
  const wasTraining = [analog.training, quantized.training];
  analog.eval();
  quantized.eval();
  const reports: LayerReport[] = [];
  const batches = Array.from({ length: Math.ceil(calibration.shape[0] / batchSize) }, (_, b) =>
    calibration.narrow(0, b * batchSize, Math.min(batchSize, calibration.shape[0] - b * batchSize)),
  );
  const analogInputs = layerInputs(analog, batches);
  const quantInputs = layerInputs(quantized, batches);
  try {
    analogLayers.forEach(({ name, module: fl }, l) => {
      const ql = quantLayers[l].module;
      const layerBits = bitsByLayer[l];
      onProgress?.({ layer: l, layers: analogLayers.length, name, done: false });
      if (isFloatBits(layerBits)) return;
      const t0 = performance.now();
      const phases = new PhaseClock();
      const W = weightMatrix(fl);
      const [n1, n0] = W.shape;
      const grid = { bits: layerBits, convention: c.convention, granularity: c.granularity };
      // RTN gets a min-max grid (see minMaxAlphabet); GPFQ the paper's step rule.
      const alphabet = method === 'rtn' ? minMaxAlphabet(W, grid) : alphabetFor(W, { ...grid, radiusFactor: c.radiusFactor });
      // GPFQ runs on the first layer too: there X~ = X, and the greedy path still beats rounding.
      const useGpfq = method === 'gpfq';
      // Grouped (depthwise) convs: one GPFQ problem per group, on that group's patch columns (grouped-layer.ts).
      const groups = fl instanceof Conv2d ? fl.groups : 1;
      const productDtype = c.gramDtype;
      const gram = useGpfq && solver === 'fast' ? (groups === 1 ? new GramAccumulator(n0, { productDtype }) : new GroupedGram(groups, n0, productDtype)) : null;
      let errorSample: ErrorSample | null = null;
      let rowsX: Tensor[] = [];
      let rowsXt: Tensor[] = [];
      let samples = 0;
      try {
        noGrad(() => {
          for (let b = 0; b < batches.length; b++) {
            scope(() => {
              const images = batches[b];
              let tp = performance.now();
              const X = layerRows(fl, analogInputs.input(fl, b));
              const Xt = layerRows(ql, quantInputs.input(ql, b));
              tp = phases.lap('inputs', tp);
              // Rows per image are fixed, so the first batch tells the layer's m.
              errorSample ??= new ErrorSample((X.shape[0] / images.shape[0]) * calibration.shape[0], c.errorSampleRows, groups);
              errorSample.add(X, Xt);
              samples += X.shape[0];
              tp = phases.lap('error', tp);
              gram?.add(X, Xt);
              phases.lap('gram', tp);
              if (useGpfq && solver !== 'fast') {
                const dtype = solver === 'reference' ? 'float64' : 'float32';
                rowsX.push(keep(X.to(dtype)));
                rowsXt.push(keep(Xt.to(dtype)));
              }
            });
          }
        });
        const tSolve = performance.now();
        const result = scope(() => {
          if (!useGpfq) {
            const codes = quantizeToCodes(W.to('float64'), alphabet);
            return { codes, weight: dequantize(codes, alphabet) };
          }
          if (solver !== 'fast') {
            const x = cat(rowsX, 0);
            const xTilde = cat(rowsXt, 0);
            for (const t of [...rowsX, ...rowsXt]) t.dispose(); // freed before the solver allocates its own m-row buffers
            rowsX = [];
            rowsXt = [];
            const columnSolve = (w: Tensor, xs: Tensor, xts: Tensor, a: typeof alphabet) => (solver === 'reference' ? gpfqReference(w.to('float64'), xs, xts, a) : gpfqBlocked(w, xs, xts, a));
            if (groups !== 1) return solvePerGroup(W, alphabet, groups, (g, wg, ag) => columnSolve(wg, x.narrow(1, g * n0, n0).contiguous(), xTilde.narrow(1, g * n0, n0).contiguous(), ag).codes);
            const r = columnSolve(W, x, xTilde, alphabet);
            return { codes: r.codes, weight: r.weight };
          }
          if (gram instanceof GroupedGram) {
            const codes = gpfqFastGrouped(W, gram, alphabet);
            return { codes, weight: dequantize(codes, alphabet) };
          }
          const r = gpfqFast(W, gram!, alphabet);
          return { codes: r.codes, weight: r.weight };
        });
        for (const t of [...rowsX, ...rowsXt]) t.dispose();
        rowsX = [];
        rowsXt = [];
        const tError = phases.lap('solve', tSolve);
        const relativeError = errorSample!.relativeError(W, result.weight);
        phases.lap('error', tError);
        noGrad(() => ql.weight.copy_(result.weight.reshape(ql.weight.shape)));
        result.weight.dispose();
        const report: LayerReport = {
          name,
          kind: fl instanceof Conv2d ? 'conv' : 'linear',
          bits: layerBits,
          shape: [n1, n0],
          samples,
          relativeError,
          errorRows: errorSample!.rows,
          seconds: (performance.now() - t0) / 1000,
          phases: phases.seconds,
          codes: result.codes,
          scales: scope(() => fromSteps(alphabet.steps)),
        };
        reports.push(report);
        onProgress?.({ layer: l, layers: analogLayers.length, name, done: true, report });
      } finally {
        gram?.dispose();
        (errorSample as ErrorSample | null)?.dispose();
        W.dispose();
      }
    });
  } finally {
    analogInputs.dispose();
    quantInputs.dispose();
    for (const b of batches) b.dispose();
    analog.train(wasTraining[0]);
    quantized.train(wasTraining[1]);
  }
  return reports;
}

/** Sums wall time per phase of one layer. */
class PhaseClock {
  readonly seconds = { inputs: 0, gram: 0, solve: 0, error: 0 };
  /** Adds the time since `since` to `phase`; returns now, the start of the next lap. */
  lap(phase: keyof PhaseClock['seconds'], since: number): number {
    const now = performance.now();
    this.seconds[phase] += (now - since) / 1000;
    return now;
  }
}

function fromSteps(steps: number[]): Tensor {
  return fromArray(Float32Array.from(steps), [steps.length]);
}

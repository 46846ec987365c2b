import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LowbitError, UsageError } from '../../errors.ts';
import { resolveCheckpoint } from '../../report/index.ts';
import { readFileSync } from 'node:fs';
import { CLASSES_KEY, DATASET_KEY, NORMALIZATION_KEY } from '../../data/index.ts';
import { applyPtqActivations, dequantizeWeight, integerWeightNodes, loadOnnxForPtq, PTQ_METADATA_KEY, type LowBitWeight, readOnnxMetadata, readPtqWeightCodes, saveOnnx, type OnnxExportResult } from '../../export/index.ts';
import { loadSafetensors, type Module } from '../../nn/index.ts';
import { fromArray, noGrad, scope, type Tensor } from '../../tensor/index.ts';
import { loadCheckpoint } from '../../train/index.ts';
import { withFsErrors } from '../../util/fs-errors.ts';
import { optionalInt, type Command, type ParsedOptions } from '../command.ts';
import { modelPathFrom } from '../model-source.ts';
import { info, output } from '../output.ts';

/** The metadata entries that say which data a model takes; they travel into the ONNX file. */
const PROVENANCE_KEYS = [DATASET_KEY, NORMALIZATION_KEY, CLASSES_KEY];

export function formatExportTable(r: OnnxExportResult): string {
  const rows = r.layers.map((l) => `  ${l.name.padEnd(26)} ${l.kind.padEnd(6)} ${l.format.padEnd(11)} ${l.storage.padEnd(20)} ${String(l.weightBytes).padStart(9)}  ${l.inputQuant ?? '-'}`);
  return [`  ${'layer'.padEnd(26)} ${'kind'.padEnd(6)} ${'format'.padEnd(11)} ${'weight type'.padEnd(20)} ${'bytes'.padStart(9)}  input`, ...rows].join('\n');
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint as ONNX: float, QAT or PTQ models, weights at their real bit width',
  usage: 'lowbit export (--checkpoint PATH | --onnx FILE) [--format onnx] [--opset N] [--out FILE.onnx] [--matmul-nbits] [--codes PATH] [--float-weights]',
  examples: [
    'lowbit export --checkpoint runs/r20/model.safetensors',
    'lowbit export --checkpoint runs/ptq-gpfq-1/model.safetensors --out r20-w2.onnx',
    'lowbit export --checkpoint runs/qat-mlp/model.safetensors --matmul-nbits --opset 21 --json',
    'lowbit export --onnx runs/ptq-onnx/model.onnx --opset 21 --out w2-opset21.onnx   # a ptq --onnx result at another opset',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'PATH', description: 'model.safetensors written by lowbit train, qat or ptq' },
    onnx: { type: 'string', metavar: 'FILE', description: 'an ONNX model instead of --checkpoint: the model.onnx of a ptq --onnx run (its codes.safetensors beside it) or a float one' },
    format: { type: 'string', default: 'onnx', choices: ['onnx'], description: 'output format' },
    opset: {
      type: 'string',
      metavar: 'N',
      description: 'ONNX opset, 13..26 (default: the lowest holding the weight types: 13, 21 for int4, 25 for int2; below those, codes are widened)',
    },
    out: { type: 'string', short: 'o', metavar: 'FILE', description: 'output file (default: the checkpoint path with .onnx)' },
    'matmul-nbits': { type: 'boolean', description: 'quantized Linear layers as com.microsoft::MatMulNBits (2/4/8-bit, onnxruntime)' },
    'narrow-activations': { type: 'boolean', description: 'activation Q/DQ in the sub-byte type of the grid (uint2...) instead of uint8 + Clip' },
    codes: { type: 'string', metavar: 'PATH', description: 'codes.safetensors of a ptq checkpoint (default: next to the checkpoint)' },
    'float-weights': { type: 'boolean', description: 'with --onnx: write an integer-weight file without its codes.safetensors as float weights' },
  },
  run(o) {
    const which = modelPathFrom(o, { onnx: true });
    const opset = optionalInt(o, 'opset', 1);
    if (opset !== undefined && (opset < 13 || opset > 26)) throw new UsageError(`--opset ${opset}: choose 13 to 26 (onnxruntime 1.30 rejects 27 and later)`);
    if (which.kind === 'onnx') return exportOnnxModel(o, which.path, opset);
    const checkpoint = which.path;
    const out = typeof o.out === 'string' ? o.out : checkpoint.replace(/\.safetensors$/, '') + '.onnx';
    refuseOutIsInput(out, checkpoint);
    const { model, modelConfig, metadata, extraTensors } = loadCheckpoint(checkpoint);
    for (const t of extraTensors.values()) t.dispose();
    const inputShape = [modelConfig.inChannels, ...modelConfig.inputSize];
    // A ptq checkpoint with a recorded QuantConfig rebuilt fixed-grid quantized layers that export their
    // own codes; older ptq checkpoints (plain layers) take their codes from codes.safetensors.
    const codesPath = typeof o.codes === 'string' ? o.codes : join(dirname(checkpoint), 'codes.safetensors');
    const fromCodes = metadata[PTQ_METADATA_KEY] !== undefined && modelConfig.quant === undefined;
    if (fromCodes && !existsSync(codesPath)) throw new UsageError(`${codesPath} does not exist: a ptq checkpoint is exported from its codes.safetensors (pass --codes PATH)`);
    const weightCodes = fromCodes ? readPtqWeightCodes(model, codesPath, inputShape) : undefined;
    const r = saveOnnx(out, model, {
      inputShape,
      opset,
      matmulNBits: o['matmul-nbits'] === true,
      narrowActivations: o['narrow-activations'] === true,
      weightCodes,
      docString: `lowbit export of ${checkpoint} (${modelConfig.name})`,
      // The data set and normalization the checkpoint records travel into the ONNX file.
      metadata: Object.fromEntries(Object.entries(metadata).filter(([k]) => PROVENANCE_KEYS.includes(k))),
    });
    model.dispose();
    const quantized = r.layers.filter((l) => l.format !== 'float').length;
    info(formatExportTable(r));
    output(
      o,
      { out, bytes: r.bytes.length, opset: r.opset, irVersion: r.irVersion, model: modelConfig.name, inputShape, outputShape: r.outputShape, layers: r.layers },
      `${out}: ${r.bytes.length} bytes, opset ${r.opset}, ${quantized} of ${r.layers.length} conv/linear layers with integer weights`,
    );
  },
};

/** The export would write over the model it reads (`--out model.safetensors`, or the same file by another spelling). */
function refuseOutIsInput(out: string, input: string): void {
  if (resolve(out) === resolve(input)) throw new UsageError(`--out ${out} is the input file; choose another --out`);
}

/**
 * An ONNX model written again: a ptq --onnx result from the codes its run saved (another opset, the
 * names and data set metadata kept), or a float model as is.
 */
function exportOnnxModel(o: ParsedOptions, path: string, opset: number | undefined): void {
  const out = typeof o.out === 'string' ? o.out : path.replace(/\.onnx$/, '') + `.opset${opset ?? 'auto'}.onnx`;
  refuseOutIsInput(out, path);
  const bytes = withFsErrors('read', path, () => readFileSync(path));
  const sourceMetadata = readOnnxMetadata(bytes, path);
  const codesPath = typeof o.codes === 'string' ? o.codes : join(dirname(path), 'codes.safetensors');
  if (typeof o.codes === 'string' && !existsSync(codesPath)) throw new UsageError(`--codes ${codesPath} does not exist: give the codes.safetensors that lowbit ptq wrote`);
  const withCodes = existsSync(codesPath);
  // Without codes an integer-weight file is read as float weights: writing them back as float would
  // silently undo the quantization (a 46 KB W2 file came back as 312 KB).
  const integerNodes = withCodes || o['float-weights'] === true ? [] : integerWeightNodes(bytes, path);
  if (integerNodes.length > 0) {
    throw new UsageError(
      `${path} stores integer weights (${integerNodes.length} nodes, e.g. ${integerNodes[0]}) and no codes.safetensors is beside it: ` +
        'give the codes of the ptq run that wrote it with --codes PATH, export the checkpoint it came from with --checkpoint, or pass --float-weights to write float weights on purpose',
    );
  }
  // The codes name the layers of the float file the ptq run imported (its config.json records it);
  // the quantized file's own graph is laid out otherwise (DequantizeLinear + MatMul).
  const floatSource = withCodes ? ptqOnnxSource(dirname(codesPath)) ?? path : path;
  const { model } = loadOnnxForPtq(floatSource);
  const inputShape = model.sampleShape();
  if (withCodes && floatSource !== path) setWeightsFromCodes(model, codesPath);
  const weightCodes = withCodes ? readPtqWeightCodes(model, codesPath, inputShape) : undefined;
  // A run with --abits is rebuilt as the fake-quant model it wrote (its layers then write their own
  // codes and activation Q/DQ); a weights-only run keeps plain layers and the codes map.
  const fakeQuant = weightCodes !== undefined && applyPtqActivations(model, codesPath, weightCodes);
  const metadata = Object.fromEntries(Object.entries(sourceMetadata).filter(([k]) => PROVENANCE_KEYS.includes(k)));
  const r = saveOnnx(out, model, {
    inputShape,
    opset,
    matmulNBits: o['matmul-nbits'] === true,
    narrowActivations: o['narrow-activations'] === true,
    weightCodes: fakeQuant ? undefined : weightCodes,
    docString: `lowbit export of ${path}`,
    inputName: model.input.name,
    outputName: model.outputName,
    metadata,
  });
  model.dispose();
  const quantized = r.layers.filter((l) => l.format !== 'float').length;
  info(formatExportTable(r));
  output(
    o,
    { out, bytes: r.bytes.length, opset: r.opset, irVersion: r.irVersion, model: 'onnx', source: path, inputShape, outputShape: r.outputShape, layers: r.layers },
    `${out}: ${r.bytes.length} bytes, opset ${r.opset}, ${quantized} of ${r.layers.length} conv/linear layers with integer weights`,
  );
}

/** The float ONNX file a ptq --onnx run in `runDir` quantized, when its config.json records one that is found. */
function ptqOnnxSource(runDir: string): string | null {
  const configPath = join(runDir, 'config.json');
  if (!existsSync(configPath)) return null;
  let recorded: unknown;
  try {
    recorded = (JSON.parse(readFileSync(configPath, 'utf8')) as { onnx?: unknown }).onnx;
  } catch {
    throw new LowbitError(`${configPath} is corrupt (not JSON); give the float ONNX file the run quantized with --onnx and its codes with --codes`);
  }
  if (typeof recorded !== 'string') return null;
  const found = resolveCheckpoint(recorded, runDir);
  if (found === null) throw new LowbitError(`${configPath} records the float model ${recorded}, which was not found from here or above the run directory; run export from where the ptq ran, or give that file with --onnx and --codes ${join(runDir, 'codes.safetensors')}`);
  return found;
}

/** The float model's quantized layers set to codes * scale, the weights the ptq run produced. */
function setWeightsFromCodes(model: Module, codesPath: string): void {
  const file = loadSafetensors(codesPath);
  try {
    for (const [key, codes] of file.tensors) {
      if (!key.endsWith('.weight_codes')) continue;
      const name = key.slice(0, -'.weight_codes'.length);
      const scale = file.tensors.get(`${name}.weight_scale`);
      const layer = [...model.namedModules()].find(([n]) => n === name)?.[1] as { weight?: Tensor } | undefined;
      // Missing or misshapen entries are left for readPtqWeightCodes to report.
      if (scale === undefined || layer?.weight === undefined || codes.numel !== layer.weight.numel) continue;
      const q = scope(() => codes.toFloat64Array());
      const steps = scope(() => scale.toFloat64Array());
      const w = dequantizeWeight({ codes: q, scale: steps, shape: layer.weight.shape } as unknown as LowBitWeight);
      const weight = layer.weight;
      scope(() => noGrad(() => weight.copy_(fromArray(w, weight.shape))));
    }
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

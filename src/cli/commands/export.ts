import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LowbitError, UsageError } from '../../errors.ts';
import { checkMatchesWeight, fromPtqCodes, saveOnnx, type LowBitWeight, type OnnxExportResult } from '../../export/index.ts';
import { loadSafetensors, type Conv2d, type Linear, type Module } from '../../nn/index.ts';
import { codeRange, PTQ_METADATA_KEY as PTQ_KEY, quantizableLayers, type PtqConfig } from '../../ptq/index.ts';
import { isFloatBits } from '../../quant/index.ts';
import { zeros, scope } from '../../tensor/index.ts';
import { loadCheckpoint } from '../../train/index.ts';
import { optionalInt, stringOption, type Command } from '../command.ts';
import { info, output } from '../output.ts';

/**
 * The integer codes of a `lowbit ptq` result, by layer name, from its codes.safetensors. The file has
 * codes and steps only; the code range follows from the recorded config: first and last layer (in
 * forward order) at firstLastBits, the others at bits, in the alphabet's convention.
 */
export function ptqWeightCodes(model: Module, codesPath: string, inputShape: number[]): Map<string, LowBitWeight> {
  if (!existsSync(codesPath)) {
    throw new UsageError(`${codesPath} does not exist: a ptq checkpoint is exported from its codes.safetensors (pass --codes PATH)`);
  }
  const file = loadSafetensors(codesPath);
  try {
    const raw = file.metadata[PTQ_KEY];
    if (raw === undefined) throw new LowbitError(`${codesPath} has no '${PTQ_KEY}' metadata: it was not written by lowbit ptq`);
    const config = JSON.parse(raw) as PtqConfig;
    const layers = scope(() => quantizableLayers(model, zeros([1, ...inputShape])));
    const codes = new Map<string, LowBitWeight>();
    layers.forEach(({ name, module }, i) => {
      const bits = i === 0 || i === layers.length - 1 ? (config.firstLastBits ?? 8) : config.bits;
      const c = file.tensors.get(`${name}.weight_codes`);
      const s = file.tensors.get(`${name}.weight_scale`);
      if (isFloatBits(bits) && c === undefined) return;
      if (c === undefined || s === undefined) throw new LowbitError(`${codesPath} has no codes for layer '${name}'; it belongs to another model`);
      const lw = fromPtqCodes(c, s, { ...codeRange(bits, config.convention ?? 'signed'), bits }, (module as Conv2d | Linear).weight.shape, `${codesPath}: ${name}`);
      checkMatchesWeight(lw, (module as Conv2d | Linear).weight, `${codesPath}: ${name}`);
      codes.set(name, lw);
    });
    return codes;
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

export function formatExportTable(r: OnnxExportResult): string {
  const rows = r.layers.map((l) => `  ${l.name.padEnd(26)} ${l.kind.padEnd(6)} ${l.format.padEnd(11)} ${l.storage.padEnd(20)} ${String(l.weightBytes).padStart(9)}  ${l.inputQuant ?? '-'}`);
  return [`  ${'layer'.padEnd(26)} ${'kind'.padEnd(6)} ${'format'.padEnd(11)} ${'weight type'.padEnd(20)} ${'bytes'.padStart(9)}  input`, ...rows].join('\n');
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a checkpoint as ONNX: float, QAT or PTQ models, weights at their real bit width',
  usage: 'lowbit export --checkpoint PATH [--format onnx] [--opset N] [--out FILE.onnx] [--matmul-nbits] [--codes PATH]',
  examples: [
    'lowbit export --checkpoint runs/r20/model.safetensors',
    'lowbit export --checkpoint runs/ptq-gpfq-1/model.safetensors --out r20-w2.onnx',
    'lowbit export --checkpoint runs/qat-mlp/model.safetensors --matmul-nbits --opset 21 --json',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'PATH', description: 'model.safetensors written by lowbit train, qat or ptq' },
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
  },
  run(o) {
    const checkpoint = stringOption(o, 'checkpoint');
    const opset = optionalInt(o, 'opset', 1);
    if (opset !== undefined && (opset < 13 || opset > 26)) throw new UsageError(`--opset ${opset}: choose 13 to 26 (onnxruntime 1.30 rejects 27 and later)`);
    const out = typeof o.out === 'string' ? o.out : checkpoint.replace(/\.safetensors$/, '') + '.onnx';
    const { model, modelConfig, metadata, extraTensors } = loadCheckpoint(checkpoint);
    for (const t of extraTensors.values()) t.dispose();
    const inputShape = [modelConfig.inChannels, ...modelConfig.inputSize];
    // A ptq checkpoint with a recorded QuantConfig rebuilt fixed-grid quantized layers that export their
    // own codes; older ptq checkpoints (plain layers) take their codes from codes.safetensors.
    const weightCodes = metadata[PTQ_KEY] !== undefined && modelConfig.quant === undefined ? ptqWeightCodes(model, typeof o.codes === 'string' ? o.codes : join(dirname(checkpoint), 'codes.safetensors'), inputShape) : undefined;
    const r = saveOnnx(out, model, {
      inputShape,
      opset,
      matmulNBits: o['matmul-nbits'] === true,
      narrowActivations: o['narrow-activations'] === true,
      weightCodes,
      docString: `lowbit export of ${checkpoint} (${modelConfig.name})`,
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

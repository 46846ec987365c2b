/**
 * lowbit model -> ONNX ModelProto bytes.
 *
 * The model is walked module by module (emitters.ts): a module is written by the emitter of its class
 * (emit-layers.ts, emit-residual.ts, emit-graph-module.ts, or one the caller passes), else as its
 * forward chain. Walking modules, rather than tracing tensor ops, is what a model zoo with hand-written
 * forward() methods needs (a BasicBlock's addition is no module call), and a module that is neither
 * is refused by name instead of being exported wrong.
 *
 * Opset: by default the lowest that holds the integer types the weights need, 13 (int8 or float
 * only), 21 (int4) or 25 (int2), so a float or 8-bit file opens in older runtimes too. An explicit
 * opset may be 13 to 26 (onnxruntime 1.30 rejects 27 and later); below 25 or 21 the narrow types are
 * not available and codes are widened (2-bit codes in int4 at opsets 21-24, in int8 below 21).
 */
import { LowbitError } from '../../errors.ts';
import type { Module } from '../../nn/index.ts';
import { noGrad, scope, zeros } from '../../tensor/index.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { EmitContext, EmitterEntry, ExportedLayer } from './emit-context.ts';
import { emitModule, emitterTable } from './emitters.ts';
import { OnnxGraphBuilder } from './graph-builder.ts';
import type { LowBitWeight } from './low-bit-weight.ts';
import { DataType, encodeModel, graph, model as modelProto, node, valueInfo } from './proto.ts';

export const MIN_OPSET = 13;
/** onnxruntime 1.30 refuses default-domain opsets above 26 (ValidateOpsetForDomain). */
export const MAX_OPSET = 26;

/** IR version per opset (onnx/helper.py VERSION_TABLE); int2/uint2 need IR 13 readers. */
function irVersionFor(opset: number): number {
  if (opset >= 25) return 13;
  if (opset >= 23) return 11;
  if (opset >= 21) return 10;
  if (opset >= 19) return 9;
  if (opset >= 15) return 8;
  return 7;
}

export interface OnnxExportOptions {
  /** One sample's shape without the batch dim: [C, H, W] for images. The batch dim stays symbolic ('N'). */
  inputShape: number[];
  /** Default: the lowest opset holding the weights' integer types (13, 21 or 25). */
  opset?: number;
  /** Quantized Linear layers as com.microsoft::MatMulNBits (2, 4 or 8 bits) instead of DequantizeLinear + MatMul. */
  matmulNBits?: boolean;
  /**
   * Activation Q/DQ pairs in the grid's own sub-byte type (uint2 for 2-bit activations) instead of
   * uint8 / int8 with a Clip to the grid (same values). Default false: onnxruntime 1.30 fails to load
   * sub-byte activation Q/DQ next to MaxPool at its default optimization level.
   */
  narrowActivations?: boolean;
  /** Integer codes of float Conv2d / Linear layers by module name (the codes `lowbit ptq` writes). */
  weightCodes?: Map<string, LowBitWeight>;
  /** Free text stored as the model's doc_string. */
  docString?: string;
  /**
   * Emitters for module classes lowbit does not know (or to replace a built-in one), matched on the
   * exact class: [[MyBlock, (m, input, ctx) => outputValueName]]. Modules whose forward() is a chain of
   * exportable modules need none (see forwardChain).
   */
  emitters?: readonly EmitterEntry[];
  /** Graph input / output value names (default 'input' / 'output'); an imported model keeps its own. */
  inputName?: string;
  outputName?: string;
  /** Key-value pairs stored as the model's metadata_props (dataset, normalization: see data/provenance). */
  metadata?: Record<string, string>;
}

export interface OnnxExportResult {
  bytes: Uint8Array;
  opset: number;
  irVersion: number;
  inputName: string;
  outputName: string;
  /** Output shape of one sample (without the batch dim). */
  outputShape: number[];
  layers: ExportedLayer[];
}

export function checkOpset(opset: number): number {
  if (!(Number.isInteger(opset) && opset >= MIN_OPSET && opset <= MAX_OPSET)) {
    throw new LowbitError(
      `ONNX export: opset ${opset} is not supported; choose ${MIN_OPSET} to ${MAX_OPSET} ` +
        '(13 is the first with per-channel DequantizeLinear; onnxruntime 1.30 rejects 27 and later)',
    );
  }
  return opset;
}

export function exportOnnx(model: Module, opts: OnnxExportOptions): OnnxExportResult {
  const opset = opts.opset === undefined ? undefined : checkOpset(opts.opset);
  const inputShape = opts.inputShape;
  if (!(inputShape.length >= 1 && inputShape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new LowbitError(`ONNX export: input shape [${inputShape.join(', ')}] must be positive integers (one sample, without the batch dim)`);
  }
  const outputShape = probeOutputShape(model, inputShape);
  const names = new Map<Module, string>();
  for (const [n, m] of model.namedModules()) names.set(m, n);
  const usedCodes = new Set<string>();
  // Emit at the highest opset first to learn which types the weights need, unless one was asked for.
  const builder = new OnnxGraphBuilder(opset ?? 25);
  const layers: ExportedLayer[] = [];
  const emitters = emitterTable(opts.emitters);
  const ctx: EmitContext = {
    builder,
    matmulNBits: opts.matmulNBits ?? false,
    narrowActivations: opts.narrowActivations ?? false,
    layers,
    nameOf: (m) => names.get(m) ?? '',
    codesFor: (m) => {
      const name = names.get(m);
      const lw = name === undefined ? undefined : opts.weightCodes?.get(name);
      if (lw !== undefined) usedCodes.add(name!);
      return lw;
    },
    emit: (m, input) => emitModule(m, input, ctx, emitters, names.get(m) ?? '?'),
  };
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'output';
  if (inputName === outputName || inputName === '' || outputName === '') {
    throw new LowbitError(`ONNX export: input and output names must be two different non-empty names, got '${inputName}' and '${outputName}'`);
  }
  builder.reserve(inputName);
  builder.reserve(outputName);
  const last = ctx.emit(model, inputName);
  builder.nodes.push(node('Identity', [last], [outputName], { name: outputName }));
  const unused = [...(opts.weightCodes?.keys() ?? [])].filter((k) => !usedCodes.has(k));
  if (unused.length > 0) {
    throw new LowbitError(`ONNX export: weight codes given for ${unused.join(', ')}, which the model does not run as a Conv2d or Linear layer`);
  }
  const finalOpset = opset ?? builder.requiredOpset;
  const opsets: Record<string, number> = { '': finalOpset };
  if (builder.domains.has('com.microsoft')) opsets['com.microsoft'] = 1;
  const g = graph({
    name: 'lowbit',
    nodes: builder.nodes,
    initializers: builder.initializers,
    inputs: [valueInfo(inputName, DataType.FLOAT, ['N', ...inputShape])],
    outputs: [valueInfo(outputName, DataType.FLOAT, ['N', ...outputShape])],
  });
  const irVersion = irVersionFor(finalOpset);
  const bytes = encodeModel(modelProto({ graph: g, irVersion, opsets, producerVersion: '0.1.0', docString: opts.docString, metadata: opts.metadata }));
  return { bytes, opset: finalOpset, irVersion, inputName, outputName, outputShape, layers };
}

/** Exports and writes the file atomically (readers never see a half-written model). */
export function saveOnnx(path: string, model: Module, opts: OnnxExportOptions): OnnxExportResult {
  const result = exportOnnx(model, opts);
  writeFileAtomic(path, result.bytes);
  return result;
}

/** One zero sample through the model in eval mode: checks the input shape and gives the output's. */
function probeOutputShape(model: Module, inputShape: number[]): number[] {
  const modes = model.modules().map((m) => [m, m.training] as const);
  try {
    model.eval();
    return scope(() => noGrad(() => model.call(zeros([1, ...inputShape])).shape.slice(1)));
  } catch (err) {
    if (err instanceof LowbitError) throw err;
    throw new LowbitError(`ONNX export: the model does not run on inputs of shape [N, ${inputShape.join(', ')}]: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const [m, training] of modes) m.training = training;
  }
}

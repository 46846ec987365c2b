/**
 * The two ends of `lowbit ptq --onnx`: an ONNX file in as a lowbit model, and the quantized result out
 * as low-bit ONNX built from the per-layer codes the PTQ run produced.
 */
import type { LayerReport, PtqConfig } from '../ptq/index.ts';
import { codeRange } from '../ptq/index.ts';
import type { Conv2d, Linear } from '../nn/index.ts';
import { QuantConv2d, QuantLinear } from '../quant/index.ts';
import { loadOnnx } from './import/import-onnx.ts';
import type { OnnxGraphModule } from './import/onnx-graph-module.ts';
import { saveOnnx, type OnnxExportResult } from './onnx/export-onnx.ts';
import { fromPtqCodes, type LowBitWeight } from './onnx/low-bit-weight.ts';

/** An ONNX model to quantize, shaped like a loaded checkpoint (its config names the source file). */
export function loadOnnxForPtq(path: string): { model: OnnxGraphModule; modelConfig: Record<string, unknown> } {
  const model = loadOnnx(path).toMemoryFormat_('channelsLast');
  return { model, modelConfig: { name: 'onnx', source: path, inputShape: model.sampleShape() } };
}

/**
 * Writes the PTQ result `model` with integer weights, the original input / output names, and
 * `metadata` (e.g. datasetMetadata()) as metadata_props. Its layers are either plain ones holding the
 * dequantized codes (quantizeNetwork's result), written from `reports`, or the fixed-grid quantized
 * layers of toQuantModel (runPtq), which write their own codes and, with activation quantization, a
 * QuantizeLinear -> DequantizeLinear pair on their input. That pair is uint8 with a Clip to the b-bit
 * grid by default (see emit-quant.ts): onnxruntime runs it at every optimization level, where uint2 /
 * uint4 activation Q/DQ fails to load next to MaxPool, and the values are the b-bit grid's either way.
 */
export function savePtqOnnx(path: string, model: OnnxGraphModule, reports: LayerReport[], config: PtqConfig, metadata?: Record<string, string>): OnnxExportResult {
  const codes = new Map<string, LowBitWeight>();
  for (const r of reports) {
    const layer = model.getSubmodule(r.name) as Conv2d | Linear;
    if (layer instanceof QuantConv2d || layer instanceof QuantLinear) continue;
    codes.set(r.name, fromPtqCodes(r.codes, r.scales, { ...codeRange(r.bits, config.convention ?? 'signed'), bits: r.bits }, layer.weight.shape, r.name));
  }
  return saveOnnx(path, model, {
    inputShape: model.sampleShape(),
    weightCodes: codes,
    docString: `lowbit ptq ${config.method} W${config.bits} of ${model.source}`,
    // The names the model's users feed and fetch stay what the original file called them.
    inputName: model.input.name,
    outputName: model.outputName,
    metadata,
  });
}

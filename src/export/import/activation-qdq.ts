/**
 * QuantizeLinear / DequantizeLinear of computed values (activation quantization in a QDQ file, as
 * `lowbit ptq --abits` and QAT exports write it) imported as fake quantization, so such a file
 * evaluates, quantizes and exports again like any other. DequantizeLinear of constant weights never
 * gets here: it is folded into the float weight when the file is read (fold-constants.ts).
 *
 * Semantics (ONNX operator docs): QuantizeLinear y = saturate(round(x / scale) + zero_point) to the
 * zero point's type, rounding half to even (as torch.round does); DequantizeLinear x = (y - zero_point)
 * * scale. The integer values travel between the two steps as float tensors, which hold them exactly.
 * Only per-tensor (scalar) scales are imported: activations are quantized per tensor in practice.
 */
import { LowbitError } from '../../errors.ts';
import type { Tensor } from '../../tensor/index.ts';
import type { EmitContext } from '../onnx/emit-context.ts';
import { intTypeByDataType } from '../onnx/int-types.ts';
import { intRange } from '../onnx/pack.ts';
import { attribute, DataType } from '../onnx/proto.ts';
import type { Attributes } from './attributes.ts';
import type { HostTensor } from './tensor-proto.ts';

/** What compileNode hands over for one Q or DQ node with a computed input. */
export interface QdqNodeArgs {
  opType: 'QuantizeLinear' | 'DequantizeLinear';
  attrs: Attributes;
  /** The node's constant input i, or undefined when the input is absent. */
  constantAt(i: number, what: string): HostTensor | undefined;
  baseName: string;
  where: string;
}

export interface CompiledQdq {
  run(x: Tensor): Tensor;
  emit(ctx: EmitContext, x: string): string;
}

export function compileActivationQdq({ opType, attrs, constantAt, baseName, where }: QdqNodeArgs): CompiledQdq {
  if (attrs.int('block_size', 0) !== 0) throw new LowbitError(`${where}: blocked ${opType} of a computed value is not supported`);
  const scaleT = constantAt(1, 'scale');
  if (scaleT === undefined || scaleT.kind !== 'float' || scaleT.data.length !== 1) {
    throw new LowbitError(`${where}: only a per-tensor (scalar) float scale is supported for a computed input; per-axis activation quantization is not`);
  }
  const scale = scaleT.data[0];
  if (!(scale > 0 && Number.isFinite(scale))) throw new LowbitError(`${where}: scale ${scale} must be positive and finite`);
  const zpT = constantAt(2, 'zero point');
  if (zpT !== undefined && (zpT.kind !== 'int' || zpT.data.length !== 1)) throw new LowbitError(`${where}: the zero point must be one integer`);
  const zeroPoint = zpT === undefined ? 0 : Number(zpT.data[0]);
  // The quantized type: the zero point's, else QuantizeLinear's output_dtype (opset 21), else uint8.
  const dataType = zpT?.kind === 'int' && zpT.dataType !== undefined ? zpT.dataType : attrs.int('output_dtype', 0) || DataType.UINT8;
  const type = intTypeByDataType(dataType);
  if (type === undefined) throw new LowbitError(`${where}: quantized type ${DataType[dataType] ?? dataType} is not supported; lowbit imports the 2-16-bit integer types`);
  const { min, max } = intRange(type.width, type.signed);

  const emitArgs = (ctx: EmitContext): string[] => {
    const b = ctx.builder;
    const s = b.floatInit(`${baseName}.scale`, [], [scale]);
    return zpT === undefined ? [s] : [s, b.intInit(`${baseName}.zero_point`, type, [], [zeroPoint])];
  };
  if (opType === 'QuantizeLinear') {
    const outputDtype = zpT === undefined && attrs.has('output_dtype') ? [attribute('output_dtype', dataType)] : [];
    return {
      run: (x) => x.div(scale).round().add(zeroPoint).clamp(min, max),
      emit: (ctx, x) => ctx.builder.add('QuantizeLinear', [x, ...emitArgs(ctx)], baseName, outputDtype),
    };
  }
  return {
    run: (q) => q.sub(zeroPoint).mul(scale),
    emit: (ctx, q) => ctx.builder.add('DequantizeLinear', [q, ...emitArgs(ctx)], baseName),
  };
}

import type { Module } from '../../nn/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import type { EmitContext } from '../onnx/emit-context.ts';
import type { NodeProto } from '../onnx/proto.ts';

/**
 * One ONNX node compiled for lowbit: how to compute it, and how to write it back to ONNX. Conv, Gemm,
 * MatMul-by-a-constant and BatchNormalization nodes become real lowbit modules (`module`), so code
 * that looks for Conv2d / Linear layers (PTQ, complexity counts, quantizeModel) finds them.
 */
export interface GraphStep {
  node: NodeProto;
  /** "node 'conv1' (Conv)", for messages. */
  where: string;
  /** Value names of the non-constant inputs, in the order run() takes them. */
  inputs: string[];
  output: string;
  /** The layer a Conv / Gemm / MatMul / BatchNormalization node runs (read at each call, see LayerRef). */
  layer?: () => Module;
  run(args: Tensor[]): Tensor;
  /** Writes the node (or its module) to an export graph; `args` are the export value names of `inputs`. */
  emit(ctx: EmitContext, args: string[]): string;
}

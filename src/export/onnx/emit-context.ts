/**
 * What an emitter sees: the graph being built, the export options, and a way to emit child modules.
 * An emitter turns one module into ONNX nodes that compute exactly its forward(), given the value
 * name of its input, and returns the value name of its output.
 */
import type { Module } from '../../nn/index.ts';
import type { OnnxGraphBuilder } from './graph-builder.ts';
import type { LowBitWeight } from './low-bit-weight.ts';

/** How one Conv2d / Linear was written, for the export report. */
export interface ExportedLayer {
  name: string;
  kind: 'conv' | 'linear';
  /** float: float32 initializer; qdq: DequantizeLinear from integer codes; matmulnbits: com.microsoft::MatMulNBits. */
  format: 'float' | 'qdq' | 'matmulnbits';
  /** The stored element type of the weight ('float32', 'int2', 'uint4', ...; 'uint8 packed' for MatMulNBits). */
  storage: string;
  /** Nominal weight bits; null for float layers. */
  bits: number | null;
  /** Bytes of the weight (and its scales), as stored. */
  weightBytes: number;
  /** Input activations quantized on entry: the ONNX type of the QuantizeLinear output, or null. */
  inputQuant: string | null;
}

export interface EmitContext {
  readonly builder: OnnxGraphBuilder;
  /** Write quantized Linear layers as com.microsoft::MatMulNBits where the grid allows. */
  readonly matmulNBits: boolean;
  /** Activation Q/DQ in the narrowest type of the grid (uint2 for 2 bits) instead of 8-bit containers. */
  readonly narrowActivations: boolean;
  /** The dotted name of a module in the exported model ('layers.0.conv1'); '' for the root. */
  nameOf(m: Module): string;
  /** Integer codes for a float Conv2d / Linear whose weight was quantized elsewhere (lowbit ptq). */
  codesFor(m: Module): LowBitWeight | undefined;
  /** Emits any module through the emitter registered for its class. */
  emit(m: Module, input: string): string;
  readonly layers: ExportedLayer[];
}

/**
 * Writes one module's forward() as ONNX nodes: gets the module, the value name of its input and the
 * context, returns the value name of its output. Child modules go through ctx.emit.
 */
// Emitters receive modules of their own registered class; `any` keeps the registry one table.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Emitter = (m: any, input: string, ctx: EmitContext) => string;

/** A module class (Conv2d, BasicBlock, a user's block). */
export type ModuleClass = abstract new (...args: never[]) => Module;

/** An emitter and the class it writes; matched on the exact class, so a subclass needs its own entry. */
export type EmitterEntry = readonly [ModuleClass, Emitter];

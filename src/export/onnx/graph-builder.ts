/**
 * Collects the nodes and initializers of one ONNX graph while the emitters walk a model. Value names
 * follow the model's own dotted module names ('layers.0.conv1.weight_codes'), made unique on clash,
 * so a file opened in Netron reads like the lowbit model it came from.
 */
import { LowbitError } from '../../errors.ts';
import { packIntegers } from './pack.ts';
import type { IntType } from './int-types.ts';
import { attribute, floatTensor, int64Tensor, node, rawTensor, type AttributeProto, type NodeProto, type TensorProto } from './proto.ts';

export class OnnxGraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** Non-default operator domains the graph uses (com.microsoft for MatMulNBits). */
  readonly domains = new Set<string>();
  /** The lowest opset that holds every type written so far (13: per-axis DequantizeLinear). */
  requiredOpset = 13;
  private readonly used = new Set<string>();

  constructor(readonly opset: number) {}

  /** `base`, or base_1, base_2, ... when taken. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Reserves a name the graph gets from outside (its input). */
  reserve(name: string): void {
    if (this.used.has(name)) throw new LowbitError(`ONNX export: value name '${name}' is used twice`);
    this.used.add(name);
  }

  /** Appends a node; returns its output value name(s), one per requested output. */
  add(opType: string, inputs: string[], outputBase: string, attributes: AttributeProto[] = [], domain = ''): string {
    const out = this.unique(outputBase);
    if (domain !== '') this.domains.add(domain);
    this.nodes.push(node(opType, inputs, [out], { name: out, domain, attributes }));
    return out;
  }

  floatInit(base: string, dims: readonly number[], values: Float32Array | readonly number[]): string {
    const name = this.unique(base);
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }

  int64Init(base: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.unique(base);
    this.initializers.push(int64Tensor(name, dims, values));
    return name;
  }

  /** Integer codes stored at the type's real width (packed for 2 and 4 bits). */
  intInit(base: string, type: IntType, dims: readonly number[], values: ArrayLike<number>): string {
    const name = this.unique(base);
    this.requiredOpset = Math.max(this.requiredOpset, type.minOpset);
    this.initializers.push(rawTensor(name, type.dataType, dims, packIntegers(values, type.width, type.signed)));
    return name;
  }

  rawInit(base: string, tensor: (name: string) => TensorProto): string {
    const name = this.unique(base);
    this.initializers.push(tensor(name));
    return name;
  }
}

export { attribute };

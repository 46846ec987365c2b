/**
 * Typed access to an ONNX node's attributes. Its own file because both the reader (read-model.ts, via
 * constant folding) and the node compiler use it; living in read-model.ts it made fold-constants.ts
 * and read-model.ts import each other.
 */
import { LowbitError } from '../../errors.ts';
import { AttributeType, type AttributeProto, type NodeProto } from '../onnx/proto.ts';

/** Typed access to a node's attributes, with defaults and errors that name the node. */
export class Attributes {
  private readonly byName = new Map<string, AttributeProto>();

  constructor(
    node: NodeProto,
    private readonly where: string,
  ) {
    for (const a of node.attribute) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback?: number): number {
    const a = this.byName.get(name);
    if (a === undefined) return this.missing(name, fallback);
    if (a.type !== AttributeType.INT && a.type !== AttributeType.UNDEFINED) throw new LowbitError(`${this.where}: attribute '${name}' must be an int`);
    return Number(a.i);
  }

  float(name: string, fallback?: number): number {
    const a = this.byName.get(name);
    if (a === undefined) return this.missing(name, fallback);
    if (a.type !== AttributeType.FLOAT && a.type !== AttributeType.UNDEFINED) throw new LowbitError(`${this.where}: attribute '${name}' must be a float`);
    return a.f;
  }

  ints(name: string, fallback?: number[]): number[] {
    const a = this.byName.get(name);
    if (a === undefined) return this.missing(name, fallback);
    if (a.type !== AttributeType.INTS && a.type !== AttributeType.UNDEFINED) throw new LowbitError(`${this.where}: attribute '${name}' must be a list of ints`);
    return a.ints.map(Number);
  }

  string(name: string, fallback?: string): string {
    const a = this.byName.get(name);
    if (a === undefined) return this.missing(name, fallback);
    return new TextDecoder().decode(a.s);
  }

  private missing<T>(name: string, fallback: T | undefined): T {
    if (fallback === undefined) throw new LowbitError(`${this.where}: required attribute '${name}' is missing`);
    return fallback;
  }
}

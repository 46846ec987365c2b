/**
 * A lowbit Module that runs an imported ONNX graph. Its Conv / Gemm / MatMul-by-constant /
 * BatchNormalization nodes are real Conv2d / Linear / BatchNorm2d children (named after the ONNX
 * nodes), called through Module.call so forward hooks see them: `lowbit ptq` finds and quantizes
 * them exactly as in a model-zoo network. The other nodes run as tensor ops.
 */
import { LowbitError } from '../../errors.ts';
import { Module } from '../../nn/index.ts';
import { fromArray, type Tensor } from '../../tensor/index.ts';
import { compileNode, type StepOwner } from './compile-node.ts';
import type { GraphStep } from './graph-step.ts';
import type { GraphInput, ReadGraph } from './read-model.ts';

export class OnnxGraphModule extends Module {
  readonly input: GraphInput;
  readonly outputName: string;
  readonly steps: GraphStep[];
  /** Where the graph came from, for messages. */
  readonly source: string;
  private readonly constantTensors = new Map<string, Tensor>();
  private readonly memberNames = new Set<string>();

  constructor(graph: ReadGraph, source: string) {
    super();
    this.source = source;
    this.input = graph.input;
    this.outputName = graph.output;
    const owner: StepOwner = {
      addModule: (base, m) => this.registerModule(this.memberName(base), m),
      constTensor: (name) => {
        let t = this.constantTensors.get(name);
        if (t === undefined) {
          const c = graph.constants.get(name)!;
          const data = c.kind === 'float' ? c.data : Float32Array.from(c.data);
          t = this.registerBuffer(this.memberName(`const_${name}`), fromArray(data, c.dims));
          this.constantTensors.set(name, t);
        }
        return t;
      },
    };
    this.steps = graph.nodes.map((n, i) => compileNode(n, i, graph, owner, source));
    // Constants are created at compile time (not lazily in forward) so they are owned buffers from the start.
    for (const s of this.steps) for (const name of s.node.input) if (graph.constants.has(name) && s.module === undefined && isRuntimeConstant(s, name)) owner.constTensor(name);
    if (!this.steps.some((s) => s.output === this.outputName) && this.outputName !== this.input.name) {
      throw new LowbitError(`${source}: the graph output '${this.outputName}' is a constant; lowbit imports models whose output depends on the input`);
    }
  }

  /** A valid, unique member name (no dots) derived from an ONNX name. */
  private memberName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_]/g, '_') || 'node';
    let name = clean;
    for (let i = 1; this.memberNames.has(name); i++) name = `${clean}_${i}`;
    this.memberNames.add(name);
    return name;
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const values = new Map<string, Tensor>([[this.input.name, x]]);
    for (const s of this.steps) {
      const args = s.inputs.map((n) => values.get(n)!);
      let y: Tensor;
      try {
        y = s.run(args);
      } catch (err) {
        // The compute core throws plain Errors (a shape that does not fit a weight): give them the
        // node's name. Other classes pass through: LowbitErrors, and control flow such as the
        // exception PTQ throws from a layer call to stop a forward pass once it has the layer's input.
        if (!(err instanceof Error) || err.constructor !== Error) throw err;
        const shapes = args.map((a) => `[${a.shape.join(', ')}]`).join(', ');
        throw new LowbitError(`${s.where} failed on input shape(s) ${shapes}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
      values.set(s.output, y);
    }
    return values.get(this.outputName)!;
  }

  private checkInput(x: Tensor): void {
    const want = this.input.shape;
    const ok = x.ndim === want.length && want.every((d, i) => d === null || d === x.shape[i]);
    if (!ok) {
      const fmt = want.map((d) => (d === null ? 'N' : String(d))).join(', ');
      throw new LowbitError(`${this.source}: input of shape [${x.shape.join(', ')}] does not match the model input '${this.input.name}' of shape [${fmt}]`);
    }
  }

  /** One sample's input shape (without the batch dim), when every dim after the batch is fixed. */
  sampleShape(): number[] {
    const rest = this.input.shape.slice(1);
    if (rest.some((d) => d === null)) {
      throw new LowbitError(`${this.source}: input '${this.input.name}' has symbolic dims beyond the batch; lowbit needs a fixed sample shape`);
    }
    return rest as number[];
  }

  override describe(): string {
    return `OnnxGraphModule(${this.steps.length} nodes from ${this.source})`;
  }
}

function isRuntimeConstant(s: GraphStep, name: string): boolean {
  // Ops whose constant operands are used as tensors at run time; the rest read constants at compile time.
  return ['Add', 'MatMul', 'Concat'].includes(s.node.opType) && s.node.input.includes(name);
}

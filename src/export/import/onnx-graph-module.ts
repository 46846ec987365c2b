/**
 * A lowbit Module that runs an imported ONNX graph. Its Conv / Gemm / MatMul-by-constant /
 * BatchNormalization nodes are real Conv2d / Linear / BatchNorm2d children, named after the model's
 * own modules where the file tells them (`features.0.0`, see layer-names.ts) and called through
 * Module.call so forward hooks see them: `lowbit ptq` finds and quantizes them exactly as in a
 * model-zoo network. The other nodes run as tensor ops; shape arithmetic is folded at import
 * (shape-fold.ts). The leading input dim is the batch, so a file exported with batch 1 runs any batch.
 */
import { LowbitError } from '../../errors.ts';
import { Module } from '../../nn/index.ts';
import { fromArray, noGrad, scope, zeros, type Tensor } from '../../tensor/index.ts';
import { compileNode, IMPORTED_OPS, type LayerRef, type StepOwner } from './compile-node.ts';
import type { GraphStep } from './graph-step.ts';
import type { GraphInput, ReadGraph } from './read-model.ts';
import { foldShapeNode, isBatchDim, SHAPE_OPS, type ShapeValue, type SymDim } from './shape-fold.ts';

/** A namespace in a layer path (`features` in `features.0.0`); it is never called. */
export class LayerGroup extends Module {
  private readonly names = new Set<string>();

  /** Registers `m` as child `name`, or as name_1, name_2, ... when taken; returns the name used. */
  add(name: string, m: Module): string {
    const unique = uniqueName(name, this.names);
    this.registerModule(unique, m);
    return unique;
  }

  child(name: string): Module | undefined {
    for (const [n, c] of this.namedChildren()) if (n === name) return c;
    return undefined;
  }

  forward(): Tensor {
    throw new LowbitError('LayerGroup only names layers of an imported graph; it is not called');
  }
}

export class OnnxGraphModule extends Module {
  readonly input: GraphInput;
  readonly outputName: string;
  readonly steps: GraphStep[] = [];
  /** Where the graph came from, for messages. */
  readonly source: string;
  private readonly constantTensors = new Map<string, Tensor>();
  private readonly memberNames = new Set<string>();
  /** Batch size of the forward pass in progress (shape values that scale with N resolve to it). */
  private batch = 1;

  constructor(graph: ReadGraph, source: string) {
    super();
    this.source = source;
    this.input = graph.input;
    this.outputName = graph.output;
    checkOps(graph, source);
    const symbolic = new Map<string, ShapeValue>();
    const owner: StepOwner = {
      addModule: (base, m) => this.addLayer(base, m),
      constTensor: (name) => {
        let t = this.constantTensors.get(name);
        if (t === undefined) {
          const c = graph.constants.get(name)!;
          const data = c.kind === 'float' ? c.data : Float32Array.from(c.data);
          t = this.registerBuffer(uniqueName(`const_${name}`.replace(/[^A-Za-z0-9_]/g, '_'), this.memberNames), fromArray(data, c.dims));
          this.constantTensors.set(name, t);
        }
        return t;
      },
      shapeValue: (name) => symbolic.get(name),
      valueShape: (name) => this.probeShape(name),
      batchSize: () => this.batch,
    };
    graph.nodes.forEach((n, i) => {
      const where = `${source}: node '${n.name || `#${i}`}' (${n.opType})`;
      const folded = foldShapeNode(n, { opset: graph.opset, constants: graph.constants, symbolic, tensorShape: (name) => this.probeShape(name) }, where);
      if (folded !== null) {
        if (folded.data.some(isBatchDim)) symbolic.set(n.output[0], folded);
        else graph.constants.set(n.output[0], { dims: folded.dims, kind: 'int', data: folded.data as number[] });
        return;
      }
      try {
        this.steps.push(compileNode(n, i, graph, owner, source));
      } catch (err) {
        // A layer's own check ("Conv2d(3, 8, groups=3): ...") does not know the file or the node.
        if (err instanceof LowbitError && err.message.startsWith(source)) throw err;
        throw new LowbitError(`${where}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
      }
    });
    // Constants are created at compile time (not lazily in forward) so they are owned buffers from the start.
    for (const s of this.steps) for (const name of s.node.input) if (graph.constants.has(name) && s.layer === undefined && isRuntimeConstant(s, name)) owner.constTensor(name);
    if (!this.steps.some((s) => s.output === this.outputName) && this.outputName !== this.input.name) {
      throw new LowbitError(`${source}: the graph output '${this.outputName}' is a constant; lowbit imports models whose output depends on the input`);
    }
  }

  /**
   * Registers a layer under its dotted path, creating LayerGroups for the namespaces on the way, and
   * returns a reference that reads the layer registered there at each call: quantizeModel replaces a
   * Conv2d / Linear child by its quantized version, and the graph must then run (and export) that one.
   */
  private addLayer<M extends Module>(path: string, m: M): LayerRef<M> {
    const at = (dotted: string): LayerRef<M> => () => this.getSubmodule(dotted) as M;
    const parts = path.split('.');
    let group: LayerGroup | null = null;
    const prefix: string[] = [];
    for (const [i, part] of parts.slice(0, -1).entries()) {
      const existing: Module | undefined = group === null ? this.topChild(part) : group.child(part);
      if (existing instanceof LayerGroup) {
        group = existing;
        prefix.push(part);
        continue;
      }
      if (existing !== undefined) {
        // The path runs through a layer (a module with weights of its own): name the rest flat here.
        const flat = parts.slice(i).join('_');
        if (group === null) {
          const name = uniqueName(flat, this.memberNames);
          this.registerModule(name, m);
          return at(name);
        }
        return at([...prefix, group.add(flat, m)].join('.'));
      }
      const created = new LayerGroup();
      if (group === null) {
        prefix.push(uniqueName(part, this.memberNames));
        this.registerModule(prefix[0], created);
      } else {
        prefix.push(group.add(part, created));
      }
      group = created;
    }
    const leaf = parts[parts.length - 1];
    if (group !== null) return at([...prefix, group.add(leaf, m)].join('.'));
    const name = uniqueName(leaf, this.memberNames);
    this.registerModule(name, m);
    return at(name);
  }

  private topChild(name: string): Module | undefined {
    for (const [n, c] of this.namedChildren()) if (n === name) return c;
    return undefined;
  }

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return this.run(x, this.steps, this.outputName);
  }

  /** Runs `steps` on x and returns the value `want`. */
  private run(x: Tensor, steps: readonly GraphStep[], want: string): Tensor {
    this.batch = x.shape[0];
    const values = new Map<string, Tensor>([[this.input.name, x]]);
    for (const s of steps) {
      if (values.has(want)) break;
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
    const out = values.get(want);
    if (out === undefined) throw new LowbitError(`${this.source}: value '${want}' is not computed by the graph`);
    return out;
  }

  /**
   * The shape of computed value `name`, from the steps compiled so far run on zero inputs of two
   * batch sizes: a dim that doubles with the batch is a multiple of N, one that stays is fixed.
   */
  private probeShape(name: string): SymDim[] {
    const sample = this.input.shape.slice(1);
    if (sample.some((d) => d === null)) {
      throw new LowbitError(`${this.source}: input '${this.input.name}' has symbolic dims beyond the batch, so shape arithmetic cannot be folded; export with a fixed sample shape`);
    }
    const shapeAt = (batch: number) =>
      scope(() => noGrad(() => this.run(zeros([batch, ...(sample as number[])]), this.steps, name).shape));
    const [a, b] = [shapeAt(1), shapeAt(2)];
    return a.map((d, i) => {
      if (b[i] === d) return d;
      if (b[i] === 2 * d) return { batch: d };
      throw new LowbitError(`${this.source}: dim ${i} of '${name}' is ${d} at batch 1 and ${b[i]} at batch 2; lowbit folds shapes that are fixed or proportional to the batch`);
    });
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

/** Every node whose op lowbit does not import, named at once (not just the first). */
function checkOps(graph: ReadGraph, source: string): void {
  const known = new Set<string>([...IMPORTED_OPS, ...SHAPE_OPS]);
  const byOp = new Map<string, string[]>();
  graph.nodes.forEach((n, i) => {
    if (known.has(n.opType)) return;
    const list = byOp.get(n.opType) ?? [];
    list.push(n.name || `#${i}`);
    byOp.set(n.opType, list);
  });
  if (byOp.size === 0) return;
  const shown = 4;
  const parts = [...byOp].map(([op, nodes]) => {
    const names = nodes.slice(0, shown).map((n) => `'${n}'`).join(', ');
    const more = nodes.length > shown ? ` and ${nodes.length - shown} more` : '';
    return `unsupported op '${op}' (${nodes.length === 1 ? 'node' : `${nodes.length} nodes:`} ${names}${more})`;
  });
  throw new LowbitError(`${source}: ${parts.join('; ')}. lowbit imports ${[...IMPORTED_OPS, ...SHAPE_OPS].filter((o) => o !== 'Constant').join(', ')}`);
}

function uniqueName(base: string, taken: Set<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_]/g, '_') || 'node';
  let name = clean;
  for (let i = 1; taken.has(name); i++) name = `${clean}_${i}`;
  taken.add(name);
  return name;
}

function isRuntimeConstant(s: GraphStep, name: string): boolean {
  // Ops whose constant operands are used as tensors at run time; the rest read constants at compile time.
  return ['Add', 'Sub', 'Mul', 'Div', 'MatMul', 'Concat'].includes(s.node.opType) && s.node.input.includes(name);
}

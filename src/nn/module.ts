import { LowbitError } from '../errors.ts';
import { keep, noGrad, scope, type Tensor } from '../tensor/index.ts';

export type StateDict = Map<string, Tensor>;

/**
 * Runs before the module's forward with its input (PyTorch's forward pre-hook). Returning a tensor
 * replaces the input forward() sees; returning nothing leaves it.
 */
export type ForwardPreHook = (module: Module, input: Tensor) => Tensor | void;
/**
 * Runs after the module's forward with the input forward() saw and its output (PyTorch's forward
 * hook). Returning a tensor replaces the output the caller gets; returning nothing leaves it.
 */
export type ForwardHook = (module: Module, input: Tensor, output: Tensor) => Tensor | void;

/** Returned by the register*Hook methods; remove() unregisters the hook (calling it twice is harmless). */
export interface RemovableHandle {
  remove(): void;
}

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/**
 * Base class of every layer and model, shaped like torch.nn.Module: parameters, buffers and child
 * modules are registered by name, which gives parameters(), named traversal, train()/eval() and the
 * state dict with PyTorch's dotted keys ("layer1.0.conv1.weight").
 *
 * Parameters and buffers are owned by the module (kept out of every scope) and freed by dispose().
 */
export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly bufs = new Map<string, Tensor | null>();
  private readonly children_ = new Map<string, Module>();
  // Hooks by handle id; Maps iterate in insertion order, so hooks run in the order they were registered.
  private readonly preHooks = new Map<number, ForwardPreHook>();
  private readonly postHooks = new Map<number, ForwardHook>();

  abstract forward(input: Tensor): Tensor;

  /**
   * Runs the forward pre-hooks, forward() and the forward hooks of this module.
   *
   * Each module's temporaries are freed when its call returns, not when the caller's scope ends: a
   * whole network's intermediates otherwise stay alive until the end of the step (1.2 GB for a
   * batch-500 evaluation of a W8A8 ResNet-20). Tensors autograd saved for backward live on natively.
   * A forward that stores a tensor it made must keep() it.
   *
   * Hooks run inside that scope. What a hook may hold on to after the call: the input passed to call()
   * (the caller's) and the output call() returns (it moves to the caller's scope), for as long as the
   * caller keeps them. Any other tensor a hook sees or makes, including an input a pre-hook replaced,
   * an output a forward hook replaced, and a replaced input as the forward hook's `input`, is freed when
   * call() returns unless the hook keep()s it (and then owns it: dispose() it, or adopt() it into a scope).
   */
  call(input: Tensor): Tensor {
    return scope(() => {
      let x = input;
      for (const hook of this.preHooks.values()) x = hook(this, x) ?? x;
      let y = this.forward(x);
      for (const hook of this.postHooks.values()) y = hook(this, x, y) ?? y;
      return y;
    });
  }

  /** Registers a hook run before forward() (see call()); its handle's remove() unregisters it. */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    return addHook(this.preHooks, hook);
  }

  /** Registers a hook run after forward() (see call()); its handle's remove() unregisters it. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    return addHook(this.postHooks, hook);
  }

  /** Registers a trainable tensor (requiresGrad is turned on) under name. */
  protected registerParameter(name: string, t: Tensor): Tensor;
  protected registerParameter(name: string, t: null): null;
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    this.checkName(name);
    if (t !== null) {
      keep(t);
      if (!t.requiresGrad) t.requiresGrad_(true);
    }
    this.params.set(name, t);
    return t;
  }

  /** Registers state that is saved but not trained (BN running statistics). */
  protected registerBuffer(name: string, t: Tensor): Tensor;
  protected registerBuffer(name: string, t: null): null;
  protected registerBuffer(name: string, t: Tensor | null): Tensor | null {
    this.checkName(name);
    if (t !== null) keep(t);
    this.bufs.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    this.children_.set(name, m);
    return m;
  }

  /**
   * Replaces a registered child (e.g. a float layer by its quantized version); the old child is
   * returned, not disposed, because the new one may share its tensors.
   */
  replaceChild(name: string, m: Module): Module {
    const old = this.children_.get(name);
    if (old === undefined) throw new LowbitError(`replaceChild: no child named '${name}' in ${this.constructor.name}`);
    this.children_.set(name, m);
    const self = this as unknown as Record<string, unknown>;
    if (self[name] === old) self[name] = m;
    return old;
  }

  /** Replaces a registered parameter tensor (the old one is disposed). */
  protected replaceParameter(name: string, t: Tensor): Tensor {
    const old = this.params.get(name);
    this.params.delete(name);
    const out = this.registerParameter(name, t);
    if (old && old !== t) old.dispose();
    return out;
  }

  private checkName(name: string): void {
    if (name.includes('.') || name === '') throw new LowbitError(`invalid member name '${name}': must be non-empty without '.'`);
    if (this.params.has(name) || this.bufs.has(name) || this.children_.has(name)) {
      throw new LowbitError(`${this.constructor.name} already has a member named '${name}'`);
    }
  }

  // ------------------------------------------------------------------------------------- traversal
  *namedChildren(): Generator<[string, Module]> {
    yield* this.children_.entries();
  }
  children(): Module[] {
    return [...this.children_.values()];
  }
  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.children_) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [p, t] of m.params) if (t !== null) yield [name ? `${name}.${p}` : p, t];
    }
  }
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [name, m] of this.namedModules(prefix)) {
      for (const [b, t] of m.bufs) if (t !== null) yield [name ? `${name}.${b}` : b, t];
    }
  }
  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, t]) => t);
  }
  /** Calls fn on every module (children first, like PyTorch), e.g. for initialization. */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children_.values()) child.apply(fn);
    fn(this);
    return this;
  }
  /** Finds a descendant by dotted name. */
  getSubmodule(path: string): Module {
    let m: Module = this;
    for (const part of path === '' ? [] : path.split('.')) {
      const next = m.children_.get(part);
      if (next === undefined) throw new LowbitError(`no submodule '${path}' (stopped at '${part}') in ${this.constructor.name}`);
      m = next;
    }
    return m;
  }

  // ------------------------------------------------------------------------------------ mode, grads
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /**
   * Moves every 4-D parameter and buffer to a memory format in place, as PyTorch's
   * `model.to(memory_format=...)`: with channels-last weights and inputs, ATen picks its NHWC
   * convolution kernels (bench/train-throughput measures the gain). References held by optimizers stay valid.
   */
  toMemoryFormat_(format: 'channelsLast' | 'contiguous'): this {
    noGrad(() => {
      for (const t of [...this.parameters(), ...this.buffers()]) {
        if (t.ndim === 4 && !t.isContiguous(format)) {
          const moved = t.contiguous(format);
          t.setData_(moved);
          moved.dispose();
        }
      }
    });
    return this;
  }
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  // ------------------------------------------------------------------------------------- state dict
  /**
   * Parameters and buffers by dotted name (references, not copies), in PyTorch's state_dict order:
   * module by module, each one's parameters then its buffers.
   */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [name, m] of this.namedModules()) {
      for (const own of [m.params, m.bufs]) {
        for (const [k, t] of own) if (t !== null) sd.set(name ? `${name}.${k}` : k, t);
      }
    }
    return sd;
  }

  /**
   * Copies values from a state dict into this module's tensors. With strict (the default) a missing or
   * unexpected key is an error; a shape mismatch always is. dtype is converted to the module's.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !sd.has(k));
    const unexpectedKeys = [...sd.keys()].filter((k) => !own.has(k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.slice(0, 8).join(', ')}${missingKeys.length > 8 ? ', ...' : ''}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.slice(0, 8).join(', ')}${unexpectedKeys.length > 8 ? ', ...' : ''}`);
      throw new LowbitError(
        `state dict does not match ${this.constructor.name}: ${parts.join('; ')}. ` +
          'Check that the checkpoint was saved from the same architecture (model name and widths).',
      );
    }
    const mismatched: string[] = [];
    for (const [k, target] of own) {
      const src = sd.get(k);
      if (src === undefined) continue;
      const a = target.shape.join('x');
      const b = src.shape.join('x');
      if (a !== b) mismatched.push(`${k}: checkpoint [${b}] vs model [${a}]`);
    }
    if (mismatched.length > 0) {
      throw new LowbitError(`state dict shape mismatch for ${mismatched.length} tensor(s): ${mismatched.slice(0, 6).join('; ')}`);
    }
    noGrad(() => {
      for (const [k, target] of own) {
        const src = sd.get(k);
        if (src !== undefined) target.copy_(src);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m.params.values()) t?.dispose();
      for (const t of m.bufs.values()) t?.dispose();
    }
  }

  /** One line per module, like PyTorch's repr. */
  toString(): string {
    const lines: string[] = [];
    for (const [name, m] of this.namedModules()) {
      const depth = name === '' ? 0 : name.split('.').length;
      lines.push(`${'  '.repeat(depth)}${name === '' ? '' : name.split('.').pop() + ': '}${m.describe()}`);
    }
    return lines.join('\n');
  }
  /** A short description of this module's own configuration. */
  describe(): string {
    return this.constructor.name;
  }
}

let nextHookId = 0;

function addHook<H>(hooks: Map<number, H>, hook: H): RemovableHandle {
  const id = nextHookId++;
  hooks.set(id, hook);
  return { remove: () => void hooks.delete(id) };
}

import { LowbitError } from '../errors.ts';
import { enableGrad, keep, noGrad, scope, Tensor } from '../tensor/index.ts';

/** Hyper-parameters every optimizer has; the LR schedulers only touch these. */
export interface BaseHyperParams {
  lr: number;
}

/**
 * A parameter group as given to a constructor: its parameters and any hyper-parameters that override
 * the optimizer's defaults for them, e.g. `{ params: biases, weightDecay: 0 }`.
 */
export type ParamGroup<H extends BaseHyperParams> = { params: Tensor[] } & Partial<H>;

/**
 * A parameter group as the optimizer holds it: every hyper-parameter resolved. `initialLr` is set by
 * the first LR scheduler attached to the optimizer (PyTorch's `initial_lr`) and is the schedule's base.
 */
export type ResolvedGroup<H extends BaseHyperParams> = { params: Tensor[]; initialLr?: number } & H;

/** A group in a state dict: its hyper-parameters and the global indices of its parameters. */
export type GroupStateDict = { params: number[]; initialLr?: number } & Record<string, JsonValue>;

export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a checkpoint saves of an optimizer: two plain JSON parts and the state tensors. A parameter is
 * named by its index in the order of paramGroups (group by group), as in PyTorch.
 */
export interface OptimizerStateDict {
  /** Per group, its hyper-parameters and its parameters' indices. */
  groups: GroupStateDict[];
  /** Per-parameter numbers keyed `state.<paramIndex>.<name>`, e.g. Adam's `state.0.step`. */
  scalars: Record<string, number>;
  /**
   * Per-parameter tensors keyed `state.<paramIndex>.<name>`, e.g. `state.3.momentum_buffer`. These are
   * the optimizer's own tensors, not copies: serialize them before the next step() and never dispose them.
   */
  state: Record<string, Tensor>;
}

/** The state one parameter carries between steps. */
export interface ParamState {
  /** Owned (keep()'d) tensors such as momentum buffers and Adam moments. */
  tensors: Record<string, Tensor>;
  /** Numbers such as Adam's step count. */
  scalars: Record<string, number>;
}

const STATE_KEY = /^state\.(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Base of the optimizers, following torch.optim.Optimizer: parameter groups with per-group
 * hyper-parameters, lazily created per-parameter state, step() / zeroGrad(), and a state dict for
 * checkpoints. The optimizer owns its state tensors; dispose() frees them.
 */
export abstract class Optimizer<H extends BaseHyperParams = BaseHyperParams> {
  readonly defaults: Readonly<H>;
  readonly paramGroups: ResolvedGroup<H>[] = [];
  protected readonly state = new Map<Tensor, ParamState>();
  private disposed = false;

  /** The names of the per-parameter state tensors this optimizer may create (checked on load). */
  protected abstract readonly stateTensorNames: readonly string[];

  constructor(params: Tensor[] | ParamGroup<H>[], defaults: H) {
    this.defaults = Object.freeze({ ...defaults });
    const list = params as unknown[];
    if (!Array.isArray(list) || list.length === 0) {
      throw new LowbitError(`${this.constructor.name}: got an empty parameter list; pass model.parameters() or parameter groups`);
    }
    if (list.every((p) => p instanceof Tensor)) {
      this.addParamGroup({ params: list as Tensor[] } as ParamGroup<H>);
    } else {
      for (const g of list as ParamGroup<H>[]) this.addParamGroup(g);
    }
  }

  /** Adds a group (for example layers unfrozen mid-training); its missing hyper-parameters take the defaults. */
  addParamGroup(group: ParamGroup<H>): void {
    const where = `${this.constructor.name} param group ${this.paramGroups.length}`;
    if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
      throw new LowbitError(`${where}: expected a Tensor[] or { params: Tensor[], ...hyper-parameters }, got ${String(group)}`);
    }
    const known = new Set(['params', 'initialLr', ...Object.keys(this.defaults)]);
    for (const key of Object.keys(group)) {
      if (!known.has(key)) {
        throw new LowbitError(`${where}: unknown hyper-parameter '${key}'; known ones: ${[...known].join(', ')}`);
      }
    }
    const seen = new Set(this.paramGroups.flatMap((g) => g.params));
    for (const p of group.params) {
      if (!(p instanceof Tensor)) throw new LowbitError(`${where}: params must be Tensors, got ${String(p)}`);
      if (!p.isLeaf) {
        throw new LowbitError(`${where}: cannot optimize a non-leaf tensor (${p}); pass the leaf parameter, or detach() it and set requiresGrad`);
      }
      if (seen.has(p)) {
        throw new LowbitError(`${where}: a parameter appears in more than one group (or twice in one); each tensor may be optimized once`);
      }
      seen.add(p);
    }
    const { params, ...overrides } = group;
    // Copied so that groups never share a mutable value (such as Adam's betas) with each other.
    const resolved = { ...structuredClone({ ...this.defaults, ...overrides }), params: [...params] } as ResolvedGroup<H>;
    this.validate(resolved, where);
    this.paramGroups.push(resolved);
  }

  /** Checks a group's hyper-parameters; subclasses add their own checks. */
  protected validate(group: ResolvedGroup<H>, where: string): void {
    if (!(group.lr >= 0)) throw new LowbitError(`${where}: lr must be >= 0, got ${group.lr}`);
  }

  /**
   * One update of every parameter that has a gradient (those with grad === null are skipped). With a
   * closure, it first re-evaluates the model (gradients on) and returns the loss it reports.
   */
  step(closure?: () => number): number | undefined {
    this.checkLive();
    const loss = closure === undefined ? undefined : enableGrad(closure);
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          // One scope per parameter keeps the peak of temporaries at one parameter's worth.
          scope(() => {
            const grad = p.grad;
            if (grad === null) return;
            this.updateParam(p, grad, group, this.stateOf(p));
          });
        }
      }
    });
    return loss;
  }

  /**
   * Updates one parameter in place; runs under noGrad() inside a scope, so temporaries are freed and
   * any tensor stored in `state` must be keep()'d.
   */
  protected abstract updateParam(param: Tensor, grad: Tensor, group: ResolvedGroup<H>, state: ParamState): void;

  /** Clears the gradients: to null (the default, as PyTorch 2) or to zeros in place. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (setToNone) {
          p.grad = null;
        } else {
          const g = p.grad;
          if (g !== null) {
            g.zero_();
            g.dispose();
          }
        }
      }
    }
  }

  private stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (s === undefined) {
      s = { tensors: {}, scalars: {} };
      this.state.set(p, s);
    }
    return s;
  }

  /** Hyper-parameters, step counts and state tensors (the optimizer's own, see OptimizerStateDict). */
  stateDict(): OptimizerStateDict {
    this.checkLive();
    const groups: GroupStateDict[] = [];
    const scalars: Record<string, number> = {};
    const state: Record<string, Tensor> = {};
    let index = 0;
    for (const group of this.paramGroups) {
      const { params, ...hyper } = group;
      const indices: number[] = [];
      for (const p of params) {
        const s = this.state.get(p);
        if (s !== undefined) {
          for (const [name, v] of Object.entries(s.scalars)) scalars[`state.${index}.${name}`] = v;
          for (const [name, t] of Object.entries(s.tensors)) state[`state.${index}.${name}`] = t;
        }
        indices.push(index++);
      }
      groups.push({ ...(structuredClone(hyper) as Record<string, JsonValue>), params: indices });
    }
    return { groups, scalars, state };
  }

  /**
   * Restores a state dict from an optimizer of the same kind over parameters of the same shapes, in
   * the same group layout. Tensors are copied (and cast to each parameter's dtype), so the caller
   * may dispose the dict's tensors afterwards. Group hyper-parameters (lr included) are replaced.
   */
  loadStateDict(dict: OptimizerStateDict): void {
    this.checkLive();
    const name = this.constructor.name;
    if (dict.groups.length !== this.paramGroups.length) {
      throw new LowbitError(
        `${name}.loadStateDict: the state dict has ${dict.groups.length} parameter groups but this optimizer has ` +
          `${this.paramGroups.length}; build the optimizer with the same groups as the one that was saved`,
      );
    }
    const params = this.paramGroups.flatMap((g) => g.params);
    dict.groups.forEach((saved, i) => {
      if (saved.params.length !== this.paramGroups[i].params.length) {
        throw new LowbitError(
          `${name}.loadStateDict: group ${i} holds ${saved.params.length} parameters in the state dict but ` +
            `${this.paramGroups[i].params.length} here; the model or the grouping differs from the saved one`,
        );
      }
    });
    const fresh = new Map<Tensor, ParamState>();
    const entry = (p: Tensor): ParamState => {
      let s = fresh.get(p);
      if (s === undefined) {
        s = { tensors: {}, scalars: {} };
        fresh.set(p, s);
      }
      return s;
    };
    const parseKey = (key: string): [Tensor, string] => {
      const m = STATE_KEY.exec(key);
      const idx = m === null ? -1 : Number(m[1]);
      if (m === null || idx >= params.length) {
        throw new LowbitError(`${name}.loadStateDict: bad state key '${key}'; expected state.<paramIndex>.<name> with paramIndex < ${params.length}`);
      }
      return [params[idx], m[2]];
    };
    try {
      for (const [key, value] of Object.entries(dict.scalars)) {
        const [p, stateName] = parseKey(key);
        entry(p).scalars[stateName] = value;
      }
      for (const [key, value] of Object.entries(dict.state)) {
        const [p, stateName] = parseKey(key);
        if (!this.stateTensorNames.includes(stateName)) {
          throw new LowbitError(
            `${name}.loadStateDict: '${key}' is not a ${name} state tensor (those are ${this.stateTensorNames.join(', ')}); ` +
              'was the state dict saved from another optimizer?',
          );
        }
        if (value.shape.join(',') !== p.shape.join(',')) {
          throw new LowbitError(`${name}.loadStateDict: '${key}' has shape [${value.shape}] but its parameter has shape [${p.shape}]`);
        }
        entry(p).tensors[stateName] = keep(noGrad(() => scope(() => value.to(p.dtype).clone())));
      }
    } catch (err) {
      for (const s of fresh.values()) for (const t of Object.values(s.tensors)) t.dispose();
      throw err;
    }
    this.disposeState();
    for (const [p, s] of fresh) this.state.set(p, s);
    dict.groups.forEach((saved, i) => {
      const { params: _indices, ...hyper } = saved;
      Object.assign(this.paramGroups[i], structuredClone(hyper));
    });
  }

  /** Frees the state tensors; the optimizer cannot be used afterwards. */
  dispose(): void {
    this.disposeState();
    this.disposed = true;
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }

  private checkLive(): void {
    if (this.disposed) throw new LowbitError(`${this.constructor.name} used after dispose(); create a new optimizer`);
  }
}

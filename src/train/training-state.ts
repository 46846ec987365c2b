/**
 * Everything a training run needs to continue after an interruption, in one safetensors file written
 * atomically (temp file + rename): any named set of modules, optimizers and LR schedulers, the global
 * RNG state, the epochs done with their metrics history, and caller-defined JSON extras.
 *
 * Layout. The primary module's tensors are stored under their own names with its model config in the
 * 'lowbit.model' metadata, so a checkpoint is also a loadable model file (loadCheckpoint). Every other
 * part's tensors are prefixed with the part's name: `<module>.<param>`, `<optimizer>.state.3.momentum_buffer`.
 * The rest (optimizer groups and step counts, scheduler states, RNG, epoch, history, extras) is JSON
 * under the 'lowbit.training' metadata key. A single-model run (primary 'model', optimizer 'optimizer')
 * has the tensor names of the earlier one-model checkpoints, and those still load.
 *
 * Shapes that change during a run (a channel search that widens layers) are restored in two phases:
 * the saved extras are handed to `beforeTensors`, where the caller rebuilds its parts to the saved
 * shapes, and only then are the tensors loaded into the parts the caller now holds.
 */
import { existsSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import { loadSafetensors, type Module } from '../nn/index.ts';
import type { JsonValue, LRScheduler, LRSchedulerStateDict, Optimizer, OptimizerStateDict } from '../optim/index.ts';
import { getRngState, setRngState, type Tensor } from '../tensor/index.ts';
import { saveCheckpoint, TRAINING_STATE_KEY } from './checkpoint.ts';
import type { EpochMetrics } from './trainer.ts';

/** The objects a training state saves and restores, by name. */
export interface TrainingParts {
  modules: Record<string, Module>;
  optimizers?: Record<string, Optimizer>;
  schedulers?: Record<string, LRScheduler>;
}

/** The progress of a run, saved with its tensors. */
export interface TrainingProgress {
  /** Epochs completed. */
  epoch: number;
  history: EpochMetrics[];
  bestTestAccuracy: number;
  /** Caller-defined JSON (the current widths of a searched network, a per-batch schedule's state...). */
  extras: Record<string, JsonValue>;
}

export interface TrainingStateOptions {
  /** The module saved under plain names with `modelConfig` (default: the first of `modules`). */
  primary?: string;
  /** Config of the primary module, so the checkpoint rebuilds it (see saveCheckpoint). */
  modelConfig?: Record<string, unknown>;
}

/** The JSON under 'lowbit.training'. */
interface SavedRecord {
  format: 2;
  epoch: number;
  history: EpochMetrics[];
  bestTestAccuracy: number;
  extras: Record<string, JsonValue>;
  rng: string;
  primary: string;
  modules: string[];
  optimizers: Record<string, Omit<OptimizerStateDict, 'state'>>;
  schedulers: Record<string, LRSchedulerStateDict>;
}

/** What one-model checkpoints before `format: 2` recorded: one optimizer (tensors 'optimizer.*'), one scheduler. */
interface LegacyRecord {
  epoch: number;
  optimizer: Omit<OptimizerStateDict, 'state'>;
  scheduler: LRSchedulerStateDict | null;
  rng: string;
  bestTestAccuracy: number;
  history: EpochMetrics[];
}

function parseRecord(raw: string | undefined, path: string): SavedRecord | LegacyRecord {
  if (raw === undefined) throw new LowbitError(`${path} holds no training state: it cannot be resumed; start a new run directory`);
  return JSON.parse(raw) as SavedRecord | LegacyRecord;
}

function progressOf(record: SavedRecord | LegacyRecord): TrainingProgress {
  return {
    epoch: record.epoch,
    history: record.history,
    bestTestAccuracy: record.bestTestAccuracy,
    extras: 'format' in record ? record.extras : {},
  };
}

export class TrainingState {
  private readonly resolveParts: () => TrainingParts;

  /**
   * @param parts the objects to save, or a function returning them (read at every save and load, so a
   *   caller that rebuilds a module in `beforeTensors` has the new one loaded).
   */
  constructor(
    parts: TrainingParts | (() => TrainingParts),
    private readonly options: TrainingStateOptions = {},
  ) {
    this.resolveParts = typeof parts === 'function' ? parts : () => parts;
  }

  private parts(): { parts: TrainingParts; primary: string } {
    const parts = this.resolveParts();
    const names = Object.keys(parts.modules);
    const primary = this.options.primary ?? names[0];
    if (primary === undefined || !(primary in parts.modules)) {
      throw new LowbitError(`TrainingState: the primary module '${primary}' is not among the modules (${names.join(', ') || 'none'})`);
    }
    const all = [...names, ...Object.keys(parts.optimizers ?? {}), ...Object.keys(parts.schedulers ?? {})];
    const duplicate = all.find((n, i) => all.indexOf(n) !== i);
    if (duplicate !== undefined) throw new LowbitError(`TrainingState: the name '${duplicate}' is used by two parts; give each module, optimizer and scheduler its own name`);
    return { parts, primary };
  }

  /** Writes the parts, the RNG state and `progress` to `path` (atomically). */
  save(path: string, progress: TrainingProgress): void {
    const { parts, primary } = this.parts();
    const tensors = new Map<string, Tensor>();
    const add = (key: string, t: Tensor) => {
      if (tensors.has(key)) throw new LowbitError(`TrainingState: checkpoint key clash '${key}'; rename the part whose tensors start with '${key.split('.')[0]}'`);
      tensors.set(key, t);
    };
    for (const [name, m] of Object.entries(parts.modules)) {
      if (name !== primary) for (const [k, t] of m.stateDict()) add(`${name}.${k}`, t);
    }
    const optimizers: SavedRecord['optimizers'] = {};
    for (const [name, o] of Object.entries(parts.optimizers ?? {})) {
      const { state, ...rest } = o.stateDict();
      optimizers[name] = rest;
      for (const [k, t] of Object.entries(state)) add(`${name}.${k}`, t);
    }
    const schedulers: SavedRecord['schedulers'] = {};
    for (const [name, s] of Object.entries(parts.schedulers ?? {})) schedulers[name] = s.stateDict();
    const record: SavedRecord = {
      format: 2,
      ...progress,
      rng: Buffer.from(getRngState()).toString('base64'),
      primary,
      modules: Object.keys(parts.modules),
      optimizers,
      schedulers,
    };
    // saveCheckpoint writes the primary's state dict and rejects keys that clash with it.
    saveCheckpoint(path, parts.modules[primary], this.options.modelConfig ?? {}, { tensors, metadata: { [TRAINING_STATE_KEY]: JSON.stringify(record) } });
  }

  /** The progress and extras saved in `path`, without touching any part or the RNG. */
  static peek(path: string): TrainingProgress {
    if (!existsSync(path)) throw new LowbitError(`training state ${path} does not exist`);
    // loadSafetensors reads the tensors too; a checkpoint is small next to a training run, so
    // peeking costs one read and no header-only reader is needed.
    const file = loadSafetensors(path);
    for (const t of file.tensors.values()) t.dispose();
    return progressOf(parseRecord(file.metadata[TRAINING_STATE_KEY], path));
  }

  /**
   * Restores every part and the RNG state from `path` and returns the saved progress. `beforeTensors`
   * sees the progress (with its extras) before any tensor is loaded, so the caller can reshape its
   * modules and rebuild its optimizers to match; the parts are read after it returns.
   */
  load(path: string, opts: { beforeTensors?: (saved: TrainingProgress) => void } = {}): TrainingProgress {
    if (!existsSync(path)) throw new LowbitError(`training state ${path} does not exist`);
    const file = loadSafetensors(path);
    try {
      const record = parseRecord(file.metadata[TRAINING_STATE_KEY], path);
      const progress = progressOf(record);
      opts.beforeTensors?.(progress);
      const { parts, primary } = this.parts();
      const saved: SavedRecord =
        'format' in record
          ? record
          : {
              ...record,
              format: 2,
              extras: {},
              primary,
              modules: [primary],
              optimizers: Object.fromEntries(Object.keys(parts.optimizers ?? {}).map((n) => [n, record.optimizer])),
              schedulers: record.scheduler ? Object.fromEntries(Object.keys(parts.schedulers ?? {}).map((n) => [n, record.scheduler!])) : {},
            };
      if (!('format' in record) && (Object.keys(parts.optimizers ?? {}).length !== 1 || Object.keys(parts.modules).length !== 1)) {
        throw new LowbitError(`${path} is a one-model checkpoint (one optimizer); it cannot restore ${Object.keys(parts.modules).length} modules and ${Object.keys(parts.optimizers ?? {}).length} optimizers`);
      }
      const legacyOptimizerPrefix = 'optimizer.';
      const check = (kind: string, want: string[], have: string[]) => {
        const missing = want.filter((n) => !have.includes(n));
        const extra = have.filter((n) => !want.includes(n));
        if (missing.length || extra.length) {
          throw new LowbitError(`${path}: the saved ${kind} are [${have.join(', ')}] but this run has [${want.join(', ')}]; resume with the same method and options`);
        }
      };
      check('modules', Object.keys(parts.modules), saved.modules);
      check('optimizers', Object.keys(parts.optimizers ?? {}), Object.keys(saved.optimizers));
      check('schedulers', Object.keys(parts.schedulers ?? {}), Object.keys(saved.schedulers));
      if (saved.primary !== primary) throw new LowbitError(`${path}: its primary module is '${saved.primary}', this run's is '${primary}'`);

      // Split the tensors by owner: a prefix names a part; the rest are the primary module's.
      const prefixOf = (name: string) => ('format' in record ? `${name}.` : legacyOptimizerPrefix);
      const owned = new Set<string>();
      const take = (prefix: string) => {
        const out = new Map<string, Tensor>();
        for (const [k, t] of file.tensors) {
          if (k.startsWith(prefix)) {
            out.set(k.slice(prefix.length), t);
            owned.add(k);
          }
        }
        return out;
      };
      const moduleTensors = new Map<string, Map<string, Tensor>>();
      for (const name of Object.keys(parts.modules)) if (name !== primary) moduleTensors.set(name, take(`${name}.`));
      const optimizerTensors = new Map<string, Record<string, Tensor>>();
      for (const name of Object.keys(parts.optimizers ?? {})) optimizerTensors.set(name, Object.fromEntries(take(prefixOf(name))));
      const primaryTensors = new Map([...file.tensors].filter(([k]) => !owned.has(k)));

      const where = (name: string, err: unknown) => new LowbitError(`${path}: ${name}: ${(err as Error).message}`, { cause: err });
      try {
        parts.modules[primary].loadStateDict(primaryTensors);
      } catch (err) {
        throw where(primary, err);
      }
      for (const [name, sd] of moduleTensors) {
        try {
          parts.modules[name].loadStateDict(sd);
        } catch (err) {
          throw where(name, err);
        }
      }
      for (const [name, o] of Object.entries(parts.optimizers ?? {})) {
        try {
          o.loadStateDict({ ...saved.optimizers[name], state: optimizerTensors.get(name)! });
        } catch (err) {
          throw where(name, err);
        }
      }
      for (const [name, s] of Object.entries(parts.schedulers ?? {})) s.loadStateDict(saved.schedulers[name]);
      setRngState(Uint8Array.from(Buffer.from(saved.rng, 'base64')));
      return progress;
    } finally {
      for (const t of file.tensors.values()) t.dispose();
    }
  }
}

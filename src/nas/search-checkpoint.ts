/**
 * Checkpoint of a search: named modules, optimizers, LR schedulers, random generators and JSON extras
 * in one safetensors file, written atomically. This is the interface the shared training state of the
 * restructure offers; until it lands, it is built here on safetensors and the trainer's conventions
 * (tensors under '<name>.' prefixes, the rest as JSON in the metadata), in this one file so it can be
 * swapped for the shared one at merge.
 */
import { existsSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import { loadSafetensors, saveSafetensors, type Module } from '../nn/index.ts';
import type { LRScheduler, Optimizer, OptimizerStateDict } from '../optim/index.ts';
import { getRngState, setRngState, type Generator, type Tensor } from '../tensor/index.ts';

const STATE_KEY = 'lowbit.search';

export interface SearchStateParts {
  modules: Record<string, Module>;
  optimizers: Record<string, Optimizer>;
  schedulers: Record<string, LRScheduler>;
  generators: Record<string, Generator>;
}

interface StoredState {
  optimizers: Record<string, Omit<OptimizerStateDict, 'state'>>;
  schedulers: Record<string, unknown>;
  generators: Record<string, string>;
  defaultRng: string;
  extras: unknown;
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const fromB64 = (s: string) => Uint8Array.from(Buffer.from(s, 'base64'));

export function saveSearchState(path: string, parts: SearchStateParts, extras: unknown): void {
  const tensors = new Map<string, Tensor>();
  for (const [name, m] of Object.entries(parts.modules)) for (const [k, t] of m.stateDict()) tensors.set(`${name}.${k}`, t);
  const optimizers: StoredState['optimizers'] = {};
  for (const [name, o] of Object.entries(parts.optimizers)) {
    const sd = o.stateDict();
    for (const [k, t] of Object.entries(sd.state)) tensors.set(`optimizer.${name}.${k}`, t);
    optimizers[name] = { groups: sd.groups, scalars: sd.scalars };
  }
  const state: StoredState = {
    optimizers,
    schedulers: Object.fromEntries(Object.entries(parts.schedulers).map(([n, s]) => [n, s.stateDict()])),
    generators: Object.fromEntries(Object.entries(parts.generators).map(([n, g]) => [n, b64(g.getState())])),
    defaultRng: b64(getRngState()),
    extras,
  };
  saveSafetensors(path, tensors, { [STATE_KEY]: JSON.stringify(state) });
}

/** The JSON extras of a checkpoint without loading anything (to rebuild shapes before loading). */
export function readSearchExtras<T>(path: string): T {
  const file = loadSafetensors(path);
  try {
    const raw = file.metadata[STATE_KEY];
    if (raw === undefined) throw new LowbitError(`${path} is not a search checkpoint; start a new run directory`);
    return (JSON.parse(raw) as StoredState).extras as T;
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

/** Restores every part in place and returns the extras. The modules must already have the saved shapes. */
export function loadSearchState<T>(path: string, parts: SearchStateParts): T {
  if (!existsSync(path)) throw new LowbitError(`${path}: no search checkpoint to resume from`);
  const file = loadSafetensors(path);
  try {
    const raw = file.metadata[STATE_KEY];
    if (raw === undefined) throw new LowbitError(`${path} is not a search checkpoint; start a new run directory`);
    const state = JSON.parse(raw) as StoredState;
    for (const [name, m] of Object.entries(parts.modules)) {
      const sd = new Map<string, Tensor>();
      for (const [k, t] of file.tensors) if (k.startsWith(`${name}.`)) sd.set(k.slice(name.length + 1), t);
      try {
        m.loadStateDict(sd);
      } catch (err) {
        throw new LowbitError(`${path}: ${(err as Error).message}`, { cause: err });
      }
    }
    for (const [name, o] of Object.entries(parts.optimizers)) {
      const saved = state.optimizers[name];
      if (saved === undefined) throw new LowbitError(`${path} holds no state for optimizer '${name}'`);
      const prefix = `optimizer.${name}.`;
      const tensors: Record<string, Tensor> = {};
      for (const [k, t] of file.tensors) if (k.startsWith(prefix)) tensors[k.slice(prefix.length)] = t;
      o.loadStateDict({ ...saved, state: tensors });
    }
    for (const [name, s] of Object.entries(parts.schedulers)) s.loadStateDict(state.schedulers[name] as never);
    for (const [name, g] of Object.entries(parts.generators)) g.setState(fromB64(state.generators[name]));
    setRngState(fromB64(state.defaultRng));
    return state.extras as T;
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}

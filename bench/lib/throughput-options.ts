/** The command-line options the training-throughput benchmarks share. */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { LowbitError } from '../../src/errors.ts';
import { sameMallocPath } from './torch-malloc.ts';

export interface ThroughputOptions {
  /** Alternations of the sides; each side keeps its best round. */
  rounds: number;
  /** Timed steps per round. */
  steps: number;
  /** Untimed steps before them, in the same process. */
  warmup: number;
  /** ATen threads on both sides. */
  threads: number;
  /** Results file. */
  out: string;
  /** Seconds the contention guard may wait for a quiet machine over the whole run. */
  quietBudgetS: number;
  /** Times the guard re-runs a block during which other processes took more than their share. */
  retries: number;
  /** Give the PyTorch children lowbit's glibc malloc thresholds (bench/lib/torch-malloc.ts). */
  sameMalloc: boolean;
}

export function parseThroughputOptions(bench: string, defaults: { rounds: number; steps: number; warmup: number; out: string }): ThroughputOptions {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      'quiet-budget': { type: 'string' },
      retries: { type: 'string' },
      'same-malloc': { type: 'boolean', default: false },
    },
  });
  const int = (name: keyof typeof values, fallback: number, min: number): number => {
    const raw = values[name];
    const v = raw === undefined ? fallback : Number(raw);
    if (!(Number.isInteger(v) && v >= min)) throw new LowbitError(`${bench}: --${name} must be an integer >= ${min}, got '${raw}'`);
    return v;
  };
  return {
    rounds: int('rounds', defaults.rounds, 1),
    steps: int('steps', defaults.steps, 1),
    warmup: int('warmup', defaults.warmup, 0),
    threads: int('threads', Number(process.env.LOWBIT_THREADS ?? availableParallelism()), 1),
    // A --same-malloc run gets its own file, so it does not replace the default run's.
    out: (values.out as string | undefined) ?? (values['same-malloc'] ? sameMallocPath(defaults.out) : defaults.out),
    quietBudgetS: int('quiet-budget', 120, 0),
    retries: int('retries', 3, 0),
    sameMalloc: values['same-malloc'] === true,
  };
}

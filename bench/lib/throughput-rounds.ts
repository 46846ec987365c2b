/**
 * Measuring training throughput side by side: each side (lowbit or PyTorch, one case) trains in its own
 * child process, so its peak RSS is its own; the sides take turns for several rounds, in reversed order
 * every other round, so a slow drift in machine load does not favour either; each side keeps its best
 * round (noise from other work only ever slows a round down).
 *
 * A round of one side: start the child (build model, optimizer, data), `warmup` untimed steps (oneDNN
 * primitive caches, allocator, thread pools), then `steps` timed steps under the contention guard
 * (waits for a quiet machine, re-runs the block if other processes took more than their share).
 */
import { LowbitError } from '../../src/errors.ts';
import type { ContentionGuard } from './contention.ts';
import { mean, median } from './stats.ts';
import { StepChild } from './step-protocol.ts';

export interface SideSpec {
  /** Unique key of this side in the results. */
  id: string;
  /** What the progress lines call it. */
  label: string;
  /** How to start its child process (see step-protocol.ts). */
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface RoundMeasure {
  round: number;
  /** Mean wall time per step over the timed steps (total time / steps), ms. */
  msPerStep: number;
  medianMs: number;
  /** Images of the timed steps / their total time. */
  imagesPerSecond: number;
  /** The child's peak RSS at the end of the round, MiB. */
  maxRssMiB: number;
  /** Share of the machine other processes used during the timed steps (null without /proc). */
  othersShare: number | null;
  /** Timed blocks run (more than 1: re-run because of other processes). */
  attempts: number;
  /** Child start to ready (process start, imports, model and data), s. */
  startupS: number;
}

export interface SideMeasure {
  id: string;
  label: string;
  /** The child's ready message: versions, threads, what it built. */
  info: Record<string, unknown>;
  rounds: RoundMeasure[];
  /** The fastest round. */
  best: RoundMeasure;
}

export interface RoundOptions {
  rounds: number;
  steps: number;
  warmup: number;
  guard: ContentionGuard;
  /** Progress lines. */
  log: (line: string) => void;
}

async function measureOnce(side: SideSpec, round: number, opts: RoundOptions): Promise<{ info: Record<string, unknown>; measure: RoundMeasure }> {
  const t0 = performance.now();
  const child = await StepChild.start(side.label, side.command, side.args, side.env);
  try {
    const startupS = (performance.now() - t0) / 1000;
    if (opts.warmup > 0) await child.run(opts.warmup);
    const kept = await opts.guard.guarded(() => child.run(opts.steps), [process.pid, child.pid]);
    const { ms, images, maxRssMiB } = kept.value;
    const msPerStep = mean(ms);
    return {
      info: child.info,
      measure: {
        round,
        msPerStep,
        medianMs: median(ms),
        imagesPerSecond: images / (msPerStep * ms.length / 1000),
        maxRssMiB,
        othersShare: kept.othersShare,
        attempts: kept.attempts,
        startupS,
      },
    };
  } finally {
    await child.quit();
  }
}

export async function measureSides(sides: readonly SideSpec[], opts: RoundOptions): Promise<Map<string, SideMeasure>> {
  if (new Set(sides.map((s) => s.id)).size !== sides.length) throw new LowbitError('measureSides: side ids must be unique');
  const results = new Map<string, SideMeasure>();
  for (let round = 1; round <= opts.rounds; round++) {
    const order = round % 2 === 1 ? sides : [...sides].reverse();
    for (const side of order) {
      const { info, measure } = await measureOnce(side, round, opts);
      const others = measure.othersShare === null ? 'n/a' : `${Math.round(100 * measure.othersShare)}%`;
      opts.log(
        `  round ${round}/${opts.rounds} ${side.label}: ${measure.imagesPerSecond.toFixed(0)} img/s, ${measure.msPerStep.toFixed(1)} ms/step, ` +
          `peak RSS ${measure.maxRssMiB.toFixed(0)} MiB; others' CPU ${others}${measure.attempts > 1 ? `, ${measure.attempts} attempts` : ''}`,
      );
      const prev = results.get(side.id);
      if (prev === undefined) {
        results.set(side.id, { id: side.id, label: side.label, info, rounds: [measure], best: measure });
      } else {
        prev.rounds.push(measure);
        if (measure.msPerStep < prev.best.msPerStep) prev.best = measure;
      }
    }
  }
  return results;
}

/** What a results file keeps of one side: its kept (fastest) round, the model size it built, every round. */
export function sideRecord(m: SideMeasure) {
  const { best } = m;
  return {
    imagesPerSecond: best.imagesPerSecond,
    msPerStep: best.msPerStep,
    medianMsPerStep: best.medianMs,
    maxRssMiB: best.maxRssMiB,
    othersShare: best.othersShare,
    keptRound: best.round,
    /** Trainable scalars of the model the child built: the two sides' counts should agree. */
    parameterScalars: m.info.parameterScalars,
    rounds: m.rounds,
  };
}

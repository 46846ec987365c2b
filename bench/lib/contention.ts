/**
 * The benchmarks' contention guard.
 *
 * On a small shared machine, another process taking one of the cores does not slow a 2-thread ATen op
 * by half: OpenMP's spinning barriers wait for the descheduled thread, and steps become 5-20x slower.
 * Interleaving the two sides cannot fix that, so every timed block is checked: /proc/stat says how much
 * CPU the whole machine used during the block, /proc/<pid>/stat how much the benchmark's own processes
 * used; the rest is other work. Before a block the guard waits (within a budget for the whole run) until
 * others use at most `maxOthersShare` of the machine; a block during which they used more anyway is run
 * again, up to `retries` times, and the least disturbed attempt is kept. A machine that never goes quiet
 * still gets a result, which the caller marks as contended.
 */
import { readFileSync } from 'node:fs';

export interface ContentionGuardOptions {
  /** Share of the machine's CPU that other processes may use during a block that is kept as clean. */
  maxOthersShare?: number;
  /** How often a contended block is run again. */
  retries?: number;
  /** Total time the guard may spend waiting for quiet over the whole run. */
  quietBudgetMs?: number;
  /** Length of one quiet probe. */
  probeMs?: number;
}

export interface Guarded<T> {
  value: T;
  /** Share of the machine's CPU used by other processes during the kept attempt (null without /proc). */
  othersShare: number | null;
  attempts: number;
}

/** Jiffies: [busy, total] over all CPUs, or null without /proc. */
export function machineJiffies(): [number, number] | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return [total - f[3] - f[4], total];
  } catch {
    return null;
  }
}

/** Jiffies of CPU (user + system, all threads) used by the given processes. */
export function processJiffies(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, state
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone; what it used is no longer counted, which can only overstate contention.
    }
  }
  return sum;
}

function othersShareBetween(m0: [number, number] | null, m1: [number, number] | null, ownJiffies: number): number | null {
  if (m0 === null || m1 === null) return null;
  const total = m1[1] - m0[1];
  return total > 0 ? Math.max(0, m1[0] - m0[0] - ownJiffies) / total : 0;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Blocks the thread without spinning (for synchronous callers such as bench/gpfq's child). */
const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export class ContentionGuard {
  readonly maxOthersShare: number;
  readonly retries: number;
  readonly quietBudgetMs: number;
  readonly probeMs: number;
  /** Time spent waiting for quiet so far. */
  quietWaitedMs = 0;

  constructor(opts: ContentionGuardOptions = {}) {
    this.maxOthersShare = opts.maxOthersShare ?? 0.1;
    this.retries = opts.retries ?? 3;
    this.quietBudgetMs = opts.quietBudgetMs ?? 120_000;
    this.probeMs = opts.probeMs ?? 250;
  }

  /** Runs fn and measures the share of the machine's CPU that processes other than ownPids used meanwhile. */
  async othersShareDuring<T>(fn: () => T | Promise<T>, ownPids: readonly number[]): Promise<{ value: T; othersShare: number | null }> {
    const m0 = machineJiffies();
    const p0 = processJiffies(ownPids);
    const value = await fn();
    const m1 = machineJiffies();
    const p1 = processJiffies(ownPids);
    return { value, othersShare: othersShareBetween(m0, m1, p1 - p0) };
  }

  /** othersShareDuring for a synchronous fn, measured against this process alone. */
  othersShareDuringSync<T>(fn: () => T): { value: T; othersShare: number | null } {
    const m0 = machineJiffies();
    const p0 = processJiffies([process.pid]);
    const value = fn();
    const m1 = machineJiffies();
    const p1 = processJiffies([process.pid]);
    return { value, othersShare: othersShareBetween(m0, m1, p1 - p0) };
  }

  /** Waits until other processes use at most maxOthersShare, or the run's quiet budget is spent. */
  async waitForQuiet(ownPids: readonly number[]): Promise<void> {
    while (this.quietWaitedMs < this.quietBudgetMs) {
      const { othersShare } = await this.othersShareDuring(() => sleep(this.probeMs), ownPids);
      this.quietWaitedMs += this.probeMs;
      if (othersShare === null || othersShare <= this.maxOthersShare) return;
    }
  }

  /** waitForQuiet for a synchronous caller (this process alone). */
  waitForQuietSync(): void {
    while (this.quietWaitedMs < this.quietBudgetMs) {
      const { othersShare } = this.othersShareDuringSync(() => sleepSync(this.probeMs));
      this.quietWaitedMs += this.probeMs;
      if (othersShare === null || othersShare <= this.maxOthersShare) return;
    }
  }

  /** Runs `run` once the machine is quiet, again while others took too much of it; keeps the least disturbed attempt. */
  async guarded<T>(run: () => T | Promise<T>, ownPids: readonly number[]): Promise<Guarded<T>> {
    let best: Guarded<T> | null = null;
    for (let attempt = 1; ; attempt++) {
      await this.waitForQuiet(ownPids);
      const { value, othersShare } = await this.othersShareDuring(run, ownPids);
      if (othersShare === null) return { value, othersShare, attempts: attempt };
      if (best === null || othersShare < best.othersShare!) best = { value, othersShare, attempts: attempt };
      else best.attempts = attempt;
      if (othersShare <= this.maxOthersShare || attempt > this.retries) return best;
    }
  }

  /** Whether a kept share counts as contended. */
  isContended(othersShare: number | null): boolean {
    return othersShare !== null && othersShare > this.maxOthersShare;
  }

  /** What the guard did, for a results file. */
  describe(): { maxOthersShare: number; retries: number; quietBudgetS: number; quietWaitedS: number } {
    return { maxOthersShare: this.maxOthersShare, retries: this.retries, quietBudgetS: this.quietBudgetMs / 1000, quietWaitedS: this.quietWaitedMs / 1000 };
  }
}

/** The machine and the lowbit build a benchmark ran on, for its results file and its printout. */
import { cpus, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { blasInUse, buildInfo, getNumThreads, mallocSettings, type MallocTuning } from '../../src/tensor/index.ts';
import { gitCommit } from './git.ts';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  os: string;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cpuModel: list[0]?.model ?? 'unknown', cores: list.length, os: `${platform()} ${release()}` };
}

export interface LowbitInfo {
  /** The headers' TORCH_VERSION of the libtorch the addon was built against. */
  libtorch: string;
  blas: string;
  mkldnn: boolean;
  threads: number;
  malloc: MallocTuning;
}

/** This process's lowbit: libtorch, BLAS, oneDNN, ATen threads and malloc tuning. */
export function lowbitInfo(): LowbitInfo {
  const info = buildInfo();
  return { libtorch: info.torchVersion, blas: blasInUse(), mkldnn: info.mkldnn, threads: getNumThreads(), malloc: mallocSettings() };
}

/** "malloc mmap/trim thresholds 32/1024 MiB, lowbit's CPU allocator" or "glibc's default malloc". */
export function describeMalloc(malloc: MallocTuning): string {
  return malloc.tuned
    ? `malloc mmap/trim thresholds ${malloc.mmapThresholdBytes! / 2 ** 20}/${(malloc.trimThresholdBytes ?? 0) / 2 ** 20} MiB` +
        (malloc.alignedMalloc ? ", lowbit's CPU allocator" : '')
    : "glibc's default malloc";
}

/** The fields every results file starts with: what ran, when, on which commit, machine and build. */
export function resultHeader(benchmark: string, threads: number): Record<string, unknown> {
  return { benchmark, date: new Date().toISOString(), ...gitCommit(), machine: machineInfo(), node: process.version, libtorch: buildInfo().torchVersion, blas: blasInUse(), threads };
}

/**
 * Prints the two sides' builds and the machine under a lowbit-vs-PyTorch table; returns the run's
 * duration in seconds. torchInfo: the PyTorch child's self-description, or null when it did not run.
 */
export function printEnvironment(lowbitThreads: unknown, torchInfo: Record<string, unknown> | null, torchNote: string, started: number): number {
  const b = lowbitInfo();
  console.log(`\nlowbit:  libtorch ${b.libtorch}, BLAS ${b.blas}, oneDNN ${b.mkldnn ? 'on' : 'off'}, ${lowbitThreads} threads, ${describeMalloc(b.malloc)}, node ${process.version}`);
  if (torchInfo) {
    const t = torchInfo;
    console.log(`PyTorch: torch ${t.torch} (python ${t.python}, ${t.executable}), BLAS ${t.blas}, oneDNN ${t.mkldnn ? 'on' : 'off'}, ${t.threads} threads, ${t.optimizer}${t.malloc ? `, ${t.malloc}` : ''}`);
  } else {
    console.log(`PyTorch: not run. ${torchNote}`);
  }
  const durationS = (performance.now() - started) / 1000;
  const { commit, dirty } = gitCommit();
  const m = machineInfo();
  console.log(`machine: ${m.cpuModel} x ${m.cores}, commit ${commit ?? 'unknown'}${dirty ? ' (dirty)' : ''}; ${durationS.toFixed(0)} s`);
  return durationS;
}

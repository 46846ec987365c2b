/** The machine and the lowbit build a benchmark ran on, for its results file and its printout. */
import { cpus, platform, release } from 'node:os';
import { blasInUse, buildInfo, getNumThreads, mallocSettings, type MallocTuning } from '../../src/tensor/index.ts';

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

/** "malloc mmap/trim thresholds 32/64 MiB" or "glibc's default malloc". */
export function describeMalloc(malloc: MallocTuning): string {
  return malloc.tuned
    ? `malloc mmap/trim thresholds ${malloc.mmapThresholdBytes! / 2 ** 20}/${(malloc.trimThresholdBytes ?? 0) / 2 ** 20} MiB`
    : "glibc's default malloc";
}

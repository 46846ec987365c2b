import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { native } from './native.ts';

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}

export interface BuildInfo {
  torchVersion: string;
  /** ATen's own build configuration text (at::show_config()). */
  config: string;
  /** ATen's thread settings (at::get_parallel_info()). */
  parallel: string;
  mkldnn: boolean;
}

export function buildInfo(): BuildInfo {
  return native.buildInfo();
}

/**
 * Which BLAS library the process really loaded. Debian's libtorch calls the generic libblas.so.3, so
 * the answer depends on which package owns that alternative: OpenBLAS is ~30x faster than netlib's.
 */
export function blasInUse(): string {
  let maps = '';
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return 'unknown (no /proc/self/maps)';
  }
  const libs = new Set<string>();
  for (const line of maps.split('\n')) {
    const m = /\s(\/\S*\/(lib(?:openblas|blas|mkl_rt|mkl_core|blis|flexiblas)[^/\s]*))$/.exec(line);
    if (m) libs.add(m[1]);
  }
  if (libs.size === 0) return 'none loaded (statically linked or MKL inside libtorch)';
  const list = [...libs];
  const openblas = list.find((p) => /openblas/.test(p));
  if (openblas) return `OpenBLAS (${openblas})`;
  const generic = list.find((p) => /libblas\.so/.test(p));
  if (generic) return `reference BLAS via ${generic} (slow: install libopenblas0-openmp)`;
  return list.join(', ');
}

// Default to every available core, as PyTorch does; LOWBIT_THREADS overrides.
const requested = Number(process.env.LOWBIT_THREADS ?? availableParallelism());
native.setNumThreads(Number.isInteger(requested) && requested > 0 ? requested : availableParallelism());

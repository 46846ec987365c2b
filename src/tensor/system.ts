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

export interface MallocTuning {
  /** False when LOWBIT_MALLOC=default asked to leave malloc alone, or the C library is not glibc. */
  tuned: boolean;
  mmapThresholdBytes: number | null;
  trimThresholdBytes: number | null;
  /**
   * ATen's CPU tensors come from lowbit's allocator (native/src/cpu-allocator.cc: malloc aligned by
   * hand, so a freed block fits the next request of its size) rather than c10's posix_memalign.
   */
  alignedMalloc: boolean;
}

const MMAP_THRESHOLD_BYTES = 32 * 2 ** 20;
const TRIM_THRESHOLD_BYTES = 2 ** 30;

/**
 * glibc's malloc adapts: blocks above its mmap threshold are mmapped, and after one is freed the
 * threshold rises to that block's size (at most 32 MiB) and the trim threshold, the free memory kept at
 * the top of the heap, to twice that. In a training loop the thresholds stop near the largest tensor,
 * while a step frees far more than that at once when its scope ends: the heap goes back to the kernel
 * at the end of every step and is faulted in again, page by page, during the next. Measured on a
 * ResNet-20 basic block, batch 64, forward + backward: ~4,000 page faults per step (PyTorch, whose
 * reference counting frees activations sooner, ~1,400), 10-25% of the step's time (bench/ops).
 *
 * So lowbit sets the mmap threshold to 32 MiB (glibc's own ceiling) and keeps up to 1 GiB of freed heap
 * mapped. A 64 MiB trim threshold (twice the mmap one, glibc's rule) was enough for one block but not
 * for a whole network: a W2A2 ResNet-20 step at batch 128 frees several hundred MiB, and on a machine
 * where faults are dear that cost ~4,500 faults and 20-30% of every step (bench/step-phases: 260 ms ->
 * 200 ms with 1 GiB). The price is that a process's resident memory stays near its peak, as with
 * PyTorch's caching GPU allocator. LOWBIT_MALLOC=default leaves glibc as it is.
 */
function tuneMalloc(): MallocTuning {
  const untouched = { tuned: false, mmapThresholdBytes: null, trimThresholdBytes: null, alignedMalloc: false };
  // An addon built before mallocOption existed still loads; it just runs with glibc's defaults.
  if (process.env.LOWBIT_MALLOC === 'default' || typeof native.mallocOption !== 'function') return untouched;
  // Setting either option switches glibc's adaptive rule off, so both are set, the mmap one first.
  if (!native.mallocOption('mmapThreshold', MMAP_THRESHOLD_BYTES)) return untouched;
  const trimmed = native.mallocOption('trimThreshold', TRIM_THRESHOLD_BYTES) as boolean;
  const alignedMalloc = typeof native.installCpuAllocator === 'function';
  if (alignedMalloc) native.installCpuAllocator();
  return { tuned: true, mmapThresholdBytes: MMAP_THRESHOLD_BYTES, trimThresholdBytes: trimmed ? TRIM_THRESHOLD_BYTES : null, alignedMalloc };
}

const mallocTuning = tuneMalloc();

/** What lowbit set in glibc's malloc when it loaded (see tuneMalloc for why). */
export function mallocSettings(): MallocTuning {
  return { ...mallocTuning };
}

/**
 * Gives the large blocks (32 MiB and up) that lowbit's CPU allocator keeps for reuse back to the
 * system, e.g. after training and before a long idle or lighter phase. Freed small blocks stay with
 * glibc's heap (up to the trim threshold).
 */
export function releaseCachedMemory(): void {
  if (typeof native.releaseCachedBlocks === 'function') native.releaseCachedBlocks();
}

/**
 * The PyTorch side's malloc. By default each side runs as it ships: lowbit tunes glibc's malloc and
 * installs its own CPU allocator when it loads (src/tensor/system.ts), PyTorch does not. With
 * --same-malloc PyTorch gets lowbit's glibc thresholds through the MALLOC_* variables, so a ratio
 * isolates kernels and bindings from the allocator (c10's posix_memalign stays: PyTorch cannot be given
 * lowbit's allocator from outside).
 */
import { mallocSettings } from '../../src/tensor/index.ts';

export interface TorchMalloc {
  env: NodeJS.ProcessEnv;
  describe: string;
}

export function torchMalloc(sameMalloc: boolean): TorchMalloc {
  const malloc = mallocSettings();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (sameMalloc && malloc.tuned) {
    env.MALLOC_MMAP_THRESHOLD_ = String(malloc.mmapThresholdBytes);
    if (malloc.trimThresholdBytes !== null) env.MALLOC_TRIM_THRESHOLD_ = String(malloc.trimThresholdBytes);
    return {
      env,
      describe: `malloc mmap/trim thresholds ${malloc.mmapThresholdBytes! / 2 ** 20}/${malloc.trimThresholdBytes === null ? "glibc's" : malloc.trimThresholdBytes / 2 ** 20} MiB (--same-malloc)`,
    };
  }
  const fromEnv = process.env.MALLOC_MMAP_THRESHOLD_ !== undefined || process.env.MALLOC_TRIM_THRESHOLD_ !== undefined;
  return { env, describe: fromEnv ? 'malloc as set by MALLOC_* variables in the environment' : "glibc's default malloc" };
}

/** A results file's name for a --same-malloc run: name.json -> name-same-malloc.json. */
export const sameMallocPath = (path: string): string => path.replace(/\.json$/, '-same-malloc.json');

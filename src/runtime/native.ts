/**
 * The runtime's own addon, lowbit_runtime.node: integer kernels without libtorch (native/src/runtime-*).
 * Loosely typed here on purpose; IntPlan is the typed surface.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { LowbitError } from '../errors.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RuntimeAddon = Record<string, (...args: any[]) => any>;

const here = dirname(fileURLToPath(import.meta.url));
const addonPath = join(here, '..', '..', 'native', 'build', 'Release', 'lowbit_runtime.node');

let addon: RuntimeAddon | null = null;

export function runtimeAddon(): RuntimeAddon {
  if (addon !== null) return addon;
  if (!existsSync(addonPath)) {
    throw new LowbitError(`lowbit's runtime addon is not built (${addonPath} is missing); run 'npm run build:native'`);
  }
  const require = createRequire(import.meta.url);
  addon = require(addonPath) as RuntimeAddon;
  return addon;
}

/** Calls into the addon, turning its C++ errors into LowbitErrors that say where they came from. */
export function callRuntime<T>(where: string, f: (a: RuntimeAddon) => T): T {
  const a = runtimeAddon();
  try {
    return f(a);
  } catch (err) {
    throw new LowbitError(`${where}: ${(err as Error).message}`, { cause: err });
  }
}

/** The instruction sets of the integer kernels, best last. */
export const RUNTIME_ISAS = ['portable', 'avx2', 'avxvnni', 'avx512vnni'] as const;
export type RuntimeIsa = (typeof RUNTIME_ISAS)[number];

export interface RuntimeInfo {
  /** What a new plan uses: the best the CPU has, or what LOWBIT_RUNTIME_ISA forces. */
  isa: RuntimeIsa;
  available: RuntimeIsa[];
  threads: number;
}

export function runtimeInfo(): RuntimeInfo {
  return callRuntime('runtime', (a) => a.runtimeInfo() as RuntimeInfo);
}

export function setRuntimeThreads(n: number): void {
  if (!(Number.isInteger(n) && n >= 1)) throw new LowbitError(`runtime threads must be a positive integer, got ${n}`);
  runtimeAddon().setThreads(n);
}

/** One thread's multiply-adds per second of back-to-back dot-product instructions: the roofline's ceiling. */
export function peakMacsPerSecond(isa: RuntimeIsa, seconds = 0.2): number {
  return callRuntime('runtime peak', (a) => a.peakMacsPerSecond(isa, seconds) as number);
}

import type { Module } from './module.ts';
import { loadSafetensors, saveSafetensors } from './safetensors.ts';

/** Saves a module's parameters and buffers as safetensors (metadata: string key/values, e.g. the model config). */
export function saveStateDict(module: Module, path: string, metadata: Record<string, string> = {}): void {
  saveSafetensors(path, module.stateDict(), metadata);
}

/** Loads a safetensors file into a module (strict by default); returns the file's metadata. */
export function loadStateDictFile(module: Module, path: string, opts: { strict?: boolean } = {}): Record<string, string> {
  const file = loadSafetensors(path);
  try {
    module.loadStateDict(file.tensors, opts);
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
  return file.metadata;
}

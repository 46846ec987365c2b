/**
 * Run directories made by this process's command, removed again when the command fails before
 * writing any result (a failed command leaves no empty run directory). Only node:fs here: the CLI's
 * error path must work when nothing else loads.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const created: string[] = [];

export function noteCreatedRunDir(path: string): void {
  created.push(path);
}

/**
 * Holds nothing but `records` files and empty folders: a run that never got to a checkpoint or result
 * (killed or failed before its first epoch ended).
 */
export function holdsNoResults(path: string, records: readonly string[] = ['config.json']): boolean {
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (!holdsNoResults(join(path, e.name), records)) return false;
    } else if (!records.includes(e.name)) return false;
  }
  return true;
}

/** After a failed command: removes the run directories it created that hold no results. */
export function cleanupRunDirs(): void {
  for (const path of created.splice(0)) {
    try {
      if (existsSync(path) && holdsNoResults(path)) rmSync(path, { recursive: true });
    } catch {
      // best effort: the failure being reported matters more than a leftover folder
    }
  }
}

/**
 * `mkdir -p` that fails with one line naming the folder and the fix. Node's recursive mkdirSync is not
 * enough on its own: under /proc or /sys it loops forever at 100% CPU (mkdir there answers ENOENT, so
 * it retries the parent), and on a read-only file system it reports ENOENT instead of EROFS. The
 * nearest existing folder on the path is checked first, which names the real cause.
 */
import { accessSync, constants, existsSync, mkdirSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LowbitError } from '../errors.ts';
import { withFsErrors } from './fs-errors.ts';

/** statfs f_type of kernel file systems where nothing can be created (linux/magic.h). */
const KERNEL_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x27e0eb, 'cgroupfs'],
  [0x63677270, 'cgroup2fs'],
]);

/**
 * The folder `path` and its missing parents. An error reads "cannot <action> <named>: <fix>"
 * (`named`: the file the folder is for, when that says more to the user).
 */
export function makeDirs(path: string, action = 'create the folder', named = path): void {
  const missing = outermostMissing(path);
  const existing = missing === null ? resolve(path) : dirname(missing);
  if (missing === null && statSync(existing).isDirectory()) return;
  let fsType: number | undefined;
  try {
    fsType = Number(statfsSync(existing).type);
  } catch {
    fsType = undefined;
  }
  const kernel = fsType === undefined ? undefined : KERNEL_FILE_SYSTEMS.get(fsType);
  if (kernel !== undefined) throw new LowbitError(`cannot ${action} ${named}: ${existing} is on ${kernel}, a kernel file system where no files can be made; write somewhere else`);
  if (statSync(existing).isDirectory()) withFsErrors(action, named, () => accessSync(existing, constants.W_OK));
  withFsErrors(action, named, () => mkdirSync(path, { recursive: true }));
}

/** The outermost folder of `path` that does not exist yet (runs/a of runs/a/b/c when runs/ exists), or null when `path` exists. */
export function outermostMissing(path: string): string | null {
  let p = resolve(path);
  if (existsSync(p)) return null;
  while (!existsSync(dirname(p)) && dirname(p) !== p) p = dirname(p);
  return p;
}

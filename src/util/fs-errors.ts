/**
 * File-system errors as one line that names the file and the fix, instead of Node's
 * "EISDIR: illegal operation on a directory, open '...'" and a stack trace.
 */
import { LowbitError } from '../errors.ts';

const FIXES: Record<string, string> = {
  EISDIR: 'it is a folder; give a file path',
  ENOTDIR: 'a part of the path is a file, not a folder; check the path',
  EROFS: 'the file system is read-only; write somewhere else',
  ENOSPC: 'no space left on the device; free some space or write somewhere else',
  EDQUOT: 'the disk quota is exhausted; free some space or write somewhere else',
  EEXIST: 'it already exists; remove it or choose another path',
  EACCES: 'permission denied; check the permissions or write somewhere else',
  EPERM: 'the operation is not permitted; check the permissions or write somewhere else',
  ENOENT: 'no such file or folder; check the path',
  ENAMETOOLONG: 'the path is too long; choose a shorter one',
  EMFILE: 'too many open files; close other programs or raise the limit (ulimit -n)',
  ELOOP: 'too many symbolic links on the path; check the path',
  EBUSY: 'the file is busy (in use by another process); try again or write elsewhere',
  EIO: 'an input/output error from the device; check the disk',
};

/** The errno code of a Node fs error, or undefined. */
export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** "cannot write runs/x/model.onnx: no space left on the device; free some space or write somewhere else (ENOSPC)". */
export function fsErrorMessage(err: unknown, action: string, path: string): string {
  const code = fsErrorCode(err);
  const fix = code !== undefined ? FIXES[code] : undefined;
  if (fix !== undefined) return `cannot ${action} ${path}: ${fix} (${code})`;
  const first = ((err as Error)?.message ?? String(err)).split('\n')[0];
  return `cannot ${action} ${path}: ${first}`;
}

/** A file-system error as a LowbitError naming `path` and the fix; any other error unchanged. */
export function asFsError(err: unknown, action: string, path: string): unknown {
  if (err instanceof LowbitError || fsErrorCode(err) === undefined) return err;
  return new LowbitError(fsErrorMessage(err, action, path), { cause: err });
}

/** Runs fn; a file-system error becomes a LowbitError naming `path` and the fix (others pass through). */
export function withFsErrors<T>(action: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw asFsError(err, action, path);
  }
}

import { closeSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LowbitError } from '../errors.ts';
import { asFsError, fsErrorCode, withFsErrors } from './fs-errors.ts';
import { makeDirs } from './make-dirs.ts';

/**
 * Writes a file so that readers see the old content or the new, never a torn one: the bytes go to a
 * temporary file in the same directory, are flushed, then renamed over the target. The one place
 * lowbit writes a result file (models, checkpoints, run records, reports), so its two rules hold
 * everywhere:
 * - only a regular file (or nothing) is replaced: rename() over /dev/null, a FIFO or a socket would
 *   replace the special file itself (as root, `--out /dev/null` deleted the device). A symbolic link
 *   is followed to the file it names, which is replaced, and the link kept.
 * - the temporary file never outlives a failed write (a full disk, a kill between write and rename
 *   excepted): it is removed before the error is reported.
 * File-system errors are one line naming the file and the fix (fs-errors.ts).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | Uint8Array[]): void {
  const target = regularTarget(path);
  makeDirs(dirname(target), 'create the folder of', target);
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  let written = false;
  try {
    withFsErrors('write', target, () => {
      const fd = openSync(tmp, 'wx');
      try {
        const chunks = Array.isArray(data) ? data : [typeof data === 'string' ? Buffer.from(data) : data];
        for (const c of chunks) {
          let off = 0;
          while (off < c.length) off += writeSync(fd, c, off, c.length - off);
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    });
    // Checked again right before the rename: the target may have appeared meanwhile.
    regularTarget(target);
    withFsErrors('replace', target, () => renameSync(tmp, target));
    written = true;
  } finally {
    if (!written) {
      try {
        unlinkSync(tmp);
      } catch {
        // never created (open failed) or already gone: nothing to clean up
      }
    }
  }
}

/** The path to write: `path`, or the file a symbolic link names; refuses anything but a regular file. */
function regularTarget(path: string): string {
  if (path === '') throw new LowbitError('cannot write a file with an empty path; give a file name');
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (fsErrorCode(err) === 'ENOENT') return path;
    throw asFsError(err, 'write', path);
  }
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      if (fsErrorCode(err) !== 'ENOENT') throw asFsError(err, 'write', path);
      throw new LowbitError(`cannot write ${path}: it is a symbolic link to a missing file; remove the link or give another path`);
    }
    const target = statSync(real);
    if (!target.isFile()) throw new LowbitError(`refusing to write ${path}: it links to ${real}, ${kind(target)}, which lowbit never replaces; give a regular file path`);
    return real;
  }
  if (!st.isFile()) throw new LowbitError(`refusing to write ${path}: it is ${kind(st)}, which lowbit never replaces; give a regular file path`);
  return path;
}

function kind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device (like /dev/null)';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * One rule for every command that writes a run directory (train, qat, ptq, nce): an existing non-empty
 * --out (one holding a run's checkpoints or results, or other files) is refused unless --resume (continue its run) or --force (write into it) says so; an empty
 * --out is refused; a directory this command created is removed again when the command fails before
 * writing anything but its config.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { holdsNoResults, noteCreatedRunDir } from './created-dirs.ts';
import { outermostMissing } from '../util/make-dirs.ts';
import { UsageError } from '../errors.ts';
import { RunDir } from '../train/index.ts';
import { explicitFlags, withExplicitFlags, type OptionSpec, type ParsedOptions } from './command.ts';

/** Empty, or what a run leaves when it is stopped before its first checkpoint (queues start it again). */
function holdsNothingToKeep(path: string): boolean {
  return readdirSync(path).length === 0 || holdsNoResults(path, ['config.json', 'metrics.jsonl']);
}

export const FORCE_OPTION: OptionSpec = { type: 'boolean', description: 'write into an existing, non-empty --out (its files are replaced)' };

/**
 * The run directory of --out (or `defaultPath`), checked against the overwrite rule. `resumable`:
 * whether the command takes --resume (mentioned in the refusal).
 */
export function openRunDir(o: ParsedOptions, defaultPath: string, opts: { resumable: boolean }): RunDir {
  if (o.out === '') throw new UsageError(`--out is empty: give the run directory to write, e.g. --out runs/my-run`);
  const path = typeof o.out === 'string' ? o.out : defaultPath;
  const exists = existsSync(path);
  if (exists && !statSync(path).isDirectory()) throw new UsageError(`--out ${path} is a file, not a directory: choose another --out`);
  if (exists && !holdsNothingToKeep(path) && !o.resume && !o.force) {
    throw new UsageError(`${path} already exists and is not empty: ${opts.resumable ? 'pass --resume to continue its run, ' : ''}--force to write into it, or choose another --out`);
  }
  if (o.resume && o.force) throw new UsageError('--resume and --force contradict each other: --resume continues the run in --out, --force writes a new one over it; give one');
  if (exists && o.force) refuseForceOverInput(o, path);
  // The outermost folder this command creates (runs/a of runs/a/b/c when runs/ exists): a failed run
  // removes it whole, not only its last level.
  const firstCreated = outermostMissing(path);
  const runDir = new RunDir(path);
  if (firstCreated !== null) noteCreatedRunDir(firstCreated);
  return runDir;
}

/** Flags that name a file the command reads. */
const INPUT_FLAGS = ['checkpoint', 'onnx', 'init', 'teacher', 'float', 'search'];

/** --force replaces the files of --out: never when one of them is the command's own input (ptq --force into the float model's run). */
function refuseForceOverInput(o: ParsedOptions, path: string): void {
  const dir = resolve(path);
  for (const flag of INPUT_FLAGS) {
    const input = o[flag];
    if (typeof input !== 'string' || input === '') continue;
    const p = resolve(input);
    if (p === dir || p.startsWith(dir + sep)) {
      throw new UsageError(`--force would replace files in ${path}, which holds the input --${flag} ${input}; choose another --out`);
    }
  }
}

/** Flags that may differ on --resume: where and how the run is reported, not what it computes. */
const RESUME_FREE = new Set(['resume', 'out', 'json', 'threads', 'help', 'force']);

/**
 * On --resume the run's recorded config is the truth: a flag given now that contradicts it is refused,
 * naming the flag, the recorded value and the fix; flags not given take the recorded values (not the
 * defaults). Returns the options to run with.
 */
export function resumeOptions(o: ParsedOptions, runDir: RunDir): ParsedOptions {
  if (!o.resume) return o;
  const config = runDir.readConfig();
  const recorded = config?.options;
  if (recorded === null || typeof recorded !== 'object' || Array.isArray(recorded)) return o;
  const rec = recorded as Record<string, unknown>;
  const explicit = explicitFlags(o);
  for (const flag of explicit) {
    if (RESUME_FREE.has(flag)) continue;
    const was = rec[flag];
    const now = o[flag];
    const same = was === undefined ? now === undefined || now === false : String(was) === String(now);
    if (!same) {
      const shown = was === undefined || was === false ? 'not given' : was === true ? 'given' : String(was);
      throw new UsageError(
        `--${flag}${typeof now === 'string' ? ` ${now}` : ''} contradicts the run being resumed (${runDir.file('config.json')} records --${flag} ${shown}): ` +
          `resume without --${flag} (the run's config is the truth), or start a new run with another --out`,
      );
    }
  }
  const merged: ParsedOptions = {};
  for (const [k, v] of Object.entries(rec)) if (typeof v === 'string' || typeof v === 'boolean') merged[k] = v;
  for (const k of RESUME_FREE) merged[k] = o[k];
  return withExplicitFlags(merged, explicit);
}

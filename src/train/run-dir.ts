import { appendFileSync, closeSync, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blasInUse, buildInfo, getNumThreads } from '../tensor/index.ts';
import { LowbitError } from '../errors.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { withFsErrors } from '../util/fs-errors.ts';
import { makeDirs } from '../util/make-dirs.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Versions and machine facts recorded with every run, so a number can be traced to what made it. */
export function environmentRecord(): Record<string, unknown> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    // not a git checkout (an npm install): the package version below identifies the code
  }
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return {
    lowbit: pkg.version,
    commit,
    node: process.version,
    torch: buildInfo().torchVersion,
    blas: blasInUse(),
    threads: getNumThreads(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
  };
}

/**
 * A run directory: config.json (what was asked, with the environment), metrics.jsonl (one line per
 * epoch or event, appended), result.json (the outcome), checkpoints/.
 */
export class RunDir {
  constructor(readonly path: string) {
    makeDirs(join(path, 'checkpoints'), 'create the run directory', path);
  }

  get checkpointDir(): string {
    return join(this.path, 'checkpoints');
  }

  file(name: string): string {
    return join(this.path, name);
  }

  writeConfig(config: Record<string, unknown>, command = process.argv.slice(1)): void {
    writeFileAtomic(this.file('config.json'), JSON.stringify({ ...config, command: command.join(' '), environment: environmentRecord(), createdAt: new Date().toISOString() }, null, 2) + '\n');
  }

  readConfig(): Record<string, unknown> | null {
    const p = this.file('config.json');
    if (!existsSync(p)) return null;
    const raw = withFsErrors('read', p, () => readFileSync(p, 'utf8'));
    try {
      const v: unknown = JSON.parse(raw);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // reported below
    }
    throw new LowbitError(`${p} is corrupt (not a JSON object); restore it from the command line in the run's notes, or start a new run directory`);
  }

  appendMetrics(record: Record<string, unknown>): void {
    const p = this.file('metrics.jsonl');
    // A run killed mid-append leaves a torn last line; appending after it would glue the new record onto it.
    withFsErrors('append to', p, () => {
      dropTornLine(p);
      appendFileSync(p, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
    });
  }

  /** Metrics lines, skipping a torn last line left by a kill mid-write. */
  readMetrics(): Record<string, unknown>[] {
    const p = this.file('metrics.jsonl');
    if (!existsSync(p)) return [];
    const out: Record<string, unknown>[] = [];
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // a partial line from an interrupted run
      }
    }
    return out;
  }

  writeResult(result: Record<string, unknown>): void {
    writeFileAtomic(this.file('result.json'), JSON.stringify(result, null, 2) + '\n');
  }

  writeJson(name: string, value: unknown): void {
    writeFileAtomic(this.file(name), JSON.stringify(value, null, 2) + '\n');
  }
}

/** Cuts a file back to its last newline when it does not end with one (a torn last line). */
function dropTornLine(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === 0x0a) return;
    // Scan back in chunks for the previous newline; the torn line is at most one record long.
    const chunk = Buffer.alloc(4096);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, end - start).lastIndexOf(0x0a);
      if (i >= 0) {
        ftruncateSync(fd, start + i + 1);
        return;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}

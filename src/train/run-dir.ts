import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blasInUse, buildInfo, getNumThreads } from '../tensor/index.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

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
    mkdirSync(join(path, 'checkpoints'), { recursive: true });
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
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>) : null;
  }

  appendMetrics(record: Record<string, unknown>): void {
    appendFileSync(this.file('metrics.jsonl'), JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
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

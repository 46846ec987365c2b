/**
 * The demo's stages and their bookkeeping: which stages exist, the short budgets they run on, and the
 * stage records under DIR/stages/ that let a rerun skip a finished stage. A stage's record keeps its
 * budget and inputs (its reuse key); a record whose key differs from this run's is stale, and the stage
 * runs again from an empty slate (its run directories are removed first).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';

export const DEMO_STAGES = ['ptq', 'qat', 'nce', 'export'] as const;
export type DemoStage = (typeof DEMO_STAGES)[number];

export const STAGE_SUMMARIES: Record<DemoStage, string> = {
  ptq: 'GPFQ vs round-to-nearest post-training quantization of the float ResNet-20 at 4, 3 and 2 bits',
  qat: 'W2A2 quantization-aware fine-tuning, plain and with the full-precision auxiliary module (short budget)',
  nce: 'NCE width search from the float model, the derived widths, FLOPs and params, and its W2A2 retraining (short budget)',
  export: 'the best 2-bit model to ONNX, run in onnxruntime-node, file sizes against float',
};

/** What each stage trains on. Every number here is recorded with the stage and shown in the report. */
export interface DemoBudget {
  ptq: { bits: number[]; calib: number; testSubset?: number };
  qat: { trainSubset?: number; epochs: number };
  nce: { searchSubset: number; searchEpochs: number; retrainSubset: number; floatEpochs: number; qatEpochs: number; testSubset?: number };
  export: { testSubset?: number };
}

/**
 * `npm run demo`. Sized from rates measured on the shared 2-core machine (W2A2 QAT ~90 img/s with one
 * thread at load 9; ~600-700 img/s idle with two threads, the aux table's rate): well inside 15 minutes
 * idle, and still done in about half an hour on the busy machine it was timed on.
 */
export const DEMO_BUDGET: DemoBudget = {
  ptq: { bits: [4, 3, 2], calib: 1024 },
  qat: { trainSubset: 20000, epochs: 1 },
  nce: { searchSubset: 6000, searchEpochs: 2, retrainSubset: 12000, floatEpochs: 2, qatEpochs: 1 },
  export: {},
};

/** --quick (tests): every stage in seconds; its numbers mean nothing. */
export const QUICK_BUDGET: DemoBudget = {
  ptq: { bits: [2], calib: 64, testSubset: 256 },
  qat: { trainSubset: 256, epochs: 1 },
  nce: { searchSubset: 256, searchEpochs: 1, retrainSubset: 256, floatEpochs: 1, qatEpochs: 1, testSubset: 256 },
  export: { testSubset: 256 },
};

/** `--stages ptq,qat`: the named stages in the demo's order; unknown or empty names are a usage error. */
export function parseStages(list: string): DemoStage[] {
  const names = list.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(DEMO_STAGES as readonly string[]).includes(n)) throw new UsageError(`--stages: unknown stage '${n}'; choose from ${DEMO_STAGES.join(', ')} (comma-separated)`);
  }
  return DEMO_STAGES.filter((s) => names.includes(s));
}

/** A finished stage as written to DIR/stages/<stage>.json. */
export interface StageRecord {
  stage: DemoStage;
  /** Budget and inputs the stage ran with; a rerun with a different key runs the stage again. */
  key: unknown;
  /** Run directories (relative to the demo directory) the stage wrote. */
  runs: string[];
  seconds: number;
  finishedAt: string;
  /** What the report needs from the stage beyond its runs' own records. */
  summary: Record<string, unknown>;
}

export function stageRecordPath(out: string, stage: DemoStage): string {
  return join(out, 'stages', `${stage}.json`);
}

export function readStageRecord(out: string, stage: DemoStage): StageRecord | null {
  const p = stageRecordPath(out, stage);
  if (!existsSync(p)) return null;
  return JSON.parse(readFileSync(p, 'utf8')) as StageRecord;
}

export interface StageRunner {
  /** Budget and inputs: equal keys mean the stage's record can be reused. */
  key(): unknown;
  /** The run directories the stage writes (removed before the stage runs again). */
  dirs(): string[];
  run(): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface StageOutcome {
  stage: DemoStage;
  reused: boolean;
  record: StageRecord;
}

const sameKey = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Runs `stages` in order, reusing each one whose record holds the same key. */
export async function runStages(
  out: string,
  stages: readonly DemoStage[],
  runners: Record<DemoStage, () => StageRunner>,
  log: (line: string) => void = () => {},
): Promise<StageOutcome[]> {
  const outcomes: StageOutcome[] = [];
  for (const stage of stages) {
    const runner = runners[stage]();
    const key = runner.key();
    const previous = readStageRecord(out, stage);
    if (previous && sameKey(previous.key, key) && previous.runs.every((r) => existsSync(join(out, r)))) {
      log(`demo: stage ${stage} already done (${stageRecordPath(out, stage)}), reused`);
      outcomes.push({ stage, reused: true, record: previous });
      continue;
    }
    if (previous) log(`demo: stage ${stage} ran with another budget or inputs before; running it again`);
    rmSync(stageRecordPath(out, stage), { force: true });
    for (const d of runner.dirs()) rmSync(join(out, d), { recursive: true, force: true });
    log(`demo: stage ${stage}: ${STAGE_SUMMARIES[stage]}`);
    const start = performance.now();
    const summary = await runner.run();
    const record: StageRecord = { stage, key, runs: runner.dirs(), seconds: (performance.now() - start) / 1000, finishedAt: new Date().toISOString(), summary };
    writeFileAtomic(stageRecordPath(out, stage), JSON.stringify(record, null, 2) + '\n');
    log(`demo: stage ${stage} done in ${record.seconds.toFixed(1)} s`);
    outcomes.push({ stage, reused: false, record });
  }
  return outcomes;
}

/** Bytes of conv/linear weights stored at their bit widths (codes only: scales and float BN/biases aside). */
export function weightBytes(layers: readonly { numel: number; bits: number }[]): { bytes: number; floatBytes: number } {
  return {
    bytes: layers.reduce((s, l) => s + (l.numel * l.bits) / 8, 0),
    floatBytes: layers.reduce((s, l) => s + l.numel * 4, 0),
  };
}

/** Adds `weightStorage` to a run's result.json, so the report can show the run's size from its own record. */
export function recordWeightStorage(runDir: string, storage: { bytes: number; floatBytes: number }): void {
  const file = join(runDir, 'result.json');
  const result = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileAtomic(file, JSON.stringify({ ...result, weightStorage: storage }, null, 2) + '\n');
}

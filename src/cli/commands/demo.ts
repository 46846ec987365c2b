import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../errors.ts';
import { DataLoader, loadDataset } from '../../data/index.ts';
import { writeReport } from '../../report/index.ts';
import { evaluate, loadCheckpoint } from '../../train/index.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { intOption, type Command } from '../command.ts';
import { info, output } from '../output.ts';
import { DEMO_DATASET, type DemoContext } from './demo-context.ts';
import { exportStage } from './demo-export.ts';
import { nceStage } from './demo-nce.ts';
import { ptqStage } from './demo-ptq.ts';
import { qatStage } from './demo-qat.ts';
import { DEMO_BUDGET, DEMO_STAGES, parseStages, QUICK_BUDGET, readStageRecord, runStages, STAGE_SUMMARIES, weightBytes, type DemoStage } from './demo-stages.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The float ResNet-20 trained by experiments/float-baselines.sh and committed with the code. */
const COMMITTED_FLOAT = join(REPO, 'results', 'float', 'resnet20.safetensors');

/** The full-budget tables the report points to, for the numbers the demo's short budgets only sketch. */
const REFERENCES: { stage: DemoStage; label: string; file: string }[] = [
  { stage: 'ptq', label: 'PTQ of ResNet-20, MLP and LeNet-5 (RTN vs GPFQ, calibration 2048, per layer and per channel)', file: 'results/ptq/README.md' },
  { stage: 'qat', label: 'QAT recipes and quantizer pairs (8-epoch W2A2 and more)', file: 'results/qat/README.md' },
  { stage: 'qat', label: 'auxiliary module vs plain QAT (3 seeds, full training set)', file: 'results/aux/README.md' },
  { stage: 'nce', label: 'NCE searches and retraining', file: 'results/nce/README.md' },
];

const stageList = DEMO_STAGES.map((s) => `  ${s.padEnd(7)} ${STAGE_SUMMARIES[s]}`).join('\n');

export const demoCommand: Command = {
  name: 'demo',
  summary: "the main job: lowbit's three methods (GPFQ, auxiliary-module QAT, NCE) and ONNX export on ResNet-20 / Fashion-MNIST, one report",
  usage: `lowbit demo [--stages ptq,qat,nce,export] [--out DIR]\n\nStages (run in this order; a rerun reuses the stages already done in DIR):\n${stageList}`,
  examples: ['npm run demo', 'lowbit demo --stages ptq,export          # post-training quantization and its export only', 'lowbit demo --stages qat --out runs/demo   # add a stage to an earlier demo'],
  options: {
    stages: { type: 'string', default: DEMO_STAGES.join(','), metavar: 'LIST', description: 'the stages to run, comma-separated' },
    float: { type: 'string', metavar: 'FILE', description: 'float ResNet-20 checkpoint for Fashion-MNIST (default: the committed results/float/resnet20.safetensors)' },
    out: { type: 'string', short: 'o', default: 'runs/demo', metavar: 'DIR', description: 'demo directory: one run directory per run, stages/ records, report.md/.html' },
    seed: { type: 'string', default: '0', metavar: 'N', description: 'seed' },
    quick: { type: 'boolean', description: 'tiny budgets (a few hundred images per stage) to check the pipeline; the numbers mean nothing' },
  },
  async run(o) {
    const out = String(o.out);
    const stages = parseStages(String(o.stages));
    // Recorded relative to the working directory, as lowbit's other commands record their checkpoints.
    const floatCheckpoint = typeof o.float === 'string' ? o.float : relative(process.cwd(), COMMITTED_FLOAT) || COMMITTED_FLOAT;
    if (!existsSync(floatCheckpoint)) throw new UsageError(`--float ${floatCheckpoint} does not exist: pass a float ResNet-20 checkpoint (lowbit train --model resnet20 writes RUN_DIR/model.safetensors)`);
    const budget = o.quick ? QUICK_BUDGET : DEMO_BUDGET;
    const ctx: DemoContext = { out, floatCheckpoint, budget, seed: intOption(o, 'seed', 0) };
    const wall = performance.now();
    const outcomes = await runStages(out, stages, { ptq: () => ptqStage(ctx), qat: () => qatStage(ctx), nce: () => nceStage(ctx), export: () => exportStage(ctx) }, info);
    const summary = demoSummary(ctx, outcomes.map((x) => ({ stage: x.stage, reused: x.reused })), (performance.now() - wall) / 1000);
    writeFileAtomic(join(out, 'result.json'), JSON.stringify(summary, null, 2) + '\n');
    const report = writeReport(out);
    output(
      o,
      { report: report.markdown, html: report.html, ...summary },
      `${readFileSync(report.markdown, 'utf8')}\nreport written to ${report.markdown} and ${report.html}`,
    );
  },
};

/**
 * The demo directory's result.json: the float baseline, the budget and time of every finished stage
 * (this invocation's or an earlier one's), and the full-budget tables; the report reads it as the
 * collection's summary.
 */
function demoSummary(ctx: DemoContext, invoked: { stage: DemoStage; reused: boolean }[], seconds: number): Record<string, unknown> {
  const stages: Record<string, unknown> = {};
  for (const s of DEMO_STAGES) {
    const record = readStageRecord(ctx.out, s);
    if (!record) continue;
    const inv = invoked.find((x) => x.stage === s);
    stages[s] = { seconds: record.seconds, finishedAt: record.finishedAt, budget: ctx.budget[s], thisRun: inv ? (inv.reused ? 'reused' : 'ran') : 'earlier', summary: record.summary };
  }
  const ptq = readStageRecord(ctx.out, 'ptq')?.summary;
  const ptqFloat = ptq ? { accuracy: ptq.floatAccuracy as number, testImages: ptq.testImages as number } : undefined;
  return {
    command: 'demo',
    model: 'resnet20',
    dataset: DEMO_DATASET,
    float: floatBaseline(ctx.floatCheckpoint, ptqFloat),
    quick: ctx.budget === QUICK_BUDGET,
    stages,
    lastInvocation: { stages: invoked, seconds },
    references: REFERENCES.filter((r) => stages[r.stage]).map((r) => ({ ...r, path: relative(resolve(ctx.out), join(REPO, r.file)) })),
  };
}

/** The float model's test accuracy (the PTQ stage's, else measured here) and its conv/linear weight bytes. */
function floatBaseline(checkpoint: string, measured: { accuracy: number; testImages: number } | undefined): Record<string, unknown> {
  const { model, extraTensors } = loadCheckpoint(checkpoint);
  for (const t of extraTensors.values()) t.dispose();
  const layers = model
    .parameters()
    .filter((p) => p.shape.length >= 2)
    .map((p) => ({ numel: p.shape.reduce((a, b) => a * b, 1), bits: 32 }));
  let result = measured;
  if (result === undefined) {
    const r = evaluate(model, new DataLoader(loadDataset(DEMO_DATASET, 'test'), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' }));
    result = { accuracy: r.accuracy, testImages: r.count };
  }
  model.dispose();
  const recipe = join(REPO, 'results', 'float', 'resnet20.json');
  return { checkpoint, testAccuracy: result.accuracy, testImages: result.testImages, weightStorage: weightBytes(layers), recipe: checkpoint === COMMITTED_FLOAT && existsSync(recipe) ? relative(process.cwd(), recipe) : null };
}

/**
 * Issue 4's benchmark: ResNet-20 training throughput, lowbit against PyTorch in the same run.
 *
 *   npm run bench:train [-- --rounds 3] [--steps 30] [--warmup 5] [--threads N] [--out FILE]
 *                       [--quiet-budget S (120)] [--retries R (3)]
 *
 * A smoke test on a busy machine: --rounds 1 --steps 2 --warmup 1 --quiet-budget 0 --retries 0 --out /tmp/t.json
 *
 * Cases: inputs 28x28x1 (Fashion-MNIST's shape) and 32x32x3 (CIFAR-10's), batch 64 and 128, 10 classes.
 * Both sides train the same CIFAR-style ResNet-20 (src/models/resnet.ts; the PyTorch copy is in
 * bench/train_throughput_torch.py) in channels-last, with SGD (Nesterov, momentum 0.9, lr 0.1, weight
 * decay 5e-4) and cross-entropy; a step is forward, loss, loss.item(), zero grad, backward, optimizer
 * step. The data is synthetic: one random batch made once in memory and fed at every step, on both
 * sides, so only model and optimizer are timed. One more lowbit row feeds the real Fashion-MNIST training
 * set through lowbit's DataLoader (shuffle, RandomCrop pad 2 + horizontal flip, channels-last, as
 * `lowbit train` does) to show what the data pipeline costs.
 *
 * Each side runs in its own child process (peak RSS is that side's alone: node + libtorch, or python +
 * torch), both with the same ATen thread count (default: LOWBIT_THREADS or every core). The sides take
 * turns for --rounds rounds (bench/lib/throughput-rounds.ts), each round --warmup untimed then --steps
 * timed steps under the contention guard, and each side keeps its fastest round.
 *
 * Reported: images/s, ms per step (mean), peak RSS, and ratio = lowbit images/s / PyTorch images/s
 * (goal >= 1.0). Results go to bench/results/train-throughput.json (written atomically).
 */
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ContentionGuard } from './lib/contention.ts';
import { gitCommit } from './lib/git.ts';
import { lowbitInfo, machineInfo, printEnvironment } from './lib/machine.ts';
import { formatTable } from './lib/table.ts';
import { parseThroughputOptions } from './lib/throughput-options.ts';
import { measureSides, sideRecord, type SideSpec } from './lib/throughput-rounds.ts';
import { torchMalloc } from './lib/torch-malloc.ts';
import { findTorchPython } from './lib/torch-python.ts';
import { caseLabel, sgdRecipe, type TrainCase } from './lib/train-case.ts';
import { lowbitSide, pytorchSide } from './lib/train-sides.ts';
import { writeJsonAtomic } from './lib/write-json.ts';

const GOAL = 1.0;
const INPUTS = [
  { inChannels: 1, inputSize: 28 },
  { inChannels: 3, inputSize: 32 },
];
const BATCHES = [64, 128];
/** The DataLoader row: Fashion-MNIST's shape at the batch size of the training recipe. */
const LOADER_CASE = { inChannels: 1, inputSize: 28, batch: 128 };

interface Row {
  name: string;
  case: TrainCase;
  lowbitId: string;
  /** The PyTorch side this row is compared with (for the DataLoader row: the synthetic one of its shape). */
  pytorchId: string | null;
  /** For the DataLoader row: the lowbit synthetic row of its shape. */
  syntheticId?: string;
}

function trainCase(inChannels: number, inputSize: number, batch: number, data: TrainCase['data']): TrainCase {
  return { inChannels, inputSize, numClasses: 10, batch, data, quant: null, optimizer: sgdRecipe(0.1), seed: 0 };
}

function plan(threads: number, python: string | null, torchEnv: NodeJS.ProcessEnv): { rows: Row[]; sides: SideSpec[] } {
  const rows: Row[] = [];
  const sides: SideSpec[] = [];
  for (const { inChannels, inputSize } of INPUTS) {
    for (const batch of BATCHES) {
      const c = trainCase(inChannels, inputSize, batch, 'synthetic');
      const name = caseLabel(c);
      sides.push(lowbitSide(`lowbit ${name}`, `lowbit ${name}`, c, threads));
      if (python) sides.push(pytorchSide(`pytorch ${name}`, `PyTorch ${name}`, c, threads, python, torchEnv));
      rows.push({ name, case: c, lowbitId: `lowbit ${name}`, pytorchId: python ? `pytorch ${name}` : null });
      if (inChannels === LOADER_CASE.inChannels && inputSize === LOADER_CASE.inputSize && batch === LOADER_CASE.batch) {
        const lc = trainCase(inChannels, inputSize, batch, 'fashion-mnist');
        const id = `lowbit ${name} DataLoader`;
        sides.push(lowbitSide(id, `lowbit ${name} with DataLoader`, lc, threads));
        rows.push({ name: `${name} with DataLoader`, case: lc, lowbitId: id, pytorchId: python ? `pytorch ${name}` : null, syntheticId: `lowbit ${name}` });
      }
    }
  }
  return { rows, sides };
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const opts = parseThroughputOptions('bench/train-throughput', { rounds: 3, steps: 30, warmup: 5, out: join(here, 'results', 'train-throughput.json') });
  const started = performance.now();
  const guard = new ContentionGuard({ maxOthersShare: 0.1, retries: opts.retries, quietBudgetMs: opts.quietBudgetS * 1000 });
  const { python, note: torchNote } = findTorchPython();
  const torchSetup = torchMalloc(opts.sameMalloc);
  if (torchNote) console.log(torchNote);
  const { rows, sides } = plan(opts.threads, python, torchSetup.env);

  console.log(
    `bench/train-throughput: ResNet-20 training, SGD Nesterov lr 0.1, ${opts.threads} threads per side, channels-last; ` +
      `${opts.rounds} rounds of ${sides.length} children, each ${opts.warmup} warm-up + ${opts.steps} timed steps`,
  );
  const measured = await measureSides(sides, { ...opts, guard, log: (l) => console.log(l) });

  const results = rows.map((r) => {
    const lowbit = measured.get(r.lowbitId)!;
    const pytorch = r.pytorchId ? measured.get(r.pytorchId)! : null;
    const synthetic = r.syntheticId ? measured.get(r.syntheticId)! : null;
    return {
      name: r.name,
      input: [r.case.inChannels, r.case.inputSize, r.case.inputSize],
      batch: r.case.batch,
      data: lowbit.info.data,
      lowbit: sideRecord(lowbit),
      pytorch: pytorch && !synthetic ? sideRecord(pytorch) : null,
      /** lowbit images/s / PyTorch images/s (the DataLoader row against PyTorch on synthetic data). */
      ratio: pytorch ? lowbit.best.imagesPerSecond / pytorch.best.imagesPerSecond : null,
      /** DataLoader row: the share of throughput the data pipeline costs against synthetic data. */
      dataPipelineCost: synthetic ? 1 - lowbit.best.imagesPerSecond / synthetic.best.imagesPerSecond : undefined,
      contended: [lowbit, pytorch].some((m) => m !== null && guard.isContended(m.best.othersShare)),
    };
  });

  const f0 = (x: number) => x.toFixed(0);
  const f1 = (x: number) => x.toFixed(1);
  const othersCell = (shares: (number | null)[]) => {
    const known = shares.filter((s): s is number => s !== null);
    if (known.length === 0) return 'n/a';
    const max = Math.max(...known);
    return `${Math.round(100 * max)}%${guard.isContended(max) ? '!' : ''}`;
  };
  const table = formatTable(
    ['case', 'lowbit img/s', 'ms/step', 'RSS MiB', 'PyTorch img/s', 'ms/step', 'RSS MiB', 'others', 'lowbit/PyTorch'],
    results.map((r) => {
      const lb = r.lowbit;
      const pt = r.pytorch;
      const ratio = r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}${r.dataPipelineCost !== undefined ? '*' : Number(r.ratio.toFixed(2)) < GOAL ? `  < ${GOAL.toFixed(1)}` : ''}`;
      return [
        r.name,
        f0(lb.imagesPerSecond),
        f1(lb.msPerStep),
        f0(lb.maxRssMiB),
        pt ? f0(pt.imagesPerSecond) : '',
        pt ? f1(pt.msPerStep) : '',
        pt ? f0(pt.maxRssMiB) : '',
        othersCell([lb.othersShare, pt?.othersShare ?? null]),
        ratio,
      ];
    }),
  );
  console.log(`\n${table}`);
  const ratioDefinition = `ratio = lowbit images/s / PyTorch images/s (goal >= ${GOAL.toFixed(1)}); each side its fastest of ${opts.rounds} rounds`;
  console.log(`\n${ratioDefinition}; ms/step = mean over ${opts.steps} timed steps; RSS = the child process's peak resident set.`);
  console.log('Data: synthetic (one random batch in memory, reused every step) on both sides, except the DataLoader row:');
  for (const r of results) {
    if (r.dataPipelineCost !== undefined) {
      console.log(
        `  ${r.name}: real Fashion-MNIST through lowbit's DataLoader (shuffle, crop pad 2 + flip); the pipeline costs ` +
          `${(100 * r.dataPipelineCost).toFixed(1)}% of synthetic-data throughput; * its ratio is against PyTorch on synthetic data.`,
      );
    }
  }
  console.log(
    `others = the most CPU other processes took during a kept block, as a share of the machine; '!' marks a row whose kept block stayed above ${100 * guard.maxOthersShare}% (unreliable).`,
  );

  const torchInfo = python ? (measured.get(rows[0].pytorchId!)?.info ?? null) : null;
  if (torchInfo) torchInfo.malloc = torchSetup.describe;
  const lowbitThreads = measured.get(rows[0].lowbitId)!.info.threads;
  const machine = machineInfo();
  const { commit, dirty } = gitCommit();
  const durationS = printEnvironment(lowbitThreads, torchInfo, torchNote, started);

  writeJsonAtomic(opts.out, {
    benchmark: 'bench/train-throughput',
    date: new Date().toISOString(),
    commit,
    dirty,
    machine,
    node: process.version,
    threads: opts.threads,
    options: { rounds: opts.rounds, steps: opts.steps, warmup: opts.warmup },
    model: 'resnet20 (CIFAR-style, option-B 1x1 shortcuts), channels-last parameters and inputs, 10 classes',
    optimizer: sgdRecipe(0.1),
    step: 'forward, cross-entropy, loss.item(), zero grad (set to none), backward, optimizer step',
    data: 'synthetic: one random batch in memory reused every step (both sides); the DataLoader row: Fashion-MNIST train through lowbit DataLoader',
    contentionGuard: guard.describe(),
    goal: GOAL,
    ratioDefinition,
    lowbit: { ...lowbitInfo(), threads: lowbitThreads },
    pytorch: torchInfo ?? { skipped: torchNote },
    durationS,
    rows: results,
  });
  console.log(`wrote ${opts.out}`);
}

await main();

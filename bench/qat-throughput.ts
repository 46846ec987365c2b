/**
 * Issue 5's benchmark: W2A2 fake-quant training throughput of ResNet-20, against float lowbit training
 * and against the same fake-quant model in PyTorch, in the same run. Issue 16 adds W2A2 with the
 * full-precision auxiliary module attached (src/qat/aux-module.ts): its ratio to plain W2A2 is the
 * module's training overhead.
 *
 *   npm run bench:qat [-- --rounds 3] [--steps 30] [--warmup 5] [--threads N] [--out FILE]
 *                     [--quiet-budget S (120)] [--retries R (3)]
 *
 * A smoke test on a busy machine: --rounds 1 --steps 2 --warmup 1 --quiet-budget 0 --retries 0 --out /tmp/q.json
 *
 * The model: ResNet-20 for 28x28x1 inputs (Fashion-MNIST's shape), 10 classes, channels-last, batch 128
 * (the recipe's) and 64. W2A2 is issue 5's baseline, lowbit's quantizeModel with
 * { weight: sawb 2-bit, act: pact 2-bit (alpha 1.0), firstLast: 8 bits }: SAWB weights per tensor,
 * recomputed every step, on every conv and the FC (stem conv and FC at 8 bits); every conv/linear but
 * the stem quantizes its own input with PACT (8 bits before the FC). The PyTorch copy
 * (bench/train_throughput_torch.py) computes the same forward values and gradients with autograd
 * Functions. SGD (Nesterov, momentum 0.9, lr 0.01 as the QAT recipe, weight decay 5e-4) over every
 * parameter, PACT's alphas included. The data is one synthetic batch in memory, reused every step.
 *
 * Sides, each its own child process (so peak RSS is its own), taking turns for --rounds rounds, each
 * keeping its fastest (bench/lib/throughput-rounds.ts): lowbit float, lowbit W2A2, PyTorch W2A2, and
 * PyTorch float for context (is the fake-quant overhead lowbit's or inherent?).
 *
 * Reported: images/s, ms per step, peak RSS, and two ratios: lowbit W2A2 / lowbit float images/s
 * (goal >= 0.75) and lowbit W2A2 / PyTorch W2A2 images/s (goal >= 1.0). Results go to
 * bench/results/qat-throughput.json (written atomically).
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
import { sgdRecipe, W2A2_SAWB_PACT, type TrainCase } from './lib/train-case.ts';
import { lowbitSide, pytorchSide } from './lib/train-sides.ts';
import { writeJsonAtomic } from './lib/write-json.ts';

const GOAL_VS_FLOAT = 0.75;
const GOAL_VS_PYTORCH = 1.0;
const BATCHES = [128, 64];
const QAT_LR = 0.01;

type Variant = 'lowbitFloat' | 'lowbitW2A2' | 'lowbitW2A2Aux' | 'pytorchW2A2' | 'pytorchFloat';
const VARIANT_LABEL: Record<Variant, string> = {
  lowbitFloat: 'lowbit float',
  lowbitW2A2: 'lowbit W2A2',
  lowbitW2A2Aux: 'lowbit W2A2 + aux module',
  pytorchW2A2: 'PyTorch W2A2',
  pytorchFloat: 'PyTorch float',
};

function trainCase(batch: number, quantized: boolean, aux = false): TrainCase {
  return {
    ...(aux ? { aux } : {}),
    inChannels: 1,
    inputSize: 28,
    numClasses: 10,
    batch,
    data: 'synthetic',
    quant: quantized ? W2A2_SAWB_PACT : null,
    optimizer: sgdRecipe(QAT_LR),
    seed: 0,
  };
}

const sideId = (variant: Variant, batch: number) => `${variant} b${batch}`;

function plan(threads: number, python: string | null, torchEnv: NodeJS.ProcessEnv): SideSpec[] {
  const sides: SideSpec[] = [];
  for (const batch of BATCHES) {
    const label = (v: Variant) => `${VARIANT_LABEL[v]} b${batch}`;
    sides.push(lowbitSide(sideId('lowbitFloat', batch), label('lowbitFloat'), trainCase(batch, false), threads));
    sides.push(lowbitSide(sideId('lowbitW2A2', batch), label('lowbitW2A2'), trainCase(batch, true), threads));
    sides.push(lowbitSide(sideId('lowbitW2A2Aux', batch), label('lowbitW2A2Aux'), trainCase(batch, true, true), threads));
    if (python) {
      sides.push(pytorchSide(sideId('pytorchW2A2', batch), label('pytorchW2A2'), trainCase(batch, true), threads, python, torchEnv));
      sides.push(pytorchSide(sideId('pytorchFloat', batch), label('pytorchFloat'), trainCase(batch, false), threads, python, torchEnv));
    }
  }
  return sides;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const opts = parseThroughputOptions('bench/qat-throughput', { rounds: 3, steps: 30, warmup: 5, out: join(here, 'results', 'qat-throughput.json') });
  const started = performance.now();
  const guard = new ContentionGuard({ maxOthersShare: 0.1, retries: opts.retries, quietBudgetMs: opts.quietBudgetS * 1000 });
  const { python, note: torchNote } = findTorchPython();
  const torchSetup = torchMalloc(opts.sameMalloc);
  if (torchNote) console.log(torchNote);
  const sides = plan(opts.threads, python, torchSetup.env);

  console.log(
    `bench/qat-throughput: ResNet-20 28x28x1, W2A2 (SAWB weights, PACT inputs, stem/FC 8-bit) vs float, SGD Nesterov lr ${QAT_LR}, ` +
      `${opts.threads} threads per side, channels-last; ${opts.rounds} rounds of ${sides.length} children, each ${opts.warmup} warm-up + ${opts.steps} timed steps`,
  );
  const measured = await measureSides(sides, { ...opts, guard, log: (l) => console.log(l) });

  const variants: Variant[] = python ? ['lowbitFloat', 'lowbitW2A2', 'lowbitW2A2Aux', 'pytorchW2A2', 'pytorchFloat'] : ['lowbitFloat', 'lowbitW2A2', 'lowbitW2A2Aux'];
  const ips = (v: Variant, batch: number) => measured.get(sideId(v, batch))?.best.imagesPerSecond ?? NaN;
  const results = BATCHES.map((batch) => {
    const sideRecords = Object.fromEntries(variants.map((v) => [v, sideRecord(measured.get(sideId(v, batch))!)]));
    return {
      batch,
      ...sideRecords,
      /** lowbit W2A2 images/s / lowbit float images/s. */
      w2a2VsFloat: ips('lowbitW2A2', batch) / ips('lowbitFloat', batch),
      /** lowbit W2A2 with the auxiliary module / plain lowbit W2A2 images/s: the module's training cost (issue 16). */
      auxVsPlainW2A2: ips('lowbitW2A2Aux', batch) / ips('lowbitW2A2', batch),
      /** lowbit W2A2 images/s / PyTorch W2A2 images/s. */
      lowbitVsPytorchW2A2: python ? ips('lowbitW2A2', batch) / ips('pytorchW2A2', batch) : null,
      /** PyTorch's own W2A2 / float, for context. */
      pytorchW2A2VsFloat: python ? ips('pytorchW2A2', batch) / ips('pytorchFloat', batch) : null,
      contended: variants.some((v) => guard.isContended(measured.get(sideId(v, batch))!.best.othersShare)),
    };
  });

  const others = (s: number | null) => (s === null ? 'n/a' : `${Math.round(100 * s)}%${guard.isContended(s) ? '!' : ''}`);
  const sidesTable = formatTable(
    ['side', 'img/s', 'ms/step', 'RSS MiB', 'others'],
    BATCHES.flatMap((batch) =>
      variants.map((v) => {
        const b = measured.get(sideId(v, batch))!.best;
        return [`${VARIANT_LABEL[v]} b${batch}`, b.imagesPerSecond.toFixed(0), b.msPerStep.toFixed(1), b.maxRssMiB.toFixed(0), others(b.othersShare)];
      }),
    ),
  );
  const goalMark = (x: number | null, goal: number) => (x === null ? 'n/a' : `${x.toFixed(2)}${Number(x.toFixed(2)) < goal ? `  < ${goal.toFixed(2)}` : ''}`);
  const ratioTable = formatTable(
    ['batch', 'lowbit W2A2/float', 'W2A2 aux/plain', 'lowbit/PyTorch W2A2', 'PyTorch W2A2/float'],
    results.map((r) => [
      String(r.batch),
      goalMark(r.w2a2VsFloat, GOAL_VS_FLOAT),
      r.auxVsPlainW2A2.toFixed(2),
      goalMark(r.lowbitVsPytorchW2A2, GOAL_VS_PYTORCH),
      r.pytorchW2A2VsFloat === null ? 'n/a' : r.pytorchW2A2VsFloat.toFixed(2),
    ]),
  );
  console.log(`\n${sidesTable}\n\n${ratioTable}`);
  const ratioDefinition =
    `ratios of images/s, each side its fastest of ${opts.rounds} rounds: lowbit W2A2 / lowbit float (goal >= ${GOAL_VS_FLOAT}), ` +
    'lowbit W2A2 with the auxiliary module / without (its training overhead), ' +
    `lowbit W2A2 / PyTorch W2A2 (goal >= ${GOAL_VS_PYTORCH.toFixed(1)})`;
  console.log(`\n${ratioDefinition}; ms/step = mean over ${opts.steps} timed steps; RSS = the child process's peak resident set.`);
  console.log('Data: synthetic, one random batch in memory reused every step, on every side.');
  console.log(
    `others = the most CPU other processes took during the kept block, as a share of the machine; '!' marks a side whose kept block stayed above ${100 * guard.maxOthersShare}% (unreliable).`,
  );

  const lowbitThreads = measured.get(sideId('lowbitFloat', BATCHES[0]))!.info.threads;
  const torchInfo = python ? (measured.get(sideId('pytorchW2A2', BATCHES[0]))?.info ?? null) : null;
  if (torchInfo) torchInfo.malloc = torchSetup.describe;
  const machine = machineInfo();
  const { commit, dirty } = gitCommit();
  const durationS = printEnvironment(lowbitThreads, torchInfo, torchNote, started);

  writeJsonAtomic(opts.out, {
    benchmark: 'bench/qat-throughput',
    date: new Date().toISOString(),
    commit,
    dirty,
    machine,
    node: process.version,
    threads: opts.threads,
    options: { rounds: opts.rounds, steps: opts.steps, warmup: opts.warmup },
    model: 'resnet20 (CIFAR-style, option-B 1x1 shortcuts) for 28x28x1, 10 classes, channels-last parameters and inputs',
    quant: W2A2_SAWB_PACT,
    optimizer: sgdRecipe(QAT_LR),
    step: 'forward, cross-entropy, loss.item(), zero grad (set to none), backward, optimizer step',
    data: 'synthetic: one random batch in memory reused every step',
    contentionGuard: guard.describe(),
    goals: { w2a2VsFloat: GOAL_VS_FLOAT, lowbitVsPytorchW2A2: GOAL_VS_PYTORCH },
    ratioDefinition,
    lowbit: { ...lowbitInfo(), threads: lowbitThreads },
    pytorch: torchInfo ?? { skipped: torchNote },
    durationS,
    batches: results,
  });
  console.log(`wrote ${opts.out}`);
}

await main();

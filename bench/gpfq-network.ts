/**
 * Issue 6's whole-network benchmark: GPFQ on every conv and linear layer of the committed float
 * ResNet-20 (results/float/resnet20.safetensors), 2048 seeded Fashion-MNIST calibration images,
 * weight-only, with the same layer pipeline (forward passes, patch matrices, solve, error) as `lowbit ptq`:
 *
 *   node --import tsx bench/gpfq-network.ts [--calib 2048] [--bits 4] [--threads N] [--solvers fast,fast-f64,blocked,reference] [--granularity channel|layer] [--out FILE]
 *
 * Solvers, each in its own child process so that its peak RSS is its own:
 * - fast: the Gram solver with float32 per-batch products (the default of lowbit ptq);
 * - fast-f64: the Gram solver with float64 products (code for code the column loop);
 * - blocked: the column loop in blocks of GEMMs (float32), which holds every layer's whole inputs;
 * - reference: the column loop, which holds every layer's whole m x N0 inputs (float64).
 * Reported: total seconds and the split (forward passes + patches, Gram sums, solve, error sample),
 * peak RSS, test accuracy, ratio reference / fast, and the goal (fast under 60 s on 2 cores).
 * Codes are compared between solvers layer by layer; after the first layer that differs, later layers see
 * different X~ and their codes are not comparable, so only the first divergence is reported.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { blasInUse, getNumThreads, manualSeed } from '../src/tensor/index.ts';
import { quantizeNetwork, type PtqConfig } from '../src/ptq/index.ts';
import { calibrationSet, DataLoader, loadDataset } from '../src/data/index.ts';
import { copyCheckpointModel, evaluate, loadCheckpoint } from '../src/train/index.ts';
import { ContentionGuard } from './lib/contention.ts';
import { resultHeader } from './lib/machine.ts';
import { formatTable } from './lib/table.ts';
import { writeJsonAtomic } from './lib/write-json.ts';

type Solver = 'fast' | 'fast-f64' | 'blocked' | 'reference';
const SOLVERS: Solver[] = ['fast', 'fast-f64', 'blocked', 'reference'];

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: join(here, '..', 'results', 'float', 'resnet20.safetensors') },
    calib: { type: 'string', default: '2048' },
    bits: { type: 'string', default: '4' },
    threads: { type: 'string' },
    solvers: { type: 'string', default: SOLVERS.join(',') },
    granularity: { type: 'string', default: 'channel' },
    seed: { type: 'string', default: '0' },
    child: { type: 'string' },
    out: { type: 'string' },
  },
});
const GOAL_SECONDS = 60;

interface ChildReport {
  solver: Solver;
  seconds: number;
  phases: { inputs: number; gram: number; solve: number; error: number };
  layers: { name: string; shape: number[]; samples: number; seconds: number; relativeError: number; codes: string }[];
  accuracy: number;
  othersShare: number | null;
  maxRssMiB: number;
}

const maxRssMiB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

function runChild(solver: Solver): ChildReport {
  const seed = Number(args.seed);
  manualSeed(seed);
  const calibration = calibrationSet('fashion-mnist', Number(args.calib), seed);
  const analog = loadCheckpoint(args.checkpoint!);
  const copy = { model: copyCheckpointModel(analog.model, analog.modelConfig) };
  const config: PtqConfig = {
    method: 'gpfq',
    bits: Number(args.bits),
    firstLastBits: 8,
    solver: solver === 'reference' || solver === 'blocked' ? solver : 'fast',
    granularity: args.granularity as PtqConfig['granularity'],
    gramDtype: solver === 'fast-f64' ? 'float64' : 'float32',
  };
  const guard = new ContentionGuard({ maxOthersShare: 0.1, quietBudgetMs: 60_000 });
  guard.waitForQuietSync();
  const t0 = performance.now();
  const { value: reports, othersShare } = guard.othersShareDuringSync(() => quantizeNetwork(analog.model, copy.model, calibration, config));
  const seconds = (performance.now() - t0) / 1000;
  const phases = { inputs: 0, gram: 0, solve: 0, error: 0 };
  for (const r of reports) for (const k of Object.keys(phases) as (keyof typeof phases)[]) phases[k] += r.phases[k];
  const test = new DataLoader(loadDataset('fashion-mnist', 'test'), { batchSize: 500, shuffle: false, memoryFormat: 'channelsLast' });
  const accuracy = evaluate(copy.model, test).accuracy;
  return {
    solver,
    seconds,
    phases,
    layers: reports.map((r) => {
      const codes = r.codes.toTypedArray() as Int32Array;
      return { name: r.name, shape: r.shape, samples: r.samples, seconds: r.seconds, relativeError: r.relativeError, codes: Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength).toString('base64') };
    }),
    accuracy,
    othersShare,
    maxRssMiB: maxRssMiB(),
  };
}

function spawnChild(solver: Solver, threads: number): ChildReport {
  const argv = ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', solver];
  for (const k of ['checkpoint', 'calib', 'bits', 'seed', 'granularity'] as const) argv.push(`--${k}`, String(args[k]));
  const r = spawnSync(process.execPath, argv, { env: { ...process.env, LOWBIT_THREADS: String(threads) }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`bench/gpfq-network: the ${solver} child failed (status ${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ChildReport;
}

/** Index and mismatch count of the first layer whose codes differ, or null when all agree. */
function firstDivergence(a: ChildReport, b: ChildReport): { layer: string; mismatchedCodes: number; codes: number } | null {
  for (let l = 0; l < a.layers.length; l++) {
    const x = Buffer.from(a.layers[l].codes, 'base64');
    const y = Buffer.from(b.layers[l].codes, 'base64');
    let mismatched = 0;
    for (let i = 0; i < x.length; i += 4) if (x.readInt32LE(i) !== y.readInt32LE(i)) mismatched++;
    if (mismatched > 0) return { layer: a.layers[l].name, mismatchedCodes: mismatched, codes: x.length / 4 };
  }
  return null;
}

function main(): void {
  if (args.child) {
    process.stdout.write(`${JSON.stringify(runChild(args.child as Solver))}\n`);
    return;
  }
  const threads = args.threads ? Number(args.threads) : getNumThreads();
  const solvers = args.solvers!.split(',') as Solver[];
  for (const s of solvers) if (!SOLVERS.includes(s)) throw new Error(`--solvers: unknown solver '${s}' (known: ${SOLVERS.join(', ')})`);
  const reports = new Map<Solver, ChildReport>();
  for (const s of solvers) {
    process.stderr.write(`bench/gpfq-network: ${s} ...\n`);
    reports.set(s, spawnChild(s, threads));
  }
  const fast = reports.get('fast');
  const ref = reports.get('reference');
  const strip = (r: ChildReport) => ({ ...r, layers: r.layers.map(({ codes, ...rest }) => (void codes, rest)) });
  const result = {
    ...resultHeader('bench/gpfq-network', threads),
    network: { checkpoint: args.checkpoint, calibrationImages: Number(args.calib), bits: Number(args.bits), firstLastBits: 8, alphabet: `signed (2^b levels), one step per ${args.granularity === 'layer' ? 'layer' : 'output channel'}, C = 1.16` },
    goalSeconds: GOAL_SECONDS,
    ratioDefinition: 'ratio = reference seconds / fast seconds, whole network',
    ratio: fast && ref ? ref.seconds / fast.seconds : null,
    firstDivergence: Object.fromEntries(solvers.filter((s) => s !== 'reference' && ref).map((s) => [s, firstDivergence(reports.get(s)!, ref!)])),
    solvers: Object.fromEntries([...reports].map(([s, r]) => [s, strip(r)])),
  };
  const out = args.out ?? join(here, 'results', 'gpfq-network.json');
  writeJsonAtomic(out, result);
  const f = (x: number) => x.toFixed(1);
  console.log(`GPFQ whole ResNet-20, ${args.calib} calibration images, W${args.bits} (first/last 8), ${threads} threads, ${blasInUse()}`);
  console.log(
    formatTable(
      ['solver', 'seconds', 'inputs', 'gram', 'solve', 'error', 'peak RSS MiB', 'test acc', 'others'],
      [...reports.values()].map((r) => [r.solver, f(r.seconds), f(r.phases.inputs), f(r.phases.gram), f(r.phases.solve), f(r.phases.error), r.maxRssMiB.toFixed(0), `${(100 * r.accuracy).toFixed(2)}%`, r.othersShare?.toFixed(2) ?? '-']),
    ),
  );
  if (fast) console.log(`  fast: ${f(fast.seconds)} s, goal < ${GOAL_SECONDS} s: ${fast.seconds < GOAL_SECONDS ? 'met' : 'not met'}`);
  if (result.ratio !== null) console.log(`  ratio reference/fast = ${result.ratio.toFixed(2)}x`);
  for (const [s, d] of Object.entries(result.firstDivergence)) console.log(`  ${s} vs reference: ${d ? `first differs at ${d.layer} (${d.mismatchedCodes} of ${d.codes} codes)` : 'identical codes in every layer'}`);
  console.log(`  wrote ${out}`);
}

main();

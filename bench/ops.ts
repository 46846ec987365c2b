/**
 * Issue 3's benchmark: lowbit against PyTorch on the ops that dominate ResNet-20 training on CIFAR-10,
 * measured in the same run.
 *
 *   npm run bench:ops [-- --threads N] [--seconds S] [--only SUBSTRING] [--same-malloc] [--out FILE]
 *
 * Cases: conv2d forward+backward at ResNet-20's layer shapes (batch 64, NCHW and channels-last), a
 * 1024^3 float32 matmul, and one basic block (conv-bn-relu-conv-bn + identity, relu) forward+backward
 * in channels-last. PyTorch (Debian python3-torch) runs in a child process, bench/ops_torch.py, driven
 * over a pipe so that both sides use the same case definitions (CASES below), the same thread count,
 * the same warm-up, and are interleaved block by block: noise from other work on the machine lands on
 * both sides instead of on whichever happened to run second.
 *
 * Reported: the median ms per step on each side and ratio = PyTorch ms / lowbit ms, so 1.0 is parity and
 * >= 0.95 means lowbit is at least 95% as fast. Results go to bench/results/ops.json.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LowbitError } from '../src/errors.ts';
import {
  F,
  getNumThreads,
  manualSeed,
  ones,
  randn,
  scope,
  setNumThreads,
  Tensor,
  zeros,
  type MemoryFormat,
} from '../src/tensor/index.ts';
import { ContentionGuard, type Guarded } from './lib/contention.ts';
import { gitCommit } from './lib/git.ts';
import { describeMalloc as describeLowbitMalloc, lowbitInfo, machineInfo } from './lib/machine.ts';
import { median, summarize, type Summary } from './lib/stats.ts';
import { torchMalloc } from './lib/torch-malloc.ts';
import { findTorchPython } from './lib/torch-python.ts';
import { writeJsonAtomic } from './lib/write-json.ts';

type Format = Extract<MemoryFormat, 'contiguous' | 'channelsLast'>;

type CaseSpec =
  | { kind: 'conv'; name: string; batch: number; cin: number; cout: number; hw: number; stride: number; format: Format }
  | { kind: 'matmul'; name: string; m: number; k: number; n: number }
  | { kind: 'block'; name: string; batch: number; channels: number; hw: number; format: Format };

const BATCH = 64;
const CONV_SHAPES = [
  { cin: 16, cout: 16, hw: 32, stride: 1 },
  { cin: 32, cout: 32, hw: 16, stride: 1 },
  { cin: 64, cout: 64, hw: 8, stride: 1 },
  { cin: 16, cout: 32, hw: 32, stride: 2 },
];
const FORMATS: Format[] = ['contiguous', 'channelsLast'];
const FORMAT_LABEL: Record<Format, string> = { contiguous: 'NCHW', channelsLast: 'channels-last' };

const CASES: CaseSpec[] = [
  ...CONV_SHAPES.flatMap(({ cin, cout, hw, stride }) =>
    FORMATS.map(
      (format): CaseSpec => ({
        kind: 'conv',
        name: `conv3x3 ${cin}->${cout} @${hw}x${hw}${stride > 1 ? ` s${stride}` : ''} fwd+bwd, ${FORMAT_LABEL[format]}`,
        batch: BATCH,
        cin,
        cout,
        hw,
        stride,
        format,
      }),
    ),
  ),
  { kind: 'matmul', name: 'matmul 1024x1024x1024 fp32', m: 1024, k: 1024, n: 1024 },
  { kind: 'block', name: 'basic block 16ch @32x32 fwd+bwd, channels-last', batch: BATCH, channels: 16, hw: 32, format: 'channelsLast' },
];

const WARMUP = 5;
const BLOCKS = 6; // alternations of lowbit and PyTorch per case
const MIN_REPS = 12;
const MAX_REPS = 300;
const RATIO_TARGET = 0.95;

// ------------------------------------------------------------------------------------ lowbit side
interface LowbitCase {
  step(): void;
  dispose(): void;
}

/** A leaf that requires grad, with t's data and memory format (t itself is freed by the caller's scope). */
function leaf(t: Tensor): Tensor {
  return t.detach().requiresGrad_(true);
}

function heInit(shape: number[], fanIn: number): Tensor {
  return randn(shape).mul(Math.sqrt(2 / fanIn));
}

function convCase(spec: Extract<CaseSpec, { kind: 'conv' }>): LowbitCase {
  const { batch, cin, cout, hw, stride, format } = spec;
  const ho = Math.floor((hw + 2 - 3) / stride) + 1;
  const [x, w, gy] = scope(() => [
    leaf(randn([batch, cin, hw, hw]).contiguous(format)),
    leaf(heInit([cout, cin, 3, 3], 9 * cin).contiguous(format)),
    randn([batch, cout, ho, ho]).contiguous(format),
  ]);
  return {
    step: () =>
      scope(() => {
        x.grad = null;
        w.grad = null;
        F.conv2d(x, w, null, { stride, padding: 1 }).backward(gy);
      }),
    dispose: () => [x, w, gy].forEach((t) => t.dispose()),
  };
}

function matmulCase(spec: Extract<CaseSpec, { kind: 'matmul' }>): LowbitCase {
  const a = randn([spec.m, spec.k]);
  const b = randn([spec.k, spec.n]);
  return {
    step: () => scope(() => void a.matmul(b)),
    dispose: () => [a, b].forEach((t) => t.dispose()),
  };
}

function blockCase(spec: Extract<CaseSpec, { kind: 'block' }>): LowbitCase {
  const { batch: n, channels: c, hw, format } = spec;
  const t = scope(() => ({
    x: leaf(randn([n, c, hw, hw]).contiguous(format)),
    w1: leaf(heInit([c, c, 3, 3], 9 * c).contiguous(format)),
    w2: leaf(heInit([c, c, 3, 3], 9 * c).contiguous(format)),
    g1: leaf(ones([c])),
    b1: leaf(zeros([c])),
    g2: leaf(ones([c])),
    b2: leaf(zeros([c])),
    rm1: zeros([c]),
    rv1: ones([c]),
    rm2: zeros([c]),
    rv2: ones([c]),
    gy: randn([n, c, hw, hw]).contiguous(format),
  }));
  const leaves = [t.x, t.w1, t.w2, t.g1, t.b1, t.g2, t.b2];
  return {
    step: () =>
      scope(() => {
        for (const l of leaves) l.grad = null;
        let out = F.conv2d(t.x, t.w1, null, { padding: 1 });
        out = F.batchNorm(out, { weight: t.g1, bias: t.b1, runningMean: t.rm1, runningVar: t.rv1, training: true });
        out = out.relu();
        out = F.conv2d(out, t.w2, null, { padding: 1 });
        out = F.batchNorm(out, { weight: t.g2, bias: t.b2, runningMean: t.rm2, runningVar: t.rv2, training: true });
        out = out.add(t.x).relu();
        out.backward(t.gy);
      }),
    dispose: () => Object.values(t).forEach((v) => v.dispose()),
  };
}

function makeLowbitCase(spec: CaseSpec): LowbitCase {
  manualSeed(0);
  if (spec.kind === 'conv') return convCase(spec);
  if (spec.kind === 'matmul') return matmulCase(spec);
  return blockCase(spec);
}

function timeLowbit(c: LowbitCase, reps: number): number[] {
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    c.step();
    ms.push(performance.now() - t0);
  }
  return ms;
}

// ----------------------------------------------------------------------------------- PyTorch side
interface TorchInfo {
  torch: string;
  threads: number;
  python: string;
  executable: string;
  blas: string;
  mkldnn: boolean;
}

class TorchSide {
  private readonly lines: AsyncIterator<string>;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(python: string, threads: number, env: NodeJS.ProcessEnv): Promise<{ side: TorchSide; info: TorchInfo }> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'ops_torch.py');
    const child = spawn(python, [script, String(threads)], { stdio: ['pipe', 'pipe', 'inherit'], env });
    const side = new TorchSide(child);
    const info = (await side.receive()) as unknown as TorchInfo;
    return { side, info };
  }

  private async receive(): Promise<Record<string, unknown>> {
    const next = await this.lines.next();
    if (next.done) throw new LowbitError('bench/ops_torch.py exited early; its error is printed above');
    const msg = JSON.parse(next.value) as Record<string, unknown>;
    if (typeof msg.error === 'string') throw new LowbitError(`bench/ops_torch.py failed:\n${msg.error}`);
    return msg;
  }

  private async request(msg: object): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(msg)}\n`);
    return this.receive();
  }

  async setup(spec: CaseSpec): Promise<void> {
    await this.request({ op: 'setup', spec });
  }
  async time(name: string, reps: number): Promise<number[]> {
    return (await this.request({ op: 'run', name, reps })).ms as number[];
  }
  async drop(name: string): Promise<void> {
    await this.request({ op: 'drop', name });
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
  quit(): void {
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
  }
}

// ------------------------------------------------------------------------------- contention guard
// Every timed block runs under the guard (bench/lib/contention.ts): it starts when other processes use
// at most 10% of the machine and is re-run up to 3 times if they took more, within 120 s of waiting in all.
const guard = new ContentionGuard({ maxOthersShare: 0.1, retries: 3, quietBudgetMs: 120_000 });
const CONTENDED = guard.maxOthersShare;
const RETRIES = guard.retries;

type GuardedBlock = Guarded<number[]>;

// ------------------------------------------------------------------------------------------- main
interface CaseResult {
  name: string;
  kind: CaseSpec['kind'];
  format: string;
  reps: number;
  lowbit: Summary;
  pytorch: Summary | null;
  /** PyTorch median ms / lowbit median ms. */
  ratio: number | null;
  contention: Contention;
}

interface Contention {
  /** Largest share of the machine that other processes used during a kept block (null without /proc). */
  maxOthersShare: number | null;
  /** Kept blocks that stayed above CONTENDED after every retry. */
  contendedBlocks: number;
  /** Blocks run again because of other processes. */
  reruns: number;
}

function contentionOf(blocks: GuardedBlock[]): Contention {
  const shares = blocks.map((b) => b.othersShare).filter((s): s is number => s !== null);
  return {
    maxOthersShare: shares.length ? Math.max(...shares) : null,
    contendedBlocks: shares.filter((s) => s > CONTENDED).length,
    reruns: blocks.reduce((n, b) => n + b.attempts - 1, 0),
  };
}

interface Options {
  threads: number;
  seconds: number;
  only: string | undefined;
  /** Give the PyTorch process lowbit's malloc settings too (through glibc's MALLOC_* variables). */
  sameMalloc: boolean;
  /** Results file; default bench/results/ops[-same-malloc][-partial].json. */
  out: string | undefined;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'same-malloc': { type: 'boolean', default: false },
    },
  });
  const threads = Number(values.threads ?? process.env.LOWBIT_THREADS ?? availableParallelism());
  const seconds = Number(values.seconds ?? 90);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new LowbitError(`bench/ops: --threads must be a positive integer, got '${values.threads}'`);
  }
  if (!(seconds > 0)) throw new LowbitError(`bench/ops: --seconds must be a positive number, got '${values.seconds}'`);
  return { threads, seconds, only: values.only, sameMalloc: values['same-malloc'] ?? false, out: values.out };
}

const othersCell = (c: Contention): string =>
  c.maxOthersShare === null ? 'n/a' : `${Math.round(100 * c.maxOthersShare)}%${c.contendedBlocks > 0 ? '!' : ''}`;
const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(1) : ms.toFixed(2));
/** "3.41 ±2%": median and half the interquartile range relative to it. */
const cell = (s: Summary): string => `${fmt(s.medianMs)} ±${Math.round((50 * (s.p75Ms - s.p25Ms)) / s.medianMs)}%`;

async function main(): Promise<void> {
  const { threads, seconds, only, sameMalloc, out: outOption } = parseOptions();
  const cases = only === undefined ? CASES : CASES.filter((c) => c.name.includes(only));
  if (cases.length === 0) throw new LowbitError(`bench/ops: --only '${only}' matches no case; case names:\n${CASES.map((c) => c.name).join('\n')}`);
  const started = performance.now();
  setNumThreads(threads);

  const { python, note: torchNote } = findTorchPython();
  let torch: { side: TorchSide; info: TorchInfo } | null = null;
  const { env: torchEnv, describe: torchMallocText } = torchMalloc(sameMalloc);
  if (python) torch = await TorchSide.start(python, threads, torchEnv);
  if (torchNote) console.log(torchNote);

  console.log(
    `bench/ops: ${cases.length} cases, threads: lowbit ${getNumThreads()}, PyTorch ${torch ? torch.info.threads : 'n/a'}; ` +
      `warm-up ${WARMUP} steps per side; then ${BLOCKS} alternating blocks per side, ~${seconds} s in all`,
  );
  const perCaseBudgetMs = (seconds * 1000) / cases.length;
  const results: CaseResult[] = [];

  for (const spec of cases) {
    const lowbitCase = makeLowbitCase(spec);
    await torch?.side.setup(spec);

    // Warm-up (oneDNN primitive caches, allocator, BLAS threads); its medians size the timed run.
    const warmLowbit = median(timeLowbit(lowbitCase, WARMUP));
    const warmTorch = torch ? median(await torch.side.time(spec.name, WARMUP)) : 0;
    const perBlock = Math.max(
      Math.ceil(MIN_REPS / BLOCKS),
      Math.min(Math.ceil(MAX_REPS / BLOCKS), Math.floor(perCaseBudgetMs / (warmLowbit + warmTorch) / BLOCKS)),
    );

    const ownPids = torch ? [process.pid, torch.side.pid] : [process.pid];
    const lowbitBlocks: GuardedBlock[] = [];
    const torchBlocks: GuardedBlock[] = [];
    const lowbitBlock = async () => lowbitBlocks.push(await guard.guarded(() => timeLowbit(lowbitCase, perBlock), ownPids));
    for (let b = 0; b < BLOCKS; b++) {
      // Alternate which side goes first so a slow drift in machine load does not favour either.
      if (b % 2 === 0) await lowbitBlock();
      if (torch) torchBlocks.push(await guard.guarded(() => torch.side.time(spec.name, perBlock), ownPids));
      if (b % 2 === 1) await lowbitBlock();
    }
    lowbitCase.dispose();
    await torch?.side.drop(spec.name);
    const lowbitMs = lowbitBlocks.flatMap((b) => b.value);
    const torchMs = torchBlocks.flatMap((b) => b.value);
    const contention = contentionOf([...lowbitBlocks, ...torchBlocks]);

    const blockMedians = (blocks: GuardedBlock[]) => blocks.map((b) => Number(median(b.value).toFixed(3)));
    const lowbit = { ...summarize(lowbitMs), blockMediansMs: blockMedians(lowbitBlocks) };
    const pytorch = torch ? { ...summarize(torchMs), blockMediansMs: blockMedians(torchBlocks) } : null;
    const result: CaseResult = {
      name: spec.name,
      kind: spec.kind,
      format: spec.kind === 'matmul' ? 'row-major' : FORMAT_LABEL[spec.format],
      reps: lowbitMs.length,
      lowbit,
      pytorch,
      ratio: pytorch ? pytorch.medianMs / lowbit.medianMs : null,
      contention,
    };
    results.push(result);
    const ratio = result.ratio === null ? 'n/a' : result.ratio.toFixed(2);
    console.log(
      `  ${spec.name}: lowbit ${cell(lowbit)} ms, PyTorch ${pytorch ? `${cell(pytorch)} ms` : 'n/a'}, ratio ${ratio}; ` +
        `others' CPU ${othersCell(contention)}, ${contention.reruns} blocks re-run`,
    );
  }
  torch?.side.quit();

  const nameWidth = Math.max(4, ...results.map((r) => r.name.length));
  const header =
    `${'case'.padEnd(nameWidth)} | ${'N'.padStart(3)} | ${'lowbit ms'.padStart(12)} | ${'PyTorch ms'.padStart(12)} | ` +
    `${'others'.padStart(6)} | ratio`;
  console.log(`\n${header}\n${'-'.repeat(header.length + 8)}`);
  for (const r of results) {
    const ratio = r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}${r.ratio < RATIO_TARGET ? '  < 0.95' : ''}`;
    console.log(
      `${r.name.padEnd(nameWidth)} | ${String(r.reps).padStart(3)} | ${cell(r.lowbit).padStart(12)} | ` +
        `${(r.pytorch ? cell(r.pytorch) : 'n/a').padStart(12)} | ${othersCell(r.contention).padStart(6)} | ${ratio}`,
    );
  }
  const ratioDefinition =
    'ratio = PyTorch median ms / lowbit median ms (1.00 = parity; >= 0.95 means lowbit is at least 95% as fast as PyTorch)';
  console.log(`\n${ratioDefinition}; ms = median per step over N steps, ± = half the interquartile range.`);
  console.log('Steps: conv = forward + backward (grads of input and weight, no bias); block = conv-bn-relu-conv-bn + x, relu,');
  console.log('forward + backward with batch-norm in training mode; matmul = forward only. Batch 64 throughout.');
  console.log(
    `others = the most CPU other processes took during a kept block, as a share of the machine; blocks start when ` +
      `others use <= ${100 * CONTENDED}% and are re-run up to ${RETRIES} times if they took more; '!' marks a case where a kept block stayed above (unreliable).`,
  );

  const lowbitBuild = lowbitInfo();
  const mallocNote = describeLowbitMalloc(lowbitBuild.malloc);
  const git = gitCommit();
  const commit = git.commit ?? 'unknown (not a git checkout)';
  const dirty = git.dirty;
  const machine = machineInfo();
  console.log(`\nlowbit:  libtorch ${lowbitBuild.libtorch} (headers' TORCH_VERSION), BLAS ${lowbitBuild.blas}, oneDNN ${lowbitBuild.mkldnn ? 'on' : 'off'}, ${lowbitBuild.threads} threads, ${mallocNote}`);
  if (torch) {
    const t = torch.info;
    console.log(`PyTorch: torch ${t.torch} (python ${t.python}, ${t.executable}), BLAS ${t.blas}, oneDNN ${t.mkldnn ? 'on' : 'off'}, ${t.threads} threads, ${torchMallocText}`);
  } else {
    console.log(`PyTorch: not run. ${torchNote}`);
  }
  const totalS = (performance.now() - started) / 1000;
  console.log(`machine: ${machine.cpuModel} x ${machine.cores}, node ${process.version}, commit ${commit}${dirty ? ' (dirty)' : ''}; ${totalS.toFixed(0)} s`);

  // A --same-malloc or --only run gets its own file, so it does not replace the full default run.
  const file = `ops${sameMalloc ? '-same-malloc' : ''}${only !== undefined ? '-partial' : ''}.json`;
  const out = outOption ?? join(dirname(fileURLToPath(import.meta.url)), 'results', file);
  writeJsonAtomic(out, {
    benchmark: 'bench/ops',
    date: new Date().toISOString(),
    commit,
    dirty,
    machine,
    node: process.version,
    threads,
    options: { sameMalloc, only: only ?? null, seconds },
    warmup: WARMUP,
    blocksPerSide: BLOCKS,
    contentionGuard: { maxOthersShare: CONTENDED, retries: RETRIES, quietWaitedS: guard.quietWaitedMs / 1000 },
    ratioDefinition,
    lowbit: lowbitBuild,
    pytorch: torch ? { ...torch.info, malloc: torchMallocText } : { skipped: torchNote },
    durationS: totalS,
    cases: results,
  });
  console.log(`wrote ${out}`);
}

await main();

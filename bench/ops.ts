/**
 * Issue 3's benchmark: lowbit against PyTorch on the ops that dominate ResNet-20 training on CIFAR-10,
 * measured in the same run.
 *
 *   npm run bench:ops [-- --threads N] [--seconds S] [--only SUBSTRING] [--same-malloc]
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
import { execFileSync, spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LowbitError } from '../src/errors.ts';
import {
  blasInUse,
  buildInfo,
  F,
  getNumThreads,
  mallocSettings,
  manualSeed,
  ones,
  randn,
  scope,
  setNumThreads,
  Tensor,
  zeros,
  type MemoryFormat,
} from '../src/tensor/index.ts';

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

function torchImports(python: string): boolean {
  return spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * A python3 that can import torch. `python3` on PATH may be a pyenv or venv interpreter that does not
 * see Debian's dist-packages, so /usr/bin/python3 is tried too; when neither has torch, Debian's
 * python3-torch is installed with apt-get. Returns null (and says why) when that fails.
 */
function findTorchPython(): { python: string | null; note: string } {
  const candidates = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p))];
  const found = () => candidates.find(torchImports) ?? null;
  let python = found();
  if (python) return { python, note: '' };
  console.log(`PyTorch is not importable by ${candidates.join(' or ')}: installing Debian's python3-torch (apt-get install -y python3-torch)...`);
  let apt = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'inherit' });
  if (apt.status !== 0) {
    console.log('apt-get install failed; running apt-get update and trying once more...');
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    apt = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'inherit' });
  }
  python = found();
  if (python) return { python, note: 'installed python3-torch with apt-get' };
  const why = apt.error ? apt.error.message : `apt-get exited with status ${apt.status}`;
  return { python: null, note: `PyTorch column skipped: python3-torch could not be installed (${why}; run as root or install it by hand)` };
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
// On a small shared machine, another process taking one of the cores does not slow a 2-thread ATen op
// by half: OpenMP's spinning barriers wait for the descheduled thread, and steps become 5-20x slower.
// Interleaving cannot fix that, so every timed block is checked: /proc/stat says how much CPU the whole
// machine used during the block, /proc/<pid>/stat how much this benchmark used (node and python); the
// rest is other work. Before each block the benchmark waits (up to QUIET_BUDGET_MS over the whole run)
// until others use at most CONTENDED of the machine; a block during which they used more anyway is run
// again, up to RETRIES times, and the least disturbed attempt is kept. A machine that never goes quiet
// still gets a result, with the case marked.
const CONTENDED = 0.1;
const RETRIES = 3;
const QUIET_BUDGET_MS = 120_000;
const QUIET_PROBE_MS = 250;
let quietWaitedMs = 0;

/** Jiffies: [busy, total] over all CPUs, or null without /proc. */
function machineJiffies(): [number, number] | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return [total - f[3] - f[4], total];
  } catch {
    return null;
  }
}

/** Jiffies of CPU (user + system, all threads) used by the given processes. */
function processJiffies(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, state
      sum += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process is gone; what it used is no longer counted, which can only overstate contention.
    }
  }
  return sum;
}

interface GuardedBlock {
  ms: number[];
  /** Share of the machine's CPU time used by other processes during the kept attempt (null without /proc). */
  othersShare: number | null;
  attempts: number;
}

/** Runs fn and measures the share of the machine's CPU that processes other than ownPids used meanwhile. */
async function othersShareDuring<T>(fn: () => T | Promise<T>, ownPids: number[]): Promise<{ value: T; othersShare: number | null }> {
  const m0 = machineJiffies();
  const p0 = processJiffies(ownPids);
  const value = await fn();
  const m1 = machineJiffies();
  const p1 = processJiffies(ownPids);
  if (m0 === null || m1 === null) return { value, othersShare: null };
  const total = m1[1] - m0[1];
  return { value, othersShare: total > 0 ? Math.max(0, m1[0] - m0[0] - (p1 - p0)) / total : 0 };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForQuiet(ownPids: number[]): Promise<void> {
  while (quietWaitedMs < QUIET_BUDGET_MS) {
    const { othersShare } = await othersShareDuring(() => sleep(QUIET_PROBE_MS), ownPids);
    quietWaitedMs += QUIET_PROBE_MS;
    if (othersShare === null || othersShare <= CONTENDED) return;
  }
}

async function guardedBlock(run: () => number[] | Promise<number[]>, ownPids: number[]): Promise<GuardedBlock> {
  let best: GuardedBlock | null = null;
  for (let attempt = 1; ; attempt++) {
    await waitForQuiet(ownPids);
    const { value: ms, othersShare } = await othersShareDuring(run, ownPids);
    if (othersShare === null) return { ms, othersShare, attempts: attempt };
    if (best === null || othersShare < best.othersShare!) best = { ms, othersShare, attempts: attempt };
    else best.attempts = attempt;
    if (othersShare <= CONTENDED || attempt > RETRIES) return best;
  }
}

// ------------------------------------------------------------------------------------- statistics
interface Summary {
  medianMs: number;
  /** The median of each interleaved block, in run order: drift or a disturbed block shows here. */
  blockMediansMs?: number[];
  p25Ms: number;
  p75Ms: number;
  minMs: number;
  reps: number;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summarize(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  return { medianMs: quantile(s, 0.5), p25Ms: quantile(s, 0.25), p75Ms: quantile(s, 0.75), minMs: s[0], reps: s.length };
}

const median = (ms: number[]): number => summarize(ms).medianMs;

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

function gitCommit(): { commit: string; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: null };
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

interface Options {
  threads: number;
  seconds: number;
  only: string | undefined;
  /** Give the PyTorch process lowbit's malloc settings too (through glibc's MALLOC_* variables). */
  sameMalloc: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string' },
      seconds: { type: 'string' },
      only: { type: 'string' },
      'same-malloc': { type: 'boolean', default: false },
    },
  });
  const threads = Number(values.threads ?? process.env.LOWBIT_THREADS ?? availableParallelism());
  const seconds = Number(values.seconds ?? 90);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new LowbitError(`bench/ops: --threads must be a positive integer, got '${values.threads}'`);
  }
  if (!(seconds > 0)) throw new LowbitError(`bench/ops: --seconds must be a positive number, got '${values.seconds}'`);
  return { threads, seconds, only: values.only, sameMalloc: values['same-malloc'] ?? false };
}

const describeMalloc = (env: NodeJS.ProcessEnv): string =>
  `malloc mmap/trim thresholds ${Number(env.MALLOC_MMAP_THRESHOLD_) / 2 ** 20}/${Number(env.MALLOC_TRIM_THRESHOLD_) / 2 ** 20} MiB (--same-malloc)`;
const othersCell = (c: Contention): string =>
  c.maxOthersShare === null ? 'n/a' : `${Math.round(100 * c.maxOthersShare)}%${c.contendedBlocks > 0 ? '!' : ''}`;
const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(1) : ms.toFixed(2));
/** "3.41 ±2%": median and half the interquartile range relative to it. */
const cell = (s: Summary): string => `${fmt(s.medianMs)} ±${Math.round((50 * (s.p75Ms - s.p25Ms)) / s.medianMs)}%`;

async function main(): Promise<void> {
  const { threads, seconds, only, sameMalloc } = parseOptions();
  const cases = only === undefined ? CASES : CASES.filter((c) => c.name.includes(only));
  if (cases.length === 0) throw new LowbitError(`bench/ops: --only '${only}' matches no case; case names:\n${CASES.map((c) => c.name).join('\n')}`);
  const started = performance.now();
  setNumThreads(threads);

  const { python, note: torchNote } = findTorchPython();
  let torch: { side: TorchSide; info: TorchInfo } | null = null;
  // By default each side runs as it ships: lowbit tunes glibc's malloc when it loads (src/tensor/system.ts),
  // PyTorch does not. --same-malloc gives PyTorch the same thresholds, so the ratio isolates the kernels
  // and the binding from the allocator.
  const malloc = mallocSettings();
  const torchEnv: NodeJS.ProcessEnv = { ...process.env };
  if (sameMalloc && malloc.tuned) {
    torchEnv.MALLOC_MMAP_THRESHOLD_ = String(malloc.mmapThresholdBytes);
    if (malloc.trimThresholdBytes !== null) torchEnv.MALLOC_TRIM_THRESHOLD_ = String(malloc.trimThresholdBytes);
  }
  const torchMalloc =
    sameMalloc && malloc.tuned
      ? describeMalloc(torchEnv)
      : process.env.MALLOC_MMAP_THRESHOLD_ !== undefined || process.env.MALLOC_TRIM_THRESHOLD_ !== undefined
        ? 'malloc as set by MALLOC_* variables in the environment'
        : "glibc's default malloc";
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
    const lowbitBlock = async () => lowbitBlocks.push(await guardedBlock(() => timeLowbit(lowbitCase, perBlock), ownPids));
    for (let b = 0; b < BLOCKS; b++) {
      // Alternate which side goes first so a slow drift in machine load does not favour either.
      if (b % 2 === 0) await lowbitBlock();
      if (torch) torchBlocks.push(await guardedBlock(() => torch.side.time(spec.name, perBlock), ownPids));
      if (b % 2 === 1) await lowbitBlock();
    }
    lowbitCase.dispose();
    await torch?.side.drop(spec.name);
    const lowbitMs = lowbitBlocks.flatMap((b) => b.ms);
    const torchMs = torchBlocks.flatMap((b) => b.ms);
    const contention = contentionOf([...lowbitBlocks, ...torchBlocks]);

    const blockMedians = (blocks: GuardedBlock[]) => blocks.map((b) => Number(median(b.ms).toFixed(3)));
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

  const info = buildInfo();
  const blas = blasInUse();
  const mallocNote = malloc.tuned
    ? `malloc mmap/trim thresholds ${malloc.mmapThresholdBytes! / 2 ** 20}/${(malloc.trimThresholdBytes ?? 0) / 2 ** 20} MiB`
    : "glibc's default malloc";
  const { commit, dirty } = gitCommit();
  const cpuList = cpus();
  console.log(`\nlowbit:  libtorch ${info.torchVersion} (headers' TORCH_VERSION), BLAS ${blas}, oneDNN ${info.mkldnn ? 'on' : 'off'}, ${getNumThreads()} threads, ${mallocNote}`);
  if (torch) {
    const t = torch.info;
    console.log(`PyTorch: torch ${t.torch} (python ${t.python}, ${t.executable}), BLAS ${t.blas}, oneDNN ${t.mkldnn ? 'on' : 'off'}, ${t.threads} threads, ${torchMalloc}`);
  } else {
    console.log(`PyTorch: not run. ${torchNote}`);
  }
  const totalS = (performance.now() - started) / 1000;
  console.log(`machine: ${cpuList[0]?.model ?? 'unknown'} x ${cpuList.length}, node ${process.version}, commit ${commit}${dirty ? ' (dirty)' : ''}; ${totalS.toFixed(0)} s`);

  // A --same-malloc or --only run gets its own file, so it does not replace the full default run.
  const file = `ops${sameMalloc ? '-same-malloc' : ''}${only !== undefined ? '-partial' : ''}.json`;
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', file);
  writeJsonAtomic(out, {
    benchmark: 'bench/ops',
    date: new Date().toISOString(),
    commit,
    dirty,
    machine: { cpuModel: cpuList[0]?.model ?? 'unknown', cores: cpuList.length, os: `${platform()} ${release()}` },
    node: process.version,
    threads,
    options: { sameMalloc, only: only ?? null, seconds },
    warmup: WARMUP,
    blocksPerSide: BLOCKS,
    contentionGuard: { maxOthersShare: CONTENDED, retries: RETRIES, quietWaitedS: quietWaitedMs / 1000 },
    ratioDefinition,
    lowbit: { libtorch: info.torchVersion, blas, mkldnn: info.mkldnn, threads: getNumThreads(), malloc },
    pytorch: torch ? { ...torch.info, malloc: torchMalloc } : { skipped: torchNote },
    durationS: totalS,
    cases: results,
  });
  console.log(`wrote ${out}`);
}

await main();

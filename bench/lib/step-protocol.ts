/**
 * The line protocol between a throughput benchmark and the child processes that train (one side, one
 * case per child, so that the child's peak RSS is that side's alone). One JSON object per line:
 *
 *   child  -> {"ready": true, ...info}                  model, optimizer and data built
 *   parent -> {"op": "run", "steps": k}
 *   child  -> {"ms": [...k step times], "images": n, "maxRssMiB": m}
 *   parent -> {"op": "quit"}                           (or closes stdin)
 *   child  -> {"error": "..."}                         instead of any answer, on failure
 *
 * The parent side is StepChild; a lowbit child answers with serveSteps; bench/train_throughput_torch.py
 * speaks the same protocol. The parent waits for a quiet machine before each "run" and measures the
 * CPU others used meanwhile (bench/lib/contention.ts), so the children only time their steps.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { LowbitError } from '../../src/errors.ts';

export interface RunReply {
  /** Wall time of each step, ms. */
  ms: number[];
  /** Images the steps consumed (batch x steps, less at the end of a DataLoader epoch). */
  images: number;
  /** The child's peak resident set so far, MiB. */
  maxRssMiB: number;
}

export class StepChild {
  private readonly lines: AsyncIterator<string>;
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcessByStdio<Writable, Readable, null>,
    readonly label: string,
    /** The ready message's fields: versions, threads, what was built. */
    public info: Record<string, unknown> = {},
  ) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** Starts the child and waits until it has built its case. */
  static async start(label: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<StepChild> {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
    const side = new StepChild(child, label);
    const { ready, ...info } = await side.receive();
    void ready;
    side.info = info;
    return side;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async run(steps: number): Promise<RunReply> {
    this.child.stdin.write(`${JSON.stringify({ op: 'run', steps })}\n`);
    return (await this.receive()) as unknown as RunReply;
  }

  /** Asks the child to exit and waits for it. */
  async quit(): Promise<void> {
    this.child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
    await this.exited;
  }

  private async receive(): Promise<Record<string, unknown>> {
    for (;;) {
      const next = await this.lines.next();
      if (next.done) throw new LowbitError(`${this.label}: the child exited early (status ${await this.exited}); its error is printed above`);
      // A library that prints to stdout must not break the protocol: anything that is not a JSON
      // object is passed on to stderr.
      let msg: unknown;
      try {
        msg = JSON.parse(next.value);
      } catch {
        msg = null;
      }
      if (typeof msg !== 'object' || msg === null) {
        process.stderr.write(`[${this.label}] ${next.value}\n`);
        continue;
      }
      const m = msg as Record<string, unknown>;
      if (typeof m.error === 'string') throw new LowbitError(`${this.label} failed:\n${m.error}`);
      return m;
    }
  }
}

/**
 * The child side for a lowbit child: announces `info`, then runs `step` (which returns the images it
 * consumed) as many times as each request asks, timing every call.
 */
export async function serveSteps(step: () => number, info: Record<string, unknown>): Promise<void> {
  const reply = (obj: object) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  reply({ ready: true, ...info });
  for await (const line of createInterface({ input: process.stdin })) {
    const req = JSON.parse(line) as { op: string; steps?: number };
    if (req.op === 'quit') break;
    try {
      if (req.op !== 'run') throw new LowbitError(`unknown op '${req.op}'`);
      const ms: number[] = [];
      let images = 0;
      for (let i = 0; i < req.steps!; i++) {
        const t0 = performance.now();
        images += step();
        ms.push(performance.now() - t0);
      }
      reply({ ms, images, maxRssMiB: process.resourceUsage().maxRSS / 1024 }); // maxRSS is in KiB
    } catch (err) {
      reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  }
}

/**
 * An integer execution plan: buffers of unsigned activation codes (u8, NHWC with a zero border) and
 * of floats (the residual stream, pooled features, logits), and fused steps between them. Every
 * number in it is decided here or in compile-resnet.ts; the addon only stores and runs it.
 */
import { LowbitError } from '../errors.ts';
import { callRuntime, runtimeInfo, type RuntimeIsa } from './native.ts';
import { inputNormBias } from './input-norm.ts';
import type { PackedWeight } from './weight-pack.ts';

export interface BufferDesc {
  kind: 'codes' | 'float';
  h: number;
  w: number;
  c: number;
  /** codes: zero pixels around each image, at least the padding of every conv reading it. */
  border?: number;
}

/** One epilogue output as codes, PACT's rule: code = round(clip(clip(v, 0, alpha) / scale, 0, levels)). */
export interface CodesTarget {
  buffer: number;
  scale: number;
  alpha: number;
  levels: number;
}

export interface ConvDesc {
  input: number;
  outChannels: number;
  kernel: [number, number];
  stride: number;
  pad: number;
  weight: PackedWeight;
  /** 8-bit odd grids: m in the weights, a ones channel adds the receptive field's sum (c = 2m + 1). */
  oddOnes: boolean;
  /** The largest input code. */
  inMax: number;
  /** v = acc * mul[o] + add[o] (+ posBias[pixel][o]) (+ residual), then ReLU. */
  mul: Float32Array;
  add: Float32Array;
  /**
   * The first layer's input normalization x = p / (255 std) - mean / std folded in: posBias[p, o] =
   * factor[o] * sum_c meanOverStd[c] * (sum of the weight codes of (o, c) over the taps inside the
   * image at pixel p). Stored as this recipe, not as the table, so a saved plan stays small.
   */
  inputNorm?: { factor: Float32Array; meanOverStd: number[] };
  residual?: number;
  relu: boolean;
  outFloat?: number;
  codes?: CodesTarget[];
}

export interface PoolQuantDesc {
  input: number;
  output: number;
  scale: number;
  alpha: number;
  levels: number;
}

/**
 * Images per pass through the network: a chunk keeps each layer's activations near the caches (a
 * stage-1 layer of ResNet-20 at 64 images holds 3.2 MB of float residual stream), and with several
 * threads each thread takes whole chunks (native/src/runtime-plan.h).
 */
export const DEFAULT_CHUNK = 32;

export type PlanStep = { kind: 'conv'; where: string; desc: ConvDesc } | { kind: 'poolQuant'; where: string; desc: PoolQuantDesc };

/**
 * Multiply-adds under which a conv runs on one thread. A fork-join of OpenMP costs a few
 * microseconds on an idle machine, and on a busy one a descheduled worker stalls the join for a time
 * slice (measured on the shared 2-core machine: W2A2 ResNet-20 at batch 1, 47 images/s on 2 threads,
 * 643 on 1). 4M is ~20-40 us of VNNI work, a batch-1 conv of ResNet-20 is 1.8M.
 */
export const MIN_PARALLEL_MACS = 4e6;

export interface StepProfile {
  macsPerImage: number;
  seconds: number;
  images: number;
}

export class IntPlan {
  private readonly handle: unknown;
  private readonly buffers: BufferDesc[] = [];
  /** The steps as added, for saving the plan (plan-file.ts). */
  readonly steps: PlanStep[] = [];
  /** Names of buffers worth reading back (tests, debugging): 'layers.3.conv2.in', 'logits'. */
  readonly names = new Map<string, number>();
  inputBuffer = -1;
  outputBuffer = -1;

  /** isa: force an instruction set (tests); default what the CPU has or LOWBIT_RUNTIME_ISA says. */
  constructor(isa?: RuntimeIsa) {
    this.handle = callRuntime('runtime plan', (a) => (isa === undefined ? a.planCreate() : a.planCreate(isa)));
    this.setThreads(runtimeInfo().threads);
  }

  /**
   * Threads of the conv loops. A conv under MIN_PARALLEL_MACS multiply-adds runs on one thread
   * whatever this says.
   */
  setThreads(threads: number): void {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new LowbitError(`IntPlan.setThreads: expected a positive integer, got ${threads}`);
    callRuntime('runtime plan', (a) => a.planSetThreading(this.handle, threads, MIN_PARALLEL_MACS));
  }

  get isa(): RuntimeIsa {
    return callRuntime('runtime plan', (a) => a.planIsa(this.handle) as RuntimeIsa);
  }

  addBuffer(desc: BufferDesc, name?: string): number {
    const id = callRuntime(`runtime plan, buffer ${name ?? ''}`, (a) => a.planAddBuffer(this.handle, desc) as number);
    this.buffers.push(desc);
    if (name !== undefined) this.names.set(name, id);
    return id;
  }

  buffer(id: number): BufferDesc {
    return this.buffers[id];
  }

  get bufferCount(): number {
    return this.buffers.length;
  }

  /** Bytes of all weights at their packed width. */
  packedWeightBytes(): number {
    return this.steps.reduce((n, s) => n + (s.kind === 'conv' ? s.desc.weight.packed.length : 0), 0);
  }

  addConv(desc: ConvDesc, where: string): void {
    const input = this.buffers[desc.input];
    if (input === undefined) throw new LowbitError(`runtime plan, ${where}: input buffer ${desc.input} does not exist`);
    const posBias = desc.inputNorm ? inputNormBias(desc, input, where) : undefined;
    this.steps.push({ kind: 'conv', where, desc });
    callRuntime(`runtime plan, ${where}`, (a) =>
      a.planAddConv(this.handle, {
        input: desc.input,
        outChannels: desc.outChannels,
        kernelH: desc.kernel[0],
        kernelW: desc.kernel[1],
        stride: desc.stride,
        pad: desc.pad,
        packed: desc.weight.packed,
        bits: desc.weight.width,
        codeStep: desc.weight.codeStep,
        oddOnes: desc.oddOnes,
        inMax: desc.inMax,
        mul: desc.mul,
        add: desc.add,
        posBias,
        residual: desc.residual ?? -1,
        relu: desc.relu,
        outFloat: desc.outFloat ?? -1,
        codes: desc.codes ?? [],
      }),
    );
  }

  addPoolQuant(desc: PoolQuantDesc, where: string): void {
    this.steps.push({ kind: 'poolQuant', where, desc });
    callRuntime(`runtime plan, ${where}`, (a) => a.planAddPoolQuant(this.handle, desc));
  }

  /**
   * Runs n images (uint8 pixels, NHWC) and returns the output buffer ([n, classes] logits). Large
   * batches go through the network `chunk` images at a time, so each layer's activations stay in
   * cache; the other buffers (read()) then hold the last chunk.
   */
  run(pixels: Uint8Array, n: number, chunk = DEFAULT_CHUNK): Float32Array {
    if (this.inputBuffer < 0 || this.outputBuffer < 0) throw new LowbitError('IntPlan.run: the plan has no input or output buffer yet');
    const b = this.buffers[this.inputBuffer];
    if (!(Number.isInteger(n) && n >= 1)) throw new LowbitError(`IntPlan.run: batch must be a positive integer, got ${n}`);
    if (pixels.length < n * b.h * b.w * b.c) {
      throw new LowbitError(`IntPlan.run: ${pixels.length} bytes hold fewer than ${n} images of ${b.h}x${b.w}x${b.c}`);
    }
    if (!(Number.isInteger(chunk) && chunk >= 1)) throw new LowbitError(`IntPlan.run: chunk must be a positive integer, got ${chunk}`);
    return callRuntime('runtime run', (a) => a.planRun(this.handle, pixels, n, this.inputBuffer, this.outputBuffer, chunk) as Float32Array);
  }

  /** A buffer's contents after the last run: codes [n, h, w, c] as bytes, or floats. */
  read(id: number | string): Uint8Array | Float32Array {
    const bufferId = typeof id === 'string' ? this.names.get(id) : id;
    if (bufferId === undefined) throw new LowbitError(`IntPlan.read: no buffer named '${id}'; names are ${[...this.names.keys()].join(', ')}`);
    return callRuntime('runtime read', (a) => a.planRead(this.handle, bufferId) as Uint8Array | Float32Array);
  }

  /**
   * Per step: multiply-adds per image (0 for the pool step) and its fastest run since the last reset
   * (seconds, images of that run).
   * reset: start counting again.
   */
  profile(reset = false): StepProfile[] {
    return callRuntime('runtime profile', (a) => a.planProfile(this.handle, reset) as StepProfile[]);
  }

  /** Bytes of the expanded (kernel-layout, int8) weights. */
  weightBytes(): number {
    return callRuntime('runtime plan', (a) => a.planWeightBytes(this.handle) as number);
  }
}

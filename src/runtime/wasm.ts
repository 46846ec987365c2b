/**
 * The runtime in WebAssembly (128-bit SIMD): the same plan code and portable kernels as the native
 * addon (native/src/runtime-*.cc, built by scripts/setup.sh with clang --target=wasm32-wasi
 * -msimd128), driven through a C ABI. No Node APIs here, so a browser can use it as it is: fetch
 * the .wasm and a plan file, then
 *
 *   const rt = await WasmRuntime.instantiate(wasmBytes);
 *   const { plan, meta } = rt.loadPlan(planBytes, 'w2a2.lbit');
 *   const logits = plan.run(pixels, n);
 *
 * One thread (WebAssembly threads need cross-origin isolation in browsers).
 */
import { LowbitError } from '../errors.ts';
import { inputNormBias } from './input-norm.ts';
import type { BufferDesc, ConvDesc, PlanStep, PoolQuantDesc } from './int-plan.ts';
import { decodePlan, type PlanMeta, type PlanTarget } from './plan-format.ts';

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  lbit_alloc(bytes: number): number;
  lbit_free(ptr: number): void;
  lbit_last_error(): number;
  lbit_plan_create(): number;
  lbit_plan_free(plan: number): void;
  lbit_plan_add_buffer(plan: number, codes: number, h: number, w: number, c: number, border: number): number;
  lbit_plan_add_conv(plan: number, ints: number, codeParams: number, packed: number, packedLen: number, mul: number, add: number, posBias: number, posLen: number): number;
  lbit_plan_add_pool(plan: number, input: number, output: number, scale: number, alpha: number, levels: number): number;
  lbit_plan_run(plan: number, pixels: number, n: number, inputBuffer: number, outputBuffer: number, chunk: number): number;
  lbit_result_length(): number;
}

export class WasmRuntime {
  private constructor(readonly exports: Exports) {}

  static async instantiate(wasm: BufferSource): Promise<WasmRuntime> {
    let memory: WebAssembly.Memory | null = null;
    // The one WASI import the plan uses: a monotonic clock for its step profile.
    const wasi = {
      clock_time_get(_id: number, _precision: bigint, out: number): number {
        new DataView(memory!.buffer).setBigUint64(out, BigInt(Math.round(performance.now() * 1e6)), true);
        return 0;
      },
    };
    const { instance } = await WebAssembly.instantiate(wasm, { wasi_snapshot_preview1: wasi });
    const exports = instance.exports as unknown as Exports;
    memory = exports.memory;
    exports._initialize();
    return new WasmRuntime(exports);
  }

  createPlan(): WasmPlan {
    return new WasmPlan(this);
  }

  /** A plan file's bytes (savePlan) as a WebAssembly plan. */
  loadPlan(bytes: Uint8Array, name = 'plan'): { plan: WasmPlan; meta: PlanMeta } {
    const plan = this.createPlan();
    const meta = decodePlan(bytes, name, plan);
    return { plan, meta };
  }

  /** Copies bytes into the module's memory; the caller frees the pointer. */
  copyIn(bytes: Uint8Array): number {
    const ptr = this.exports.lbit_alloc(Math.max(bytes.length, 1));
    new Uint8Array(this.exports.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  /** Runs f, turning a trap of the C++ side's checks into a LowbitError with its message. */
  call<T>(where: string, f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        const ptr = this.exports.lbit_last_error();
        const mem = new Uint8Array(this.exports.memory.buffer);
        let end = ptr;
        while (mem[end] !== 0) end++;
        throw new LowbitError(`${where}: ${new TextDecoder().decode(mem.subarray(ptr, end)) || err.message}`, { cause: err });
      }
      throw err;
    }
  }
}

export class WasmPlan implements PlanTarget {
  private readonly handle: number;
  private readonly buffers: BufferDesc[] = [];
  readonly names = new Map<string, number>();
  readonly steps: PlanStep[] = [];
  inputBuffer = -1;
  outputBuffer = -1;

  constructor(private readonly rt: WasmRuntime) {
    this.handle = rt.exports.lbit_plan_create();
  }

  addBuffer(desc: BufferDesc, name?: string): number {
    const id = this.rt.call(`wasm plan, buffer ${name ?? ''}`, () =>
      this.rt.exports.lbit_plan_add_buffer(this.handle, desc.kind === 'codes' ? 1 : 0, desc.h, desc.w, desc.c, desc.border ?? 0),
    );
    this.buffers.push(desc);
    if (name !== undefined) this.names.set(name, id);
    return id;
  }

  addConv(desc: ConvDesc, where: string): void {
    const input = this.buffers[desc.input];
    if (input === undefined) throw new LowbitError(`wasm plan, ${where}: input buffer ${desc.input} does not exist`);
    const posBias = desc.inputNorm ? inputNormBias(desc, input, where) : new Float32Array(0);
    const codes = desc.codes ?? [];
    if (codes.length > 2) throw new LowbitError(`wasm plan, ${where}: at most two code outputs`);
    const ints = Int32Array.from([
      desc.input, desc.residual ?? -1, desc.outFloat ?? -1, desc.outChannels, desc.kernel[0], desc.kernel[1], desc.stride, desc.pad,
      desc.weight.width, desc.weight.codeStep, desc.oddOnes ? 1 : 0, desc.inMax, desc.relu ? 1 : 0, codes.length,
      codes[0]?.buffer ?? -1, codes[1]?.buffer ?? -1,
    ]);
    const params = Float32Array.from(codes.flatMap((c) => [c.scale, c.alpha, c.levels]));
    const bytes = (a: Int32Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const ptrs = [bytes(ints), bytes(params), desc.weight.packed, bytes(desc.mul), bytes(desc.add), bytes(posBias)].map((b) => this.rt.copyIn(b));
    try {
      this.rt.call(`wasm plan, ${where}`, () =>
        this.rt.exports.lbit_plan_add_conv(this.handle, ptrs[0], ptrs[1], ptrs[2], desc.weight.packed.length, ptrs[3], ptrs[4], ptrs[5], posBias.length),
      );
    } finally {
      for (const p of ptrs) this.rt.exports.lbit_free(p);
    }
    this.steps.push({ kind: 'conv', where, desc });
  }

  addPoolQuant(desc: PoolQuantDesc, where: string): void {
    this.rt.call(`wasm plan, ${where}`, () => this.rt.exports.lbit_plan_add_pool(this.handle, desc.input, desc.output, desc.scale, desc.alpha, desc.levels));
    this.steps.push({ kind: 'poolQuant', where, desc });
  }

  /** n images of uint8 pixels (NHWC) -> the output buffer's floats ([n, classes] logits). */
  run(pixels: Uint8Array, n: number, chunk = 32): Float32Array {
    const b = this.buffers[this.inputBuffer];
    if (b === undefined || this.outputBuffer < 0) throw new LowbitError('WasmPlan.run: the plan has no input or output buffer yet');
    if (!(Number.isInteger(n) && n >= 1) || pixels.length < n * b.h * b.w * b.c) throw new LowbitError(`WasmPlan.run: need ${n} images of ${b.h}x${b.w}x${b.c} bytes`);
    const ptr = this.rt.copyIn(pixels.subarray(0, n * b.h * b.w * b.c));
    try {
      const out = this.rt.call('wasm run', () => this.rt.exports.lbit_plan_run(this.handle, ptr, n, this.inputBuffer, this.outputBuffer, chunk));
      const len = this.rt.exports.lbit_result_length();
      return new Float32Array(this.rt.exports.memory.buffer, out, len).slice();
    } finally {
      this.rt.exports.lbit_free(ptr);
    }
  }

  dispose(): void {
    this.rt.exports.lbit_plan_free(this.handle);
  }
}

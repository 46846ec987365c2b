/**
 * The plan file format (pure: no Node APIs, so a browser loader can read it too). A compiled integer
 * plan as one file: the weights at their packed width, the fused epilogues'
 * per-channel numbers, and the buffer layout, so a model loads and runs without libtorch.
 *
 *   "LBITPLAN" | u32 version | u32 header bytes | header (UTF-8 JSON) | binary blob
 *
 * The header lists buffers, steps and the model's shape; every array in a step is an
 * { offset, length } reference into the blob (weights as bytes, the rest float32, 4-byte aligned).
 */
import { LowbitError } from '../errors.ts';
import type { BufferDesc, ConvDesc, PlanStep, PoolQuantDesc } from './int-plan.ts';
import type { PackWidth } from './weight-pack.ts';

export const PLAN_MAGIC = 'LBITPLAN';
const MAGIC = PLAN_MAGIC;
const VERSION = 1;

export interface PlanMeta {
  /** The model config of the checkpoint it was compiled from (name, inChannels, numClasses, inputSize, quant). */
  modelConfig: { name: string; inChannels: number; numClasses: number; inputSize: [number, number]; widths?: number[]; quant?: unknown };
  /** The data set and normalization the model records (folded into the plan's first layer); absent in older plans. */
  data?: { dataset: string; mean: number[]; std: number[] };
}

interface ArrayRef {
  offset: number;
  length: number;
}

type StepJson =
  | ({ kind: 'conv'; where: string } & Omit<ConvDesc, 'weight' | 'mul' | 'add' | 'inputNorm'> & {
        weight: ArrayRef & { width: PackWidth; count: number; codeStep: 1 | 2 };
        mul: ArrayRef;
        add: ArrayRef;
        inputNorm?: { factor: ArrayRef; meanOverStd: number[] };
      })
  | ({ kind: 'poolQuant'; where: string } & PoolQuantDesc);

interface Header {
  meta: PlanMeta;
  buffers: (BufferDesc & { name?: string })[];
  inputBuffer: number;
  outputBuffer: number;
  steps: StepJson[];
}

/** What a plan is built from: IntPlan (native) and WasmPlan (WebAssembly) both take these calls. */
export interface PlanSource {
  bufferCount: number;
  buffer(id: number): BufferDesc;
  names: Map<string, number>;
  steps: PlanStep[];
  inputBuffer: number;
  outputBuffer: number;
}

export interface PlanTarget {
  addBuffer(desc: BufferDesc, name?: string): number;
  addConv(desc: ConvDesc, where: string): void;
  addPoolQuant(desc: PoolQuantDesc, where: string): void;
  inputBuffer: number;
  outputBuffer: number;
}

export function encodePlan(plan: PlanSource, meta: PlanMeta): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const put = (bytes: Uint8Array): ArrayRef => {
    const pad = (4 - (size % 4)) % 4;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
    parts.push(bytes);
    const ref = { offset: size, length: bytes.length };
    size += bytes.length;
    return ref;
  };
  const f32 = (a: Float32Array) => put(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const names = new Map([...plan.names].map(([n, id]) => [id, n]));
  const buffers = Array.from({ length: plan.bufferCount }, (_, id) => ({ ...plan.buffer(id), ...(names.has(id) ? { name: names.get(id) } : {}) }));
  const steps: StepJson[] = plan.steps.map((s) => {
    if (s.kind === 'poolQuant') return { kind: 'poolQuant', where: s.where, ...s.desc };
    const { weight, mul, add, inputNorm, ...rest } = s.desc;
    return {
      kind: 'conv',
      where: s.where,
      ...rest,
      weight: { ...put(weight.packed), width: weight.width, count: weight.count, codeStep: weight.codeStep },
      mul: f32(mul),
      add: f32(add),
      ...(inputNorm ? { inputNorm: { factor: f32(inputNorm.factor), meanOverStd: inputNorm.meanOverStd } } : {}),
    };
  });
  const header: Header = { meta, buffers, inputBuffer: plan.inputBuffer, outputBuffer: plan.outputBuffer, steps };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(16);
  head.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(head.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.length, true);
  const out = new Uint8Array(16 + json.length + size);
  out.set(head, 0);
  out.set(json, 16);
  let at = 16 + json.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True when the bytes start like a saved plan. */
export function isPlanFile(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(0, 8)) === MAGIC;
}

/** Replays a plan file's buffers and steps into `target`; `path` names the file in errors. */
export function decodePlan(bytes: Uint8Array, path: string, target: PlanTarget): PlanMeta {
  const bad = (what: string) => new LowbitError(`${path}: ${what}; the plan file is damaged or truncated: write it again with 'lowbit run --model CHECKPOINT --save ${path}'`);
  if (!isPlanFile(bytes)) throw new LowbitError(`${path}: not a lowbit integer plan (no '${MAGIC}' header)`);
  if (bytes.length < 16) throw bad('the header is cut short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new LowbitError(`${path}: plan format version ${version}, this lowbit reads version ${VERSION}; write it again with this lowbit`);
  const jsonBytes = view.getUint32(12, true);
  if (16 + jsonBytes > bytes.length) throw bad(`the header says ${jsonBytes} bytes of description, the file has ${bytes.length - 16}`);
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + jsonBytes))) as Header;
  } catch {
    throw bad('the description is not valid JSON');
  }
  const blob = bytes.subarray(16 + jsonBytes);
  const slice = (r: ArrayRef, what: string): Uint8Array => {
    if (!(Number.isInteger(r?.offset) && Number.isInteger(r?.length) && r.offset >= 0 && r.length >= 0 && r.offset + r.length <= blob.length)) {
      throw bad(`${what} lies outside the data (${r?.offset}+${r?.length} of ${blob.length} bytes)`);
    }
    // A copy (4-byte aligned for the float views), also when `bytes` is a Node Buffer, whose slice() is a view.
    const copy = new Uint8Array(r.length);
    copy.set(blob.subarray(r.offset, r.offset + r.length));
    return copy;
  };
  const f32 = (r: ArrayRef, what: string) => {
    const b = slice(r, what);
    if (b.length % 4) throw bad(`${what} is not a float32 array`);
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  };
  const plan = target;
  for (const b of header.buffers) plan.addBuffer({ kind: b.kind, h: b.h, w: b.w, c: b.c, border: b.border }, b.name);
  plan.inputBuffer = header.inputBuffer;
  plan.outputBuffer = header.outputBuffer;
  for (const s of header.steps) {
    if (s.kind === 'poolQuant') {
      const { kind: _k, where, ...desc } = s;
      plan.addPoolQuant(desc, where);
      continue;
    }
    const { kind: _k, where, weight, mul, add, inputNorm, ...rest } = s;
    plan.addConv(
      {
        ...rest,
        weight: { packed: slice(weight, `${where} weights`), width: weight.width, count: weight.count, codeStep: weight.codeStep },
        mul: f32(mul, `${where} scales`),
        add: f32(add, `${where} shifts`),
        ...(inputNorm ? { inputNorm: { factor: f32(inputNorm.factor, `${where} input normalization`), meanOverStd: inputNorm.meanOverStd } } : {}),
      },
      where,
    );
  }
  return header.meta;
}

import { LowbitError } from '../errors.ts';
import { native } from './native.ts';
import { Generator } from './random.ts';
import { Tensor, type AnyTypedArray, type DType } from './tensor.ts';

export interface CreationOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreationOptions {
  /** An explicit generator; the default one (seeded by manualSeed) otherwise. */
  generator?: Generator;
}

function finish(t: Tensor, opts: CreationOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function checkShape(shape: readonly number[], what: string): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new LowbitError(`${what}: shape [${shape.join(', ')}] must hold non-negative integers`);
    }
  }
  return shape as number[];
}

export function empty(shape: readonly number[], opts?: CreationOptions): Tensor {
  return finish(new Tensor(native.empty(checkShape(shape, 'empty'), opts?.dtype)), opts);
}
export function zeros(shape: readonly number[], opts?: CreationOptions): Tensor {
  return finish(new Tensor(native.zeros(checkShape(shape, 'zeros'), opts?.dtype)), opts);
}
export function ones(shape: readonly number[], opts?: CreationOptions): Tensor {
  return finish(new Tensor(native.ones(checkShape(shape, 'ones'), opts?.dtype)), opts);
}
export function full(shape: readonly number[], value: number, opts?: CreationOptions): Tensor {
  return finish(new Tensor(native.full(checkShape(shape, 'full'), value, opts?.dtype)), opts);
}
export function zerosLike(t: Tensor): Tensor {
  return new Tensor(native.zerosLike(t.handle));
}
export function onesLike(t: Tensor): Tensor {
  return new Tensor(native.onesLike(t.handle));
}
export function fullLike(t: Tensor, value: number): Tensor {
  return new Tensor(native.fullLike(t.handle, value));
}
/** [start, end) in steps of step; integer arguments give int64 unless a dtype is given, as in PyTorch. */
export function arange(start: number, end?: number, step = 1, opts?: CreationOptions): Tensor {
  if (end === undefined) [start, end] = [0, start];
  const integral = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const dtype = opts?.dtype ?? (integral ? 'int64' : 'float32');
  return finish(new Tensor(native.arange(start, end, step, dtype)), opts);
}
export function linspace(start: number, end: number, steps: number, opts?: CreationOptions): Tensor {
  return finish(new Tensor(native.linspace(start, end, steps, opts?.dtype)), opts);
}
export function eye(n: number, m = n, opts?: CreationOptions): Tensor {
  return finish(new Tensor(native.eye(n, m, opts?.dtype)), opts);
}
/** Uniform on [0, 1). */
export function rand(shape: readonly number[], opts?: RandomOptions): Tensor {
  return finish(new Tensor(native.rand(checkShape(shape, 'rand'), opts?.dtype, opts?.generator?.handle)), opts);
}
/** Standard normal. */
export function randn(shape: readonly number[], opts?: RandomOptions): Tensor {
  return finish(new Tensor(native.randn(checkShape(shape, 'randn'), opts?.dtype, opts?.generator?.handle)), opts);
}
/** Integers in [low, high). */
export function randint(low: number, high: number, shape: readonly number[], opts?: RandomOptions): Tensor {
  return new Tensor(native.randint(low, high, checkShape(shape, 'randint'), opts?.dtype ?? 'int64', opts?.generator?.handle));
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, opts?: RandomOptions): Tensor {
  return new Tensor(native.randperm(n, opts?.dtype ?? 'int64', opts?.generator?.handle));
}
/** Draws 0/1 with the probabilities in p. */
export function bernoulli(p: Tensor, generator?: Generator): Tensor {
  return new Tensor(native.bernoulli(p.handle, generator?.handle));
}

const DTYPE_OF_ARRAY: [new (...a: never[]) => AnyTypedArray, DType][] = [
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [BigInt64Array, 'int64'],
  [Int32Array, 'int32'],
  [Int16Array, 'int16'],
  [Int8Array, 'int8'],
  [Uint8Array, 'uint8'],
];

function dtypeOfArray(a: AnyTypedArray): DType {
  for (const [ctor, dt] of DTYPE_OF_ARRAY) if (a instanceof ctor) return dt;
  throw new LowbitError(`fromArray: unsupported array type ${Object.prototype.toString.call(a)}`);
}

/**
 * Copies a typed array into a new tensor of the given shape (default: 1-D). The dtype follows the
 * array (Float32Array -> float32, BigInt64Array -> int64, ...); `bool` may be asked of a Uint8Array.
 */
export function fromArray(data: AnyTypedArray, shape?: readonly number[], opts?: CreationOptions): Tensor {
  const natural = dtypeOfArray(data);
  const dtype = opts?.dtype ?? natural;
  const dims = checkShape(shape ?? [data.length], 'fromArray');
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new LowbitError(`fromArray: shape [${dims.join(', ')}] holds ${count} elements but the array has ${data.length}`);
  }
  // bool goes through a conversion, not a byte copy: a copied byte 2 would be a bool that reads back as 2.
  if (dtype === natural) {
    return finish(new Tensor(native.fromBuffer(data, dims, dtype)), opts);
  }
  const raw = new Tensor(native.fromBuffer(data, dims, natural));
  const converted = raw.to(dtype);
  raw.dispose();
  return finish(converted, opts);
}

type Nested = number | boolean | Nested[];

/** A tensor from (nested) JS numbers; float32 unless a dtype is given. */
export function tensor(data: Nested, opts?: CreationOptions): Tensor {
  const shape: number[] = [];
  let probe: Nested = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const flat = (Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data]) as (number | boolean)[];
  const count = shape.reduce((a, b) => a * b, 1);
  if (flat.length !== count) throw new LowbitError(`tensor: ragged nested array (shape [${shape.join(', ')}] expected ${count} values, got ${flat.length})`);
  const dtype = opts?.dtype ?? (typeof probe === 'boolean' ? 'bool' : 'float32');
  const values = Float64Array.from(flat, Number);
  return fromArray(values, shape, { ...opts, dtype });
}

/** Wraps a number as a 0-d tensor. */
export function scalar(value: number, opts?: CreationOptions): Tensor {
  return full([], value, opts);
}

import { LowbitError } from '../errors.ts';
import { native, type NativeHandle } from './native.ts';
import { track, type Tracked } from './scope.ts';

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

export type MemoryFormat = 'contiguous' | 'channelsLast' | 'preserve';

/** A tensor operand: another tensor or a number broadcast as a scalar, as in PyTorch. */
export type Operand = Tensor | number;

export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int16'
          ? Int16Array
          : D extends 'int8'
            ? Int8Array
            : Uint8Array;

export type AnyTypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

const operand = (o: Operand): unknown => (typeof o === 'number' ? o : o.handle);

/**
 * A handle to a native libtorch tensor. Methods follow PyTorch's names in camelCase; each returns a
 * new Tensor except those ending in `_`, which modify this one in place and return it.
 */
export class Tensor implements Tracked {
  private h: NativeHandle | null;
  private cachedShape: number[] | undefined;
  kept = false;

  /** Wraps a native handle; lowbit's own code calls this, users call the creation functions. */
  constructor(handle: NativeHandle) {
    this.h = handle;
    track(this);
  }

  /** The native handle; throws a clear error after dispose(). */
  get handle(): NativeHandle {
    if (this.h === null) {
      throw new LowbitError(
        'Tensor used after dispose(): it was freed explicitly or by the scope() that created it. ' +
          'Return it from the scope or keep() it to use it later.',
      );
    }
    return this.h;
  }

  /** See Tracked.unscoped: from here on the GC may have to free this tensor, so V8 hears of its bytes. */
  unscoped(): void {
    if (this.h !== null) native.reportExternal(this.h);
  }

  /** Frees this reference to the native tensor now (views and other references keep the data alive). */
  dispose(): void {
    if (this.h !== null) {
      native.dispose(this.h);
      this.h = null;
    }
  }

  get isDisposed(): boolean {
    return this.h === null;
  }

  // ------------------------------------------------------------------------------------------- meta
  get shape(): number[] {
    if (this.cachedShape === undefined) this.cachedShape = native.shape(this.handle) as number[];
    return this.cachedShape.slice();
  }
  get ndim(): number {
    return this.shape.length;
  }
  size(dim: number): number {
    const s = this.shape;
    return s[dim < 0 ? dim + s.length : dim];
  }
  get strides(): number[] {
    return native.strides(this.handle);
  }
  get dtype(): DType {
    return native.dtype(this.handle);
  }
  get device(): string {
    return native.device(this.handle);
  }
  get numel(): number {
    return native.numel(this.handle);
  }
  isContiguous(format: MemoryFormat = 'contiguous'): boolean {
    return native.isContiguous(this.handle, format);
  }
  /** True when both tensors view the same storage. */
  sharesStorageWith(other: Tensor): boolean {
    return native.sameStorage(this.handle, other.handle);
  }
  item(): number {
    const v = native.item(this.handle);
    return typeof v === 'boolean' ? Number(v) : v;
  }
  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype})`;
  }

  // ----------------------------------------------------------------------------------- data out
  /** A copy of the data as a typed array of this tensor's dtype (bool as Uint8Array, 16-bit floats as float32). */
  toTypedArray(): AnyTypedArray {
    const dt = this.dtype;
    if (dt === 'float16' || dt === 'bfloat16') return this.to('float32').toTypedArray();
    const buf: ArrayBuffer = native.toBuffer(this.handle);
    switch (dt) {
      case 'float32':
        return new Float32Array(buf);
      case 'float64':
        return new Float64Array(buf);
      case 'int64':
        return new BigInt64Array(buf);
      case 'int32':
        return new Int32Array(buf);
      case 'int16':
        return new Int16Array(buf);
      case 'int8':
        return new Int8Array(buf);
      default:
        return new Uint8Array(buf);
    }
  }
  toFloat32Array(): Float32Array {
    return this.dtype === 'float32' ? (this.toTypedArray() as Float32Array) : (this.to('float32').toTypedArray() as Float32Array);
  }
  toFloat64Array(): Float64Array {
    return this.dtype === 'float64' ? (this.toTypedArray() as Float64Array) : (this.to('float64').toTypedArray() as Float64Array);
  }
  /** The data as plain numbers (int64 converted through Number). */
  toArray(): number[] {
    const a = this.toTypedArray();
    return a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>);
  }
  /** Raw bytes in row-major order (used by serializers). */
  toBytes(): Uint8Array {
    const dt = this.dtype;
    if (dt === 'float16' || dt === 'bfloat16') return new Uint8Array(native.toBuffer(this.handle));
    return new Uint8Array(this.toTypedArray().buffer);
  }

  // ----------------------------------------------------------------------------------------- shape
  reshape(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native.reshape(this.handle, flatShape(shape)));
  }
  view(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native.view(this.handle, flatShape(shape)));
  }
  permute(...dims: number[] | [number[]]): Tensor {
    return new Tensor(native.permute(this.handle, flatShape(dims)));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(native.transpose(this.handle, dim0, dim1));
  }
  /** 2-D transpose. */
  t(): Tensor {
    return new Tensor(native.t(this.handle));
  }
  contiguous(format: MemoryFormat = 'contiguous'): Tensor {
    return new Tensor(native.contiguous(this.handle, format));
  }
  clone(format?: MemoryFormat): Tensor {
    return new Tensor(native.clone(this.handle, format));
  }
  to(dtype: DType): Tensor {
    return new Tensor(native.toDtype(this.handle, dtype));
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return new Tensor(native.narrow(this.handle, dim, start, length));
  }
  /** x[start:end:step] along dim; end undefined means to the end. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return new Tensor(native.slice(this.handle, dim, start, end, step));
  }
  select(dim: number, index: number): Tensor {
    return new Tensor(native.select(this.handle, dim, index));
  }
  /** Splits into pieces of `sizeOrSizes` along dim (a number: equal pieces, the last may be smaller). */
  split(sizeOrSizes: number | number[], dim = 0): Tensor[] {
    return (native.split(this.handle, sizeOrSizes, dim) as NativeHandle[]).map((h) => new Tensor(h));
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return (native.chunk(this.handle, chunks, dim) as NativeHandle[]).map((h) => new Tensor(h));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.unsqueeze(this.handle, dim));
  }
  expand(...shape: number[] | [number[]]): Tensor {
    return new Tensor(native.expand(this.handle, flatShape(shape)));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(native.flatten(this.handle, startDim, endDim));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.indexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.gather(this.handle, dim, index.handle));
  }
  scatter(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatter(this.handle, dim, index.handle, src.handle));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.scatterAdd(this.handle, dim, index.handle, src.handle));
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return new Tensor(native.maskedFill(this.handle, mask.handle, value));
  }
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.maskedSelect(this.handle, mask.handle));
  }
  tril(diagonal = 0): Tensor {
    return new Tensor(native.tril(this.handle, diagonal));
  }
  triu(diagonal = 0): Tensor {
    return new Tensor(native.triu(this.handle, diagonal));
  }
  diag(diagonal = 0): Tensor {
    return new Tensor(native.diag(this.handle, diagonal));
  }
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return new Tensor(native.diagonal(this.handle, offset, dim1, dim2));
  }
  flip(dims: number[]): Tensor {
    return new Tensor(native.flip(this.handle, dims));
  }
  roll(shifts: number[], dims: number[]): Tensor {
    return new Tensor(native.roll(this.handle, shifts, dims));
  }
  repeat(...times: number[] | [number[]]): Tensor {
    return new Tensor(native.repeat(this.handle, flatShape(times)));
  }
  nonzero(): Tensor {
    return new Tensor(native.nonzero(this.handle));
  }
  /** Sorted distinct values, and their counts when asked. */
  unique(): Tensor;
  unique(opts: { returnCounts: true }): { values: Tensor; counts: Tensor };
  unique(opts?: { returnCounts: boolean }): Tensor | { values: Tensor; counts: Tensor } {
    const [v, c] = native.unique(this.handle, opts?.returnCounts ?? false);
    if (opts?.returnCounts) return { values: new Tensor(v), counts: new Tensor(c) };
    return new Tensor(v);
  }

  // ------------------------------------------------------------------------------------------ math
  add(other: Operand, alpha = 1): Tensor {
    return new Tensor(native.add(this.handle, operand(other), alpha));
  }
  sub(other: Operand, alpha = 1): Tensor {
    return new Tensor(native.sub(this.handle, operand(other), alpha));
  }
  /** other - this, for a scalar other. */
  rsub(other: number): Tensor {
    return new Tensor(native.rsub(this.handle, other));
  }
  mul(other: Operand): Tensor {
    return new Tensor(native.mul(this.handle, operand(other)));
  }
  div(other: Operand): Tensor {
    return new Tensor(native.div(this.handle, operand(other)));
  }
  pow(exponent: Operand): Tensor {
    return new Tensor(native.pow(this.handle, operand(exponent)));
  }
  remainder(other: Operand): Tensor {
    return new Tensor(native.remainder(this.handle, operand(other)));
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(native.maximum(this.handle, other.handle));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(native.minimum(this.handle, other.handle));
  }
  eq(other: Operand): Tensor {
    return new Tensor(native.eq(this.handle, operand(other)));
  }
  ne(other: Operand): Tensor {
    return new Tensor(native.ne(this.handle, operand(other)));
  }
  lt(other: Operand): Tensor {
    return new Tensor(native.lt(this.handle, operand(other)));
  }
  le(other: Operand): Tensor {
    return new Tensor(native.le(this.handle, operand(other)));
  }
  gt(other: Operand): Tensor {
    return new Tensor(native.gt(this.handle, operand(other)));
  }
  ge(other: Operand): Tensor {
    return new Tensor(native.ge(this.handle, operand(other)));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(native.logicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(native.logicalOr(this.handle, other.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(native.logicalNot(this.handle));
  }
  /** Clamps to [min, max]; either bound may be omitted, and either may be a tensor (broadcast). */
  clamp(min?: Operand | null, max?: Operand | null): Tensor {
    const lo = min === undefined || min === null ? null : operand(min);
    const hi = max === undefined || max === null ? null : operand(max);
    return new Tensor(native.clamp(this.handle, lo, hi));
  }
  neg(): Tensor {
    return new Tensor(native.neg(this.handle));
  }
  /** Round half to even, as torch.round and ONNX's QuantizeLinear do. */
  round(): Tensor {
    return new Tensor(native.round(this.handle));
  }
  floor(): Tensor {
    return new Tensor(native.floor(this.handle));
  }
  ceil(): Tensor {
    return new Tensor(native.ceil(this.handle));
  }
  trunc(): Tensor {
    return new Tensor(native.trunc(this.handle));
  }
  sign(): Tensor {
    return new Tensor(native.sign(this.handle));
  }
  abs(): Tensor {
    return new Tensor(native.abs(this.handle));
  }
  exp(): Tensor {
    return new Tensor(native.exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(native.log(this.handle));
  }
  log2(): Tensor {
    return new Tensor(native.log2(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(native.sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return new Tensor(native.rsqrt(this.handle));
  }
  square(): Tensor {
    return new Tensor(native.square(this.handle));
  }
  reciprocal(): Tensor {
    return new Tensor(native.reciprocal(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(native.tanh(this.handle));
  }
  sigmoid(): Tensor {
    return new Tensor(native.sigmoid(this.handle));
  }
  sin(): Tensor {
    return new Tensor(native.sin(this.handle));
  }
  cos(): Tensor {
    return new Tensor(native.cos(this.handle));
  }
  relu(): Tensor {
    return new Tensor(native.relu(this.handle));
  }
  isnan(): Tensor {
    return new Tensor(native.isnan(this.handle));
  }
  isfinite(): Tensor {
    return new Tensor(native.isfinite(this.handle));
  }

  // ------------------------------------------------------------------------------------ reductions
  /** Sum over dims (all when omitted). */
  sum(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.sum(this.handle, dimList(dims), keepdim));
  }
  mean(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.mean(this.handle, dimList(dims), keepdim));
  }
  /** Largest value over dims (all when omitted), like torch.amax. */
  amax(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amax(this.handle, dimList(dims), keepdim));
  }
  amin(dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.amin(this.handle, dimList(dims), keepdim));
  }
  /** max() of everything, or max(dim) -> {values, indices} as torch.max. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.amax();
    const [v, i] = native.maxDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return this.amin();
    const [v, i] = native.minDim(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmax(this.handle, dim, keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.argmin(this.handle, dim, keepdim));
  }
  /** Variance over dims (all when omitted); unbiased (n - 1) by default like PyTorch. */
  var(dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.var(this.handle, dimList(dims), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  std(dims?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return new Tensor(native.std_(this.handle, dimList(dims), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  /** p-norm over dims (all when omitted). */
  norm(p = 2, dims?: number | number[], keepdim = false): Tensor {
    return new Tensor(native.norm(this.handle, p, dimList(dims), keepdim));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return new Tensor(native.prod(this.handle, dim, keepdim));
  }
  cumsum(dim: number): Tensor {
    return new Tensor(native.cumsum(this.handle, dim));
  }
  all(): Tensor {
    return new Tensor(native.all(this.handle));
  }
  any(): Tensor {
    return new Tensor(native.any(this.handle));
  }
  sort(dim = -1, descending = false): { values: Tensor; indices: Tensor } {
    const [v, i] = native.sort(this.handle, dim, descending);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  argsort(dim = -1, descending = false): Tensor {
    return new Tensor(native.argsort(this.handle, dim, descending));
  }
  topk(k: number, dim = -1, largest = true, sorted = true): { values: Tensor; indices: Tensor } {
    const [v, i] = native.topk(this.handle, k, dim, largest, sorted);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** q-th quantile (linear interpolation), over everything or along dim. */
  quantile(q: number, dim?: number, keepdim = false): Tensor {
    return new Tensor(native.quantile(this.handle, q, dim, keepdim));
  }
  /** Median (the lower of the two middle values for even counts, as torch.median). */
  median(): Tensor;
  median(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  median(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    if (dim === undefined) return new Tensor(native.median(this.handle));
    const [v, i] = native.median(this.handle, dim, keepdim);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Same shape and exactly the same values. */
  equal(other: Tensor): boolean {
    return native.equal(this.handle, other.handle);
  }
  allclose(other: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
    return native.allclose(this.handle, other.handle, rtol, atol);
  }

  // -------------------------------------------------------------------------------- linear algebra
  matmul(other: Tensor): Tensor {
    return new Tensor(native.matmul(this.handle, other.handle));
  }
  mm(other: Tensor): Tensor {
    return new Tensor(native.mm(this.handle, other.handle));
  }
  bmm(other: Tensor): Tensor {
    return new Tensor(native.bmm(this.handle, other.handle));
  }
  dot(other: Tensor): Tensor {
    return new Tensor(native.dot(this.handle, other.handle));
  }
  outer(other: Tensor): Tensor {
    return new Tensor(native.outer(this.handle, other.handle));
  }

  // -------------------------------------------------------------------------------------- in place
  add_(other: Operand, alpha = 1): this {
    native.add_(this.handle, operand(other), alpha);
    return this;
  }
  sub_(other: Operand): this {
    native.sub_(this.handle, operand(other));
    return this;
  }
  mul_(other: Operand): this {
    native.mul_(this.handle, operand(other));
    return this;
  }
  div_(other: Operand): this {
    native.div_(this.handle, operand(other));
    return this;
  }
  /** this += value * t1 * t2 */
  /** this = beta * this + alpha * (m1 @ m2), in place: one GEMM that accumulates, no temporary. */
  addmm_(m1: Tensor, m2: Tensor, beta = 1, alpha = 1): this {
    native.addmm_(this.handle, m1.handle, m2.handle, beta, alpha);
    return this;
  }

  addcmul_(t1: Tensor, t2: Tensor, value = 1): this {
    native.addcmul_(this.handle, t1.handle, t2.handle, value);
    return this;
  }
  /** this += value * t1 / t2 */
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this {
    native.addcdiv_(this.handle, t1.handle, t2.handle, value);
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    native.lerp_(this.handle, end.handle, weight);
    return this;
  }
  copy_(src: Tensor): this {
    native.copy_(this.handle, src.handle);
    return this;
  }
  /**
   * Points this tensor at src's data (PyTorch's `p.data = src`): autograd identity and every JS
   * reference stay, the storage and layout become src's. Used to move parameters to channels-last.
   */
  setData_(src: Tensor): this {
    native.setData(this.handle, src.handle);
    return this;
  }
  zero_(): this {
    native.zero_(this.handle);
    return this;
  }
  fill_(value: number): this {
    native.fill_(this.handle, value);
    return this;
  }
  sqrt_(): this {
    native.sqrt_(this.handle);
    return this;
  }
  /** Fills with U(low, high) draws (default generator unless one is given). */
  uniform_(low = 0, high = 1, generator?: { handle: unknown }): this {
    native.uniform_(this.handle, low, high, generator?.handle);
    return this;
  }
  /** Fills with N(mean, std^2) draws. */
  normal_(mean = 0, std = 1, generator?: { handle: unknown }): this {
    native.normal_(this.handle, mean, std, generator?.handle);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    native.clamp_(this.handle, min ?? null, max ?? null);
    return this;
  }

  // -------------------------------------------------------------------------------------- autograd
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(flag: boolean) {
    native.setRequiresGrad(this.handle, flag);
  }
  requiresGrad_(flag = true): this {
    native.setRequiresGrad(this.handle, flag);
    return this;
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new reference to it), or null when none was computed. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  /** Keeps .grad on a non-leaf tensor after backward(). */
  retainGrad(): this {
    native.retainGrad(this.handle);
    return this;
  }
  /** A tensor sharing this one's data, cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.detach(this.handle));
  }
  /** Back-propagates from this tensor (a scalar, or pass the gradient of the same shape). */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle, opts.retainGraph ?? false, opts.createGraph ?? false);
  }
}

function flatShape(args: number[] | [number[]]): number[] {
  return Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);
}

function dimList(dims: number | number[] | undefined): number[] | undefined {
  return dims === undefined ? undefined : typeof dims === 'number' ? [dims] : dims;
}

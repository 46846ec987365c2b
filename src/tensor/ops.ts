/** Functions over several tensors (the rest are Tensor methods). */
import { native } from './native.ts';
import { Tensor, type Operand } from './tensor.ts';

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.cat(tensors.map((t) => t.handle), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return new Tensor(native.stack(tensors.map((t) => t.handle), dim));
}
/** Elementwise cond ? a : b (broadcasting; a and b may be numbers). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const h = (o: Operand) => (typeof o === 'number' ? o : o.handle);
  return new Tensor(native.where(cond.handle, h(a), h(b)));
}
/** beta * input + alpha * (m1 @ m2) */
export function addmm(input: Tensor, m1: Tensor, m2: Tensor, beta = 1, alpha = 1): Tensor {
  return new Tensor(native.addmm(input.handle, m1.handle, m2.handle, beta, alpha));
}
/** Lower (or upper) Cholesky factor of a symmetric positive-definite matrix. */
export function cholesky(a: Tensor, upper = false): Tensor {
  return new Tensor(native.cholesky(a.handle, upper));
}
/** Solves A X = B (left) or X A = B for triangular A. */
export function solveTriangular(a: Tensor, b: Tensor, opts: { upper: boolean; left?: boolean; unitriangular?: boolean }): Tensor {
  return new Tensor(native.solveTriangular(a.handle, b.handle, opts.upper, opts.left ?? true, opts.unitriangular ?? false));
}
export function inverse(a: Tensor): Tensor {
  return new Tensor(native.inverse(a.handle));
}

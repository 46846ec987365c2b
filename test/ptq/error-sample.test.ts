// The per-layer error sample: with every row kept it equals ||XW' - X~Q'|| / ||XW'|| computed by plain
// loops; with a stride it keeps exactly the rows whose global index is a multiple of the stride, across
// uneven batches, and measures the error on those rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { fromArray, scope } from '../../src/tensor/index.ts';
import { ErrorSample } from '../../src/ptq/error-sample.ts';

function rand(n: number, seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/** ||X W' - X~ Q'||_F / ||X W'||_F over the listed rows, by loops. */
function naiveError(x: Float64Array, xt: Float64Array, w: Float64Array, q: Float64Array, rows: number[], n0: number, n1: number): number {
  let e = 0;
  let r2 = 0;
  for (const r of rows) {
    for (let i = 0; i < n1; i++) {
      let a = 0;
      let b = 0;
      for (let t = 0; t < n0; t++) {
        a += x[r * n0 + t] * w[i * n0 + t];
        b += xt[r * n0 + t] * q[i * n0 + t];
      }
      e += (a - b) ** 2;
      r2 += a ** 2;
    }
  }
  return Math.sqrt(e / r2);
}

function run(m: number, maxRows: number, batches: number[]): { sample: number; naive: number; rows: number; exact: boolean } {
  const n0 = 7;
  const n1 = 3;
  const x = rand(m * n0, 1);
  const xt = rand(m * n0, 2);
  const w = rand(n1 * n0, 3);
  const q = w.map((v) => Math.round(v * 4) / 4);
  return scope(() => {
    const es = new ErrorSample(m, maxRows);
    let start = 0;
    for (const len of batches) {
      es.add(fromArray(x, [m, n0]).narrow(0, start, len), fromArray(xt, [m, n0]).narrow(0, start, len));
      start += len;
    }
    assert.equal(start, m);
    const kept = Array.from({ length: m }, (_, r) => r).filter((r) => r % es.stride === 0);
    const out = { sample: es.relativeError(fromArray(w, [n1, n0]), fromArray(q, [n1, n0])), naive: naiveError(x, xt, w, q, kept, n0, n1), rows: es.rows, exact: es.exact };
    assert.equal(out.rows, kept.length);
    es.dispose();
    return out;
  });
}

test('every row kept: the exact relative error', () => {
  const r = run(50, 64, [13, 20, 17]);
  assert.ok(r.exact);
  assert.equal(r.rows, 50);
  // float32 copies of the rows: agreement to float32 precision
  assert.ok(Math.abs(r.sample - r.naive) < 1e-5 * r.naive, `${r.sample} vs ${r.naive}`);
});

test('strided subset across uneven batches keeps rows 0, k, 2k, ... and measures the error on them', () => {
  const r = run(103, 20, [10, 31, 1, 45, 16]); // stride ceil(103 / 20) = 6 -> 18 rows
  assert.ok(!r.exact);
  assert.equal(r.rows, 18);
  assert.ok(Math.abs(r.sample - r.naive) < 1e-5 * r.naive, `${r.sample} vs ${r.naive}`);
});

test('a bad cap is refused', () => {
  assert.throws(() => new ErrorSample(10, 0), LowbitError);
});

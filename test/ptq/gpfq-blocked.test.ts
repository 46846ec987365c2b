// GPFQ's column loop in blocks of GEMMs: the same integer codes as the column loop (gpfq-reference.ts)
// on random and ReLU layers of several shapes, bit widths, block sizes (1, odd, larger than N0) and
// both step granularities, any difference a rounding tie; q = 0 on dead X~ columns; the residual norm
// it reports equals the loop's; float32 inputs follow the float64 path up to near-ties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { scope } from '../../src/tensor/index.ts';
import { alphabetFor, gpfqBlocked, gpfqReference, type Alphabet } from '../../src/ptq/index.ts';
import { compareCodes, gramArrays, randomLayer, reluLayer, type Layer } from './gpfq-fixtures.ts';

/** Runs both solvers and checks that their codes agree except at rounding ties; returns the tie count. */
function agree(layer: Layer, alphabet: Alphabet, blockSize: number, label: string): number {
  return scope(() => {
    const ref = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet).codes.toTypedArray() as Int32Array;
    const blocked = gpfqBlocked(layer.weight, layer.x, layer.xTilde, alphabet, { blockSize });
    assert.equal(blocked.codes.dtype, 'int32');
    const codes = blocked.codes.toTypedArray() as Int32Array;
    const [n1, n0] = layer.weight.shape;
    const cmp = compareCodes(ref, codes, { ...gramArrays(layer.x, layer.xTilde), w: layer.weight.toFloat64Array(), n0, n1 }, alphabet);
    assert.deepEqual(cmp.nonTies, [], `${label}: codes differ away from a rounding tie`);
    assert.ok(codes.every((k) => k >= alphabet.kMin && k <= alphabet.kMax), `${label}: code out of range`);
    return cmp.ties;
  });
}

test('blocked: same codes as the column loop on random layers: shapes, bits 2/3/4/8, block sizes, X~ != X', (t) => {
  let ties = 0;
  let cases = 0;
  const shapes: [number, number, number][] = [
    [300, 37, 9],
    [1500, 147, 16],
  ];
  for (const [si, [m, n0, n1]] of shapes.entries()) {
    const layer = randomLayer(700 + si, m, n0, n1, 0.15);
    for (const bits of [2, 3, 4, 8]) {
      for (const blockSize of [1, 7, 32, 200]) {
        const granularity = blockSize === 7 ? 'channel' : 'layer';
        const alphabet = alphabetFor(layer.weight, { bits, granularity, convention: 'reference' });
        ties += agree(layer, alphabet, blockSize, `m=${m} N0=${n0} N1=${n1} b=${bits} block=${blockSize}`);
        cases++;
      }
    }
  }
  t.diagnostic(`${ties} neurons diverged at a rounding tie over ${cases} cases`);
  assert.ok(ties <= 1, `${ties} rounding ties over ${cases} cases`);
});

test('blocked: same codes on ReLU layers with dead inputs, q = 0 on dead X~ columns, the loop\'s residual norm', () => {
  const n0 = 90;
  const dead = [0, 17, 44];
  const deadTilde = [5, 60, 89];
  const layer = reluLayer(210, 1200, n0, 20, dead, deadTilde);
  for (const bits of [2, 4]) {
    for (const convention of ['reference', 'signed'] as const) {
      const alphabet = alphabetFor(layer.weight, { bits, convention, granularity: bits === 2 ? 'channel' : 'layer' });
      scope(() => {
        const ref = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet);
        const r = gpfqBlocked(layer.weight, layer.x, layer.xTilde, alphabet, { blockSize: 16 });
        assert.deepEqual(r.codes.toArray(), ref.codes.toArray(), `relu b=${bits} ${convention}`);
        const codes = r.codes.toArray();
        for (let i = 0; i < 20; i++) for (const col of [...dead, ...deadTilde]) assert.equal(codes[i * n0 + col], 0);
        assert.ok(Math.abs(r.error! - ref.error!) < 1e-9 * ref.error!, `${r.error} vs ${ref.error}`);
        assert.ok(Math.abs(r.relativeError! - ref.relativeError!) < 1e-9 * ref.relativeError!);
      });
    }
  }
});

test('blocked: float32 inputs follow the float64 path but for near-ties, and the error is exact to float32', () => {
  scope(() => {
    const layer = reluLayer(220, 3000, 120, 24, [], [7]);
    const alphabet = alphabetFor(layer.weight, { bits: 3, convention: 'reference', granularity: 'layer' });
    const ref = gpfqReference(layer.weight, layer.x, layer.xTilde, alphabet);
    const r = gpfqBlocked(layer.weight, layer.x.to('float32'), layer.xTilde.to('float32'), alphabet);
    const a = ref.codes.toArray();
    const b = r.codes.toArray();
    const differing = a.filter((k, i) => k !== b[i]).length;
    assert.ok(differing <= a.length * 0.01, `${differing} of ${a.length} codes differ`);
    // The reported error is the residual of the codes it chose, computed here from scratch in float64.
    const exact = scope(() => {
      const w = layer.weight.to('float64');
      return layer.x.matmul(w.t()).sub(layer.xTilde.matmul(r.weight.to('float64').t())).norm().item();
    });
    assert.ok(Math.abs(r.error! - exact) < 1e-4 * exact, `${r.error} vs ${exact}`);
  });
});

test('blocked: bad inputs are LowbitErrors that name the problem', () => {
  scope(() => {
    const layer = randomLayer(500, 50, 8, 3);
    const alphabet = alphabetFor(layer.weight, { bits: 4, convention: 'reference', granularity: 'layer' });
    assert.throws(() => gpfqBlocked(layer.weight, layer.x, layer.xTilde.narrow(0, 0, 40), alphabet), /50 rows but X~ has 40/);
    assert.throws(() => gpfqBlocked(layer.weight, layer.x.narrow(1, 0, 7), layer.xTilde.narrow(1, 0, 7), alphabet), /m x 8/);
    assert.throws(() => gpfqBlocked(layer.weight, layer.x, layer.xTilde, alphabet, { blockSize: 0 }), LowbitError);
    assert.throws(() => gpfqBlocked(layer.weight, layer.x, layer.xTilde.to('float32'), alphabet), /must both be float32 or both float64/);
  });
});

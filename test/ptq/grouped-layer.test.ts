// GPFQ and RTN on grouped (depthwise) convolutions: each group is its own layer, with the input
// channels of that group only. Checked against a naive reference: patches cut out by loops, one
// published-algorithm column loop (gpfqReference) per group, and the output error measured with the
// grouped convolution itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv2d, Module, ReLU } from '../../src/nn/index.ts';
import { alphabetFor, gpfqReference, minMaxAlphabet, quantizeNetwork, quantizeToCodes, type PtqConfig } from '../../src/ptq/index.ts';
import { groupAlphabet } from '../../src/ptq/grouped-layer.ts';
import { F, fromArray, Generator, noGrad, randn, scope, type Tensor } from '../../src/tensor/index.ts';

/** A depthwise 3x3 conv (C = 4, 2 outputs per channel: groups 4) then a pointwise conv. */
class DepthwiseNet extends Module {
  readonly dw: Conv2d;
  readonly act = new ReLU();
  readonly pw: Conv2d;
  constructor(seed: number) {
    super();
    this.dw = this.registerModule('dw', new Conv2d(4, 8, 3, { padding: 1, groups: 4, bias: false }));
    this.pw = this.registerModule('pw', new Conv2d(8, 3, 1, { bias: false }));
    noGrad(() => {
      this.dw.weight.copy_(randn(this.dw.weight.shape, { generator: new Generator(seed) }).mul(0.5));
      this.pw.weight.copy_(randn(this.pw.weight.shape, { generator: new Generator(seed + 1) }).mul(0.3));
    });
  }
  forward(x: Tensor): Tensor {
    return this.pw.call(this.act.call(this.dw.call(x)));
  }
}

/** Rows (b, y, x) x columns (c in group, ky, kx) of channel group g's 3x3 patches, zero padding 1: by loops. */
function naivePatches(img: Float32Array, [B, C, H, W]: number[], g: number, perGroup: number): Float64Array {
  const cols = perGroup * 9;
  const out = new Float64Array(B * H * W * cols);
  let r = 0;
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++, r++)
        for (let ci = 0; ci < perGroup; ci++)
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) {
              const [yy, xx, c] = [y + ky - 1, x + kx - 1, g * perGroup + ci];
              out[r * cols + ci * 9 + ky * 3 + kx] = yy < 0 || yy >= H || xx < 0 || xx >= W ? 0 : img[((b * C + c) * H + yy) * W + xx];
            }
  return out;
}

function setup() {
  const calibration = randn([6, 4, 5, 5], { generator: new Generator(9) });
  return { analog: new DepthwiseNet(3), copy: new DepthwiseNet(3), calibration };
}

/** ||conv(x, W) - conv(x, Q)|| / ||conv(x, W)|| with the grouped convolution itself. */
function convError(x: Tensor, w: Tensor, q: Tensor): number {
  return scope(() => {
    const a = F.conv2d(x.to('float64'), w.to('float64'), null, { padding: [1, 1], groups: 4 });
    const b = F.conv2d(x.to('float64'), q.to('float64'), null, { padding: [1, 1], groups: 4 });
    return a.sub(b).norm().item() / a.norm().item();
  });
}

for (const solver of ['fast', 'reference', 'blocked'] as const) {
  test(`GPFQ (${solver} solver) on a depthwise conv equals one column loop per group on that group's patches`, () => {
    const { analog, copy, calibration } = setup();
    const config: PtqConfig = { method: 'gpfq', bits: 3, firstLastBits: 3, solver, convention: 'signed', granularity: 'channel', gramDtype: 'float64' };
    const reports = quantizeNetwork(analog, copy, calibration, config);
    assert.deepEqual(reports.map((r) => [r.name, r.shape]), [['dw', [8, 9]], ['pw', [3, 8]]]);
    const dw = reports[0];
    const W = analog.dw.weight.detach().reshape([8, 9]);
    const alphabet = alphabetFor(W, { bits: 3, convention: 'signed', granularity: 'channel' });
    const img = calibration.contiguous().toFloat32Array();
    const codes = dw.codes.toTypedArray() as Int32Array;
    let differ = 0;
    for (let g = 0; g < 4; g++) {
      const xg = fromArray(naivePatches(img, calibration.shape, g, 1), [6 * 25, 9]);
      // The first layer: X~ = X.
      const ref = gpfqReference(W.narrow(0, 2 * g, 2).to('float64'), xg, xg, groupAlphabet(alphabet, g, 2));
      const refCodes = ref.codes.toTypedArray() as Int32Array;
      for (let i = 0; i < refCodes.length; i++) if (refCodes[i] !== codes[2 * g * 9 + i]) differ++;
    }
    // float32 residuals in the blocked solver may flip a near-tie; the float64 ones agree exactly.
    assert.ok(solver === 'blocked' ? differ <= 1 : differ === 0, `${differ} of 72 codes differ from the per-group reference`);
    const quantized = copy.dw.weight.detach();
    assert.ok(Math.abs(dw.relativeError - convError(calibration, analog.dw.weight.detach(), quantized)) < 1e-9, `${dw.relativeError}`);
    assert.ok(dw.relativeError > 0 && dw.relativeError < 0.5);
  });
}

test('RTN on a depthwise conv: rounding of each weight, error measured per group', () => {
  const { analog, copy, calibration } = setup();
  const reports = quantizeNetwork(analog, copy, calibration, { method: 'rtn', bits: 2, firstLastBits: 2, convention: 'signed' });
  const W = analog.dw.weight.detach().reshape([8, 9]);
  const expected = quantizeToCodes(W.to('float64'), minMaxAlphabet(W, { bits: 2, convention: 'signed' }));
  assert.deepEqual(Array.from(reports[0].codes.toTypedArray() as Int32Array), Array.from(expected.toTypedArray() as Int32Array));
  const err = convError(calibration, analog.dw.weight.detach(), copy.dw.weight.detach());
  assert.ok(Math.abs(reports[0].relativeError - err) < 1e-9, `${reports[0].relativeError} vs ${err}`);
});

test('after a 2-bit depthwise layer, GPFQ leaves the next layer a lower output error than RTN (it compensates the error it inherits)', () => {
  const a = setup();
  const g = quantizeNetwork(a.analog, a.copy, a.calibration, { method: 'gpfq', bits: 2, firstLastBits: 2, convention: 'signed', granularity: 'channel' });
  const b = setup();
  const alph = quantizeNetwork(b.analog, b.copy, b.calibration, { method: 'rtn', bits: 2, firstLastBits: 2, convention: 'signed', granularity: 'channel' });
  assert.ok(g[1].relativeError < alph[1].relativeError, `pointwise layer after the depthwise one: GPFQ ${g[1].relativeError} vs RTN ${alph[1].relativeError}`);
});

test('wide groups (72 columns per group, past the batched path): the fast solver gives the reference solver\'s codes', () => {
  class GroupedNet extends Module {
    readonly conv: Conv2d;
    readonly head: Conv2d;
    constructor() {
      super();
      this.conv = this.registerModule('conv', new Conv2d(16, 4, 3, { padding: 1, groups: 2, bias: false }));
      this.head = this.registerModule('head', new Conv2d(4, 2, 1, { bias: false }));
      noGrad(() => {
        this.conv.weight.copy_(randn(this.conv.weight.shape, { generator: new Generator(21) }));
        this.head.weight.copy_(randn(this.head.weight.shape, { generator: new Generator(22) }));
      });
    }
    forward(x: Tensor): Tensor {
      return this.head.call(this.conv.call(x));
    }
  }
  const calibration = randn([4, 16, 5, 5], { generator: new Generator(23) });
  const run = (solver: 'fast' | 'reference') =>
    Array.from(quantizeNetwork(new GroupedNet(), new GroupedNet(), calibration, { method: 'gpfq', bits: 3, firstLastBits: 3, solver, gramDtype: 'float64' })[0].codes.toTypedArray() as Int32Array);
  const fast = run('fast');
  assert.equal(fast.length, 4 * 72);
  assert.deepEqual(fast, run('reference'));
});

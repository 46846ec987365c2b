// ResNets: CIFAR ResNet-20/32/56 and ResNet-18 structure (names, strides, where option-B 1x1 shortcuts
// go, parameter counts by hand), per-block custom widths, BasicBlock forward and gradients against a
// composition written here, He initialization statistics and seeded repeatability.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { BatchNorm2d, Conv2d } from '../../src/nn/index.ts';
import { BasicBlock, RESNET18_WIDTHS, ResNet, cifarResNet, cifarResNetWidths, resnet18 } from '../../src/models/index.ts';
import { F, Generator, noGrad, randn, scope, type Tensor } from '../../src/tensor/index.ts';

const cfg = (inChannels: number, size: number, widths?: number[]) => ({
  name: 'resnet',
  inChannels,
  numClasses: 10,
  inputSize: [size, size] as [number, number],
  widths,
});

/** Parameters counted from the widths: convs, BN gamma/beta, option-B shortcuts, the classifier. */
function resnetParamsByHand(inChannels: number, widths: number[], strides: number[], classes: number): number {
  let n = inChannels * 9 * widths[0] + 2 * widths[0];
  let inC = widths[0];
  for (let b = 0; b < strides.length; b++) {
    const [mid, out] = [widths[1 + 2 * b], widths[2 + 2 * b]];
    n += inC * mid * 9 + 2 * mid + mid * out * 9 + 2 * out;
    if (strides[b] !== 1 || inC !== out) n += inC * out + 2 * out;
    inC = out;
  }
  return n + inC * classes + classes;
}

const blocks = (m: ResNet) => m.layers.children() as BasicBlock[];

test('ResNet-20: 9 blocks 16/32/64, strides, shortcuts only where the shape changes, 272,474 params', () => {
  assert.deepEqual(cifarResNetWidths(20), [16, ...Array(6).fill(16), ...Array(6).fill(32), ...Array(6).fill(64)]);
  const m = cifarResNet(20, cfg(3, 32));
  const bs = blocks(m);
  assert.equal(bs.length, 9);
  assert.deepEqual(bs.map((b) => b.conv1.stride[0]), [1, 1, 1, 2, 1, 1, 2, 1, 1]);
  assert.deepEqual(bs.map((b) => b.conv2.weight.shape[0]), [16, 16, 16, 32, 32, 32, 64, 64, 64]);
  assert.deepEqual(bs.map((b) => b.shortcut !== null), [false, false, false, true, false, false, true, false, false]);
  const sc = bs[3].shortcut!.at(0) as Conv2d;
  assert.deepEqual(sc.weight.shape, [32, 16, 1, 1]);
  assert.deepEqual(sc.stride, [2, 2]);
  assert.deepEqual((bs[6].shortcut!.at(0) as Conv2d).weight.shape, [64, 32, 1, 1]);
  assert.ok(m.modules().every((x) => !(x instanceof Conv2d) || x.bias === null));
  const names = [...m.stateDict().keys()];
  assert.deepEqual(names.slice(0, 7), [
    'stem.0.weight',
    'stem.1.weight',
    'stem.1.bias',
    'stem.1.running_mean',
    'stem.1.running_var',
    'stem.1.num_batches_tracked',
    'layers.0.conv1.weight',
  ]);
  assert.ok(names.includes('layers.3.shortcut.0.weight') && names.includes('layers.3.shortcut.1.running_var'));
  assert.deepEqual(names.slice(-2), ['fc.weight', 'fc.bias']);
  assert.deepEqual(m.fc.weight.shape, [10, 64]);
  const strides = [1, 1, 1, 2, 1, 1, 2, 1, 1];
  assert.equal(resnetParamsByHand(3, cifarResNetWidths(20), strides, 10), 272474);
  assert.equal(m.numParameters(), 272474);
  m.dispose();
});

test('ResNet-32 and ResNet-56 have 15 and 27 blocks; other depths are refused', () => {
  for (const [depth, n] of [
    [32, 5],
    [56, 9],
  ]) {
    const m = cifarResNet(depth, cfg(3, 32));
    assert.equal(blocks(m).length, 3 * n);
    const strides = Array.from({ length: 3 * n }, (_, i) => (i === n || i === 2 * n ? 2 : 1));
    assert.deepEqual(blocks(m).map((b) => b.conv1.stride[0]), strides);
    assert.equal(m.numParameters(), resnetParamsByHand(3, cifarResNetWidths(depth), strides, 10));
    m.dispose();
  }
  assert.throws(() => cifarResNet(21, cfg(3, 32)), (e: unknown) => e instanceof LowbitError && e.message.includes('6n+2'));
  assert.throws(() => cifarResNet(20, cfg(3, 32, [16, 16])), (e: unknown) => e instanceof LowbitError && e.message.includes('19'));
});

test('ResNet-18 (CIFAR stem): 8 blocks 64-512, 11,173,962 params', () => {
  const m = resnet18(cfg(3, 32));
  const bs = blocks(m);
  assert.deepEqual(bs.map((b) => b.conv1.stride[0]), [1, 1, 2, 1, 2, 1, 2, 1]);
  assert.deepEqual(bs.map((b) => b.shortcut !== null), [false, false, true, false, true, false, true, false]);
  assert.deepEqual((m.stem.at(0) as Conv2d).weight.shape, [64, 3, 3, 3]);
  assert.deepEqual(m.fc.weight.shape, [10, 512]);
  assert.equal(resnetParamsByHand(3, RESNET18_WIDTHS, [1, 1, 2, 1, 2, 1, 2, 1], 10), 11173962);
  assert.equal(m.numParameters(), 11173962);
  // He et al. init: conv weights N(0, 2 / fan_out); the 512x512x3x3 conv has 2.4M draws.
  const w = bs[7].conv2.weight;
  const std = scope(() => w.std().item());
  assert.ok(Math.abs(std / Math.sqrt(2 / (512 * 9)) - 1) < 0.01, `conv std ${std}`);
  assert.ok(Math.abs(scope(() => w.mean().item())) < 1e-4);
  assert.ok(bs[7].bn2.weight!.toArray().every((v) => v === 1) && bs[7].bn2.bias!.toArray().every((v) => v === 0));
  m.dispose();
});

test('custom widths: a block whose output width differs from its input gets a 1x1 shortcut', () => {
  // ResNet-20 layout: stem, then conv1/conv2 widths for each of the 9 blocks.
  const widths = [8, 4, 8, 6, 12, 12, 12, 16, 16, 16, 16, 10, 16, 20, 24, 24, 24, 24, 24];
  const m = cifarResNet(20, cfg(1, 28, widths));
  const bs = blocks(m);
  assert.deepEqual(bs.map((b) => b.conv1.weight.shape), [
    [4, 8, 3, 3],
    [6, 8, 3, 3],
    [12, 12, 3, 3],
    [16, 12, 3, 3],
    [16, 16, 3, 3],
    [10, 16, 3, 3],
    [20, 16, 3, 3],
    [24, 24, 3, 3],
    [24, 24, 3, 3],
  ]);
  assert.deepEqual(bs.map((b) => b.conv2.weight.shape.slice(0, 2)), [
    [8, 4],
    [12, 6],
    [12, 12],
    [16, 16],
    [16, 16],
    [16, 10],
    [24, 20],
    [24, 24],
    [24, 24],
  ]);
  // Block 1 widens 8 -> 12 at stride 1 and block 3 widens 12 -> 16 at stride 2: both get a projection;
  // block 0 (mid 4 but out 8 = in) and block 5 (mid 10, out 16 = in) keep the identity.
  assert.deepEqual(bs.map((b) => (b.shortcut ? (b.shortcut.at(0) as Conv2d).weight.shape : null)), [
    null,
    [12, 8, 1, 1],
    null,
    [16, 12, 1, 1],
    null,
    null,
    [24, 16, 1, 1],
    null,
    null,
  ]);
  assert.deepEqual((bs[1].shortcut!.at(0) as Conv2d).stride, [1, 1]);
  assert.deepEqual(m.fc.weight.shape, [10, 24]);
  assert.equal(m.numParameters(), resnetParamsByHand(1, widths, [1, 1, 1, 2, 1, 1, 2, 1, 1], 10));
  const out = scope(() => noGrad(() => m.call(randn([2, 1, 28, 28])).shape));
  assert.deepEqual(out, [2, 10]);
  m.dispose();
});

// --------------------------------------------------------------------- BasicBlock vs a hand composition
/** Training-mode batch norm written out: biased batch variance per channel. */
function bnByHand(x: Tensor, bn: BatchNorm2d): Tensor {
  const mean = x.mean([0, 2, 3], true);
  const variance = x.sub(mean).square().mean([0, 2, 3], true);
  return x
    .sub(mean)
    .div(variance.add(bn.eps).sqrt())
    .mul(bn.weight!.reshape(1, -1, 1, 1))
    .add(bn.bias!.reshape(1, -1, 1, 1));
}

const convByHand = (c: Conv2d, x: Tensor) => F.conv2d(x, c.weight, null, { stride: c.stride, padding: c.padding });

/** relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)), out of place. */
function blockByHand(b: BasicBlock, x: Tensor): Tensor {
  const y = bnByHand(convByHand(b.conv2, bnByHand(convByHand(b.conv1, x), b.bn1).relu()), b.bn2);
  const s = b.shortcut ? bnByHand(convByHand(b.shortcut.at(0) as Conv2d, x), b.shortcut.at(1) as BatchNorm2d) : x;
  return y.add(s).relu();
}

test('BasicBlock forward and parameter gradients equal a hand composition (identity and projection)', () => {
  for (const [inC, midC, outC, stride] of [
    [6, 4, 6, 1],
    [6, 5, 8, 2],
  ]) {
    const g = new Generator(inC * 10 + outC);
    const b = new BasicBlock(inC, midC, outC, stride, g);
    // Non-trivial BN affine parameters.
    noGrad(() => {
      for (const [n, p] of b.namedParameters()) if (n.includes('bn') || n.startsWith('shortcut.1')) p.copy_(randn(p.shape, { generator: g }).mul(0.3).add(1));
    });
    assert.equal(b.shortcut !== null, inC !== outC || stride !== 1);
    scope(() => {
      const x = randn([3, inC, 8, 8], { generator: g });
      const upstream = randn([3, outC, 8 / stride, 8 / stride], { generator: g });
      const y = b.call(x);
      y.mul(upstream).sum().backward();
      const grads = b.parameters().map((p) => p.grad!.clone());
      b.zeroGrad();
      const ref = blockByHand(b, x);
      assert.ok(y.allclose(ref, 1e-4, 1e-5), `block ${inC}->${outC}: forward`);
      ref.mul(upstream).sum().backward();
      const names = [...b.namedParameters()].map(([n]) => n);
      b.parameters().forEach((p, i) => assert.ok(grads[i].allclose(p.grad!, 1e-3, 1e-4), `block ${inC}->${outC}: grad of ${names[i]}`));
    });
    b.dispose();
  }
});

test("a forward pre-hook on BasicBlock's relu sees exactly main branch + shortcut, and may replace it", () => {
  for (const [inC, outC, stride] of [
    [6, 6, 1],
    [6, 8, 2],
  ]) {
    const g = new Generator(inC + outC);
    const b = new BasicBlock(inC, 5, outC, stride, g);
    noGrad(() => {
      for (const [, t] of b.namedBuffers()) if (t.dtype === 'float32') t.copy_(randn(t.shape, { generator: g }).abs().add(0.5));
    });
    b.eval();
    // The relu child adds no state-dict key: the keys stay PyTorch's.
    assert.ok([...b.stateDict().keys()].every((k) => !k.includes('relu')));
    scope(() =>
      noGrad(() => {
        const x = randn([2, inC, 8, 8], { generator: g });
        const y = b.bn2.call(b.conv2.call(b.bn1.call(b.conv1.call(x)).relu()));
        const shortcut = b.shortcut ? b.shortcut.call(x) : x;
        const expected = Array.from(y.add(shortcut).toFloat32Array());
        let seen: number[] = [];
        const tap = b.relu.registerForwardPreHook((_m, sum) => void (seen = Array.from(sum.toFloat32Array())));
        const out = b.call(x);
        tap.remove();
        assert.deepEqual(seen, expected, `block ${inC}->${outC}: the tapped sum`);
        assert.deepEqual(Array.from(out.toFloat32Array()), expected.map((v) => Math.max(v, 0)));
        const flip = b.relu.registerForwardPreHook((_m, sum) => sum.neg());
        const flipped = b.call(x);
        flip.remove();
        assert.deepEqual(Array.from(flipped.toFloat32Array()), expected.map((v) => Math.max(-v, 0)));
      }),
    );
    b.dispose();
  }
});

test('ResNet forward is stem, blocks, global average pool, fc', () => {
  const m = cifarResNet(8, cfg(3, 16, [8, 8, 8, 12, 12, 16, 16]), { generator: new Generator(3) });
  m.eval();
  scope(() => {
    const x = randn([2, 3, 16, 16], { generator: new Generator(4) });
    let h = m.stem.call(x);
    for (const b of blocks(m)) h = b.call(h);
    const manual = F.linear(h.mean([2, 3]), m.fc.weight, m.fc.bias);
    assert.ok(noGrad(() => m.call(x)).allclose(manual, 1e-5, 1e-6));
  });
  m.dispose();
});

test('a seeded build is repeatable; another seed differs', () => {
  const a = cifarResNet(20, cfg(3, 32), { generator: new Generator(5) });
  const b = cifarResNet(20, cfg(3, 32), { generator: new Generator(5) });
  const c = cifarResNet(20, cfg(3, 32), { generator: new Generator(6) });
  for (const [k, t] of a.stateDict()) {
    assert.ok(t.equal(b.stateDict().get(k)!), k);
    if (k.endsWith('conv1.weight') || k === 'fc.weight') assert.equal(t.equal(c.stateDict().get(k)!), false, k);
  }
  for (const m of [a, b, c]) m.dispose();
});

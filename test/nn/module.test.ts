// Module: registration and PyTorch-style named traversal, train/eval, apply, getSubmodule,
// replaceChild, zeroGrad, dispose, per-module forward (pre-)hooks with removable handles and their
// tensors' scoping, and loadStateDict's strict checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LowbitError } from '../../src/errors.ts';
import { BatchNorm2d, Conv2d, Dropout, Flatten, Linear, Module, ReLU, Sequential } from '../../src/nn/index.ts';
import { Generator, fromArray, keep, noGrad, ones, randn, scope, zeros, type Tensor } from '../../src/tensor/index.ts';

// A block and a net laid out like a small ResNet so the expected names can be written by hand, in the
// order torch.nn.Module.named_parameters() / state_dict() would give for the same registrations.
class Block extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  constructor(c: number, g: Generator) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(c, c, 3, { padding: 1, bias: false, generator: g }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(c));
  }
  forward(x: Tensor): Tensor {
    return this.bn1.call(this.conv1.call(x)).relu();
  }
}

class Net extends Module {
  scale: Tensor;
  stem: Conv2d;
  layers: Sequential;
  flatten: Flatten;
  fc: Linear;
  constructor(g = new Generator(0)) {
    super();
    // A parameter on the root itself comes before every child's, as in PyTorch.
    this.scale = this.registerParameter('scale', ones([1]));
    this.registerBuffer('step', zeros([]));
    this.stem = this.registerModule('stem', new Conv2d(1, 2, 3, { padding: 1, generator: g }));
    this.layers = this.registerModule('layers', new Sequential(new Block(2, g), new Block(2, g)));
    this.flatten = this.registerModule('flatten', new Flatten());
    this.fc = this.registerModule('fc', new Linear(2 * 4 * 4, 3, { generator: g }));
  }
  forward(x: Tensor): Tensor {
    return this.fc.call(this.flatten.call(this.layers.call(this.stem.call(x)))).mul(this.scale);
  }
}

const PARAM_NAMES = [
  'scale',
  'stem.weight',
  'stem.bias',
  'layers.0.conv1.weight',
  'layers.0.bn1.weight',
  'layers.0.bn1.bias',
  'layers.1.conv1.weight',
  'layers.1.bn1.weight',
  'layers.1.bn1.bias',
  'fc.weight',
  'fc.bias',
];
const BN_BUFFERS = ['running_mean', 'running_var', 'num_batches_tracked'];
const BUFFER_NAMES = ['step', ...['layers.0.bn1', 'layers.1.bn1'].flatMap((p) => BN_BUFFERS.map((b) => `${p}.${b}`))];
// torch state_dict(): module by module (pre-order), each module's parameters then its buffers.
const STATE_DICT_NAMES = [
  'scale',
  'step',
  'stem.weight',
  'stem.bias',
  'layers.0.conv1.weight',
  'layers.0.bn1.weight',
  'layers.0.bn1.bias',
  ...BN_BUFFERS.map((b) => `layers.0.bn1.${b}`),
  'layers.1.conv1.weight',
  'layers.1.bn1.weight',
  'layers.1.bn1.bias',
  ...BN_BUFFERS.map((b) => `layers.1.bn1.${b}`),
  'fc.weight',
  'fc.bias',
];

test('named traversal gives dotted names in PyTorch order', () => {
  const net = new Net();
  assert.deepEqual([...net.namedParameters()].map(([n]) => n), PARAM_NAMES);
  assert.deepEqual([...net.namedBuffers()].map(([n]) => n), BUFFER_NAMES);
  assert.deepEqual([...net.stateDict().keys()], STATE_DICT_NAMES);
  assert.deepEqual(
    [...net.namedModules()].map(([n]) => n),
    ['', 'stem', 'layers', 'layers.0', 'layers.0.conv1', 'layers.0.bn1', 'layers.1', 'layers.1.conv1', 'layers.1.bn1', 'flatten', 'fc'],
  );
  assert.deepEqual([...net.namedChildren()].map(([n]) => n), ['stem', 'layers', 'flatten', 'fc']);
  assert.deepEqual([...net.namedParameters('model')].map(([n]) => n).slice(0, 2), ['model.scale', 'model.stem.weight']);
  // The tensors are the module's own, not copies.
  assert.equal(net.stateDict().get('fc.weight'), net.fc.weight);
  net.dispose();
});

test('parameters(), buffers() and numParameters() count by hand', () => {
  const net = new Net();
  // scale 1; stem 2*1*9 + 2; per block conv 2*2*9 (no bias) + BN 2 + 2; fc 3*32 + 3.
  const expected = 1 + (18 + 2) + 2 * (36 + 4) + (96 + 3);
  assert.equal(net.parameters().length, PARAM_NAMES.length);
  assert.equal(net.numParameters(), expected);
  assert.equal(net.buffers().length, BUFFER_NAMES.length);
  for (const p of net.parameters()) assert.equal(p.requiresGrad, true);
  for (const b of net.buffers()) assert.equal(b.requiresGrad, false);
  net.dispose();
});

test('train() and eval() reach every descendant', () => {
  const net = new Net();
  assert.ok(net.modules().every((m) => m.training));
  assert.equal(net.eval(), net);
  assert.ok(net.modules().every((m) => !m.training));
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  net.train(false);
  assert.ok(net.modules().every((m) => !m.training));
  // train() on a child leaves the rest alone.
  net.layers.train();
  assert.equal(net.training, false);
  assert.equal(net.getSubmodule('layers.1.bn1').training, true);
  net.dispose();
});

test('apply visits children before their parent, in registration order', () => {
  const net = new Net();
  const names = new Map<Module, string>([...net.namedModules()].map(([n, m]) => [m, n]));
  const visited: string[] = [];
  assert.equal(net.apply((m) => visited.push(names.get(m)!)), net);
  assert.deepEqual(visited, [
    'stem',
    'layers.0.conv1',
    'layers.0.bn1',
    'layers.0',
    'layers.1.conv1',
    'layers.1.bn1',
    'layers.1',
    'layers',
    'flatten',
    'fc',
    '',
  ]);
  net.dispose();
});

test('getSubmodule finds a descendant by dotted path and names where a bad path stopped', () => {
  const net = new Net();
  assert.equal(net.getSubmodule(''), net);
  assert.equal(net.getSubmodule('layers.1.conv1'), (net.layers.at(1) as Block).conv1);
  assert.throws(
    () => net.getSubmodule('layers.7.conv1'),
    (e: unknown) => e instanceof LowbitError && e.message.includes("'layers.7.conv1'") && e.message.includes("'7'"),
  );
  net.dispose();
});

test('replaceChild swaps the registered child and the field, and returns the old one undisposed', () => {
  const net = new Net();
  const oldFc = net.fc;
  const newFc = new Linear(32, 5, { generator: new Generator(9) });
  assert.equal(net.replaceChild('fc', newFc), oldFc);
  assert.equal(net.fc, newFc);
  assert.equal(net.getSubmodule('fc'), newFc);
  assert.equal(net.stateDict().get('fc.weight'), newFc.weight);
  assert.equal(oldFc.weight.isDisposed, false);
  const out = scope(() => noGrad(() => net.call(randn([2, 1, 4, 4])).shape));
  assert.deepEqual(out, [2, 5]);
  // Inside a Sequential (no field per child) the registered child is what forward runs.
  const seq = new Sequential(new Linear(2, 2), new ReLU());
  seq.replaceChild('1', new Flatten());
  assert.ok(seq.at(1) instanceof Flatten);
  assert.throws(() => net.replaceChild('head', newFc), (e: unknown) => e instanceof LowbitError && e.message.includes("'head'"));
  net.dispose();
  oldFc.dispose();
  seq.dispose();
});

test('registration refuses duplicate and dotted names', () => {
  class Bad extends Module {
    constructor(name: string, twice: boolean) {
      super();
      this.registerBuffer(name, zeros([1]));
      if (twice) this.registerParameter(name, zeros([1]));
    }
    forward(x: Tensor): Tensor {
      return x;
    }
  }
  assert.throws(() => new Bad('w', true), (e: unknown) => e instanceof LowbitError && e.message.includes("'w'"));
  assert.throws(() => new Bad('a.b', false), LowbitError);
  assert.throws(() => new Bad('', false), LowbitError);
});

test('zeroGrad clears the gradients that backward() filled', () => {
  const net = new Net();
  scope(() => net.call(randn([2, 1, 4, 4])).square().sum().backward());
  assert.ok(net.parameters().every((p) => p.grad !== null));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === null));
  net.dispose();
});

test('parameters survive the scope that built the module; dispose() frees them all', () => {
  const net = scope(() => new Net());
  const tensors = [...net.parameters(), ...net.buffers()];
  assert.ok(tensors.every((t) => !t.isDisposed));
  net.dispose();
  assert.ok(tensors.every((t) => t.isDisposed));
});

test('a protected replaceParameter disposes the tensor it replaces', () => {
  class Scaled extends Module {
    w: Tensor;
    constructor() {
      super();
      this.w = this.registerParameter('w', ones([2]));
    }
    swap(t: Tensor): Tensor {
      return (this.w = this.replaceParameter('w', t));
    }
    forward(x: Tensor): Tensor {
      return x.mul(this.w);
    }
  }
  const m = new Scaled();
  const old = m.w;
  const fresh = scope(() => m.swap(fromArray(new Float32Array([3, 4]))));
  assert.ok(old.isDisposed);
  assert.equal(fresh.isDisposed, false);
  assert.equal(fresh.requiresGrad, true);
  assert.deepEqual(m.parameters()[0].toArray(), [3, 4]);
  m.dispose();
});

test('forward hooks see every call, children before parents, until removed', () => {
  const net = new Net();
  const names = new Map<Module, string>([...net.namedModules()].map(([n, m]) => [m, n]));
  const seen: [string, number[]][] = [];
  const handles = net.modules().map((m) => m.registerForwardHook((hooked, _input, output) => void seen.push([names.get(hooked) ?? '?', output.shape])));
  try {
    scope(() => noGrad(() => net.call(randn([2, 1, 4, 4]))));
  } finally {
    for (const h of handles) h.remove();
  }
  assert.deepEqual(
    seen.map(([n]) => n),
    ['stem', 'layers.0.conv1', 'layers.0.bn1', 'layers.0', 'layers.1.conv1', 'layers.1.bn1', 'layers.1', 'layers', 'flatten', 'fc', ''],
  );
  assert.deepEqual(seen.find(([n]) => n === 'flatten')?.[1], [2, 32]);
  const before = seen.length;
  scope(() => noGrad(() => net.call(randn([1, 1, 4, 4]))));
  assert.equal(seen.length, before);
  net.dispose();
});

test('forward pre-hooks replace the input, forward hooks the output, in registration order, until removed', () => {
  const relu = new ReLU();
  const calls: string[] = [];
  const pre1 = relu.registerForwardPreHook((_m, x) => {
    calls.push('pre1');
    return x.sub(1);
  });
  const pre2 = relu.registerForwardPreHook(() => void calls.push('pre2')); // returns nothing: input unchanged
  let hookInput: number[] = [];
  const post = relu.registerForwardHook((m, input, output) => {
    assert.equal(m, relu);
    calls.push('post');
    hookInput = input.toArray() as number[];
    return output.mul(10);
  });
  const x = fromArray(new Float32Array([0.5, 2, 3]));
  assert.deepEqual(relu.call(x).toArray(), [0, 10, 20]);
  assert.deepEqual(calls, ['pre1', 'pre2', 'post']);
  assert.deepEqual(hookInput, [-0.5, 1, 2], 'the forward hook sees the input forward() saw');
  pre1.remove();
  pre1.remove(); // harmless
  assert.deepEqual(relu.call(x).toArray(), [5, 20, 30]);
  post.remove();
  pre2.remove();
  calls.length = 0;
  assert.deepEqual(relu.call(x).toArray(), [0.5, 2, 3]);
  assert.equal(calls.length, 0);
  // Hooks belong to one module: another ReLU is untouched.
  const other = new ReLU();
  const h = relu.registerForwardHook(() => void calls.push('relu'));
  other.call(x);
  assert.equal(calls.length, 0);
  h.remove();
});

test("hook tensors follow call()'s scope: made ones are freed unless kept, the returned output moves to the caller", () => {
  const relu = new ReLU();
  let made: Tensor | null = null;
  let kept: Tensor | null = null;
  let seenOutput: Tensor | null = null;
  let replaced: Tensor | null = null;
  const handle = relu.registerForwardHook((_m, input, output) => {
    made = input.add(1);
    kept = keep(input.add(2));
    seenOutput = output;
    replaced = output.mul(2);
    return replaced;
  });
  const out = scope(() => {
    const x = fromArray(new Float32Array([1, -1]));
    const y = relu.call(x);
    assert.equal(made!.isDisposed, true, 'a temporary of the hook is freed when the module returns');
    assert.equal(seenOutput!.isDisposed, true, 'the output a hook replaced is freed');
    assert.equal(y, replaced);
    assert.equal(y.isDisposed, false);
    assert.equal(x.isDisposed, false, "the caller's input stays the caller's");
    return y;
  });
  assert.equal(out.isDisposed, false, 'the returned output moved to the caller');
  assert.deepEqual(out.toArray(), [2, 0]);
  assert.deepEqual(kept!.toArray(), [3, 1], 'a kept tensor survives every scope');
  kept!.dispose();
  handle.remove();
});

// --------------------------------------------------------------------------------- loadStateDict
function cloneStateDict(m: Module): Map<string, Tensor> {
  return new Map([...m.stateDict()].map(([k, t]) => [k, t.detach().clone()]));
}

test('loadStateDict copies values (not references) and converts dtype', () => {
  const a = new Net(new Generator(1));
  const b = new Net(new Generator(2));
  assert.equal(a.fc.weight.equal(b.fc.weight), false);
  const sd = cloneStateDict(a);
  // A float64 tensor in the checkpoint lands in the float32 parameter.
  sd.set('scale', fromArray(new Float64Array([2.5])));
  const res = b.loadStateDict(sd);
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  for (const [k, t] of a.stateDict()) if (k !== 'scale') assert.ok(b.stateDict().get(k)!.equal(t), k);
  assert.equal(b.scale.dtype, 'float32');
  assert.deepEqual(b.scale.toArray(), [2.5]);
  noGrad(() => sd.get('fc.bias')!.fill_(42));
  assert.notEqual(b.fc.bias!.toArray()[0], 42);
  assert.equal(b.fc.weight.requiresGrad, true);
  a.dispose();
  b.dispose();
});

test('strict loadStateDict names missing and unexpected keys', () => {
  const a = new Net();
  const sd = cloneStateDict(a);
  sd.delete('layers.1.bn1.running_var');
  sd.delete('fc.bias');
  sd.set('head.weight', zeros([3]));
  const before = a.fc.weight.toArray();
  assert.throws(
    () => a.loadStateDict(sd),
    (e: unknown) =>
      e instanceof LowbitError &&
      /missing keys: .*layers\.1\.bn1\.running_var/.test(e.message) &&
      /missing keys: .*fc\.bias/.test(e.message) &&
      /unexpected keys: head\.weight/.test(e.message),
  );
  // Nothing was copied by the failed load.
  assert.deepEqual(a.fc.weight.toArray(), before);

  // Non-strict: the rest loads, and the lists come back.
  const b = new Net(new Generator(5));
  const res = b.loadStateDict(sd, { strict: false });
  assert.deepEqual(res.missingKeys.sort(), ['fc.bias', 'layers.1.bn1.running_var']);
  assert.deepEqual(res.unexpectedKeys, ['head.weight']);
  assert.ok(b.fc.weight.equal(a.fc.weight));
  assert.equal(b.fc.bias!.equal(a.fc.bias!), false);
  a.dispose();
  b.dispose();
});

test('a shape mismatch is an error even when not strict, naming the key and both shapes', () => {
  const a = new Net();
  const sd = cloneStateDict(a);
  sd.set('stem.weight', zeros([4, 1, 3, 3]));
  const before = a.fc.weight.toArray();
  for (const strict of [true, false]) {
    assert.throws(
      () => a.loadStateDict(sd, { strict }),
      (e: unknown) => e instanceof LowbitError && e.message.includes('stem.weight') && e.message.includes('[4x1x3x3]') && e.message.includes('[2x1x3x3]'),
    );
  }
  assert.deepEqual(a.fc.weight.toArray(), before);
  a.dispose();
});

test('Dropout inside a model follows the model mode', () => {
  const seq = new Sequential(new Dropout(0.5));
  const x = ones([1000]);
  seq.eval();
  assert.deepEqual(seq.call(x).toArray(), x.toArray());
  seq.train();
  const y = seq.call(x).toArray();
  assert.ok(y.some((v) => v === 0) && y.some((v) => v === 2));
});

test('toMemoryFormat_ moves 4-D parameters to channels-last in place: same objects, values, gradients', () => {
  const net = new Net(new Generator(3));
  const conv = (n: Net) => (n.layers.children()[0] as Block).conv1;
  const before = conv(net).weight;
  assert.ok(!before.isContiguous('channelsLast'), 'fixture: a 2x2x3x3 weight starts NCHW');
  const values = Array.from(before.toFloat32Array());
  const x = randn([2, 1, 4, 4], { generator: new Generator(4) });
  const reference = new Net(new Generator(3));
  const expected = Array.from(reference.call(x).toFloat32Array());
  net.toMemoryFormat_('channelsLast');
  assert.equal(conv(net).weight, before, 'the parameter object must stay (optimizers hold it)');
  assert.ok(conv(net).weight.isContiguous('channelsLast'));
  assert.deepEqual(Array.from(conv(net).weight.toFloat32Array()), values);
  const out = net.call(x.contiguous('channelsLast'));
  Array.from(out.toFloat32Array()).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-4, `output ${i}: ${v} vs ${expected[i]}`));
  out.sum().backward();
  assert.ok(conv(net).weight.grad !== null, 'gradients still reach the moved parameter');
  assert.deepEqual(conv(net).weight.grad!.shape, [...conv(net).weight.shape]);
});

test("call() frees forward()'s temporaries when it returns; the output and autograd's saved tensors live on", () => {
  class TwoSteps extends Module {
    temporary: Tensor | null = null;
    forward(x: Tensor): Tensor {
      this.temporary = x.mul(2);
      return this.temporary.mul(this.temporary);
    }
  }
  const m = new TwoSteps();
  const x = fromArray(Float32Array.from([1, 2, 3]), [3]).requiresGrad_(true);
  scope(() => {
    const y = m.call(x);
    assert.equal(m.temporary!.isDisposed, true, 'the temporary is freed when call() returns, before the caller scope ends');
    assert.deepEqual(y.toArray(), [4, 16, 36]);
    // y = (2x)^2: autograd still holds 2x natively, so backward works after the handle was freed.
    y.sum().backward();
  });
  assert.deepEqual(x.grad!.toArray(), [8, 16, 24]);
});

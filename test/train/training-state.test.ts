// TrainingState: two modules, two optimizers (SGD on one, Adam on the other, alternating as a channel
// search does), a scheduler and the RNG survive a save/load into freshly built objects: the resumed run
// draws the same random numbers and ends with the same parameters as an uninterrupted one. Extras are
// readable before any tensor is loaded, so a caller can reshape its modules first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { Linear, loadSafetensors, type Module } from '../../src/nn/index.ts';
import { Adam, CosineAnnealingLR, SGD } from '../../src/optim/index.ts';
import { createModel } from '../../src/models/index.ts';
import { F, Generator, getRngState, manualSeed, rand, randn, scope, type Tensor } from '../../src/tensor/index.ts';
import { loadCheckpoint, MODEL_CONFIG_KEY, saveCheckpoint, TrainingState, TRAINING_STATE_KEY } from '../../src/train/index.ts';

const CFG = { name: 'mlp', inChannels: 1, inputSize: [2, 2] as [number, number], numClasses: 3, widths: [5] };

function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-state-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A weight network, an "architecture" network, an optimizer for each and a schedule on the first. */
function build(initSeed: number) {
  const g = new Generator(initSeed);
  const net = new Linear(4, 3, { generator: g });
  const arch = new Linear(4, 3, { generator: g });
  const sgd = new SGD(net.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
  const adam = new Adam(arch.parameters(), { lr: 0.01 });
  const cosine = new CosineAnnealingLR(sgd, { tMax: 6 });
  return { net, arch, sgd, adam, cosine };
}

type Run = ReturnType<typeof build>;

/** One "epoch": 3 batches drawn from the global RNG, each an SGD step on net then an Adam step on arch. */
function epoch(r: Run): void {
  for (let b = 0; b < 3; b++) {
    scope(() => {
      const x = randn([8, 4]);
      const y = randn([8, 3]);
      r.sgd.zeroGrad();
      F.mseLoss(r.net.call(x).add(r.arch.call(x).detach()), y).backward();
      r.sgd.step();
      r.adam.zeroGrad();
      F.mseLoss(r.net.call(x).detach().add(r.arch.call(x)), y).backward();
      r.adam.step();
    });
  }
  r.cosine.step();
}

const stateOf = (r: Run) =>
  new TrainingState({ modules: { net: r.net, arch: r.arch }, optimizers: { sgd: r.sgd, adam: r.adam }, schedulers: { cosine: r.cosine } }, { modelConfig: CFG });

function assertSameModule(a: Module, b: Module, what: string): void {
  const sa = a.stateDict();
  for (const [k, t] of b.stateDict()) assert.ok(t.equal(sa.get(k)!), `${what}.${k} differs`);
}

test('save after 2 epochs, load into fresh objects with another RNG state: same next random numbers and same end state', () => {
  const { dir, cleanup } = tempDir();
  try {
    manualSeed(11);
    const straight = build(1);
    for (let e = 0; e < 5; e++) epoch(straight);
    const straightNext = rand([6]).toArray();

    manualSeed(11);
    const first = build(1);
    epoch(first);
    epoch(first);
    const path = join(dir, 'state.safetensors');
    const history = [{ epoch: 2, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.25, lr: 0.1, imagesPerSecond: 1, seconds: 1 }];
    stateOf(first).save(path, { epoch: 2, history, bestTestAccuracy: 0.25, extras: { note: 'two epochs', widths: [3, 3] } });

    manualSeed(999); // a new process: nothing shared but the file
    const resumed = build(2); // other initial weights, which the checkpoint must overwrite
    const progress = stateOf(resumed).load(path);
    assert.equal(progress.epoch, 2);
    assert.deepEqual(progress.history, history);
    assert.equal(progress.bestTestAccuracy, 0.25);
    assert.deepEqual(progress.extras, { note: 'two epochs', widths: [3, 3] });
    assert.deepEqual(resumed.cosine.getLastLr(), first.cosine.getLastLr());
    assert.equal(resumed.sgd.paramGroups[0].lr, first.sgd.paramGroups[0].lr);
    for (let e = 2; e < 5; e++) epoch(resumed);
    assert.deepEqual(rand([6]).toArray(), straightNext, 'the RNG continues where the saved run stopped');
    assertSameModule(straight.net, resumed.net, 'net');
    assertSameModule(straight.arch, resumed.arch, 'arch');
    // Adam's step counts came back too: its state dicts agree scalar for scalar.
    assert.deepEqual(resumed.adam.stateDict().scalars, straight.adam.stateDict().scalars);
  } finally {
    cleanup();
  }
});

test('the primary module is stored under its own names with its config: the file is also a loadable model checkpoint', () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = createModel(CFG, { generator: new Generator(3) });
    const side = new Linear(3, 2, { generator: new Generator(4) });
    const opt = new SGD([...model.parameters(), ...side.parameters()], { lr: 0.1, momentum: 0.9 });
    const path = join(dir, 'last.safetensors');
    new TrainingState({ modules: { model, side }, optimizers: { optimizer: opt } }, { primary: 'model', modelConfig: CFG }).save(path, { epoch: 1, history: [], bestTestAccuracy: 0, extras: {} });
    const file = loadSafetensors(path);
    const keys = [...file.tensors.keys()];
    for (const t of file.tensors.values()) t.dispose();
    assert.deepEqual(JSON.parse(file.metadata[MODEL_CONFIG_KEY]), CFG);
    for (const k of model.stateDict().keys()) assert.ok(keys.includes(k), `primary key ${k} unprefixed`);
    assert.ok(keys.includes('side.weight') && keys.includes('side.bias'));
    const loaded = loadCheckpoint(path);
    assertSameModule(model, loaded.model, 'model');
    assert.ok([...loaded.extraTensors.keys()].every((k) => k.startsWith('side.') || k.startsWith('optimizer.')));
    for (const t of loaded.extraTensors.values()) t.dispose();
  } finally {
    cleanup();
  }
});

test('extras are read before tensors: the caller widens a module to the saved shape, then its tensors load', () => {
  const { dir, cleanup } = tempDir();
  try {
    // The saved run had widened its layer from 3 to 5 outputs (a channel expansion).
    const wide = new Linear(4, 5, { generator: new Generator(5) });
    const wideOpt = new SGD(wide.parameters(), { lr: 0.1, momentum: 0.9 });
    scope(() => {
      wideOpt.zeroGrad();
      wide.call(randn([2, 4])).sum().backward();
      wideOpt.step(); // momentum buffers of the wide shape
    });
    const path = join(dir, 'state.safetensors');
    new TrainingState({ modules: { layer: wide }, optimizers: { sgd: wideOpt } }).save(path, { epoch: 3, history: [], bestTestAccuracy: 0, extras: { width: 5 } });

    assert.deepEqual(TrainingState.peek(path).extras, { width: 5 });

    // A fresh process builds the initial width 3; loading into it as is fails on the shapes...
    let layer = new Linear(4, 3);
    let opt = new SGD(layer.parameters(), { lr: 0.1, momentum: 0.9 });
    const parts = () => ({ modules: { layer }, optimizers: { sgd: opt } });
    assert.throws(() => new TrainingState(parts).load(path), (e: Error) => e instanceof LowbitError && /layer: .*shape mismatch/.test(e.message));
    // ...and succeeds when the caller rebuilds to the saved width in beforeTensors.
    const seen: number[] = [];
    new TrainingState(parts).load(path, {
      beforeTensors: (saved) => {
        seen.push(saved.extras.width as number);
        layer = new Linear(4, saved.extras.width as number);
        opt = new SGD(layer.parameters(), { lr: 0.1, momentum: 0.9 });
      },
    });
    assert.deepEqual(seen, [5]);
    assertSameModule(wide, layer, 'layer');
    const a = wideOpt.stateDict().state;
    const b = opt.stateDict().state;
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    for (const k of Object.keys(a)) assert.ok((a[k] as Tensor).equal(b[k]), `${k} restored`);
  } finally {
    cleanup();
  }
});

test('a checkpoint of the earlier one-model format (optimizer.* tensors, one optimizer and scheduler) still loads', () => {
  const { dir, cleanup } = tempDir();
  try {
    const model = createModel(CFG, { generator: new Generator(6) });
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const sched = new CosineAnnealingLR(opt, { tMax: 4 });
    scope(() => {
      opt.zeroGrad();
      model.call(randn([2, 1, 2, 2])).sum().backward();
      opt.step();
    });
    sched.step();
    // Written exactly as fit wrote checkpoints before TrainingState.
    const { state, ...rest } = opt.stateDict();
    const tensors = new Map<string, Tensor>(Object.entries(state).map(([k, t]) => [`optimizer.${k}`, t]));
    manualSeed(1);
    const rng = Buffer.from(getRngState()).toString('base64');
    const legacy = { epoch: 1, optimizer: rest, scheduler: sched.stateDict(), rng, bestTestAccuracy: 0.5, history: [] };
    const path = join(dir, 'last.safetensors');
    saveCheckpoint(path, model, CFG, { tensors, metadata: { [TRAINING_STATE_KEY]: JSON.stringify(legacy) } });

    const fresh = createModel(CFG, { generator: new Generator(7) });
    const freshOpt = new SGD(fresh.parameters(), { lr: 0.1, momentum: 0.9 });
    const freshSched = new CosineAnnealingLR(freshOpt, { tMax: 4 });
    const progress = new TrainingState({ modules: { model: fresh }, optimizers: { optimizer: freshOpt }, schedulers: { scheduler: freshSched } }).load(path);
    assert.equal(progress.epoch, 1);
    assert.equal(progress.bestTestAccuracy, 0.5);
    assert.deepEqual(progress.extras, {});
    assertSameModule(model, fresh, 'model');
    assert.deepEqual(freshSched.stateDict(), sched.stateDict());
    const a = opt.stateDict().state;
    const b = freshOpt.stateDict().state;
    for (const k of Object.keys(a)) assert.ok(a[k].equal(b[k]), `${k} restored`);
  } finally {
    cleanup();
  }
});

test('mismatched parts and clashing names are errors that say what differs', () => {
  const { dir, cleanup } = tempDir();
  try {
    const r = build(1);
    const path = join(dir, 's.safetensors');
    stateOf(r).save(path, { epoch: 1, history: [], bestTestAccuracy: 0, extras: {} });
    const other = build(1);
    assert.throws(
      () => new TrainingState({ modules: { net: other.net, arch: other.arch }, optimizers: { sgd: other.sgd } }).load(path),
      /saved optimizers are \[sgd, adam\] but this run has \[sgd\]/,
    );
    assert.throws(() => new TrainingState({ modules: { net: r.net }, optimizers: { net: r.sgd } }).save(path, { epoch: 1, history: [], bestTestAccuracy: 0, extras: {} }), /the name 'net' is used by two parts/);
    assert.throws(() => TrainingState.peek(join(dir, 'none.safetensors')), /does not exist/);
  } finally {
    cleanup();
  }
});


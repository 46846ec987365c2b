/**
 * lowbit's optimizers, schedulers and clipping against torch.optim itself, when a python3 with torch is
 * installed (skipped otherwise). The other tests in this folder check the same rules against naive
 * TypeScript transcriptions; this one guards against a transcription error shared by both.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import {
  Adam,
  AdamW,
  clipGradNorm,
  CosineAnnealingLR,
  LinearLR,
  MultiStepLR,
  SequentialLR,
  SGD,
  StepLR,
  type LRScheduler,
  type Optimizer,
} from '../../src/optim/index.ts';
import type { Tensor } from '../../src/tensor/index.ts';
import { backwardObjective, maxAbsDiff, param, randomObjective } from './naive-rules.ts';

/** The first python that imports torch: plain python3, then the system one (a pyenv shim may shadow it). */
function findTorchPython(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return python;
  }
  return undefined;
}
const python = findTorchPython();
const skip = python === undefined ? 'python3 with torch is not installed' : false;

const W0 = [0.5, -1.2, 0.8, 0.3, -0.4, 1.1];
const V0 = [0.9, -0.6, 0.2, -1.5];
const OW = randomObjective(W0.length, 21);
const OV = randomObjective(V0.length, 22);
const STEPS = 5;
/** At this step only w gets a gradient: v is skipped (and Adam's per-parameter step count diverges). */
const SKIP_V_AT = 2;

interface Case {
  name: string;
  torch: string; // python constructor call on `groups`
  make: (groups: { params: Tensor[]; lr?: number }[]) => Optimizer<{ lr: number }>;
}

const CASES: Case[] = [
  {
    name: 'SGD momentum dampening weight decay',
    torch: 'torch.optim.SGD(groups, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)',
    make: (g) => new SGD(g, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  },
  {
    name: 'SGD nesterov',
    torch: 'torch.optim.SGD(groups, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.02)',
    make: (g) => new SGD(g, { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.02 }),
  },
  {
    name: 'Adam L2 amsgrad',
    torch: 'torch.optim.Adam(groups, lr=0.05, weight_decay=0.1, amsgrad=True)',
    make: (g) => new Adam(g, { lr: 0.05, weightDecay: 0.1, amsgrad: true }),
  },
  {
    name: 'Adam betas',
    torch: 'torch.optim.Adam(groups, lr=0.02, betas=(0.8, 0.99), eps=1e-6)',
    make: (g) => new Adam(g, { lr: 0.02, betas: [0.8, 0.99], eps: 1e-6 }),
  },
  {
    name: 'AdamW',
    torch: 'torch.optim.AdamW(groups, lr=0.05, weight_decay=0.1)',
    make: (g) => new AdamW(g, { lr: 0.05, weightDecay: 0.1 }),
  },
];

const SCHEDULES: { name: string; torch: string; make: (o: Optimizer<{ lr: number }>) => LRScheduler }[] = [
  { name: 'StepLR', torch: 'S.StepLR(o, step_size=2, gamma=0.5)', make: (o) => new StepLR(o, { stepSize: 2, gamma: 0.5 }) },
  { name: 'MultiStepLR', torch: 'S.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.3)', make: (o) => new MultiStepLR(o, { milestones: [2, 5, 5], gamma: 0.3 }) },
  { name: 'CosineAnnealingLR', torch: 'S.CosineAnnealingLR(o, T_max=5, eta_min=0.01)', make: (o) => new CosineAnnealingLR(o, { tMax: 5, etaMin: 0.01 }) },
  { name: 'LinearLR', torch: 'S.LinearLR(o, start_factor=0.25, total_iters=3)', make: (o) => new LinearLR(o, { startFactor: 0.25, totalIters: 3 }) },
  {
    name: 'SequentialLR',
    torch: 'S.SequentialLR(o, [S.LinearLR(o, start_factor=0.25, total_iters=3), S.CosineAnnealingLR(o, T_max=5, eta_min=0.01)], milestones=[3])',
    make: (o) =>
      new SequentialLR(o, { schedulers: [new LinearLR(o, { startFactor: 0.25, totalIters: 3 }), new CosineAnnealingLR(o, { tMax: 5, etaMin: 0.01 })], milestones: [3] }),
  },
];
const SCHEDULE_STEPS = 12;

const SCRIPT = `
import json, sys, warnings
import torch
import torch.optim.lr_scheduler as S
warnings.simplefilter('ignore')
torch.set_default_dtype(torch.float64)
d = json.load(sys.stdin)
def loss(p, o):
    a, b, c = (torch.tensor(o[k]).reshape(p.shape) for k in 'abc')
    return (p.pow(2) * a * 0.5 + p * b + p.pow(3) * c / 3).sum()
out = {'optimizers': [], 'schedules': [], 'clip': None}
for ctor in d['optimizers']:
    w = torch.tensor(d['w0']).reshape(3, 2).requires_grad_()
    v = torch.tensor(d['v0']).requires_grad_()
    groups = [{'params': [w]}, {'params': [v], 'lr': 0.003}]
    opt = eval(ctor)
    traj = []
    for s in range(d['steps']):
        opt.zero_grad(set_to_none=True)
        loss(w, d['ow']).backward()
        if s != d['skipV']:
            loss(v, d['ov']).backward()
        opt.step()
        traj.append(w.detach().reshape(-1).tolist() + v.detach().tolist())
    out['optimizers'].append(traj)
for ctor in d['schedules']:
    o = torch.optim.SGD([{'params': [torch.zeros(1, requires_grad=True)], 'lr': 0.4}, {'params': [torch.zeros(1, requires_grad=True)], 'lr': 0.1}], lr=1)
    s = eval(ctor)
    lrs = [[g['lr'] for g in o.param_groups]]
    for _ in range(d['scheduleSteps']):
        o.step()
        s.step()
        lrs.append([g['lr'] for g in o.param_groups])
    out['schedules'].append(lrs)
w = torch.tensor(d['w0']).reshape(3, 2).requires_grad_()
v = torch.tensor(d['v0']).requires_grad_()
(loss(w, d['ow']) + loss(v, d['ov'])).backward()
total = torch.nn.utils.clip_grad_norm_([w, v], 0.5)
out['clip'] = {'total': total.item(), 'grads': w.grad.reshape(-1).tolist() + v.grad.tolist()}
json.dump(out, sys.stdout)
`;

interface TorchResults {
  optimizers: number[][][];
  schedules: number[][][];
  clip: { total: number; grads: number[] };
}

let cached: TorchResults | undefined;
function torchResults(): TorchResults {
  if (cached !== undefined) return cached;
  const input = JSON.stringify({
    w0: W0,
    v0: V0,
    ow: OW,
    ov: OV,
    steps: STEPS,
    skipV: SKIP_V_AT,
    optimizers: CASES.map((c) => c.torch),
    schedules: SCHEDULES.map((s) => s.torch),
    scheduleSteps: SCHEDULE_STEPS,
  });
  const r = spawnSync(python as string, ['-c', SCRIPT], { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`the torch reference script failed (${r.status}): ${r.stderr}`);
  cached = JSON.parse(r.stdout) as TorchResults;
  return cached;
}

test('5 steps of each optimizer match torch.optim (two groups, a skipped parameter)', { skip }, () => {
  const expected = torchResults().optimizers;
  CASES.forEach((c, i) => {
    const w = param(W0, [3, 2]);
    const v = param(V0);
    const opt = c.make([{ params: [w] }, { params: [v], lr: 0.003 }]);
    for (let s = 0; s < STEPS; s++) {
      opt.zeroGrad();
      backwardObjective(w, OW);
      if (s !== SKIP_V_AT) backwardObjective(v, OV);
      opt.step();
      const got = [...w.toFloat64Array(), ...v.toFloat64Array()];
      assert.ok(maxAbsDiff(got, expected[i][s]) < 1e-12, `${c.name}, step ${s}: ${got} vs torch ${expected[i][s]}`);
    }
    opt.dispose();
  });
});

test('LR schedules match torch.optim.lr_scheduler over 12 steps, two groups', { skip }, () => {
  const expected = torchResults().schedules;
  SCHEDULES.forEach((s, i) => {
    const opt = new SGD([{ params: [param([0])], lr: 0.4 }, { params: [param([0])], lr: 0.1 }], { lr: 1 });
    const sched = s.make(opt);
    const lrs = [opt.paramGroups.map((g) => g.lr)];
    for (let k = 0; k < SCHEDULE_STEPS; k++) {
      sched.step();
      lrs.push(opt.paramGroups.map((g) => g.lr));
    }
    lrs.forEach((l, e) => assert.ok(maxAbsDiff(l, expected[i][e]) < 1e-12, `${s.name}, epoch ${e}: ${l} vs torch ${expected[i][e]}`));
  });
});

test('clipGradNorm matches torch.nn.utils.clip_grad_norm_', { skip }, () => {
  const expected = torchResults().clip;
  const w = param(W0, [3, 2]);
  const v = param(V0);
  backwardObjective(w, OW);
  backwardObjective(v, OV);
  const total = clipGradNorm([w, v], 0.5);
  assert.ok(Math.abs(total - expected.total) < 1e-12, `${total} vs ${expected.total}`);
  const grads = [...(w.grad as Tensor).toFloat64Array(), ...(v.grad as Tensor).toFloat64Array()];
  assert.ok(maxAbsDiff(grads, expected.grads) < 1e-12);
});
